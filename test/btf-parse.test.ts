// parseBtf against bpftool on the running kernel's BTF and on every BPF object we have,
// name lookups against a brute-force scan, split BTF against `bpftool -B`, and malformed
// BTF (truncated, bad kinds, bad offsets, seeded mutations): a BtfError and nothing else.
//
// Oracles: `bpftool btf dump file X` (text, for the kind counts) and `bpftool -j btf dump`
// (every field of every type); for names, decoding every type and comparing the strings.

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BtfError } from "../common/errors.js";
import { parseElf } from "../elf/index.js";
import { KIND_NAMES } from "../btf/kinds.js";
import { parseBtf, type Btf } from "../btf/parse.js";
import { BtfBuilder } from "../btf/builder.js";
import type { BtfType } from "../btf/types.js";
import { allObjects, bpftoolBtf, ciliumObject, type BpftoolType } from "./helpers/objects.js";
import { progPath } from "./helpers/progs.js";

const VMLINUX = "/sys/kernel/btf/vmlinux";
const haveVmlinux = existsSync(VMLINUX);
const skipVmlinux = !haveVmlinux && process.env.TSBPF_REQUIRE_KERNEL !== "1";

/** mulberry32: a small seeded generator, so every run mutates the same way. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const bpftoolJson = (args: string[]) => JSON.parse(execFileSync("bpftool", ["-j", "btf", "dump", "file", ...args], { encoding: "utf8", maxBuffer: 1 << 28 })) as { types: BpftoolType[] };

/** The .BTF section of an object file, or undefined. A plain Uint8Array copy: Buffer's
 * slice() makes a view, and the tests below mutate copies made with slice(). */
function btfSection(path: string): Uint8Array | undefined {
  const section = parseElf(readFileSync(path)).section(".BTF");
  return section === undefined ? undefined : new Uint8Array(section.data);
}

const LINKAGE = ["static", "global", "extern"];
const intEncoding = (t: Extract<BtfType, { kind: "int" }>) => (t.signed ? "SIGNED" : t.char ? "CHAR" : t.bool ? "BOOL" : "(none)");
const signedness = (signed: boolean) => (signed ? "SIGNED" : "UNSIGNED");

/** Our decoded type in the shape `bpftool -j btf dump` prints. */
function asBpftool(t: BtfType): Record<string, unknown> {
  const head = { id: t.id, kind: t.kind === "void" ? "UNKN" : t.kind.toUpperCase(), name: t.name === "" ? "(anon)" : t.name };
  switch (t.kind) {
    case "void": return head;
    case "int": return { ...head, size: t.size, bits_offset: t.bitOffset, nr_bits: t.bits, encoding: intEncoding(t) };
    case "ptr": case "typedef": case "volatile": case "const": case "restrict": case "type_tag": return { ...head, type_id: t.type };
    case "array": return { ...head, type_id: t.type, index_type_id: t.indexType, nr_elems: t.nelems };
    case "struct": case "union":
      return {
        ...head, size: t.size, vlen: t.members.length,
        members: t.members.map((m) => ({
          name: m.name === "" ? "(anon)" : m.name, type_id: m.type, bits_offset: m.bitOffset,
          ...(m.bitfieldSize === 0 ? {} : { bitfield_size: m.bitfieldSize }),
        })),
      };
    case "enum":
      // bpftool 7.1 passes an unsigned enum's s32 value to its u64 JSON writer, which sign
      // extends it: 0xefffffff prints as 0xffffffffefffffff. Model that, not our decoding.
      return { ...head, encoding: signedness(t.signed), size: t.size, vlen: t.values.length, values: t.values.map((v) => ({ name: v.name, val: !t.signed && v.value >= 2 ** 31 ? Number(2n ** 64n - 2n ** 32n + BigInt(v.value)) : v.value })) };
    case "enum64":
      return { ...head, encoding: signedness(t.signed), size: t.size, vlen: t.values.length, values: t.values.map((v) => ({ name: v.name, val: Number(v.value) })) };
    case "fwd": return { ...head, fwd_kind: t.union ? "union" : "struct" };
    case "func": return { ...head, type_id: t.type, linkage: LINKAGE[t.linkage] ?? "(unknown)" };
    case "func_proto":
      return { ...head, ret_type_id: t.returnType, vlen: t.params.length, params: t.params.map((p) => ({ name: p.name === "" ? "(anon)" : p.name, type_id: p.type })) };
    case "var": return { ...head, type_id: t.type, linkage: LINKAGE[t.linkage] ?? "(unknown)" };
    case "datasec": return { ...head, size: t.size, vlen: t.vars.length, vars: t.vars.map((v) => ({ type_id: v.type, offset: v.offset, size: v.size })) };
    case "float": return { ...head, size: t.size };
    case "decl_tag": return { ...head, type_id: t.type, component_idx: t.componentIdx };
  }
}

