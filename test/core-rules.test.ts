// The CO-RE engine's rules, one at a time, on BTF built in the test (btf/builder.ts) and
// instructions assembled in the test: essential names, access strings, the three
// compatibility relations, candidate search, every instruction form a relocation patches,
// validation, poisoning, ambiguity, and the verifier-log explanation. No kernel needed.
//
// The expected answers are facts of libbpf's relo_core.c (and of cilium's core_test.go
// tables, which encode the same rules); kernel and libbpf oracles are in core-kernel.test.ts.

import { describe, expect, it } from "vitest";
import { BtfBuilder } from "../btf/builder.js";
import { parseBtf, type Btf } from "../btf/parse.js";
import { CoreReloKind } from "../btf/ext.js";
import type { CoreRelo } from "../btf/ext-info.js";
import { essentialName, findCandidates, typesByEssentialName } from "../btf/core-candidates.js";
import { fieldsAreCompatible, typesAreCompatible, typesMatch } from "../btf/core-compat.js";
import { describeAccess, localAccess, parseAccessString, targetAccess } from "../btf/core-access.js";
import { CORE_POISON_HELPER, relocateInstructions, type CoreResult, type CoreTarget } from "../btf/core.js";
import { explainPoisonedCall, formatCoreResult, poisonedRelocation } from "../btf/core-explain.js";
import { decodeInstructions, encodeInstructions, Instruction } from "../insn/instruction.js";
import { BPF_ALU64, BPF_DW, BPF_JMP, BPF_K, BPF_LDX, BPF_MEM, BPF_MOV, BPF_STX, BPF_W, BPF_CALL, BPF_EXIT } from "../insn/opcodes.js";
import { btfBlob } from "./helpers/btf-bytes.js";

const { FIELD_BYTE_OFFSET, FIELD_BYTE_SIZE, FIELD_EXISTS, FIELD_SIGNED, FIELD_LSHIFT_U64, FIELD_RSHIFT_U64 } = CoreReloKind;
const { TYPE_ID_LOCAL, TYPE_ID_TARGET, TYPE_EXISTS, TYPE_SIZE, TYPE_MATCHES, ENUMVAL_EXISTS, ENUMVAL_VALUE } = CoreReloKind;

/** Builds a BTF with `define` and returns it parsed, with the ids `define` returned. */
function build<T>(define: (b: BtfBuilder) => T, littleEndian = true): { btf: Btf; ids: T } {
  const b = new BtfBuilder({ littleEndian });
  const ids = define(b);
  return { btf: parseBtf(b.build()), ids };
}

const movImm = (dst: number, imm: number) => Instruction.of({ opcode: BPF_ALU64 | BPF_MOV | BPF_K, dst, imm });
const ldx = (size: number, dst: number, src: number, off: number) => Instruction.of({ opcode: BPF_LDX | BPF_MEM | size, dst, src, off });
const exit = Instruction.of({ opcode: BPF_JMP | BPF_EXIT });

function relocate(local: Btf, target: Btf | Btf[], insns: Instruction[], relocations: CoreRelo[], littleEndian = true) {
  const targets: CoreTarget[] = (Array.isArray(target) ? target : [target]).map((btf, i) => ({ btf, name: i === 0 ? "kernel" : `module${i}` }));
  const bytes = encodeInstructions(insns, littleEndian);
  const out = relocateInstructions({ bytes, littleEndian, relocations, local, targets });
  return { ...out, insns: decodeInstructions(out.bytes, littleEndian), original: bytes };
}

describe("essential names", () => {
  it("drop everything from the last ___ that has a non-underscore on both sides", () => {
    expect(essentialName("task_struct___old")).toBe("task_struct");
    expect(essentialName("a___b___c")).toBe("a___b");
    expect(essentialName("task_struct")).toBe("task_struct");
    expect(essentialName("__u32")).toBe("__u32");
    expect(essentialName("a____b")).toBe("a____b");
    expect(essentialName("___x")).toBe("___x");
    expect(essentialName("x___")).toBe("x___");
    expect(essentialName("x___y")).toBe("x");
  });
});

