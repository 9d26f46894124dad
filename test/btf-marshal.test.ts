// BTF back to bytes: marshalBtf and BtfBuilder.
//
// Oracles:
// - the bytes clang, pahole and the kernel wrote: parse + marshal must give them back
//   exactly, for every object we have (our fixtures, xdp-tools, cilium in both byte orders)
//   and for the running kernel's /sys/kernel/btf/vmlinux;
// - `bpftool btf dump file` (raw format): what libbpf reads from the bytes we built must be
//   the types we asked for, printed by a formatter here that knows nothing of our encoder;
// - the kernel (BPF_BTF_LOAD) accepts what the builder makes, and `bpftool btf dump id`
//   of the kernel's copy prints the same as the file.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BtfError, isBpfError } from "../common/errors.js";
import { parseElf } from "../elf/index.js";
import { parseBtf, type Btf } from "../btf/parse.js";
import { marshalBtf, typeSpecOf, type BtfTypeSpec } from "../btf/marshal.js";
import { BtfBuilder, BtfFuncLinkage, BtfVarLinkage } from "../btf/builder.js";
import type { BtfType } from "../btf/types.js";
import { loadBtf } from "../syscall/bpf-btf.js";
import { btfInfo } from "../syscall/info.js";
import { allObjects, objectBytes } from "./helpers/objects.js";
import { skipWithoutRoot } from "./helpers/netns.js";
import { btfBlob } from "./helpers/btf-bytes.js";

const VMLINUX = "/sys/kernel/btf/vmlinux";

const objects = allObjects()
  .map((o) => ({ label: o.label, path: o.path, btf: parseElf(objectBytes(o.path)).section(".BTF")?.data }))
  .filter((o): o is { label: string; path: string; btf: Uint8Array } => o.btf !== undefined);

const workDir = mkdtempSync(join(tmpdir(), `tsbpf-btf-marshal-${process.pid}-`));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** Fails with the first differing byte rather than a diff of megabytes. */
function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  const limit = Math.min(actual.byteLength, expected.byteLength);
  let at = 0;
  while (at < limit && actual[at] === expected[at]) at++;
  if (at === limit && actual.byteLength === expected.byteLength) return;
  expect({ firstDifference: at, length: actual.byteLength }).toEqual({ firstDifference: expected.byteLength, length: expected.byteLength });
}

/** All types of a BTF as one string (bigint enum64 values included), for cheap comparison. */
function typesText(btf: Btf): string {
  const all: BtfType[] = [];
  for (let id = 0; id < btf.typeCount; id++) all.push(btf.type(id));
  return JSON.stringify(all, (_key, value: unknown) => (typeof value === "bigint" ? `${value}n` : value));
}

/** The NUL-terminated strings of a string section. */
function stringsOf(table: Uint8Array): string[] {
  return Buffer.from(table).toString("latin1").split("\0").slice(0, -1);
}

/** Every name a type record holds: its own and its members', enumerators' and parameters'. */
function namesIn(t: BtfTypeSpec): string[] {
  switch (t.kind) {
    case "struct":
    case "union":
      return [t.name, ...t.members.map((m) => m.name)];
    case "enum":
    case "enum64":
      return [t.name, ...t.values.map((v) => v.name)];
    case "func_proto":
      return [t.name, ...t.params.map((p) => p.name)];
    default:
      return [t.name];
  }
}

function bpftoolDump(args: string[]): string {
  return execFileSync("bpftool", ["btf", "dump", ...args], { encoding: "utf8", maxBuffer: 64 << 20 });
}

function bpftoolDumpBytes(bytes: Uint8Array, name: string): string {
  const path = join(workDir, name);
  writeFileSync(path, bytes);
  return bpftoolDump(["file", path]);
}

// bpftool's raw format (tools/bpf/bpftool/btf.c, dump_btf_type), written from the types we
// asked for. Only `btf` lookups of other types' names (for DATASEC lines) use the list itself.
const INT_ENCODINGS: Record<number, string> = { 0: "(none)", 1: "SIGNED", 2: "CHAR", 4: "BOOL" };
const FUNC_LINKAGE = ["static", "global", "extern"];
const VAR_LINKAGE = ["static", "global", "extern"];