/** Every own type of `btf` decoded, compared with bpftool's reading, field by field. */
function expectSameAsBpftool(btf: Btf, theirs: readonly BpftoolType[]): void {
  expect(theirs.length).toBe(btf.typeCount - btf.firstTypeId);
  const mismatches: string[] = [];
  for (const expected of theirs) {
    const ours = asBpftool(btf.type(expected.id));
    if (JSON.stringify(ours) !== JSON.stringify(expected)) mismatches.push(`ours ${JSON.stringify(ours)}\nbpftool ${JSON.stringify(expected)}`);
    if (btf.kindOf(expected.id) !== KIND_NAMES.indexOf(expected.kind as (typeof KIND_NAMES)[number])) mismatches.push(`kindOf(${expected.id})`);
  }
  expect(mismatches.slice(0, 3)).toEqual([]);
}

/** Name -> ids by decoding every type: the brute force the lookups must agree with. */
function bruteForceNames(btf: Btf): Map<string, number[]> {
  const names = new Map<string, number[]>();
  for (let id = 1; id < btf.typeCount; id++) {
    const name = btf.type(id).name;
    if (name !== "") names.set(name, [...(names.get(name) ?? []), id]);
  }
  return names;
}

/** idsByName and typeByName (with and without a kind) for `name`, checked against `truth`. */
function expectLookups(btf: Btf, truth: Map<string, number[]>, name: string): void {
  const ids = truth.get(name) ?? [];
  expect(btf.idsByName(name), name).toEqual(ids);
  expect(btf.typeByName(name)?.id, name).toBe(ids[0]);
  for (const kind of new Set(ids.map((id) => btf.type(id).kind))) {
    expect(btf.typeByName(name, kind)?.id, `${name} ${kind}`).toBe(ids.find((id) => btf.type(id).kind === kind));
  }
  expect(btf.typeByName(name, "float")?.id).toBe(ids.find((id) => btf.type(id).kind === "float"));
}

/** All 32-bit words of the header and the type section swapped: the same BTF, big-endian. */
function byteSwapped(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = bytes.slice();
  const outView = new DataView(out.buffer);
  outView.setUint16(0, view.getUint16(0, true), false);
  for (let at = 4; at < 24; at += 4) outView.setUint32(at, view.getUint32(at, true), false);
  const typeStart = view.getUint32(4, true) + view.getUint32(8, true);
  const typeEnd = typeStart + view.getUint32(12, true);
  for (let at = typeStart; at < typeEnd; at += 4) outView.setUint32(at, view.getUint32(at, true), false);
  return out;
}

