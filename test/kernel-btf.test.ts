// loader/kernel-btf.ts: the running kernel's BTF, read once per process, and the split BTF
// of kernel modules on top of it. Checked against the files in /sys/kernel/btf and bpftool.
//
// A module with BTF is not always loaded (a kernel without modules has none): that test
// skips with a message, and a synthetic module directory (vmlinux plus a split BTF we
// write, which bpftool -B reads the same way) tests loadModuleBtf on every machine.

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BtfError } from "../common/errors.js";
import { forgetKernelBtf, kernelBtfModules, loadKernelBtf, loadModuleBtf, VMLINUX_BTF_PATH } from "../loader/kernel-btf.js";
import { KIND_NAMES } from "../btf/kinds.js";
import type { Btf } from "../btf/parse.js";
import { btfBlob } from "./helpers/btf-bytes.js";

const haveVmlinux = existsSync(VMLINUX_BTF_PATH);
const skipVmlinux = !haveVmlinux && process.env.TSBPF_REQUIRE_KERNEL !== "1";

interface BpftoolType {
  id: number;
  kind: string;
  name: string;
}

const bpftoolSplit = (path: string, base: string) =>
  (JSON.parse(execFileSync("bpftool", ["-j", "btf", "dump", "file", path, "-B", base], { encoding: "utf8", maxBuffer: 1 << 28 })) as { types: BpftoolType[] }).types;

/** An own type of a split BTF whose name no base type has: it can only be found in the module. */
function moduleOnlyType(module: Btf): { id: number; name: string } | undefined {
  for (let id = module.firstTypeId; id < module.typeCount; id++) {
    const offset = module.nameOffsetOf(id);
    if (offset === 0) continue;
    const name = module.string(offset);
    if (module.base!.idsByName(name).length === 0) return { id, name };
  }
  return undefined;
}

describe.skipIf(skipVmlinux)("loadKernelBtf", () => {
  it("reads /sys/kernel/btf/vmlinux once: every call returns the same Btf", () => {
    const btf = loadKernelBtf();
    expect(loadKernelBtf()).toBe(btf);
    expect(loadKernelBtf(VMLINUX_BTF_PATH)).toBe(btf);
    const dump = execFileSync("bpftool", ["btf", "dump", "file", VMLINUX_BTF_PATH], { encoding: "utf8", maxBuffer: 1 << 28 });
    const lastId = Number(/^\[(\d+)\]/.exec(dump.slice(dump.lastIndexOf("\n[") + 1))![1]); // ids are printed in order
    expect(btf.typeCount).toBe(lastId + 1);
    expect(btf.typeByName("task_struct", "struct")?.kind).toBe("struct");
  });

  it("reads the file again after forgetKernelBtf", () => {
    const before = loadKernelBtf();
    forgetKernelBtf(VMLINUX_BTF_PATH);
    const after = loadKernelBtf();
    expect(after).not.toBe(before);
    expect(after.typeCount).toBe(before.typeCount);
    expect(loadKernelBtf()).toBe(after);
  });

  it("a missing file: a BtfError that names it", () => {
    expect(() => loadKernelBtf("/nonexistent/vmlinux")).toThrow(BtfError);
    expect(() => loadKernelBtf("/nonexistent/vmlinux")).toThrow(/\/nonexistent\/vmlinux.*ENOENT/);
  });
});