function formatLikeBpftool(types: readonly BtfTypeSpec[]): string {
  const name = (t: { name: string }) => `'${t.name === "" ? "(anon)" : t.name}'`;
  const lines = types.map((t, i) => {
    const head = `[${i + 1}] ${t.kind.toUpperCase()} ${name(t)}`;
    switch (t.kind) {
      case "int": {
        const encoding = (t.signed ? 1 : 0) | (t.char ? 2 : 0) | (t.bool ? 4 : 0);
        return `${head} size=${t.size} bits_offset=${t.bitOffset} nr_bits=${t.bits} encoding=${INT_ENCODINGS[encoding] ?? "UNKN"}`;
      }
      case "ptr":
      case "typedef":
      case "volatile":
      case "const":
      case "restrict":
      case "type_tag":
        return `${head} type_id=${t.type}`;
      case "array":
        return `${head} type_id=${t.type} index_type_id=${t.indexType} nr_elems=${t.nelems}`;
      case "struct":
      case "union":
        return [
          `${head} size=${t.size} vlen=${t.members.length}`,
          ...t.members.map((m) => `\t${name(m)} type_id=${m.type} bits_offset=${m.bitOffset}${m.bitfieldSize ? ` bitfield_size=${m.bitfieldSize}` : ""}`),
        ].join("\n");
      case "enum":
        return [`${head} encoding=${t.signed ? "SIGNED" : "UNSIGNED"} size=${t.size} vlen=${t.values.length}`, ...t.values.map((v) => `\t${name(v)} val=${v.value}`)].join("\n");
      case "enum64":
        return [
          `${head} encoding=${t.signed ? "SIGNED" : "UNSIGNED"} size=${t.size} vlen=${t.values.length}`,
          ...t.values.map((v) => `\t${name(v)} val=${v.value}${t.signed ? "LL" : "ULL"}`),
        ].join("\n");
      case "fwd":
        return `${head} fwd_kind=${t.union ? "union" : "struct"}`;
      case "func":
        return `${head} type_id=${t.type} linkage=${FUNC_LINKAGE[t.linkage]}`;
      case "func_proto":
        return [`${head} ret_type_id=${t.returnType} vlen=${t.params.length}`, ...t.params.map((p) => `\t${name(p)} type_id=${p.type}`)].join("\n");
      case "var":
        return `${head} type_id=${t.type}, linkage=${VAR_LINKAGE[t.linkage]}`;
      case "datasec":
        return [
          `${head} size=${t.size} vlen=${t.vars.length}`,
          ...t.vars.map((v) => `\ttype_id=${v.type} offset=${v.offset} size=${v.size} (${types[v.type - 1].kind.toUpperCase()} ${name(types[v.type - 1])})`),
        ].join("\n");
      case "float":
        return `${head} size=${t.size}`;
      case "decl_tag":
        return `${head} type_id=${t.type} component_idx=${t.componentIdx}`;
    }
  });
  return lines.join("\n") + "\n";
}

function builderTypes(b: BtfBuilder): BtfTypeSpec[] {
  const list: BtfTypeSpec[] = [];
  for (let id = 1; id < b.typeCount; id++) list.push(b.type(id));
  return list;
}