describe.skipIf(skipVmlinux)(`the running kernel's BTF (${VMLINUX})`, () => {
  const bytes = haveVmlinux ? new Uint8Array(readFileSync(VMLINUX)) : new Uint8Array();
  const btf = haveVmlinux ? parseBtf(bytes) : (undefined as unknown as Btf);

  it("has as many types of each kind as `bpftool btf dump` prints lines", () => {
    const dump = execFileSync("bpftool", ["btf", "dump", "file", VMLINUX], { encoding: "utf8", maxBuffer: 1 << 28 });
    const theirs = new Map<string, number>();
    let lastId = 0;
    for (const line of dump.split("\n")) {
      const match = /^\[(\d+)\] (\w+) /.exec(line);
      if (match === null) continue;
      lastId = Number(match[1]);
      theirs.set(match[2]!, (theirs.get(match[2]!) ?? 0) + 1);
    }
    const ours = new Map<string, number>();
    for (let id = 1; id < btf.typeCount; id++) {
      const kind = KIND_NAMES[btf.kindOf(id)];
      ours.set(kind, (ours.get(kind) ?? 0) + 1);
    }
    expect(btf.typeCount).toBe(lastId + 1);
    expect(Object.fromEntries([...ours].sort())).toEqual(Object.fromEntries([...theirs].sort()));
  });

  it("decodes every type as bpftool -j reads it", () => {
    expectSameAsBpftool(btf, bpftoolJson([VMLINUX]).types);
  });

  it("reads the same from an unaligned copy and from a big-endian copy (DataView path)", () => {
    const unaligned = new Uint8Array(bytes.byteLength + 1).subarray(1);
    unaligned.set(bytes);
    for (const other of [parseBtf(unaligned), parseBtf(byteSwapped(bytes))]) {
      expect(other.offsets).toEqual(btf.offsets);
      expect(other.nameOffsets).toEqual(btf.nameOffsets);
      for (let id = 0; id < btf.typeCount; id += 7) expect(other.type(id)).toEqual(btf.type(id));
      expect(other.typeByName("task_struct", "struct")).toEqual(btf.typeByName("task_struct", "struct"));
    }
  });

  // The first lookups scan the name column, the later ones use the name hash (btf/parse.ts).
  it("finds types by name as a brute-force scan does, for 200 random names and then some", () => {
    const truth = bruteForceNames(btf);
    const next = random(0xb7f);
    const names = new Set(["task_struct", "int", "sk_buff", "xdp_md", "bpf_map", "pt_regs", "long unsigned int", "char", "__u32"]);
    while (names.size < 209) {
      const name = btf.type(1 + Math.floor(next() * (btf.typeCount - 1))).name;
      if (name !== "") names.add(name);
    }
    for (const name of names) expectLookups(btf, truth, name);
    // Strings that name no type: member names, prefixes, suffixes, near misses, absent ones.
    const task = btf.typeByName("task_struct", "struct");
    const members = task?.kind === "struct" ? task.members.slice(0, 20).map((m) => m.name) : [];
    for (const name of [...members, "task_", "_struct", "ask_struct", "task_structx", "TASK_STRUCT", "no such type", "ü", "a\0b", "\uFFFD"]) {
      expectLookups(btf, truth, name);
    }
    expect(btf.idsByName("")).toEqual([]); // vmlinux has no type whose name_off points at an empty string
    expect(btf.typeByName("task_struct", "void")).toBeUndefined();
  });

  it("lists all names as the brute-force scan does", () => {
    const fresh = parseBtf(bytes);
    const truth = bruteForceNames(fresh);
    const all = fresh.allNames();
    expect(all.size).toBe(truth.size);
    for (const [name, ids] of truth) expect(all.get(name)).toEqual(ids);
    expect(fresh.idsByName("task_struct")).toEqual(truth.get("task_struct"));
  });

  it("truncated or with a bad record: a BtfError naming the type", () => {
    const typeStart = 24;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const typeLen = view.getUint32(12, true);
    const shorter = bytes.slice();
    new DataView(shorter.buffer).setUint32(12, typeLen - 5, true);
    expect(() => parseBtf(shorter)).toThrow(BtfError);
    const badKind = bytes.slice();
    const at = btf.offsets[114]!;
    new DataView(badKind.buffer).setUint32(typeStart + at + 4, (25 << 24) | 1, true);
    expect(() => parseBtf(badKind)).toThrow(expect.objectContaining({ typeId: 114 }));
    const badName = bytes.slice();
    new DataView(badName.buffer).setUint32(typeStart + at, 0xfffffff0, true);
    expect(() => parseBtf(badName)).toThrow(expect.objectContaining({ typeId: 114, message: expect.stringMatching(/name offset/) }));
  });

  it("keeps to BtfError under 300 seeded mutations of record headers", () => {
    const next = random(42);
    // One 5 MB copy, mutated in place and put back after each round.
    const mutated = bytes.slice();
    const view = new DataView(mutated.buffer);
    for (let round = 0; round < 300; round++) {
      const id = 1 + Math.floor(next() * (btf.typeCount - 1));
      const at = 24 + btf.offsets[id]! + 4 * Math.floor(next() * 3);
      const original = view.getUint32(at, true);
      view.setUint32(at, interesting(next, btf.typeCount), true);
      expectOnlyBtfErrors(() => {
        const parsed = parseBtf(mutated);
        for (let near = Math.max(0, id - 2); near < Math.min(parsed.typeCount, id + 3); near++) exercise(parsed, near);
        parsed.typeByName("task_struct", "struct");
      });
      view.setUint32(at, original, true);
    }
  });
});

