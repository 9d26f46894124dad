// CO-RE, differential: our relocations against libbpf's, both judged by the kernel.
//
// libbpf (inside bpftool 7.1: `bpftool prog loadall OBJ DIR`) relocates and loads each
// fixture program; we relocate the same program with relocateCore and load it with
// loadProgram. The comparison is made on what the kernel holds after verification (the
// xlated instructions, BPF_OBJ_GET_INFO_BY_FD for both): the kernel rewrites both loads
// the same way (helper addresses, dead code removal, which also removes the poisoned
// calls libbpf and we leave in guarded branches), so equal xlated instructions mean equal
// relocated instructions on every path the verifier kept. The fixtures use no maps, so
// there are no map ids to mask. Socket filters are also run: `bpftool prog run` on
// libbpf's and BPF_PROG_TEST_RUN on ours must return the same value.
//
// TYPE_MATCHES (LLVM 17) cannot be compiled by clang 14: a copy of core_values.o whose
// TYPE_EXISTS records say TYPE_MATCHES (the kind field of struct bpf_core_relo rewritten)
// is given to both. tp_btf and iter programs need attach_btf_id: ours comes from
// resolveAttachTarget and must equal the one libbpf chose.

import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RelocationError, VerifierError } from "../common/errors.js";
import { BtfBuilder } from "../btf/builder.js";
import { CoreReloKind } from "../btf/ext.js";
import { parseBtf, type Btf } from "../btf/parse.js";
import { parseElf } from "../elf/index.js";
import { loadKernelBtf } from "../loader/kernel-btf.js";
import { link } from "../loader/link.js";
import { coreVerifierError, relocateCore, resolveAttachTarget } from "../loader/core.js";
import { parseObject } from "../loader/spec.js";
import { getPinnedObject } from "../syscall/bpf-obj.js";
import { testRun } from "../syscall/bpf-prog.js";
import { programInfo } from "../syscall/info.js";
import { loadProgram } from "../syscall/prog-load.js";
import type { Fd } from "../syscall/fd.js";
import { FIXTURES } from "./helpers/fixture-manifest.js";
import { skipWithoutRoot } from "./helpers/netns.js";
import { progPath } from "./helpers/progs.js";

const PACKET = new Uint8Array(14);

/** Loads `program` of the object at `path`, relocated by us against the running kernel. */
function loadOurs(path: string, program: string, target: Btf = loadKernelBtf()): { fd: Fd; attachBtfId: number | undefined } {
  const spec = parseObject(readFileSync(path));
  const prog = spec.programs.get(program)!;
  const linked = link(spec, prog);
  const { bytes } = relocateCore(linked, spec.btf!, target);
  const attach = resolveAttachTarget(loadKernelBtf(), prog);
  const fd = loadProgram({
    type: prog.type,
    insns: bytes,
    license: prog.license,
    name: prog.name,
    expectedAttachType: prog.expectedAttachType,
    attachBtfId: attach?.btfId,
  });
  return { fd, attachBtfId: attach?.btfId };
}

/** The xlated instructions and attach_btf_id of the program behind `fd`. */
function kernelView(fd: Fd): { xlated: string; attachBtfId: number } {
  const info = programInfo(fd, { xlated: true });
  return { xlated: Buffer.from(info.xlatedInsns ?? []).toString("hex"), attachBtfId: info.attachBtfId };
}

/** `bpftool prog run` of a pinned socket filter on 14 zero bytes: its return value. */
function bpftoolRun(pinned: string, dataFile: string): number {
  const out = execFileSync("bpftool", ["prog", "run", "pinned", pinned, "data_in", dataFile], { encoding: "utf8" });
  const match = /Return value: (\d+)/.exec(out);
  if (match === null) throw new Error(`bpftool prog run printed ${out}`);
  return Number(match[1]);
}

/** A copy of an object whose CO-RE records of kind `from` say `to` instead (struct bpf_core_relo.kind). */
function withRelocationKind(bytes: Uint8Array, from: number, to: number): { bytes: Uint8Array; changed: number } {
  const copy = Uint8Array.from(bytes);
  const ext = parseElf(copy).section(".BTF.ext")!;
  const view = new DataView(copy.buffer, ext.offset, ext.size);
  const headerLength = view.getUint32(4, true);
  const reloOff = headerLength + view.getUint32(24, true);
  const reloEnd = reloOff + view.getUint32(28, true);
  const recordSize = view.getUint32(reloOff, true);
  let changed = 0;
  // rec_size, then per section: sec_name_off, num_info, num_info records of rec_size bytes.
  for (let at = reloOff + 4; at < reloEnd; ) {
    const count = view.getUint32(at + 4, true);
    at += 8;
    for (let i = 0; i < count; i++, at += recordSize) {
      if (view.getUint32(at + 12, true) === from) {
        view.setUint32(at + 12, to, true);
        changed++;
      }
    }
  }
  return { bytes: copy, changed };
}

