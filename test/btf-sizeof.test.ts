// Btf.sizeof reads sizes from the raw records, without decoding types. Its oracle is the
// same computation over decoded types (resolve(), then the kind's size rule), on every type
// of the running kernel's BTF and of every test object, plus the cases that must fail.

import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BtfError } from "../common/errors.js";
import { BtfBuilder } from "../btf/builder.js";
import { parseBtf, type Btf } from "../btf/index.js";
import { allObjectBtfs } from "./helpers/objects.js";
import { btfBlob } from "./helpers/btf-bytes.js";

const VMLINUX = "/sys/kernel/btf/vmlinux";
// Without the kernel's BTF the test is skipped, unless TSBPF_REQUIRE_KERNEL=1 says it must run.
const skipVmlinux = !existsSync(VMLINUX) && process.env.TSBPF_REQUIRE_KERNEL !== "1";

/** sizeof through decoded types (resolve(), then the kind's rule); undefined where it throws. */
function decodedSizeof(btf: Btf, id: number): number | undefined {
  let elements = 1;
  for (let depth = 0; depth < 32; depth++) {
    let type;
    try {
      type = btf.resolve(id);
    } catch {
      return undefined;
    }
    switch (type.kind) {
      case "int":
      case "struct":
      case "union":
      case "enum":
      case "enum64":
      case "float":
      case "datasec":
        return elements * type.size;
      case "ptr":
        return elements * 8;
      case "array":
        elements *= type.nelems;
        id = type.type;
        continue;
      default:
        return undefined;
    }
  }
  return undefined;
}

function rawSizeof(btf: Btf, id: number): number | undefined {
  try {
    return btf.sizeof(id);
  } catch (error) {
    if (!(error instanceof BtfError)) throw error;
    return undefined;
  }
}

function expectSameSizes(btf: Btf): void {
  for (let id = 1; id < btf.typeCount; id++) {
    const expected = decodedSizeof(btf, id);
    if (rawSizeof(btf, id) !== expected) expect(rawSizeof(btf, id), `type ${id} (${btf.type(id).kind} ${btf.type(id).name})`).toBe(expected);
  }
}

describe("Btf.sizeof from raw records", () => {
  it.skipIf(skipVmlinux)("agrees with the decoded types on every type of the kernel's BTF", () => {
    expectSameSizes(parseBtf(readFileSync(VMLINUX)));
  });

  it("agrees with the decoded types on every type of every test object", () => {
    const btfs = allObjectBtfs();
    for (const { btf } of btfs) expectSameSizes(btf);
    expect(btfs.length).toBeGreaterThan(20);
  });

  it("follows typedefs, qualifiers and nested arrays; refuses what has no size", () => {
    const b = new BtfBuilder();
    const u16 = b.addInt("u16", 2);
    const pair = b.addStruct("pair", 12, []);
    const row = b.addArray(b.addConst(b.addTypedef("pair_t", pair)), u16, 3);
    const grid = b.addTypedef("grid_t", b.addVolatile(b.addArray(row, u16, 5)));
    const proto = b.addFuncProto(u16, []);
    const fwd = b.addFwd("later");
    const loop = b.addTypedef("loop_t", 0);
    const btf = parseBtf(b.build());
    expect(btf.sizeof(grid)).toBe(5 * 3 * 12);
    for (const id of [proto, fwd, loop]) expect(() => btf.sizeof(id)).toThrow(BtfError);
    expect(() => btf.sizeof(proto)).toThrow(/a func_proto has no size/);
    expect(() => btf.sizeof(loop)).toThrow(/a void has no size/);
    expect(() => btf.sizeof(btf.typeCount)).toThrow(/no type with id/);
  });

  it("follows as many typedefs as resolve() does, and as many array levels as before", () => {
    const b = new BtfBuilder();
    const u8 = b.addInt("u8", 1);
    let chain = u8;
    const typedefs: number[] = [];
    for (let i = 0; i < 32; i++) typedefs.push((chain = b.addTypedef(`t${i}`, chain)));
    let nested = u8;
    const arrays: number[] = [];
    for (let i = 0; i < 32; i++) arrays.push((nested = b.addArray(nested, u8, 2)));
    const btf = parseBtf(b.build());
    for (const id of [...typedefs, ...arrays]) expect(rawSizeof(btf, id), `type ${id}`).toBe(decodedSizeof(btf, id));
    expect(btf.sizeof(typedefs[30])).toBe(1); // 31 typedefs
    expect(() => btf.sizeof(typedefs[31])).toThrow(/longer than 32/);
    expect(btf.sizeof(arrays[30])).toBe(2 ** 31);
    expect(() => btf.sizeof(arrays[31])).toThrow(/deeper than 32/);
  });

  it("asks the base for the types of a split BTF's base", () => {
    const b = new BtfBuilder();
    const u32 = b.addInt("u32", 4);
    const pair = b.addStruct("pair", 8, [{ name: "a", type: u32, bitOffset: 0 }, { name: "b", type: u32, bitOffset: 32 }]);
    const base = parseBtf(b.build());
    // A split BTF by hand (as a module's): its ids start at the base's type count, its
    // string offsets after the base's strings.
    const own = new TextEncoder().encode("pair_t\0");
    const typedef = base.typeCount;
    const words = [
      base.stringsEnd, 8 << 24, pair, // TYPEDEF pair_t -> pair (in the base)
      0, 3 << 24, 0, typedef, u32, 4, // ARRAY of 4 pair_t
    ];
    const bytes = btfBlob(words, own);
    const btf = parseBtf(bytes, { base });
    expect(btf.sizeof(typedef + 1)).toBe(32);
    expect(btf.sizeof(typedef)).toBe(8);
    expect(btf.sizeof(pair)).toBe(8);
    expect(rawSizeof(btf, typedef + 1)).toBe(decodedSizeof(btf, typedef + 1));
  });
});