describe("access strings", () => {
  it("are colon-separated indexes (cilium's valid and invalid examples)", () => {
    expect(parseAccessString("0")).toEqual([0]);
    expect(parseAccessString("1:0")).toEqual([1, 0]);
    expect(parseAccessString("1:0:3:34:10:1")).toEqual([1, 0, 3, 34, 10, 1]);
    for (const bad of ["", "-1", ":", "0:", ":12", "4294967296", "a"]) expect(() => parseAccessString(bad), bad).toThrow(/access string/);
  });

  it("walk structs, unions, arrays and typedefs, skipping anonymous members in the accessors", () => {
    const { btf, ids } = build((b) => {
      const int = b.addInt("int", 4, { signed: true });
      const char = b.addInt("char", 1, { signed: true, char: true });
      const u32 = b.addInt("unsigned int", 4);
      const arr = b.addArray(char, u32, 16);
      const inner = b.addStruct("", 8, [{ name: "x", type: int, bitOffset: 0 }, { name: "y", type: int, bitOffset: 32 }]);
      const anon = b.addUnion("", 8, [{ name: "", type: inner, bitOffset: 0 }, { name: "z", type: int, bitOffset: 0 }]);
      const s = b.addStruct("s", 32, [{ name: "a", type: int, bitOffset: 0 }, { name: "", type: anon, bitOffset: 32 }, { name: "name", type: arr, bitOffset: 96 }]);
      const t = b.addTypedef("s_t", s);
      return { s, t, inner };
    });
    const y = localAccess(btf, ids.t, "1:1:0:1", FIELD_BYTE_OFFSET);
    expect(y.raw).toEqual([1, 1, 0, 1]);
    expect(y.accessors.map((a) => a.name)).toEqual([undefined, "y"]);
    expect(y.bitOffset).toBe(32 * 8 + 32 + 32);
    expect(describeAccess(y, FIELD_BYTE_OFFSET)).toBe("s_t[1].y");
    const name5 = localAccess(btf, ids.s, "0:2:5", FIELD_BYTE_OFFSET);
    expect(describeAccess(name5, FIELD_BYTE_OFFSET)).toBe("s.name[5]");
    expect(name5.bitOffset).toBe(96 + 5 * 8);
    expect(() => localAccess(btf, ids.s, "0:3", FIELD_BYTE_OFFSET)).toThrow(/has 3 members/);
    expect(() => localAccess(btf, ids.s, "0:2:16", FIELD_BYTE_OFFSET)).toThrow(/past the end of an array of 16/);
    expect(() => localAccess(btf, ids.s, "0:0:0", FIELD_BYTE_OFFSET)).toThrow(/reaches a int/);
    expect(() => localAccess(btf, ids.s, "0:1", TYPE_EXISTS)).toThrow(/must be "0"/);
  });

  it("follow a named member through any anonymous members of the target, and stop at the first name", () => {
    const local = build((b) => {
      const int = b.addInt("int", 4, { signed: true });
      return b.addStruct("s", 8, [{ name: "a", type: int, bitOffset: 0 }, { name: "b", type: int, bitOffset: 32 }]);
    });
    const target = build((b) => {
      const int = b.addInt("int", 4, { signed: true });
      const ptr = b.addPtr(int);
      const deep = b.addStruct("", 4, [{ name: "b", type: int, bitOffset: 0 }]);
      const anon = b.addUnion("", 8, [{ name: "pad", type: ptr, bitOffset: 0 }, { name: "", type: deep, bitOffset: 0 }]);
      return b.addStruct("s", 24, [{ name: "a", type: ptr, bitOffset: 0 }, { name: "", type: anon, bitOffset: 128 }]);
    });
    const b = targetAccess(localAccess(local.btf, local.ids, "0:1", FIELD_BYTE_OFFSET), FIELD_BYTE_OFFSET, target.btf, target.ids);
    expect(b).toMatchObject({ ok: true, access: { raw: [0, 1, 1, 0], bitOffset: 128 } });
    // a is an int locally and a pointer in the target: not compatible.
    const a = targetAccess(localAccess(local.btf, local.ids, "0:0", FIELD_BYTE_OFFSET), FIELD_BYTE_OFFSET, target.btf, target.ids);
    expect(a).toEqual({ ok: false, reason: expect.stringMatching(/member a of struct s is int \*, not compatible with the local int/) });
  });

  it("allow an index past the end of a flexible array (last member, 0 elements)", () => {
    const { btf, ids } = build((b) => {
      const u8 = b.addInt("unsigned char", 1);
      const u32 = b.addInt("unsigned int", 4);
      const flex = b.addArray(u8, u32, 0);
      return b.addStruct("msg", 4, [{ name: "len", type: u32, bitOffset: 0 }, { name: "data", type: flex, bitOffset: 32 }]);
    });
    expect(localAccess(btf, ids, "0:1:7", FIELD_BYTE_OFFSET).bitOffset).toBe(32 + 7 * 8);
  });
});