describe.skipIf(skipVmlinux)("loadModuleBtf", () => {
  const modules = haveVmlinux ? kernelBtfModules() : [];

  it("a loaded module's BTF resolves its own types and vmlinux's", (context) => {
    context.skip(modules.length === 0, "no kernel module with BTF is loaded (/sys/kernel/btf holds only vmlinux)");
    const name = modules[0]!;
    const module = loadModuleBtf(name);
    expect(loadModuleBtf(name)).toBe(module);
    expect(module.base).toBe(loadKernelBtf());
    expect(module.firstTypeId).toBe(loadKernelBtf().typeCount);
    const theirs = bpftoolSplit(join("/sys/kernel/btf", name), VMLINUX_BTF_PATH);
    expect(theirs.length).toBe(module.typeCount - module.firstTypeId);
    for (const t of theirs) {
      expect([t.id, KIND_NAMES[module.kindOf(t.id)], module.type(t.id).name || "(anon)"]).toEqual([t.id, t.kind, t.name]);
    }
    const own = moduleOnlyType(module);
    if (own !== undefined) expect(module.typeByName(own.name)?.id).toBe(own.id);
    const task = module.base!.typeByName("task_struct", "struct")!;
    expect(module.typeByName("task_struct", "struct")).toBe(task);
  });

  describe("from a directory holding vmlinux and a split BTF we wrote", () => {
    const directory = mkdtempSync(join(tmpdir(), `tsbpf-kernel-btf-${process.pid}-`));
    afterAll(() => rmSync(directory, { recursive: true, force: true }));
    let vmlinux: Btf;
    const setUp = () => {
      if (vmlinux !== undefined) return;
      symlinkSync(VMLINUX_BTF_PATH, join(directory, "vmlinux"));
      vmlinux = loadKernelBtf(join(directory, "vmlinux"));
      writeFileSync(join(directory, "tsbpf_test"), moduleBytes(vmlinux));
    };

    it("lists the module and resolves a module type and a vmlinux type through it", () => {
      setUp();
      expect(kernelBtfModules(directory)).toEqual(["tsbpf_test"]);
      const module = loadModuleBtf("tsbpf_test", { directory });
      expect(loadModuleBtf("tsbpf_test", { directory })).toBe(module);
      expect(module.base).toBe(vmlinux);

      const own = module.typeByName("tsbpf_test_counters", "struct");
      expect(own?.id).toBe(vmlinux.typeCount);
      if (own?.kind !== "struct") throw new Error("no module struct");
      expect(own.members.map((m) => m.name)).toEqual(["packets", "owner"]);
      // Its first member is vmlinux's u64; the second a pointer (a module type) to task_struct.
      expect(module.resolve(own.members[0]!.type)).toEqual(vmlinux.resolve(vmlinux.typeByName("u64", "typedef")!.id));
      const pointer = module.type(own.members[1]!.type);
      expect(pointer.kind === "ptr" && module.type(pointer.type)).toBe(vmlinux.typeByName("task_struct", "struct"));
      expect(module.sizeof(own.id)).toBe(16);
      expect(module.typeByName("task_struct", "struct")).toBe(vmlinux.typeByName("task_struct", "struct"));
      expect(moduleOnlyType(module)).toEqual({ id: own.id, name: "tsbpf_test_counters" });

      const theirs = bpftoolSplit(join(directory, "tsbpf_test"), join(directory, "vmlinux"));
      expect(theirs.map((t) => [t.id, t.kind, t.name])).toEqual([
        [vmlinux.typeCount, "STRUCT", "tsbpf_test_counters"],
        [vmlinux.typeCount + 1, "PTR", "(anon)"],
      ]);
    });

    it("refuses names that are not modules, and modules that are not there, with a BtfError", () => {
      setUp();
      for (const name of ["", "vmlinux", "../vmlinux", ".hidden", "a/b"]) expect(() => loadModuleBtf(name, { directory })).toThrow(BtfError);
      expect(() => loadModuleBtf("not_loaded", { directory })).toThrow(/not_loaded.*ENOENT/);
    });
  });
});

/** Split BTF on top of `base`: struct tsbpf_test_counters { u64 packets; struct task_struct *owner; }. */
function moduleBytes(base: Btf): Uint8Array {
  const strings = new TextEncoder().encode("tsbpf_test_counters\0packets\0owner\0");
  const at = (text: string) => base.stringsEnd + Buffer.from(strings).indexOf(`${text}\0`);
  const u64 = base.typeByName("u64", "typedef")!.id;
  const task = base.typeByName("task_struct", "struct")!.id;
  const first = base.typeCount;
  // struct (kind 4, vlen 2, size 16) with two btf_members, then a PTR (kind 2).
  const words = [at("tsbpf_test_counters"), (4 << 24) | 2, 16, at("packets"), u64, 0, at("owner"), first + 1, 64, 0, 2 << 24, task];
  return btfBlob(words, strings);
}
