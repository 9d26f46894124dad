// The Btf accessors that read one field of a record in place (resolveId, vlenOf,
// referencedIdOf, arrayLengthOf, membersOf), which map definitions
// use on every parse. Their oracle is the decoded type: on every type of the running kernel's
// BTF and of every test object, each accessor must give what the decoded type says.

import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BtfError } from "../common/errors.js";
import { BtfBuilder } from "../btf/builder.js";
import { parseBtf, type Btf, type BtfType } from "../btf/index.js";
import { allObjectBtfs } from "./helpers/objects.js";
import { btfBlob } from "./helpers/btf-bytes.js";

const VMLINUX = "/sys/kernel/btf/vmlinux";
// Without the kernel's BTF the test is skipped, unless TSBPF_REQUIRE_KERNEL=1 says it must run.
const skipVmlinux = !existsSync(VMLINUX) && process.env.TSBPF_REQUIRE_KERNEL !== "1";

/** The id resolve() ends at, or "error" where it throws a BtfError. */
function outcome(run: () => number): number | "error" {
  try {
    return run();
  } catch (error) {
    if (!(error instanceof BtfError)) throw error;
    return "error";
  }
}

/** The list a decoded type's vlen counts, when its kind has one. */
function vlenList(type: BtfType): readonly unknown[] | undefined {
  switch (type.kind) {
    case "struct":
    case "union":
      return type.members;
    case "enum":
    case "enum64":
      return type.values;
    case "func_proto":
      return type.params;
    case "datasec":
      return type.vars;
    default:
      return undefined;
  }
}

/** Every accessor against the decoded form of every type; returns how many fields were compared. */
function expectRecordsMatchDecoded(btf: Btf): number {
  let compared = 0;
  const fail = (id: number, what: string, got: unknown, expected: unknown) =>
    expect(got, `type ${id} (${btf.type(id).kind} ${btf.type(id).name}): ${what}`).toEqual(expected);
  for (let id = 1; id < btf.typeCount; id++) {
    const type = btf.type(id);
    const resolved = outcome(() => btf.resolveId(id));
    const expected = outcome(() => btf.resolve(id).id);
    if (resolved !== expected) fail(id, "resolveId", resolved, expected);
    // The two readers that resolve first: -1 unless the chain ends at their kind.
    const end = resolved === "error" ? undefined : btf.type(resolved);
    if (end !== undefined) {
      const pointee = end.kind === "ptr" ? end.type : -1;
      if (btf.pointeeOf(id) !== pointee) fail(id, "pointeeOf", btf.pointeeOf(id), pointee);
      const length = end.kind === "array" ? end.nelems : -1;
      if (btf.resolvedArrayLengthOf(id) !== length) fail(id, "resolvedArrayLengthOf", btf.resolvedArrayLengthOf(id), length);
    }
    const list = vlenList(type);
    if (list !== undefined && btf.vlenOf(id) !== list.length) fail(id, "vlenOf", btf.vlenOf(id), list.length);
    if ("type" in type && type.kind !== "array" && btf.referencedIdOf(id) !== type.type) fail(id, "referencedIdOf", btf.referencedIdOf(id), type.type);
    if (type.kind === "array" && btf.arrayLengthOf(id) !== type.nelems) fail(id, "arrayLengthOf", btf.arrayLengthOf(id), type.nelems);
    if (type.kind === "struct" || type.kind === "union") {
      const pairs = btf.membersOf(id);
      if (pairs.length !== 2 * type.members.length) fail(id, "membersOf length", pairs.length, 2 * type.members.length);
      type.members.forEach((member, index) => {
        const name = btf.string(pairs[2 * index]);
        if (name !== member.name) fail(id, `member ${index} name`, name, member.name);
        if (pairs[2 * index + 1] !== member.type) fail(id, `member ${index} type`, pairs[2 * index + 1], member.type);
      });
      compared += type.members.length;
    }
    compared++;
  }
  return compared;
}