/** A u32 that tends to break things: 0, 1, limits, a type count, or random bits. */
function interesting(next: () => number, typeCount: number): number {
  const choices = [0, 1, 0xffff, 0xffffffff, 0x80000000, typeCount, typeCount - 1, (next() * 2 ** 32) >>> 0, (next() * 32) << 24];
  return choices[Math.floor(next() * choices.length)]! >>> 0;
}

/** Everything a caller may do with one type id. */
function exercise(btf: Btf, id: number): void {
  const type = btf.type(id);
  btf.kindOf(id);
  btf.resolve(id);
  if (type.kind !== "void" && type.kind !== "func" && type.kind !== "func_proto" && type.kind !== "fwd" && type.kind !== "var" && type.kind !== "decl_tag") {
    try {
      btf.sizeof(id);
    } catch (error) {
      if (!(error instanceof BtfError)) throw error;
    }
  }
  btf.idsByName(type.name);
  btf.typeByName(type.name, type.kind);
}

function expectOnlyBtfErrors(run: () => void): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof BtfError)) throw new Error(`not a BtfError: ${String(error)}`, { cause: error });
  }
}

const OBJECTS = allObjects().filter((o) => btfSection(o.path) !== undefined);

describe.each(OBJECTS.map((o) => [o.label, o.path] as const))("BTF of %s", (_label, path) => {
  const btf = parseBtf(btfSection(path)!);

  it("decodes every type as bpftool -j reads it", () => {
    expectSameAsBpftool(btf, [...bpftoolBtf(path).values()]);
  });

  it("finds every name as a brute-force scan does", () => {
    const truth = bruteForceNames(btf);
    for (const name of [...truth.keys(), "", "no_such_type", "int_", "_int"]) expectLookups(btf, truth, name);
    expect([...btf.allNames()].sort()).toEqual([...truth].sort());
  });
});

describe("names looked up by their bytes", () => {
  it("finds short and long names, ASCII or not, in any order of lookups", () => {
    // Short names are encoded into one reused buffer, names past its size (85 UTF-16 units)
    // into their own array; a long name looked up first must not disturb a short one after.
    const long = "x".repeat(300);
    const names = [long, "x".repeat(85), "x".repeat(86), "x", "caf\u00e9", "\u{1F600}_emoji", "x".repeat(84)];
    const b = new BtfBuilder();
    const ids = names.map((name) => b.addInt(name, 4));
    const btf = parseBtf(b.build());
    for (const order of [names, [...names].reverse()]) {
      for (const name of order) expect(btf.idsByName(name), name.slice(0, 10)).toEqual([ids[names.indexOf(name)]]);
    }
    // A prefix of a name is not the name; a fresh Btf takes the scan path again, not the cache.
    const fresh = parseBtf(b.build());
    expect(fresh.typeByName(long)?.id).toBe(ids[0]);
    expect(fresh.typeByName("xx")).toBeUndefined();
    expect(fresh.typeByName("caf")).toBeUndefined();
    expect(fresh.typeByName("x")?.id).toBe(ids[3]);
  });
});

describe("many small records", () => {
  /** 3,000 PTR records (12 bytes each, the smallest there is), each pointing at the one before. */
  function pointers(count: number): Uint8Array {
    const out = new Uint8Array(24 + 12 * count + 1);
    const view = new DataView(out.buffer);
    view.setUint16(0, 0xeb9f, true);
    out[2] = 1;
    [24, 0, 12 * count, 12 * count, 1].forEach((value, i) => view.setUint32(4 + 4 * i, value, true));
    for (let i = 0; i < count; i++) {
      view.setUint32(24 + 12 * i + 4, 2 << 24, true);
      view.setUint32(24 + 12 * i + 8, i, true);
    }
    return out;
  }

  it("are all indexed, in either byte order (the index grows past its first guess)", () => {
    const bytes = pointers(3000);
    for (const btf of [parseBtf(bytes), parseBtf(byteSwapped(bytes))]) {
      expect(btf.typeCount).toBe(3001);
      expect(btf.offsets[3000]).toBe(12 * 2999);
      expect(btf.type(3000)).toEqual({ kind: "ptr", id: 3000, name: "", type: 2999 });
      expect(btf.kindOf(1)).toBe(2);
    }
  });
});