describe("marshalBtf gives back the bytes it parsed", () => {
  it("finds objects with BTF", () => {
    expect(objects.length).toBeGreaterThan(40);
  });

  it.each(objects)("$label", ({ btf: bytes }) => {
    const btf = parseBtf(bytes);
    expectSameBytes(marshalBtf(btf), bytes);
    // Through the other byte order and back: the same types, then the same bytes.
    const swapped = marshalBtf(btf, { littleEndian: !btf.littleEndian });
    const reparsed = parseBtf(swapped);
    expect(reparsed.littleEndian).toBe(!btf.littleEndian);
    expect(typesText(reparsed)).toBe(typesText(btf));
    expectSameBytes(marshalBtf(reparsed, { littleEndian: btf.littleEndian }), bytes);
  });

  it("the running kernel's vmlinux BTF, in both byte orders", () => {
    const bytes = readFileSync(VMLINUX);
    const btf = parseBtf(bytes);
    expect(btf.typeCount).toBeGreaterThan(10_000);
    expectSameBytes(marshalBtf(btf), bytes);
    const swapped = parseBtf(marshalBtf(btf, { littleEndian: !btf.littleEndian }));
    expect(typesText(swapped)).toBe(typesText(btf));
    expectSameBytes(marshalBtf(swapped, { littleEndian: btf.littleEndian }), bytes);
  });

  it("keeps the attribute flag of type and decl tags (kind_flag, Linux 6.14) that the decoded view leaves out", () => {
    const b = new BtfBuilder();
    const int = b.addInt("int", 4, { signed: true });
    const tag = b.addTypeTag("address_space(1)", int, { attribute: true });
    const decl = b.addDeclTag("aligned(8)", int, -1, { attribute: true });
    const plain = b.addTypeTag("user", int);
    const btf = parseBtf(b.build());
    const kindFlag = (id: number) => btf.types.u32(btf.offsets[id] + 4) >>> 31;
    expect([tag, decl, plain].map(kindFlag)).toEqual([1, 1, 0]);
    expect(typeSpecOf(btf, tag)).toEqual({ kind: "type_tag", id: tag, name: "address_space(1)", type: int, attribute: true });
    expect(typeSpecOf(btf, plain)).not.toHaveProperty("attribute");
    expectSameBytes(marshalBtf(btf), btf.bytes);
  });

  it("split BTF (a module's, on top of a base): own types and strings only, base strings reused", () => {
    const baseBuilder = new BtfBuilder();
    const int = baseBuilder.addInt("int", 4, { signed: true });
    const baseStruct = baseBuilder.addStruct("base_s", 4, [{ name: "v", type: int, bitOffset: 0 }]);
    const baseBytes = baseBuilder.build();
    const base = parseBtf(baseBytes);
    // Written by hand as libbpf and pahole write split BTF: ids from 3, string offsets from
    // the end of the base's section, and the own section without a leading NUL.
    const own = Buffer.from("mod_s\0x\0", "latin1");
    const baseEnd = base.strings.length;
    const words = [
      0, (2 << 24) | 0, baseStruct, // [3] PTR -> base_s
      base.nameOffsetOf(int), (8 << 24) | 0, int, // [4] TYPEDEF "int" (a base string) -> int
      baseEnd, (4 << 24) | 1, 8, baseEnd + 6, 3, 0, // [5] STRUCT mod_s { ptr x; } (own strings)
    ];
    const split = btfBlob(words, own);

    const btf = parseBtf(split, { base });
    expect(btf.type(5)).toMatchObject({ kind: "struct", name: "mod_s", members: [{ name: "x", type: 3 }] });
    expectSameBytes(marshalBtf(btf), split);
    expectSameBytes(marshalBtf(parseBtf(marshalBtf(btf, { littleEndian: false }), { base: parseBtf(marshalBtf(base, { littleEndian: false })) }), { littleEndian: true }), split);

    const b = BtfBuilder.from(btf);
    expect(b.firstId).toBe(3);
    const t = b.addTypedef("base_s", baseStruct); // the base has the name: no new string
    b.addTypedef("mod_t", 5);
    const built = b.build();
    const reparsed = parseBtf(built, { base });
    expect(reparsed.type(t)).toEqual({ kind: "typedef", id: t, name: "base_s", type: baseStruct });
    expect(stringsOf(reparsed.strings.bytes)).toEqual(["mod_s", "x", "mod_t"]);
    // libbpf reads it on top of the base as we do.
    writeFileSync(join(workDir, "split-base.btf"), baseBytes);
    writeFileSync(join(workDir, "split.btf"), built);
    const tool = execFileSync("bpftool", ["-B", join(workDir, "split-base.btf"), "btf", "dump", "file", join(workDir, "split.btf")], { encoding: "utf8" });
    expect(tool).toBe(
      [
        "[3] PTR '(anon)' type_id=2",
        "[4] TYPEDEF 'int' type_id=1",
        "[5] STRUCT 'mod_s' size=8 vlen=1",
        "\t'x' type_id=3 bits_offset=0",
        "[6] TYPEDEF 'base_s' type_id=2",
        "[7] TYPEDEF 'mod_t' type_id=5",
        "",
      ].join("\n"),
    );
  });

  it.each(objects.filter((o) => o.label.startsWith("fixture/")))("$label: types as a list, with and without the original strings", ({ btf: bytes }) => {
    const btf = parseBtf(bytes);
    const types: BtfTypeSpec[] = [];
    for (let id = 1; id < btf.typeCount; id++) types.push(btf.type(id) as BtfTypeSpec);
    expectSameBytes(marshalBtf({ types, strings: btf.strings.bytes }, { littleEndian: btf.littleEndian }), bytes);

    // Rebuilt strings: the same types, every string once, only names some type uses.
    const rebuilt = parseBtf(marshalBtf({ types }));
    expect(typesText(rebuilt)).toBe(typesText(btf));
    const strings = stringsOf(rebuilt.strings.bytes);
    expect(strings[0]).toBe("");
    expect(new Set(strings).size).toBe(strings.length);
    const used = new Set(types.flatMap(namesIn));
    expect(strings.slice(1).every((s) => used.has(s))).toBe(true);
    // The object's string section also holds .BTF.ext's file names and source lines.
    expect(rebuilt.strings.length).toBeLessThan(btf.strings.length);
    expect(parseBtf(marshalBtf(btf, { strings: "rebuild" })).strings.length).toBe(rebuilt.strings.length);
  });

  it("checks what it encodes", () => {
    const int: BtfTypeSpec = { kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 };
    const error = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e;
      }
      return undefined;
    };
    expect(error(() => marshalBtf({ types: [int, { kind: "ptr", name: "", type: 3 }] }))).toMatchObject({ typeId: 2, message: "BTF: type [2]: refers to type 3, but the last type is 2" });
    expect(error(() => marshalBtf({ types: [{ ...int, id: 7 }] }))).toBeInstanceOf(BtfError);
    expect(error(() => marshalBtf({ types: [{ ...int, name: "a\0b" }] }))).toBeInstanceOf(BtfError);
    expect(error(() => marshalBtf({ types: [{ ...int, bits: 300 }] }))).toMatchObject({ typeId: 1 });
    expect(error(() => marshalBtf({ types: [{ kind: "enum", name: "e", size: 4, signed: false, values: [{ name: "X", value: 2 ** 32 }] }] }))).toBeInstanceOf(BtfError);
    const members = Array.from({ length: 0x10000 }, (_, i) => ({ name: "", type: 1, bitOffset: i * 32, bitfieldSize: 0 }));
    expect(error(() => marshalBtf({ types: [int, { kind: "struct", name: "huge", size: 4 << 16, members }] }))).toMatchObject({ typeId: 2 });
    expect(error(() => marshalBtf({ types: [int], strings: new Uint8Array([65, 0]) }))).toBeInstanceOf(BtfError);
  });

  it("on mutated input, parse + marshal returns bytes or throws BtfError", () => {
    const source = objects.find((o) => o.label === "fixture/subprog.o")!.btf;
    let seed = 1234567;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let round = 0; round < 2000; round++) {
      const bytes = source.slice(0, round % 10 === 0 ? Math.floor(random() * source.length) : source.length);
      for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips--) bytes[Math.floor(random() * bytes.length)] ^= 1 << Math.floor(random() * 8);
      try {
        marshalBtf(parseBtf(bytes));
      } catch (e) {
        if (!isBpfError(e) || !(e instanceof BtfError)) throw e;
      }
    }
  });
});