/** Two copies of the same definitions; `pick` chooses the pair to compare. */
function compatPair(define: (b: BtfBuilder) => Record<string, number>) {
  const a = build(define);
  const b = build(define);
  return (x: string, y: string, rule: typeof typesAreCompatible) => rule(a.btf, a.ids[x], b.btf, b.ids[y]) && rule(b.btf, b.ids[y], a.btf, a.ids[x]);
}

describe("compatibility (cilium's tables of libbpf's rules)", () => {
  const compat = compatPair((b) => {
    const int2 = b.addInt("a", 2);
    const int4 = b.addInt("b", 4, { signed: true });
    const u32 = b.addInt("unsigned int", 4);
    const oldBitfieldInt = b.addInt("c", 4, { bitOffset: 3, bits: 5 });
    return {
      structA: b.addStruct("a", 0, []),
      structB: b.addStruct("b", 0, []),
      unionA: b.addUnion("a", 0, []),
      unionB: b.addUnion("b", 0, []),
      enumA: b.addEnum("a", []),
      enumB: b.addEnum("b", []),
      enumFlavored: b.addEnum("a___foo", []),
      enumAnon: b.addEnum("", []),
      enum64: b.addEnum64("a", []),
      fwdA: b.addFwd("a"),
      fwdB: b.addFwd("b"),
      fwdFlavored: b.addFwd("a___foo"),
      int2,
      int4,
      oldBitfieldInt,
      voidPtr: b.addPtr(0),
      intPtr: b.addPtr(int4),
      voidArray: b.addArray(0, u32, 1),
      intArray: b.addArray(int4, u32, 1),
      charArray: b.addArray(int2, u32, 7),
      floatA: b.addFloat("float", 4),
      floatB: b.addFloat("half", 2),
      protoVoid: b.addFuncProto(0, []),
      protoInt: b.addFuncProto(int4, []),
      protoA: b.addFuncProto(0, [{ name: "a", type: int4 }]),
      protoB: b.addFuncProto(0, [{ name: "b", type: int2 }]),
      protoPtr: b.addFuncProto(0, [{ name: "b", type: b.addPtr(0) }]),
      protoTwo: b.addFuncProto(0, [{ type: int4 }, { type: int4 }]),
      typedefS: b.addTypedef("s_t", 0),
    };
  });

  it("types (TYPE_EXISTS, TYPE_SIZE, TYPE_ID_TARGET)", () => {
    const yes: [string, string][] = [
      ["structA", "structB"], ["unionA", "unionB"], ["enumA", "enumB"], ["enumA", "enum64"], ["fwdA", "fwdB"], ["int2", "int4"],
      ["voidPtr", "voidPtr"], ["voidArray", "voidArray"], ["protoA", "protoB"],
    ];
    const no: [string, string][] = [
      ["unionA", "structB"], ["voidPtr", "int4"], ["intArray", "voidArray"], ["protoInt", "protoVoid"], ["protoA", "protoPtr"],
      ["protoTwo", "protoA"], ["oldBitfieldInt", "int4"], ["typedefS", "structA"],
    ];
    for (const [x, y] of yes) expect(compat(x, y, typesAreCompatible), `${x} ~ ${y}`).toBe(true);
    for (const [x, y] of no) expect(compat(x, y, typesAreCompatible), `${x} !~ ${y}`).toBe(false);
  });

  it("fields (the type at the end of a FIELD_* access)", () => {
    const yes: [string, string][] = [
      ["structA", "structB"], ["unionA", "unionB"], ["unionA", "structB"], ["enumA", "enumFlavored"], ["enumA", "enumAnon"],
      ["enumA", "enum64"], ["fwdA", "fwdFlavored"], ["int2", "int4"], ["voidPtr", "intPtr"], ["intArray", "charArray"], ["floatA", "floatB"],
    ];
    const no: [string, string][] = [["enumA", "enumB"], ["fwdA", "fwdB"], ["voidPtr", "int4"], ["oldBitfieldInt", "int4"], ["intArray", "voidArray"], ["protoA", "protoA"]];
    for (const [x, y] of yes) expect(compat(x, y, fieldsAreCompatible), `${x} ~ ${y}`).toBe(true);
    for (const [x, y] of no) expect(compat(x, y, fieldsAreCompatible), `${x} !~ ${y}`).toBe(false);
  });

  it("matches (TYPE_MATCHES): names, int size and sign, members by name, enumerators by name, fwd behind a pointer", () => {
    const local = build((b) => {
      const int = b.addInt("int", 4, { signed: true });
      const fwd = b.addFwd("node");
      return {
        s: b.addStruct("s", 16, [{ name: "x", type: int, bitOffset: 0 }, { name: "next", type: b.addPtr(b.addStruct("node", 8, [])), bitOffset: 64 }]),
        sFwd: b.addStruct("s", 16, [{ name: "next", type: b.addPtr(fwd), bitOffset: 64 }]),
        e: b.addEnum("e", [{ name: "B", value: 9 }]),
        arr: b.addTypedef("arr_t", b.addArray(int, int, 4)),
        uint: b.addTypedef("word", b.addInt("unsigned int", 4)),
      };
    });
    const target = build((b) => {
      const int = b.addInt("int", 4, { signed: true });
      const node = b.addStruct("node", 24, [{ name: "v", type: int, bitOffset: 0 }]);
      return {
        s: b.addStruct("s", 24, [{ name: "pad", type: int, bitOffset: 0 }, { name: "x", type: int, bitOffset: 32 }, { name: "next", type: b.addPtr(node), bitOffset: 64 }]),
        sLong: b.addStruct("s", 24, [{ name: "x", type: b.addInt("long", 8, { signed: true }), bitOffset: 0 }, { name: "next", type: b.addPtr(node), bitOffset: 64 }]),
        e: b.addEnum("e", [{ name: "A", value: 1 }, { name: "B", value: 2 }]),
        eMissing: b.addEnum("e", [{ name: "A", value: 9 }]),
        e64: b.addEnum64("e", [{ name: "B", value: 2n }]),
        arr: b.addTypedef("arr_t", b.addArray(int, int, 4)),
        arr5: b.addTypedef("arr_t", b.addArray(int, int, 5)),
        uint: b.addTypedef("word", b.addInt("unsigned int", 4)),
        sint: b.addTypedef("word", b.addInt("unsigned int", 4, { signed: true })),
      };
    });
    const m = (l: keyof typeof local.ids, t: keyof typeof target.ids) => typesMatch(local.btf, local.ids[l], target.btf, target.ids[t]);
    expect(m("s", "s")).toBe(true); // extra target member, different offsets: still a match
    expect(m("s", "sLong")).toBe(false); // int vs long: sizes differ
    expect(m("sFwd", "s")).toBe(true); // struct node; behind a pointer matches the definition
    expect(m("e", "e")).toBe(true); // enumerators by name, not value
    expect(m("e", "eMissing")).toBe(false);
    expect(m("e", "e64")).toBe(false); // an enum64 is 8 bytes, the local enum 4
    expect(m("arr", "arr")).toBe(true);
    expect(m("arr", "arr5")).toBe(false);
    expect(m("uint", "uint")).toBe(true);
    expect(m("uint", "sint")).toBe(false);
  });
});

