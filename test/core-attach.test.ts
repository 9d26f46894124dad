// Attach targets of BTF-based tracing programs (resolveAttachTarget): the kernel type each
// section names, checked against bpftool's reading of /sys/kernel/btf/vmlinux. The running
// kernel is in lockdown and refuses fentry/fexit/fmod_ret/lsm programs (EPERM), so those
// are checked by id only; tp_btf and iter programs load (core-libbpf.test.ts checks their
// attach_btf_id against libbpf's), and raw_tp must not get an id at all.

import { describe, expect, it } from "vitest";
import { SpecError, SyscallError } from "../common/errors.js";
import { ProgramType } from "../common/uapi.js";
import { BtfBuilder } from "../btf/builder.js";
import { parseBtf } from "../btf/parse.js";
import { kernelBtfModules, loadKernelBtf, VMLINUX_BTF_PATH } from "../loader/kernel-btf.js";
import { kernelModuleTargets, resolveAttachTarget } from "../loader/core.js";
import { ProgramSpec } from "../loader/programs.js";
import { loadProgram } from "../syscall/prog-load.js";
import { Oracle } from "./helpers/core-oracle.js";
import { skipWithoutRoot } from "./helpers/netns.js";

/** A program in `section` (what the loader would build from an object with that SEC()). */
function programIn(section: string): ProgramSpec {
  const exit = Uint8Array.of(0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0); // r0 = 0; exit
  return new ProgramSpec({
    name: "prog", section, isSubprogram: false, linkage: "global", license: "GPL", kernelVersion: 0,
    bytes: exit, littleEndian: true, sectionOffset: 0, references: [],
  });
}

describe("attach targets of tracing programs", () => {
  const kernel = loadKernelBtf();
  const oracle = new Oracle(VMLINUX_BTF_PATH);

  it("name the kernel's typedef or function as libbpf does, by section", () => {
    const cases: [string, string, string][] = [
      ["tp_btf/sched_switch", "TYPEDEF", "btf_trace_sched_switch"],
      ["fentry/do_unlinkat", "FUNC", "do_unlinkat"],
      ["fexit/do_unlinkat", "FUNC", "do_unlinkat"],
      ["fmod_ret/do_unlinkat", "FUNC", "do_unlinkat"],
      ["fentry.s/do_unlinkat", "FUNC", "do_unlinkat"],
      ["lsm/file_open", "FUNC", "bpf_lsm_file_open"],
      ["lsm_cgroup/socket_bind", "FUNC", "bpf_lsm_socket_bind"],
      ["iter/task", "FUNC", "bpf_iter_task"],
      ["iter.s/task_file", "FUNC", "bpf_iter_task_file"],
    ];
    for (const [section, kind, name] of cases) {
      expect(resolveAttachTarget(kernel, programIn(section)), section).toEqual({
        btfId: oracle.byName(name, kind).id,
        module: undefined,
        name,
        kind: kind === "FUNC" ? "func" : "typedef",
      });
    }
  });

  it("are none for programs that take no attach_btf_id, raw_tp included", () => {
    for (const section of ["raw_tp/sched_switch", "raw_tracepoint/sched_switch", "kprobe/do_unlinkat", "tracepoint/sched/sched_switch", "xdp"]) {
      expect(resolveAttachTarget(kernel, programIn(section)), section).toBeUndefined();
    }
  });

  it("fail with a SpecError naming what the kernel lacks", () => {
    expect(() => resolveAttachTarget(kernel, programIn("tp_btf/tsbpf_no_such_tracepoint"))).toThrow(SpecError);
    expect(() => resolveAttachTarget(kernel, programIn("tp_btf/tsbpf_no_such_tracepoint"))).toThrow(/no tracepoint of that name/);
    expect(() => resolveAttachTarget(kernel, programIn("lsm/tsbpf_no_such_hook"))).toThrow(/no LSM hook of that name/);
    expect(() => resolveAttachTarget(kernel, programIn("fentry"))).toThrow(/does not name what to attach to/);
  });

  it("are looked up in module BTF after vmlinux, or in the module named by MODULE:NAME", () => {
    const b = new BtfBuilder();
    const proto = b.addFuncProto(b.addInt("int", 4, { signed: true }), []);
    const func = b.addFunc("tsbpf_module_func", proto);
    b.addFunc("do_unlinkat", proto);
    const modules = [{ name: "tsbpf_mod", btf: parseBtf(b.build()) }];
    expect(resolveAttachTarget(kernel, programIn("fentry/tsbpf_module_func"), { modules })).toMatchObject({ btfId: func, module: "tsbpf_mod" });
    expect(resolveAttachTarget(kernel, programIn("fentry/tsbpf_mod:tsbpf_module_func"), { modules })).toMatchObject({ btfId: func, module: "tsbpf_mod" });
    // vmlinux has do_unlinkat: found there first; "tsbpf_mod:" asks for the module's.
    expect(resolveAttachTarget(kernel, programIn("fentry/do_unlinkat"), { modules })?.module).toBeUndefined();
    expect(resolveAttachTarget(kernel, programIn("fentry/tsbpf_mod:do_unlinkat"), { modules })?.module).toBe("tsbpf_mod");
    expect(() => resolveAttachTarget(kernel, programIn("fentry/other_mod:tsbpf_module_func"), { modules })).toThrow(SpecError);
    // The loaded modules' BTF, as targets read only when a search reaches them.
    expect(kernelModuleTargets().map((t) => t.name)).toEqual(kernelBtfModules());
  });

  it("read the kernel's BTF only for the program types that need it", () => {
    let reads = 0;
    const lazy = () => {
      reads++;
      return kernel;
    };
    expect(resolveAttachTarget(lazy, programIn("xdp"))).toBeUndefined();
    expect(reads).toBe(0);
    expect(resolveAttachTarget(lazy, programIn("iter/task"))?.name).toBe("bpf_iter_task");
    expect(reads).toBe(1);
  });

  it.skipIf(skipWithoutRoot)("the kernel takes the tp_btf id, and refuses any id for a raw_tp program (EINVAL)", () => {
    const tpBtf = programIn("tp_btf/sched_switch");
    const id = resolveAttachTarget(kernel, tpBtf)!.btfId;
    loadProgram({ type: tpBtf.type, insns: tpBtf.bytes, license: "GPL", expectedAttachType: tpBtf.expectedAttachType, attachBtfId: id }).close();
    const rawTp = programIn("raw_tp/sched_switch");
    expect(rawTp.type).toBe(ProgramType.RAW_TRACEPOINT);
    let refusal: unknown;
    try {
      loadProgram({ type: rawTp.type, insns: rawTp.bytes, license: "GPL", attachBtfId: id }).close();
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(SyscallError);
    expect((refusal as SyscallError).errnoName).toBe("EINVAL");
  });
});