/** One of every kind, valid for the kernel: what the kernel and bpftool tests load. */
function everyKind(): BtfBuilder {
  const b = new BtfBuilder();
  const int = b.addInt("int", 4, { signed: true });
  const uint = b.addInt("unsigned int", 4);
  const char = b.addInt("char", 1, { char: true });
  b.addInt("_Bool", 1, { bool: true });
  const u64 = b.addInt("unsigned long long", 8);
  const double = b.addFloat("double", 8);
  const nodePtr = b.addPtr(b.nextId + 1); // struct node holds a pointer to itself
  const node = b.addStruct("node", 24, [
    { name: "next", type: nodePtr, bitOffset: 0 },
    { name: "flags", type: uint, bitOffset: 64, bitfieldSize: 3 },
    { name: "mode", type: uint, bitOffset: 67, bitfieldSize: 5 },
    { name: "value", type: double, bitOffset: 128 },
  ]);
  const chars = b.addArray(char, uint, 16);
  b.addUnion("number", 8, [
    { name: "i", type: int, bitOffset: 0 },
    { name: "d", type: double, bitOffset: 0 },
  ]);
  b.addEnum("color", [
    { name: "RED", value: 0 },
    { name: "BLUE", value: -1 },
  ]);
  b.addEnum("small", [{ name: "BIG_U32", value: 0xfffffff0 }], { size: 4 });
  b.addEnum64("big", [
    { name: "HUGE", value: 1n << 40n },
    { name: "ALL_ONES", value: 0xffffffffffffffffn },
  ]);
  b.addEnum64("sbig", [{ name: "NEG", value: -(1n << 40n) }]);
  b.addFwd("opaque", "union");
  b.addFwd("later");
  const nodeT = b.addTypedef("node_t", node);
  const constNode = b.addConst(nodeT);
  b.addVolatile(int);
  const restrictPtr = b.addRestrict(b.addPtr(constNode));
  const userInt = b.addTypeTag("user", int);
  const proto = b.addFuncProto(int, [{ name: "n", type: restrictPtr }, { name: "x", type: b.addPtr(userInt) }, { type: 0 }]);
  const walk = b.addFunc("walk", proto, BtfFuncLinkage.GLOBAL);
  b.addFunc("helper", b.addFuncProto(0, []), BtfFuncLinkage.STATIC);
  b.addDeclTag("hot", walk);
  b.addDeclTag("nonnull", walk, 0);
  const counter = b.addVar("counter", u64, BtfVarLinkage.GLOBAL_ALLOCATED);
  const table = b.addVar("table", chars, BtfVarLinkage.STATIC);
  b.addDatasec(".data", 24, [
    { type: counter, offset: 0, size: 8 },
    { type: table, offset: 8, size: 16 },
  ]);
  return b;
}