describe("candidates", () => {
  it("are target types with the same essential name and a compatible kind, flavored target names included", () => {
    const target = build((b) => {
      const int = b.addInt("int", 4);
      return {
        plain: b.addStruct("task", 4, [{ name: "pid", type: int, bitOffset: 0 }]),
        flavored: b.addStruct("task___v2", 4, [{ name: "pid", type: int, bitOffset: 0 }]),
        union: b.addUnion("task", 4, []),
        other: b.addStruct("task2", 4, []),
        e64: b.addEnum64("task", []),
      };
    });
    const t: CoreTarget = { btf: target.btf, name: "kernel" };
    expect(typesByEssentialName(target.btf, "task")).toEqual([target.ids.plain, target.ids.flavored, target.ids.union, target.ids.e64]);
    expect(findCandidates("task___mine", 4 /* STRUCT */, [t]).map((c) => c.typeId)).toEqual([target.ids.plain, target.ids.flavored]);
    expect(findCandidates("task", 6 /* ENUM */, [t]).map((c) => c.typeId)).toEqual([target.ids.e64]);
  });

  it("come from the first target alone when it has any, else from all the others (vmlinux, then modules)", () => {
    const vmlinux = build((b) => b.addStruct("a", 0, [])).btf;
    const module = parseBtf(splitBtfWithStructs(vmlinux, ["a", "b"]), { base: vmlinux });
    const targets: CoreTarget[] = [{ btf: vmlinux, name: "vmlinux" }, { btf: module, name: "mod" }];
    expect(findCandidates("a", 4, targets).map((c) => `${c.target.name}:${c.typeId}`)).toEqual(["vmlinux:1"]);
    // A split BTF's search covers its own types only, not vmlinux's again.
    expect(findCandidates("b", 4, targets).map((c) => `${c.target.name}:${c.typeId}`)).toEqual(["mod:3"]);
    expect(findCandidates("c", 4, targets)).toEqual([]);
  });
});