describe("malformed BTF: a BtfError and nothing else", () => {
  const samples = [
    ["fixture core_read", btfSection(progPath("core_read"))!],
    ["cilium loader-el", btfSection(ciliumObject("loader-el.elf"))!],
    ["cilium loader-eb (big-endian)", btfSection(ciliumObject("loader-eb.elf"))!],
  ] as const;

  it.each(samples)("%s, asked for ids and string offsets that do not exist", (_name, bytes) => {
    const btf = parseBtf(bytes);
    for (const id of [-1, 1.5, btf.typeCount, 2 ** 32, Number.NaN]) {
      expect(() => btf.type(id)).toThrow(BtfError);
      expect(() => btf.kindOf(id)).toThrow(BtfError);
      expect(() => btf.nameOffsetOf(id)).toThrow(BtfError);
    }
    for (const offset of [-1, btf.stringsEnd, 2 ** 32, Number.NaN]) expect(() => btf.string(offset)).toThrow(BtfError);
  });

  it.each(samples)("%s, cut at every length", (_name, bytes) => {
    for (let length = 0; length < bytes.byteLength; length++) {
      expect(() => parseBtf(bytes.subarray(0, length))).toThrow(BtfError);
    }
  });

  it.each(samples)("%s, with every kind, name offset and type reference broken in turn", (_name, bytes) => {
    const btf = parseBtf(bytes);
    const le = btf.littleEndian;
    const typeStart = new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, le) + new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, le);
    const stringsEnd = btf.stringsEnd;
    for (let id = 1; id < btf.typeCount; id++) {
      const at = typeStart + btf.offsets[id]!;
      const broken = (word: number, value: number) => {
        const copy = bytes.slice();
        new DataView(copy.buffer).setUint32(at + word * 4, value, le);
        return copy;
      };
      const info = new DataView(bytes.buffer, bytes.byteOffset).getUint32(at + 4, le);
      for (const kind of [0, 20, 31]) expect(() => parseBtf(broken(1, (info & 0x80ffffff) | (kind << 24)))).toThrow(expect.objectContaining({ typeId: id }));
      expect(() => parseBtf(broken(0, stringsEnd))).toThrow(expect.objectContaining({ typeId: id }));
      // Word 2 is size or type; as a type reference past the last id it must fail on decode.
      const kind = btf.type(id).kind;
      if (["ptr", "typedef", "const", "volatile", "restrict", "func", "var", "type_tag", "decl_tag", "func_proto"].includes(kind)) {
        expect(() => parseBtf(broken(2, btf.typeCount)).type(id)).toThrow(expect.objectContaining({ typeId: id }));
      }
    }
  });

  it.each(samples)("%s, under 2,000 seeded mutations (bytes, words, header fields, lengths)", (_name, bytes) => {
    const next = random(7);
    const btf = parseBtf(bytes);
    for (let round = 0; round < 2000; round++) {
      const mutated = bytes.slice();
      const view = new DataView(mutated.buffer);
      const mutations = 1 + Math.floor(next() * 3);
      for (let m = 0; m < mutations; m++) {
        const choice = next();
        if (choice < 0.3) mutated[Math.floor(next() * mutated.length)] = Math.floor(next() * 256);
        else if (choice < 0.8) view.setUint32(4 * Math.floor(next() * (mutated.length >> 2)), interesting(next, btf.typeCount), btf.littleEndian);
        else view.setUint32(4 + 4 * Math.floor(next() * 5), Math.floor(next() * mutated.length * 1.2), btf.littleEndian);
      }
      expectOnlyBtfErrors(() => {
        const parsed = parseBtf(mutated);
        for (let id = 0; id < parsed.typeCount; id++) expectOnlyBtfErrors(() => exercise(parsed, id));
        expectOnlyBtfErrors(() => parsed.allNames());
      });
    }
  });
});