describe("BtfBuilder", () => {
  it("builds every kind; the bytes parse back to the same types", () => {
    const b = everyKind();
    const built = b.build();
    const btf = parseBtf(built);
    expect(btf.littleEndian).toBe(true);
    expect(btf.typeCount).toBe(b.typeCount);
    for (let id = 1; id < btf.typeCount; id++) expect({ ...btf.type(id) }).toEqual({ ...b.type(id), id });
    expect(btf.typeByName("node", "struct")).toMatchObject({
      size: 24,
      members: [
        { name: "next", bitOffset: 0, bitfieldSize: 0 },
        { name: "flags", bitOffset: 64, bitfieldSize: 3 },
        { name: "mode", bitOffset: 67, bitfieldSize: 5 },
        { name: "value", bitOffset: 128, bitfieldSize: 0 },
      ],
    });
    expect(btf.typeByName("color")).toMatchObject({ signed: true, values: [{ value: 0 }, { value: -1 }] });
    expect(btf.typeByName("small")).toMatchObject({ signed: false, values: [{ value: 0xfffffff0 }] });
    expect(btf.typeByName("sbig")).toMatchObject({ signed: true, values: [{ value: -(1n << 40n) }] });
    expect(btf.sizeof(btf.idsByName("node_t")[0])).toBe(24);
    // Each name once in the string table.
    const strings = stringsOf(btf.strings.bytes);
    expect(new Set(strings).size).toBe(strings.length);
    // Big-endian output: the same types.
    expect(typesText(parseBtf(b.build({ littleEndian: false })))).toBe(typesText(btf));
  });

  it("bpftool reads the built bytes as the types we built", () => {
    const b = everyKind();
    expect(bpftoolDumpBytes(b.build(), "every-kind.btf")).toBe(formatLikeBpftool(builderTypes(b)));
    // libbpf also reads BTF of the other byte order.
    expect(bpftoolDumpBytes(b.build({ littleEndian: false }), "every-kind-be.btf")).toBe(formatLikeBpftool(builderTypes(b)));
  });

  it.skipIf(skipWithoutRoot)("the kernel accepts it (BPF_BTF_LOAD) and holds the same types", () => {
    const b = everyKind();
    const bytes = b.build();
    const fd = loadBtf(bytes);
    try {
      const info = btfInfo(fd);
      expect(info.size).toBe(bytes.byteLength);
      expect(info.kernelBtf).toBe(false);
      expect(bpftoolDump(["id", String(info.id)])).toBe(formatLikeBpftool(builderTypes(b)));
    } finally {
      fd.close();
    }
  });

  it("a fake kernel BTF for CO-RE: task_struct with its fields elsewhere", () => {
    const b = new BtfBuilder();
    const int = b.addInt("int", 4, { signed: true });
    const long = b.addInt("long", 8, { signed: true });
    b.addStruct("task_struct", 64, [
      { name: "state", type: long, bitOffset: 0 },
      { name: "tgid", type: int, bitOffset: 8 * 8 },
      { name: "pid", type: int, bitOffset: 40 * 8 },
    ]);
    const btf = parseBtf(b.build());
    const task = btf.typeByName("task_struct", "struct");
    expect(task?.kind === "struct" && task.members.map((m) => [m.name, m.bitOffset / 8, btf.sizeof(m.type)])).toEqual([
      ["state", 0, 8],
      ["tgid", 8, 4],
      ["pid", 40, 4],
    ]);
  });

  it("appends to an existing BTF: old ids and the string section stay, new names are added once", () => {
    const source = objects.find((o) => o.label === "fixture/core_read.o")!.btf;
    const btf = parseBtf(source);
    const b = BtfBuilder.from(btf);
    expect(b.nextId).toBe(btf.typeCount);
    const int = btf.idsByName("int")[0];
    const id = b.addTypedef("tsbpf_new_name", int);
    b.addTypedef("int", int); // a name the table has already
    b.addPtr(id);
    const out = parseBtf(b.build());
    expect(out.typeCount).toBe(btf.typeCount + 3);
    for (let i = 1; i < btf.typeCount; i++) expect(out.type(i)).toEqual(btf.type(i));
    expect(out.type(id)).toEqual({ kind: "typedef", id, name: "tsbpf_new_name", type: int });
    expectSameBytes(out.strings.bytes.subarray(0, btf.strings.length), btf.strings.bytes);
    expect(stringsOf(out.strings.bytes.subarray(btf.strings.length))).toEqual(["tsbpf_new_name"]);
    // With nothing added or replaced, the builder gives back the original bytes.
    expectSameBytes(BtfBuilder.from(btf).build(), source);
  });

  it.skipIf(skipWithoutRoot)("sanitizes an object's BTF for a kernel without VAR and DATASEC; the kernel loads it", () => {
    // clang leaves DATASEC sizes at 0 (the loader knows them from the ELF section), which
    // the kernel refuses; and a kernel before 5.2 knows neither VAR nor DATASEC. Replacing
    // both at their ids, as libbpf does, keeps every other id and string offset.
    const path = objects.find((o) => o.label === "fixture/global_data.o")!.path;
    const elf = parseElf(objectBytes(path));
    const btf = parseBtf(elf.section(".BTF")!.data);
    expect(() => loadBtf(btf.bytes)).toThrow(/DATASEC .* size == 0/);
    const b = BtfBuilder.from(btf);
    let replaced = 0;
    for (let id = 1; id < btf.typeCount; id++) {
      const t = btf.type(id);
      if (t.kind === "var") b.replace(id, { kind: "int", name: t.name, size: 1, signed: false, char: false, bool: false, bitOffset: 0, bits: 8 });
      if (t.kind === "datasec") {
        const section = elf.section(t.name)!;
        // Offsets from the variables' symbols, as clang leaves them 0 too.
        const offsetOf = (name: string) => elf.symbols.find((s) => s.name === name && s.sectionIndex === section.index)!.value;
        const size = section.size;
        const members = t.vars.map((v) => {
          const name = btf.type(v.type).name;
          return { name, type: v.type, bitOffset: offsetOf(name) * 8, bitfieldSize: 0 };
        });
        b.replace(id, { kind: "struct", name: t.name.replace(/\W/g, "_"), size: Math.max(size, 1), members });
      }
      if (t.kind === "var" || t.kind === "datasec") replaced++;
    }
    expect(replaced).toBeGreaterThan(2);
    const bytes = b.build();
    expectSameBytes(parseBtf(bytes).strings.bytes.subarray(0, btf.strings.length), btf.strings.bytes);
    const fd = loadBtf(bytes);
    try {
      expect(bpftoolDump(["id", String(btfInfo(fd).id)])).toBe(formatLikeBpftool(builderTypes(b)));
    } finally {
      fd.close();
    }
  });

  it("says what is wrong", () => {
    const b = new BtfBuilder();
    const int = b.addInt("int", 4, { signed: true });
    expect(() => b.type(2)).toThrow(BtfError);
    expect(() => b.replace(0, { kind: "ptr", name: "", type: int })).toThrow(BtfError);
    b.addPtr(5);
    expect(() => b.build()).toThrow("BTF: type [2]: refers to type 5, but the last type is 2");
    b.replace(2, { kind: "ptr", name: "", type: int });
    expect(parseBtf(b.build()).type(2)).toEqual({ kind: "ptr", id: 2, name: "", type: int });
    b.addStruct("s", 4, [{ name: "x", type: int, bitOffset: 1 << 24, bitfieldSize: 1 }]);
    expect(() => b.build()).toThrow(/type \[3\]: member bit offset 16777216 does not fit in 24 bits/);
  });
});