/**
 * A module's split BTF on top of `base`: empty structs with these names, ids from
 * base.typeCount. Written by hand (struct btf_header, struct btf_type records, strings
 * whose offsets continue after the base's).
 */
function splitBtfWithStructs(base: Btf, names: string[]): Uint8Array {
  const strings = new TextEncoder().encode(names.map((n) => `${n}\0`).join(""));
  let offset = base.stringsEnd;
  const words = names.flatMap((name) => {
    const record = [offset, 4 << 24, 0]; // name_off, info (kind STRUCT, vlen 0), size
    offset += name.length + 1;
    return record;
  });
  return btfBlob(words, strings);
}

/** A local BTF shaped like a program's: struct task { int pid; u32 flags; u64 ext; unsigned int bits: 3 (at 96); ... }. */
function localTask(b: BtfBuilder) {
  const int = b.addInt("int", 4, { signed: true });
  const u32 = b.addInt("unsigned int", 4);
  const u64 = b.addInt("unsigned long long", 8);
  const s64 = b.addInt("long long", 8, { signed: true });
  const task = b.addStruct("task", 32, [
    { name: "pid", type: int, bitOffset: 0 },
    { name: "flags", type: u32, bitOffset: 32 },
    { name: "ext", type: u64, bitOffset: 64 },
    { name: "bits", type: u32, bitOffset: 128, bitfieldSize: 3 },
    { name: "wide", type: s64, bitOffset: 192 },
  ]);
  const e = b.addEnum("mode", [{ name: "M_A", value: 1 }, { name: "M_GONE", value: 2 }]);
  const anon = b.addStruct("", 4, []);
  const nothing = b.addStruct("nothing", 4, []);
  return { int, task, e, anon, nothing };
}

/** The "kernel": pid moved to 40, flags and ext swapped in size, bits at bit 77, wide an int. */
function targetTask(b: BtfBuilder) {
  const int = b.addInt("int", 4, { signed: true });
  const u32 = b.addInt("unsigned int", 4);
  const u64 = b.addInt("unsigned long", 8);
  const task = b.addStruct("task", 64, [
    { name: "ext", type: u32, bitOffset: 0 },
    { name: "flags", type: u64, bitOffset: 64 },
    { name: "bits", type: u64, bitOffset: 77 + 0, bitfieldSize: 3 },
    { name: "pid", type: int, bitOffset: 320 },
    { name: "wide", type: int, bitOffset: 352 },
  ]);
  const e = b.addEnum64("mode", [{ name: "M_A", value: 0x100000000n }]);
  return { task, e };
}

