// CO-RE on our fixtures (test/progs/core_values.bpf.c, core_tracing.bpf.c) against two
// targets whose layout the test knows without our parser:
//
// - the running kernel's BTF, read by bpftool (test/helpers/core-oracle.ts): offsets of
//   task_struct fields, bitfield positions, enum values, type ids and sizes;
// - a "kernel" of our own making (btf/builder.ts): an older task_struct (`state`, no
//   `__state`) with every field somewhere else, enums with other values, a 64-bit enum.
//
// For each, the patched instructions must hold the target's values, and the socket filter
// programs (which return what their relocations computed) must return them when run.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ProgramType } from "../common/uapi.js";
import { BtfBuilder } from "../btf/builder.js";
import { parseBtf, type Btf } from "../btf/parse.js";
import { decodeInstructions } from "../insn/instruction.js";
import { BPF_DW, BPF_W, opSize } from "../insn/opcodes.js";
import { loadKernelBtf, VMLINUX_BTF_PATH } from "../loader/kernel-btf.js";
import { link } from "../loader/link.js";
import { relocateCore } from "../loader/core.js";
import { parseObject } from "../loader/spec.js";
import { loadProgram } from "../syscall/prog-load.js";
import { testRun } from "../syscall/bpf-prog.js";
import { Oracle, type OracleMember } from "./helpers/core-oracle.js";
import { skipWithoutRoot } from "./helpers/netns.js";
import { progPath } from "./helpers/progs.js";

function relocated(fixture: string, program: string, target: Btf) {
  const spec = parseObject(readFileSync(progPath(fixture)));
  const linked = link(spec, spec.programs.get(program)!);
  const core = relocateCore(linked, spec.btf!, target);
  return { ...core, linked, insns: decodeInstructions(core.bytes, true) };
}

function run(fixture: string, program: string, target: Btf): number {
  const { bytes } = relocated(fixture, program, target);
  using fd = loadProgram({ type: ProgramType.SOCKET_FILTER, insns: bytes, license: "GPL", name: program });
  return testRun(fd, { data: new Uint8Array(14) }).retval;
}

/**
 * core_values' packing of a bitfield's facts (byte offset | size << 16 | lshift << 20 |
 * rshift << 26), from where the field is: the smallest aligned word of its type's size or
 * more that holds it (libbpf's rule), little-endian shifts.
 */
function bitfieldFacts(bitOffset: number, bits: number, typeSize: number): number {
  let size = typeSize;
  let offset = Math.floor(bitOffset / 8 / size) * size;
  while (bitOffset + bits - offset * 8 > size * 8) {
    size *= 2;
    offset = Math.floor(bitOffset / 8 / size) * size;
  }
  const lshift = 64 - (bitOffset + bits - offset * 8);
  return (offset | (size << 16) | (lshift << 20) | ((64 - bits) << 26)) >>> 0;
}

/** What each core_values program must return for a target, and what the patched instructions hold. */
interface Expected {
  values: Record<string, number>;
  pid: number;
  tgid: number;
  flags: number;
  state: number | undefined;
}

function expectedFromBpftool(): Expected {
  const o = new Oracle(VMLINUX_BTF_PATH);
  const task = o.byName("task_struct", "STRUCT");
  const member = (struct: number, name: string) => o.member(struct, name);
  const must = (m: OracleMember | undefined) => m ?? (() => { throw new Error("missing member"); })();
  const facts = (struct: number, name: string) => {
    const m = must(member(struct, name));
    return bitfieldFacts(m.bitOffset, m.bitfieldSize, o.sizeof(m.type));
  };
  const has = (name: string) => (member(task.id, name) === undefined ? 0 : 1);
  const state = member(task.id, "state");
  const comm = must(member(task.id, "comm"));
  const kernel = o.enumValue("perf_callchain_context", "PERF_CONTEXT_KERNEL");
  const signed = (name: string) => (o.resolve(must(member(task.id, name)).type).encoding === "SIGNED" ? 1 : 0);
  const local = new Oracle(progPath("core_values"));
  return {
    pid: o.offsetof("task_struct", "pid"),
    tgid: o.offsetof("task_struct", "tgid"),
    flags: o.offsetof("task_struct", "flags"),
    state: state === undefined ? undefined : state.bitOffset / 8,
    values: {
      offset_pid: o.offsetof("task_struct", "pid"),
      offset_comm_5: comm.bitOffset / 8 + 5,
      size_comm: o.sizeof(comm.type),
      exists_mask: has("__state") | (has("state") << 1) | (has("tsbpf_missing") << 2) | (has("tgid") << 3),
      signed_mask: signed("pid") | (signed("flags") << 1),
      bitfield_iowait: facts(task.id, "in_iowait"),
      bitfield_pkt_type: facts(o.byName("sk_buff", "STRUCT").id, "pkt_type"),
      old_state_guarded: state === undefined ? 7 : state.bitOffset / 8,
      type_size: task.size!,
      type_exists_mask: 1 | 4 | 8 | 16,
      type_id_kernel: task.id,
      type_id_missing: 0,
      type_id_local: local.byName("task_struct", "STRUCT").id,
      enum_values: Number(o.enumValue("pid_type", "PIDTYPE_MAX")) | (Number(o.enumValue("pid_type", "PIDTYPE_SID")) << 8) | (1 << 17),
      enum_guarded: 42,
      enum64_low: Number(BigInt.asUintN(32, kernel)),
      enum64_high: Number(BigInt.asUintN(32, kernel >> 32n)),
    },
  };
}