describe.skipIf(skipVmlinux)("split BTF on top of vmlinux", () => {
  const base = haveVmlinux ? parseBtf(readFileSync(VMLINUX)) : (undefined as unknown as Btf);

  /** A module-like split BTF: a struct using vmlinux's int and task_struct, a typedef named
   * with a vmlinux string, one named with its own; its strings start with a name, not "". */
  function splitBytes(littleEndian = true): Uint8Array {
    const own = ["tsbpf_mod_struct", "count", "task", "tsbpf_mod_typedef"];
    const offsets = new Map<string, number>();
    const strings: number[] = [];
    for (const s of own) {
      offsets.set(s, base.stringsEnd + strings.length);
      strings.push(...new TextEncoder().encode(s), 0);
    }
    const int = base.typeByName("int", "int")!.id;
    const task = base.typeByName("task_struct", "struct")!.id;
    const first = base.typeCount;
    const words = [
      offsets.get("tsbpf_mod_struct")!, (4 << 24) | 2, 16, offsets.get("count")!, int, 0, offsets.get("task")!, first + 1, 64,
      0, 2 << 24, task,
      base.nameOffsetOf(task), 8 << 24, first + 1,
      offsets.get("tsbpf_mod_typedef")!, 8 << 24, int,
    ];
    const out = new Uint8Array(24 + words.length * 4 + strings.length);
    const view = new DataView(out.buffer);
    view.setUint16(0, 0xeb9f, littleEndian);
    out[2] = 1;
    [24, 0, words.length * 4, words.length * 4, strings.length].forEach((v, i) => view.setUint32(4 + 4 * i, v, littleEndian));
    words.forEach((w, i) => view.setUint32(24 + 4 * i, w, littleEndian));
    out.set(strings, 24 + words.length * 4);
    return out;
  }

  it("continues vmlinux's ids and strings, as bpftool -B reads it", () => {
    const bytes = splitBytes();
    const split = parseBtf(bytes, { base });
    expect(split.firstTypeId).toBe(base.typeCount);
    expect(split.typeCount).toBe(base.typeCount + 4);
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-split-"));
    try {
      writeFileSync(join(dir, "split.btf"), bytes);
      expectSameAsBpftool(split, bpftoolJson([join(dir, "split.btf"), "-B", VMLINUX]).types);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ["by scanning", 0],
    ["through the name hash (built after a few scans)", 20],
  ])("resolves base ids and strings through the base, and looks names up in both, %s", (_how, warmup) => {
    const split = parseBtf(splitBytes(), { base });
    for (let i = 0; i < warmup; i++) expect(split.idsByName(`absent_${i}`)).toEqual([]);
    const task = base.typeByName("task_struct", "struct")!;
    expect(split.type(task.id)).toBe(task);
    expect(split.kindOf(task.id)).toBe(4);
    expect(split.string(base.nameOffsetOf(task.id))).toBe("task_struct");
    expect(split.idsByName("task_struct")).toEqual([task.id, base.typeCount + 2]);
    expect(split.typeByName("task_struct")?.id).toBe(task.id);
    expect(split.typeByName("task_struct", "typedef")?.id).toBe(base.typeCount + 2);
    expect(split.typeByName("tsbpf_mod_struct", "struct")?.id).toBe(base.typeCount);
    expect(split.typeByName("tsbpf_mod_typedef")?.id).toBe(base.typeCount + 3);
    expect(split.idsByName("count")).toEqual([]);
    expect(split.sizeof(base.typeCount)).toBe(16);
    expect(split.resolve(base.typeCount + 3)).toEqual(base.typeByName("int", "int"));
    expect(split.allNames().get("task_struct")).toEqual([task.id, base.typeCount + 2]);
    expect(() => split.type(split.typeCount)).toThrow(BtfError);
  });

  it("refuses a split BTF in the other byte order, or with a name past its strings", () => {
    expect(() => parseBtf(splitBytes(false), { base })).toThrow(/byte order/);
    const bytes = splitBytes();
    const stringsEnd = base.stringsEnd + new DataView(bytes.buffer).getUint32(20, true);
    new DataView(bytes.buffer).setUint32(24, stringsEnd, true);
    expect(() => parseBtf(bytes, { base })).toThrow(expect.objectContaining({ typeId: base.typeCount }));
  });
});