describe("relocating instructions", () => {
  const local = build(localTask);
  const kernel = build(targetTask);
  const task = local.ids.task;
  const relo = (insn: number, kind: number, accessString: string, typeId = task): CoreRelo => ({ insn, typeId, accessString, kind });

  it("patches ALU immediates with every field kind, bitfields included", () => {
    // The local values: pid at 0, ext 8 bytes, flags exists, pid signed, bits in the u32 at byte 16, shifts 61 and 61.
    const insns = [movImm(1, 0), movImm(2, 8), movImm(3, 1), movImm(4, 1), movImm(5, 16), movImm(6, 4), movImm(7, 61), movImm(8, 61), exit];
    const { insns: out, results } = relocate(local.btf, kernel.btf, insns, [
      relo(0, FIELD_BYTE_OFFSET, "0:0"),
      relo(1, FIELD_BYTE_SIZE, "0:2"),
      relo(2, FIELD_EXISTS, "0:1"),
      relo(3, FIELD_SIGNED, "0:0"),
      relo(4, FIELD_BYTE_OFFSET, "0:3"),
      relo(5, FIELD_BYTE_SIZE, "0:3"),
      relo(6, FIELD_LSHIFT_U64, "0:3"),
      relo(7, FIELD_RSHIFT_U64, "0:3"),
    ]);
    expect(results.map((r) => r.status)).toEqual(Array(8).fill("patched"));
    // bits: bit 77, 3 bits, in a u64: the 8-byte word at byte 8 holds bits 64..127; shifted
    // left by 64 - (77 + 3 - 64) = 48 its top bit reaches bit 63, then right by 61.
    expect(out.slice(0, 8).map((i) => i.imm)).toEqual([40, 4, 1, 1, 8, 8, 48, 61]);
  });

  it("computes a big-endian bitfield's left shift from the high end", () => {
    const le = relocate(local.btf, kernel.btf, [movImm(1, 0), exit], [relo(0, FIELD_LSHIFT_U64, "0:3")]);
    const localBe = build(localTask, false);
    const kernelBe = build(targetTask, false);
    const be = relocate(localBe.btf, kernelBe.btf, [movImm(1, 0), exit], [relo(0, FIELD_LSHIFT_U64, "0:3")], false);
    expect(le.insns[0].imm).toBe(48);
    // big-endian: (8 - 8) * 8 + (77 - 64) = 13.
    expect(be.insns[0].imm).toBe(13);
  });

  it("patches load offsets, resizing unsigned fields and poisoning a signed one whose size changed", () => {
    const insns = [ldx(BPF_W, 0, 1, 0), ldx(BPF_W, 2, 1, 4), ldx(BPF_DW, 3, 1, 8), ldx(BPF_DW, 4, 1, 24), exit];
    const { insns: out, results } = relocate(local.btf, kernel.btf, insns, [
      relo(0, FIELD_BYTE_OFFSET, "0:0"),
      relo(1, FIELD_BYTE_OFFSET, "0:1"),
      relo(2, FIELD_BYTE_OFFSET, "0:2"),
      relo(3, FIELD_BYTE_OFFSET, "0:4"),
    ]);
    expect(results.map((r) => r.status)).toEqual(["patched", "patched", "patched", "poisoned"]);
    expect([out[0].opcode, out[0].off]).toEqual([BPF_LDX | BPF_MEM | BPF_W, 40]);
    expect([out[1].opcode, out[1].off]).toEqual([BPF_LDX | BPF_MEM | BPF_DW, 8]); // u32 -> u64
    expect([out[2].opcode, out[2].off]).toEqual([BPF_LDX | BPF_MEM | BPF_W, 0]); // u64 -> u32
    expect([out[3].opcode, out[3].imm]).toEqual([BPF_JMP | BPF_CALL, CORE_POISON_HELPER]); // s64 -> int
    expect(results[1].reason).toMatch(/resized from 4 to 8 bytes/);
    expect(results[3].reason).toMatch(/8 bytes locally but 4 in the target/);
  });

  it("patches stores like loads", () => {
    const stx = Instruction.of({ opcode: BPF_STX | BPF_MEM | BPF_W, dst: 1, src: 2, off: 0 });
    const { insns: out } = relocate(local.btf, kernel.btf, [stx, exit], [relo(0, FIELD_BYTE_OFFSET, "0:0")]);
    expect([out[0].opcode, out[0].off]).toEqual([BPF_STX | BPF_MEM | BPF_W, 40]);
  });

  it("patches ld_imm64 with 64-bit enum values and type ids", () => {
    const insns = [Instruction.ldImm64(0, 1n), Instruction.ldImm64(1, BigInt(task)), Instruction.ldImm64(2, BigInt(task)), exit];
    const { insns: out, results } = relocate(local.btf, kernel.btf, insns, [
      relo(0, ENUMVAL_VALUE, "0", local.ids.e),
      relo(2, TYPE_ID_TARGET, "0"),
      relo(4, TYPE_ID_LOCAL, "0"),
    ]);
    expect(results.map((r) => r.status)).toEqual(["patched", "patched", "patched"]);
    expect(out.slice(0, 3).map((i) => i.imm64)).toEqual([0x100000000n, BigInt(kernel.ids.task), BigInt(task)]);
  });

  it("gives 0 for missing types and enumerators, and poisons both slots of an ld_imm64 with no value", () => {
    const insns = [movImm(1, 1), movImm(2, 1), Instruction.ldImm64(3, 2n), movImm(4, 4), movImm(5, 1), exit];
    const { insns: out, results, bytes } = relocate(local.btf, kernel.btf, insns, [
      relo(0, TYPE_EXISTS, "0", local.ids.e),
      relo(1, ENUMVAL_EXISTS, "1", local.ids.e),
      relo(2, ENUMVAL_VALUE, "1", local.ids.e),
      relo(4, TYPE_SIZE, "0", local.ids.nothing),
      relo(5, TYPE_EXISTS, "0", local.ids.anon),
    ]);
    expect(results.map((r) => r.status)).toEqual(["patched", "patched", "poisoned", "patched", "failed"]);
    expect(out[0].imm).toBe(1);
    expect(out[1].imm).toBe(0);
    const view = new DataView(bytes.buffer);
    for (const slot of [2, 3]) expect([bytes[slot * 8], view.getInt32(slot * 8 + 4, true)]).toEqual([0x85, CORE_POISON_HELPER]);
    expect(out[4].imm).toBe(0); // out[2] and out[3]: the two calls that replaced the ld_imm64
    expect(results[3].reason).toMatch(/no struct named nothing in kernel, so 0/);
    expect(results[4].reason).toMatch(/anonymous/);
  });

  it("refuses an instruction that does not hold the local value, a register operand, a jump, and an offset past 32767", () => {
    const big = build((b) => {
      const int = b.addInt("int", 4, { signed: true });
      const arr = b.addArray(int, int, 20000);
      return b.addStruct("task", 80004, [{ name: "pad", type: arr, bitOffset: 0 }, { name: "pid", type: int, bitOffset: 640000 }]);
    });
    const insns = [
      movImm(1, 99),
      Instruction.of({ opcode: BPF_ALU64 | BPF_MOV | 0x08, dst: 1, src: 2 }),
      Instruction.of({ opcode: BPF_JMP | 0x10, dst: 1, imm: 0, off: 0 }),
      ldx(BPF_W, 0, 1, 0),
      exit,
    ];
    const { results } = relocate(local.btf, [big.btf], insns, [relo(0, FIELD_BYTE_OFFSET, "0:0"), relo(1, FIELD_BYTE_OFFSET, "0:0"), relo(2, FIELD_BYTE_OFFSET, "0:0"), relo(3, FIELD_BYTE_OFFSET, "0:0")]);
    expect(results.map((r) => r.status)).toEqual(["failed", "failed", "failed", "failed"]);
    expect(results[0].reason).toMatch(/holds immediate 99, but the local BTF says the compiler wrote 0/);
    expect(results[1].reason).toMatch(/on a register/);
    expect(results[2].reason).toMatch(/not a form CO-RE relocates/);
    expect(results[3].reason).toMatch(/offset 80000 does not fit/);
  });

  it("fails when candidates disagree, and accepts candidates that agree", () => {
    const twoKernels = (pidOffsets: [number, number]) =>
      build((b) => {
        const int = b.addInt("int", 4, { signed: true });
        b.addStruct("task", 64, [{ name: "pid", type: int, bitOffset: pidOffsets[0] }]);
        b.addStruct("task___v2", 64, [{ name: "pid", type: int, bitOffset: pidOffsets[1] }]);
        return 0;
      }).btf;
    const disagree = relocate(local.btf, twoKernels([0, 64]), [movImm(1, 0), exit], [relo(0, FIELD_BYTE_OFFSET, "0:0")]);
    expect(disagree.results[0].status).toBe("failed");
    expect(disagree.results[0].reason).toMatch(/field offset ambiguity/);
    const agree = relocate(local.btf, twoKernels([64, 64]), [movImm(1, 0), exit], [relo(0, FIELD_BYTE_OFFSET, "0:0")]);
    expect(agree.results[0]).toMatchObject({ status: "patched", value: 8n });
    expect(agree.results[0].candidates.filter((c) => c.matched)).toHaveLength(2);
    const ids = relocate(local.btf, twoKernels([0, 0]), [Instruction.ldImm64(1, BigInt(task)), exit], [relo(0, TYPE_ID_TARGET, "0")]);
    expect(ids.results[0].reason).toMatch(/relocation decision ambiguity/);
  });

  it("never modifies the input bytes", () => {
    const out = relocate(local.btf, kernel.btf, [movImm(1, 0), exit], [relo(0, FIELD_BYTE_OFFSET, "0:0")]);
    expect(decodeInstructions(out.original, true)[0].imm).toBe(0);
    expect(out.insns[0].imm).toBe(40);
  });
});

