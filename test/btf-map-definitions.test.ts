// BTF-defined map definitions (maps/btf-maps.ts) on BTF built by hand: every attribute form,
// typedefs and qualifiers on the way, and the message for each malformed definition.
import { describe, expect, it } from "vitest";
import { BtfError, SpecError } from "../common/errors.js";
import { MapType } from "../common/uapi.js";
import { BtfBuilder } from "../btf/builder.js";
import { parseBtf, type Btf } from "../btf/parse.js";
import { BtfKind } from "../btf/kinds.js";
import { readBtfMaps } from "../maps/btf-maps.js";

/** One map named `name` whose definition struct has `members` (each built by `member(b)`). */
function mapBtf(members: (b: BtfBuilder, int: number) => { name: string; type: number }[]): Btf {
  const b = new BtfBuilder();
  const int = b.addInt("int", 4, { signed: true });
  const list = members(b, int);
  const struct = b.addStruct("", list.length * 8, list.map((m, i) => ({ ...m, bitOffset: i * 64 })));
  const variable = b.addVar("stats", struct);
  b.addDatasec(".maps", list.length * 8, [{ type: variable, offset: 0, size: list.length * 8 }]);
  return parseBtf(b.build());
}

/** Overwrites the little-endian word at `byte` of type `id`'s record. */
function patchWord(btf: Btf, id: number, byte: number, value: number): void {
  new DataView(btf.bytes.buffer, btf.bytes.byteOffset).setUint32(btf.recordOffset(id) + byte, value, true);
}

/** `__uint(name, value)`: int (*name)[value]. */
const uint = (b: BtfBuilder, int: number, name: string, value: number) => ({ name, type: b.addPtr(b.addArray(int, int, value)) });