/** An older, rearranged kernel: `state` instead of `__state`, every field elsewhere. */
function fakeKernel(): { btf: Btf; expected: Expected } {
  const b = new BtfBuilder();
  const int = b.addInt("int", 4, { signed: true });
  const uint = b.addInt("unsigned int", 4);
  const long = b.addInt("long", 8, { signed: true });
  const char = b.addInt("char", 1, { signed: true, char: true });
  const u8 = b.addInt("unsigned char", 1);
  const comm = b.addArray(char, uint, 16);
  const task = b.addStruct("task_struct", 4096, [
    { name: "flags", type: uint, bitOffset: 0 },
    { name: "state", type: long, bitOffset: 64 },
    { name: "pid", type: int, bitOffset: 200 * 8 },
    { name: "tgid", type: int, bitOffset: 204 * 8 },
    { name: "comm", type: comm, bitOffset: 300 * 8 },
    { name: "in_iowait", type: uint, bitOffset: 500 * 8 + 5, bitfieldSize: 1 },
  ]);
  const inner = b.addStruct("", 1, [{ name: "pkt_type", type: u8, bitOffset: 2, bitfieldSize: 3 }]);
  const wrapper = b.addUnion("", 1, [{ name: "", type: inner, bitOffset: 0 }]);
  b.addStruct("sk_buff", 64, [{ name: "len", type: uint, bitOffset: 0 }, { name: "", type: wrapper, bitOffset: 17 * 8 }]);
  const listHead = b.nextId;
  b.addStruct("list_head", 16, [{ name: "next", type: listHead + 1, bitOffset: 0 }, { name: "prev", type: listHead + 1, bitOffset: 64 }]);
  b.addPtr(listHead);
  b.addEnum("pid_type", [{ name: "PIDTYPE_PID", value: 0 }, { name: "PIDTYPE_SID", value: 5 }, { name: "PIDTYPE_MAX", value: 10 }]);
  b.addEnum64("perf_callchain_context", [{ name: "PERF_CONTEXT_KERNEL", value: 0x123456789abcdef0n }]);
  const btf = parseBtf(b.build());
  const local = new Oracle(progPath("core_values"));
  return {
    btf,
    expected: {
      pid: 200,
      tgid: 204,
      flags: 0,
      state: 8,
      values: {
        offset_pid: 200,
        offset_comm_5: 305,
        size_comm: 16,
        exists_mask: 0b1010, // no __state, state, no tsbpf_missing, tgid
        signed_mask: 1,
        bitfield_iowait: bitfieldFacts(500 * 8 + 5, 1, 4),
        bitfield_pkt_type: bitfieldFacts(17 * 8 + 2, 3, 1),
        old_state_guarded: 8,
        type_size: 4096,
        type_exists_mask: 1 | 4 | 8 | 16,
        type_id_kernel: task,
        type_id_missing: 0,
        type_id_local: local.byName("task_struct", "STRUCT").id,
        enum_values: 10 | (5 << 8) | (1 << 17),
        enum_guarded: 42,
        enum64_low: 0x9abcdef0,
        enum64_high: 0x12345678,
      },
    },
  };
}

const targets = [
  { label: "the running kernel (values from bpftool)", target: () => loadKernelBtf(), expected: expectedFromBpftool },
  { label: "a kernel BTF of our own making", target: () => fakeKernel().btf, expected: () => fakeKernel().expected },
];

for (const { label, target, expected } of targets) {
  describe(`CO-RE fixtures against ${label}`, () => {
    const btf = target();
    const want = expected();

    it("patches every core_values relocation with the target's value (and poisons only dead code)", () => {
      for (const [program, value] of Object.entries(want.values)) {
        const { results } = relocated("core_values", program, btf);
        expect(results.every((r) => r.status !== "failed"), program).toBe(true);
        const patched = results.filter((r) => r.status === "patched");
        // Single-relocation programs return the value itself (the enum64 ones, half of it).
        if (results.length === 1 && !program.startsWith("enum64")) expect(patched[0]?.value, program).toBe(BigInt(value));
      }
      const enum64 = relocated("core_values", "enum64_low", btf);
      expect(enum64.results[0].value).toBe((BigInt(want.values.enum64_high) << 32n) | BigInt(want.values.enum64_low));
      expect(enum64.insns[0].imm64).toBe(BigInt.asIntN(64, enum64.results[0].value!));
      const guarded = relocated("core_values", "enum_guarded", btf).results;
      expect(guarded.map((r) => r.status)).toEqual(["patched", "poisoned"]);
    });

    it("patches the loads of tp_btf_reads: offsets, the u64 load of a u32 field resized, the flavored field", () => {
      const { results, insns } = relocated("core_tracing", "tp_btf_reads", btf);
      const at = (access: string) => insns.find((i) => i.slot === results.find((r) => r.access === access && r.kindName === "FIELD_BYTE_OFFSET")!.insn)!;
      expect(at("task_struct.pid").off).toBe(want.pid);
      expect(at("task_struct.tgid").off).toBe(want.tgid);
      const flags = at("task_struct___wide.flags");
      expect([flags.off, opSize(flags.opcode)]).toEqual([want.flags, BPF_W]);
      const state = results.find((r) => r.access === "task_struct___old.state" && r.kindName === "FIELD_BYTE_OFFSET")!;
      if (want.state === undefined) {
        expect(state.status).toBe("poisoned");
      } else {
        expect([at("task_struct___old.state").off, opSize(at("task_struct___old.state").opcode)]).toEqual([want.state, BPF_DW]);
      }
    });

    it.skipIf(skipWithoutRoot)("runs each core_values program: it returns the target's value", () => {
      for (const [program, value] of Object.entries(want.values)) expect(run("core_values", program, btf), program).toBe(value);
    });
  });
}