describe("Btf fields read in place", () => {
  it.skipIf(skipVmlinux)("agree with the decoded types on every type of the kernel's BTF", () => {
    expect(expectRecordsMatchDecoded(parseBtf(readFileSync(VMLINUX)))).toBeGreaterThan(100_000);
  });

  it("agree with the decoded types on every type of every test object", () => {
    const btfs = allObjectBtfs();
    for (const { btf } of btfs) expectRecordsMatchDecoded(btf);
    expect(btfs.length).toBeGreaterThan(20);
  });

  it("refuse ids that are not types and records of another kind", () => {
    const b = new BtfBuilder();
    const u32 = b.addInt("u32", 4);
    const pair = b.addStruct("pair", 8, [{ name: "a", type: u32, bitOffset: 0 }, { name: "b", type: u32, bitOffset: 32 }]);
    const colour = b.addEnum("colour", [{ name: "RED", value: 0 }, { name: "GREEN", value: 1 }]);
    // Built valid (the builder checks ids); their type ids are overwritten with 999 below.
    const broken = b.addStruct("broken", 4, [{ name: "x", type: u32, bitOffset: 0 }]);
    const dangling = b.addPtr(u32);
    let chain = u32;
    for (let i = 0; i < 32; i++) chain = b.addTypedef(`t${i}`, chain);
    const btf = parseBtf(b.build());
    const words = new DataView(btf.bytes.buffer, btf.bytes.byteOffset);
    words.setUint32(btf.recordOffset(broken) + 16, 999, true); // member 0's type
    words.setUint32(btf.recordOffset(dangling) + 8, 999, true); // the pointer's type
    expect(btf.membersOf(pair).map((word, i) => (i % 2 === 0 ? btf.string(word) : word))).toEqual(["a", u32, "b", u32]);
    // Each reader reads only the kinds whose records have its field: never another record's words.
    expect(() => btf.membersOf(colour)).toThrow(/is a enum, not a struct or union/);
    expect(() => btf.arrayLengthOf(u32)).toThrow(/is a int, not an array/);
    expect(() => btf.referencedIdOf(pair)).toThrow(/is a struct, not a type that refers to another/);
    // A type id read from a record must name a type, as decoding checks.
    expect(() => btf.membersOf(broken)).toThrow(new RegExp(`^BTF: type \\[${broken}\\]: refers to type 999`));
    expect(() => btf.referencedIdOf(dangling)).toThrow(new RegExp(`^BTF: type \\[${dangling}\\]: refers to type 999`));
    expect(() => btf.pointeeOf(dangling)).toThrow(new RegExp(`^BTF: type \\[${dangling}\\]: refers to type 999`));
    expect([btf.pointeeOf(u32), btf.resolvedArrayLengthOf(pair), btf.pointeeOf(0), btf.resolvedArrayLengthOf(0)]).toEqual([-1, -1, -1, -1]);
    for (const id of [0.5, 1.5, -1, NaN]) expect(() => btf.vlenOf(id), String(id)).toThrow(BtfError);
    const readers: ((id: number) => unknown)[] = [(id) => btf.vlenOf(id), (id) => btf.referencedIdOf(id), (id) => btf.arrayLengthOf(id), (id) => btf.membersOf(id)];
    for (const read of readers) {
      expect(() => read(btf.typeCount)).toThrow(/no type with id/);
      expect(() => read(0)).toThrow(/no type with id 0/);
    }
    expect(btf.resolveId(0)).toBe(0);
    expect(() => btf.resolveId(-1)).toThrow(/no type with id -1/);
    expect(() => btf.resolve(1.5)).toThrow(/no type with id 1.5/);
    expect(() => btf.resolveId(chain)).toThrow(/longer than 32/);
  });

  it("ask the base for the types of a split BTF's base, and continue a chain there", () => {
    const b = new BtfBuilder();
    const u32 = b.addInt("u32", 4);
    const pair = b.addStruct("pair", 8, [{ name: "a", type: u32, bitOffset: 0 }, { name: "b", type: u32, bitOffset: 32 }]);
    const pairT = b.addTypedef("pair_t", pair);
    const base = parseBtf(b.build());
    // A split BTF by hand (as a module's): ids continue after the base's, strings too.
    const own = new TextEncoder().encode("mine\0");
    const constPairT = base.typeCount;
    const words = [
      0, 10 << 24, pairT, // CONST -> pair_t (a typedef in the base)
      base.stringsEnd, 3 << 24, 0, constPairT, u32, 6, // ARRAY "mine" of 6 const pair_t
    ];
    const btf = parseBtf(btfBlob(words, own), { base });
    expect(btf.resolveId(constPairT)).toBe(pair);
    expect(btf.resolveId(constPairT)).toBe(btf.resolve(constPairT).id);
    expect(btf.vlenOf(pair)).toBe(2);
    expect(btf.referencedIdOf(pairT)).toBe(pair);
    expect(btf.membersOf(pair).map((word, i) => (i % 2 === 0 ? btf.string(word) : word))).toEqual(["a", u32, "b", u32]);
    expect(btf.arrayLengthOf(constPairT + 1)).toBe(6);
    // A chain that starts in the split BTF and ends at the base's struct: no pointer, no array.
    expect([btf.pointeeOf(constPairT), btf.resolvedArrayLengthOf(constPairT)]).toEqual([-1, -1]);
    expect(btf.referencedIdOf(constPairT)).toBe(pairT);
    expectRecordsMatchDecoded(btf);
  });
});
