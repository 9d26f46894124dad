// Btf.sizeof reads sizes from the raw records, without decoding types. Its oracle is the
// same computation over decoded types (resolve(), then the kind's size rule), on every type
// of the running kernel's BTF and of every test object, plus the cases that must fail.

import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BtfError } from "../common/errors.js";
import { BtfBuilder } from "../btf/builder.js";
import { parseBtf, type Btf } from "../btf/index.js";
import { parseElf } from "../elf/index.js";
import { allObjects } from "./helpers/objects.js";

const VMLINUX = "/sys/kernel/btf/vmlinux";

/** sizeof through decoded types; undefined where the type has no size. */
function decodedSizeof(btf: Btf, id: number): number | undefined {
  let elements = 1;
  for (let depth = 0; depth < 64; depth++) {
    const type = btf.resolve(id);
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
  it.skipIf(!existsSync(VMLINUX))("agrees with the decoded types on every type of the kernel's BTF", () => {
    expectSameSizes(parseBtf(readFileSync(VMLINUX)));
  });

  it("agrees with the decoded types on every type of every test object", () => {
    let objects = 0;
    for (const object of allObjects()) {
      const bytes = readFileSync(object.path);
      const section = parseElf(bytes).section(".BTF");
      if (section === undefined) continue;
      expectSameSizes(parseBtf(section.data));
      objects++;
    }
    expect(objects).toBeGreaterThan(20);
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
});