describe.skipIf(skipWithoutRoot)("CO-RE: our relocations against libbpf's (bpftool prog loadall)", () => {
  let pinRoot: string;
  let scratch: string;
  let packetFile: string;
  beforeAll(() => {
    pinRoot = `/sys/fs/bpf/tsbpf-core-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    mkdirSync(pinRoot);
    scratch = mkdtempSync(join(tmpdir(), "tsbpf-core-"));
    packetFile = join(scratch, "packet");
    writeFileSync(packetFile, PACKET);
  });
  afterAll(() => {
    if (pinRoot) rmSync(pinRoot, { recursive: true, force: true });
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  /** libbpf loads every program of the object and pins them under pinRoot/label. */
  function libbpfLoad(path: string, label: string): string {
    const dir = join(pinRoot, label);
    const run = spawnSync("bpftool", ["prog", "loadall", path, dir], { encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    return dir;
  }

  for (const fixture of ["core_values", "core_tracing"]) {
    it(`${fixture}: the kernel holds the same instructions for every program, whoever relocated them`, () => {
      const dir = libbpfLoad(progPath(fixture), fixture);
      for (const { name } of FIXTURES[fixture]!.programs) {
        using theirs = getPinnedObject(join(dir, name));
        const ours = loadOurs(progPath(fixture), name);
        using fd = ours.fd;
        const [a, b] = [kernelView(fd), kernelView(theirs)];
        expect(a.xlated.length, name).toBeGreaterThan(0);
        expect(a.xlated, name).toBe(b.xlated);
        expect(a.attachBtfId, name).toBe(b.attachBtfId);
        expect(a.attachBtfId, name).toBe(ours.attachBtfId ?? 0);
        if (FIXTURES[fixture]!.programs.find((p) => p.name === name)!.programType === "socket_filter") {
          expect(testRun(fd, { data: PACKET }).retval, name).toBe(bpftoolRun(join(dir, name), packetFile));
        }
      }
    });
  }

  it("TYPE_MATCHES: the same answers as libbpf for the strict rule (only list_head matches)", () => {
    const { bytes, changed } = withRelocationKind(readFileSync(progPath("core_values")), CoreReloKind.TYPE_EXISTS, CoreReloKind.TYPE_MATCHES);
    expect(changed).toBe(5);
    const path = join(scratch, "core_values_matches.o");
    writeFileSync(path, bytes);
    const dir = libbpfLoad(path, "matches");
    const ours = loadOurs(path, "type_exists_mask");
    using fd = ours.fd;
    // task_struct, pid_type and task_struct___old declare members the kernel lacks; the
    // struct tsbpf_no_such_struct is not there at all; list_head matches member for member.
    expect(testRun(fd, { data: PACKET }).retval).toBe(16);
    expect(bpftoolRun(join(dir, "type_exists_mask"), packetFile)).toBe(16);
  });

  it("a poisoned instruction the verifier reaches becomes a RelocationError naming the relocation and source line", () => {
    const b = new BtfBuilder();
    b.addStruct("task_struct", 8, [{ name: "tgid", type: b.addInt("int", 4, { signed: true }), bitOffset: 0 }]);
    const noPid = parseBtf(b.build());
    const spec = parseObject(readFileSync(progPath("core_values")));
    const linked = link(spec, spec.programs.get("offset_pid")!);
    const core = relocateCore(linked, spec.btf!, noPid);
    expect(core.results[0].status).toBe("poisoned");
    let refusal: unknown;
    try {
      loadProgram({ type: linked.program.type, insns: core.bytes, license: "GPL", name: "offset_pid" }).close();
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(VerifierError);
    expect((refusal as VerifierError).log).toContain("invalid func unknown#195896080");
    const explained = coreVerifierError(refusal as VerifierError, linked, core.results);
    expect(explained).toBeInstanceOf(RelocationError);
    expect(explained!.cause).toBe(refusal);
    expect(explained!.message).toMatch(/instruction 0 was poisoned by CO-RE relocation #0 \(FIELD_BYTE_OFFSET of task_struct\.pid/);
    expect(explained!.message).toMatch(/core_values\.bpf\.c:\d+ \(return bpf_core_field_offset\(struct task_struct, pid\);\)/);
    expect(explained!.message).toMatch(/no member pid in struct task_struct|no candidate matches/);
    expect(explained!.message).toContain("bpf_core_field_exists()");
  });
});