describe("BTF map definitions", () => {
  it("reads __uint and __type attributes, through typedefs and qualifiers", () => {
    const btf = mapBtf((b, int) => {
      const u32 = b.addTypedef("__u32", b.addInt("unsigned int", 4));
      const counter = b.addStruct("counter", 16, [
        { name: "packets", type: b.addInt("long long unsigned int", 8), bitOffset: 0 },
        { name: "bytes", type: b.addInt("unsigned long", 8), bitOffset: 64 },
      ]);
      return [
        uint(b, int, "type", MapType.HASH),
        // A typedef'd, const pointer: resolved before the pointer test.
        { name: "max_entries", type: b.addConst(b.addTypedef("entries_t", b.addPtr(b.addTypedef("arr_t", b.addArray(int, int, 1024))))) },
        { name: "key", type: b.addPtr(u32) },
        { name: "value", type: b.addPtr(b.addVolatile(counter)) },
        uint(b, int, "map_flags", 1),
        uint(b, int, "pinning", 1),
      ];
    });
    const [map] = readBtfMaps(btf);
    expect(map).toMatchObject({
      name: "stats", type: MapType.HASH, maxEntries: 1024, keySize: 4, valueSize: 16, flags: 1, pinning: "by-name", source: "btf",
    });
    expect(btf.type(map.keyTypeId)).toMatchObject({ kind: "typedef", name: "__u32" });
  });

  it("names what is wrong with a definition", () => {
    const message = (members: (b: BtfBuilder, int: number) => { name: string; type: number }[]) => {
      try {
        readBtfMaps(mapBtf(members));
      } catch (error) {
        expect(error).toBeInstanceOf(SpecError);
        return (error as Error).message;
      }
      throw new Error("no error");
    };
    expect(message((b, int) => [{ name: "type", type: int }])).toMatch(/attribute "type" must be a pointer \(use __uint, __type or __array\), found int/);
    expect(message((b, int) => [{ name: "max_entries", type: b.addPtr(int) }])).toMatch(
      /attribute "max_entries" must be declared with __uint\(\) \(a pointer to an array\), found a pointer to int/,
    );
    expect(message((b, int) => [uint(b, int, "colour", 3)])).toMatch(/unknown map attribute "colour"/);
    expect(message((b, int) => [{ name: "key", type: b.addPtr(b.addInt("unsigned int", 4)) }, uint(b, int, "key_size", 8)])).toMatch(
      /key size is declared twice with different values \(4 and 8\)/,
    );
  });

  it("refuses a definition that names a type the BTF does not have, naming the record that does", () => {
    // Built valid (the builder checks ids), then one type id in a record is overwritten.
    const refusal = (members: (b: BtfBuilder, int: number) => { name: string; type: number }[], patch: (btf: Btf) => void) => {
      const btf = mapBtf(members);
      patch(btf);
      try {
        readBtfMaps(btf);
      } catch (error) {
        expect(error).toBeInstanceOf(BtfError);
        return (error as Error).message;
      }
      throw new Error("no error");
    };
    let array = 0;
    let pointer = 0;
    // __uint(type, 2) whose array's element type does not exist (the map needs only nelems).
    const arrayOfNothing = refusal((b, int) => [{ name: "type", type: b.addPtr((array = b.addArray(int, int, 2))) }], (btf) => patchWord(btf, array, 12, 999));
    expect(arrayOfNothing).toBe(`BTF: type [${array}]: refers to type 999, but the last type is 6`);
    // A pointer to a type that does not exist.
    const toNothing = refusal((b, int) => [{ name: "value", type: (pointer = b.addPtr(int)) }], (btf) => patchWord(btf, pointer, 8, 999));
    expect(toNothing).toMatch(new RegExp(`^BTF: type \\[${pointer}\\]: refers to type 999`));
    // A member whose type does not exist: the definition struct is the record at fault.
    let struct = 0;
    const memberOfNothing = refusal(
      (b, int) => [{ name: "key", type: b.addPtr(int) }],
      (btf) => {
        // mapBtf adds the struct, its VAR, then the DATASEC; member 0's type is at byte 12 + 4.
        struct = btf.typeByName(".maps", "datasec")!.id - 2;
        expect(btf.kindOf(struct)).toBe(BtfKind.STRUCT);
        patchWord(btf, struct, 16, 999);
      },
    );
    expect(memberOfNothing).toMatch(new RegExp(`^BTF: type \\[${struct}\\]: refers to type 999`));
  });

  it("takes __array(values, ...) only on prog arrays and maps of maps, as the definition's last member (libbpf's rules)", () => {
    const proto = (b: BtfBuilder, int: number) => b.addFuncProto(int, []);
    const innerStruct = (b: BtfBuilder, int: number) => b.addStruct("inner", 16, [uint(b, int, "type", MapType.ARRAY), uint(b, int, "max_entries", 1)].map((m, i) => ({ ...m, bitOffset: i * 64 })));
    // `T *values[]`: an array of no elements of pointers to T.
    const values = (b: BtfBuilder, int: number, target: number) => ({ name: "values", type: b.addArray(b.addPtr(target), int, 0) });
    const read = (members: (b: BtfBuilder, int: number) => { name: string; type: number }[]) => readBtfMaps(mapBtf(members))[0];

    expect(read((b, int) => [uint(b, int, "type", MapType.PROG_ARRAY), uint(b, int, "max_entries", 4), values(b, int, proto(b, int))])).toMatchObject({
      type: MapType.PROG_ARRAY, valueSize: 4, innerMap: undefined,
    });
    expect(read((b, int) => [uint(b, int, "type", MapType.HASH_OF_MAPS), uint(b, int, "max_entries", 4), values(b, int, innerStruct(b, int))])).toMatchObject({
      type: MapType.HASH_OF_MAPS, valueSize: 4, innerMap: { name: "stats.inner", type: MapType.ARRAY, maxEntries: 1 },
    });
    expect(() => read((b, int) => [uint(b, int, "type", MapType.HASH), values(b, int, innerStruct(b, int))])).toThrow(
      /"values" is for prog arrays and maps of maps, not a hash map/,
    );
    expect(() => read((b, int) => [uint(b, int, "type", MapType.PROG_ARRAY), values(b, int, innerStruct(b, int))])).toThrow(
      /a prog array's "values" must point to a function prototype, found struct/,
    );
    expect(() => read((b, int) => [uint(b, int, "type", MapType.ARRAY_OF_MAPS), values(b, int, proto(b, int))])).toThrow(
      /a map of maps' "values" must point to the inner map's definition struct, found func_proto/,
    );
    expect(() => read((b, int) => [uint(b, int, "type", MapType.ARRAY_OF_MAPS), values(b, int, int)])).toThrow(
      /a map of maps' "values" must point to the inner map's definition struct, found int/,
    );
    expect(() => read((b, int) => [uint(b, int, "type", MapType.ARRAY_OF_MAPS), values(b, int, innerStruct(b, int)), uint(b, int, "max_entries", 4)])).toThrow(
      /"values" must be the last member of the definition/,
    );
    const sized = (b: BtfBuilder, int: number) => ({ name: "values", type: b.addArray(b.addPtr(proto(b, int)), int, 4) });
    expect(() => read((b, int) => [uint(b, int, "type", MapType.PROG_ARRAY), sized(b, int)])).toThrow(
      /"values" must be declared with __array\(values, \.\.\.\), an array of no declared size, found 4 elements/,
    );
  });

  it("refuses a definition without a map type, outer or inner, as libbpf does", () => {
    const read = (members: (b: BtfBuilder, int: number) => { name: string; type: number }[]) => readBtfMaps(mapBtf(members));
    expect(() => read((b, int) => [uint(b, int, "max_entries", 4)])).toThrow(/the map type is not specified: declare it with __uint\(type/);
    const typeless = (b: BtfBuilder, int: number) => b.addStruct("inner", 8, [{ ...uint(b, int, "max_entries", 1), bitOffset: 0 }]);
    try {
      read((b, int) => [uint(b, int, "type", MapType.ARRAY_OF_MAPS), { name: "values", type: b.addArray(b.addPtr(typeless(b, int)), int, 0) }]);
      expect.fail("accepted");
    } catch (error) {
      expect(error).toBeInstanceOf(SpecError);
      expect([(error as SpecError).message, (error as SpecError).part]).toEqual([expect.stringMatching(/the map type is not specified/), "stats.inner"]);
    }
  });

  it("refuses a map variable whose type is not a struct", () => {
    const b = new BtfBuilder();
    const int = b.addInt("int", 4);
    const variable = b.addVar("oops", b.addTypedef("oops_t", int));
    b.addDatasec(".maps", 4, [{ type: variable, offset: 0, size: 4 }]);
    expect(() => readBtfMaps(parseBtf(b.build()))).toThrow(/map definition is a int, expected a struct built with __uint\/__type\/__array/);
  });
});