describe("explaining a poisoned instruction the verifier reached", () => {
  const local = build(localTask);
  const kernel = build(targetTask);
  const results = relocate(local.btf, kernel.btf, [movImm(1, 0), Instruction.ldImm64(2, 2n), exit], [
    { insn: 0, typeId: local.ids.task, accessString: "0:0", kind: FIELD_BYTE_OFFSET },
    { insn: 1, typeId: local.ids.e, accessString: "1", kind: ENUMVAL_VALUE },
  ]).results;

  it("finds the relocation by the instruction the log names (either slot of an ld_imm64)", () => {
    const log = (insn: number) => `0: R1=ctx() R10=fp0\n${insn}: (85) call unknown#${CORE_POISON_HELPER}\ninvalid func unknown#${CORE_POISON_HELPER}\nprocessed 2 insns\n`;
    expect(poisonedRelocation(log(1), results)?.index).toBe(1);
    expect(poisonedRelocation(log(2), results)?.index).toBe(1);
    expect(poisonedRelocation(log(0), results)).toBeUndefined(); // relocation 0 was patched, not poisoned
    expect(explainPoisonedCall("R0 !read_ok\n", results)).toBeUndefined();
    expect(explainPoisonedCall(log(1), results)).toMatch(
      /instruction 1 was poisoned by CO-RE relocation #1 \(ENUMVAL_VALUE of mode::M_GONE, local type enum mode \[\d+\], access string 1\).*bpf_core_enum_value_exists\(\)/,
    );
  });

  it("formats every result for tsbpf core explain", () => {
    const text = results.flatMap((r: CoreResult) => formatCoreResult(r)).join("\n");
    expect(text).toContain("relo #0  insn 0  FIELD_BYTE_OFFSET  task.pid");
    expect(text).toContain("candidate: kernel [");
    expect(text).toContain("patched to 40");
    expect(text).toMatch(/relo #1 .* ENUMVAL_VALUE  mode::M_GONE[\s\S]*no match: no value M_GONE in enum mode[\s\S]*result: +poisoned/);
  });
});

describe("robustness", () => {
  it("answers every record, however wrong, with a result instead of an exception", () => {
    const local = build(localTask);
    const kernel = build(targetTask);
    const insns = [movImm(1, 0), ldx(BPF_W, 2, 1, 0), Instruction.ldImm64(3, 0n), exit];
    let seed = 12345;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    const accessStrings = ["0", "0:0", "0:1", "0:3", "0:4", "0:9", "1:2:3", "0:0:0", "", "x", "0:2:1", "3"];
    for (let i = 0; i < 2000; i++) {
      const relocations: CoreRelo[] = [{
        insn: random(7) - 1,
        typeId: random(local.btf.typeCount + 2),
        accessString: accessStrings[random(accessStrings.length)],
        kind: random(15),
      }];
      const { results } = relocate(local.btf, kernel.btf, insns, relocations);
      expect(results).toHaveLength(1);
      expect(["patched", "poisoned", "failed"]).toContain(results[0].status);
    }
  });
});
