// .BTF.ext: func_info, line_info and CO-RE relocation records.
//
// Oracles:
// - llvm-readelf's symbol table: each func_info record sits on a function symbol of its
//   section, one per function, and names (through its FUNC type) that function;
// - the C sources: the text of every line_info record is that line of the source file
//   (our fixtures in test/progs, cilium's in its testdata), and core_read.bpf.c /
//   cilium's relocs.c say which CO-RE relocations clang must have written;
// - llvm-objdump: the instruction each CO-RE record points at holds the local value;
// - cilium's objects exist in both byte orders: the records must agree;
// - the kernel: a program linked from three functions, loaded with the concatenated
//   func_info and line_info, is accepted, and bpftool prints its source lines.

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BtfError } from "../common/errors.js";
import { MapType, ProgramType } from "../common/uapi.js";
import { parseElf, type ElfFile } from "../elf/index.js";
import { parseBtf, type Btf } from "../btf/parse.js";
import { BtfBuilder } from "../btf/builder.js";
import { CoreReloKind, coreReloKindName, parseBtfExt, type BtfExt } from "../btf/ext.js";
import { concatExtInfo, encodeLineInfo, extInfoForFunction, type FunctionExtInfo } from "../btf/ext-info.js";
import { parseObject } from "../loader/spec.js";
import { link } from "../loader/link.js";
import { resolveReferences } from "../loader/resolve.js";
import { loadBtf } from "../syscall/bpf-btf.js";
import { createMap } from "../syscall/bpf-map.js";
import { loadProgram } from "../syscall/prog-load.js";
import { programInfo } from "../syscall/info.js";
import { CILIUM_ROOT, allObjects, ciliumObject, objdump, objectBytes, readelfJson } from "./helpers/objects.js";
import { REPO_ROOT, progPath } from "./helpers/progs.js";
import { skipWithoutRoot } from "./helpers/netns.js";

interface ExtObject {
  label: string;
  path: string;
  origin: string;
  elf: ElfFile;
  btf: Btf;
  ext: BtfExt;
  extBytes: Uint8Array;
}

const extObjects: ExtObject[] = allObjects().flatMap((o) => {
  const elf = parseElf(objectBytes(o.path));
  const btf = elf.section(".BTF");
  const ext = elf.section(".BTF.ext");
  if (btf === undefined || ext === undefined) return [];
  return [{ ...o, elf, btf: parseBtf(btf.data), ext: parseBtfExt(ext.data), extBytes: ext.data }];
});

/** Everything the records of one section say, with strings resolved, for the whole section. */
function wholeSection(o: ExtObject, section: string): FunctionExtInfo {
  return extInfoForFunction(o.ext, o.btf, section, 0, Number.MAX_SAFE_INTEGER);
}

function sectionNames(o: ExtObject): Set<string> {
  const names = new Set<string>();
  for (const block of [o.ext.funcInfo, o.ext.lineInfo, o.ext.coreRelos]) for (const s of block.sections) names.add(o.btf.string(s.sectionNameOffset));
  return names;
}

/** Where a source file named in line_info lives here, or undefined for objects built elsewhere. */
function sourceFile(o: ExtObject, fileName: string): string | undefined {
  if (o.origin === "fixture") return join(REPO_ROOT, fileName);
  if (o.origin === "cilium") return join(CILIUM_ROOT, fileName);
  return undefined;
}

const sourceLines = new Map<string, string[]>();
function lineOf(path: string, line: number): string {
  if (!sourceLines.has(path)) sourceLines.set(path, readFileSync(path, "utf8").split("\n"));
  return sourceLines.get(path)![line - 1];
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("func_info: one record per function, on its first instruction, naming it", () => {
  it("finds objects with .BTF.ext", () => {
    expect(extObjects.filter((o) => o.origin === "fixture").length).toBeGreaterThanOrEqual(10);
    expect(extObjects.filter((o) => o.origin === "cilium").length).toBeGreaterThanOrEqual(20);
    expect(extObjects.filter((o) => o.origin === "xdp-tools").length).toBeGreaterThanOrEqual(10);
  });

  it.each(extObjects)("$label", (o) => {
    const { sections, symbols } = readelfJson(o.path);
    expect(o.ext.funcInfo.recordSize).toBe(8);
    expect(o.ext.funcInfo.sections.length).toBeGreaterThan(0);
    for (const s of o.ext.funcInfo.sections) {
      const name = o.btf.string(s.sectionNameOffset);
      const section = sections.find((x) => x.Name.Value === name);
      expect(section, name).toBeDefined();
      const functions = symbols.filter((sym) => sym.Type.Value === "Function" && sym.Section.RawValue === section!.Index);
      expect(s.records.length, name).toBe(functions.length);
      for (const record of s.records) {
        const fn = functions.find((f) => f.Value === record.insnOffset);
        expect(fn, `${name} byte ${record.insnOffset}`).toBeDefined();
        expect(o.btf.type(record.typeId)).toMatchObject({ kind: "func", name: fn!.Name.Value });
      }
    }
  });
});

describe("line_info: file, line, column and the source line's text", () => {
  it.each(extObjects)("$label", (o) => {
    expect(o.ext.lineInfo.recordSize).toBe(16);
    let checkedText = 0;
    for (const section of sectionNames(o)) {
      const { lineInfo } = wholeSection(o, section);
      for (const l of lineInfo) {
        expect(l.fileName).toMatch(/\.[ch]$/);
        if (l.line === 0) {
          // clang's "no particular line" for code it generated.
          expect(l.lineText).toBe("");
          continue;
        }
        const path = sourceFile(o, l.fileName);
        if (path === undefined) continue; // built elsewhere (xdp-tools): no source here
        expect(existsSync(path), path).toBe(true);
        expect(l.lineText, `${l.fileName}:${l.line}`).toBe(lineOf(path, l.line));
        expect(l.column).toBeLessThanOrEqual(l.lineText.replace(/\t/g, " ").length + 1);
        checkedText++;
      }
    }
    if (o.origin !== "xdp-tools") expect(checkedText).toBeGreaterThan(0);
  });
});

describe("records per function, as BPF_PROG_LOAD wants them", () => {
  it.each(extObjects)("$label", (o) => {
    const spec = parseObject(objectBytes(o.path));
    for (const p of [...spec.programs.values(), ...spec.subprograms.values()]) {
      const info = extInfoForFunction(o.ext, o.btf, p.section, p.sectionOffset, p.sectionOffset + p.bytes.byteLength);
      expect(info.funcInfo).toEqual([{ insn: 0, typeId: expect.any(Number), name: p.name }]);
      // The kernel wants a line_info record on each function's first instruction.
      expect(info.lineInfo[0]?.insn).toBe(0);
      for (const r of [...info.lineInfo, ...info.coreRelos]) expect(r.insn).toBeLessThan(p.slotCount);
      for (let i = 1; i < info.lineInfo.length; i++) expect(info.lineInfo[i].insn).toBeGreaterThan(info.lineInfo[i - 1].insn);
      // Kernel records: host byte order, insn_off in instructions.
      const funcView = new DataView(info.funcInfoRecords.records.buffer);
      expect(info.funcInfoRecords).toMatchObject({ recordSize: 8, count: 1 });
      expect([funcView.getUint32(0, true), funcView.getUint32(4, true)]).toEqual([0, info.funcInfo[0].typeId]);
      const lineView = new DataView(info.lineInfoRecords.records.buffer);
      expect(info.lineInfoRecords).toMatchObject({ recordSize: 16, count: info.lineInfo.length });
      info.lineInfo.forEach((l, i) => {
        expect([0, 4, 8, 12].map((at) => lineView.getUint32(i * 16 + at, true))).toEqual([l.insn, l.fileNameOffset, l.lineOffset, (l.line << 10) | l.column]);
      });
    }
  });
});

describe("CO-RE relocations", () => {
  it("core_read.o: the three accesses of core_read.bpf.c, on the instructions that hold the local values", () => {
    const o = extObjects.find((x) => x.label === "fixture/core_read.o")!;
    expect(o.ext.coreRelos.recordSize).toBe(16);
    const { coreRelos } = wholeSection(o, "kprobe/do_sys_openat2");
    const named = coreRelos.map((r) => ({ insn: r.insn, type: o.btf.type(r.typeId).name, access: r.accessString, kind: coreReloKindName(r.kind) }));
    // struct task_struct { int pid; int tgid; int tsbpf_missing; }: access "0:N" is member N of task[0].
    expect(named).toEqual([
      { insn: 1, type: "task_struct", access: "0:1", kind: "FIELD_BYTE_OFFSET" }, // BPF_CORE_READ(task, tgid)
      { insn: expect.any(Number), type: "task_struct", access: "0:0", kind: "FIELD_EXISTS" }, // bpf_core_field_exists(task->pid)
      { insn: expect.any(Number), type: "task_struct", access: "0:2", kind: "FIELD_EXISTS" }, // ...(task->tsbpf_missing)
    ]);
    const task = o.btf.type(coreRelos[0].typeId);
    expect(task.kind === "struct" && task.members[1]).toMatchObject({ name: "tgid", bitOffset: 32 });
    // The compiler put the local answers in the instructions: tgid is at byte 4; both fields exist locally.
    const lines = objdump(o.path).find((s) => s.name === "kprobe/do_sys_openat2")!.lines;
    const at = (slot: number) => lines.find((l) => l.slot === slot)!.text;
    expect(at(coreRelos[0].insn)).toBe("r1 = 4");
    expect(at(coreRelos[1].insn)).toMatch(/^r\d = 1$/);
    expect(at(coreRelos[2].insn)).toMatch(/^r\d = 1$/);
  });

  const pairs = ["relocs", "relocs_read"].map((name) => ({ name, el: ciliumObject(`${name}-el.elf`), eb: ciliumObject(`${name}-eb.elf`) }));

  it.each(pairs)("cilium $name: the same records in both byte orders", ({ el, eb }) => {
    const [little, big] = [el, eb].map((path) => extObjects.find((o) => o.path === path)!);
    expect([little.ext.littleEndian, big.ext.littleEndian]).toEqual([true, false]);
    const decoded = (o: ExtObject) => [...sectionNames(o)].sort().map((s) => ({ section: s, ...wholeSection(o, s) }));
    const a = decoded(little);
    const b = decoded(big);
    expect(a.reduce((n, s) => n + s.coreRelos.length, 0)).toBeGreaterThan(40);
    expect(b.map(({ section, funcInfo, lineInfo, coreRelos }) => ({ section, funcInfo, lineInfo, coreRelos }))).toEqual(
      a.map(({ section, funcInfo, lineInfo, coreRelos }) => ({ section, funcInfo, lineInfo, coreRelos })),
    );
  });

  it("cilium relocs.c: each test function's relocation kinds, and one TYPE_ID_TARGET per target_and_local_id_match()", () => {
    const o = extObjects.find((x) => x.path === ciliumObject("relocs-el.elf"))!;
    const kinds = (section: string) => new Set(wholeSection(o, section).coreRelos.map((r) => coreReloKindName(r.kind)));
    expect(kinds("socket_filter/type_ids")).toEqual(new Set(["TYPE_ID_LOCAL", "TYPE_ID_TARGET"]));
    expect(kinds("socket_filter/types")).toEqual(new Set(["TYPE_EXISTS", "TYPE_SIZE"]));
    expect(kinds("socket_filter/enums")).toEqual(new Set(["ENUMVAL_EXISTS", "ENUMVAL_VALUE"]));
    for (const kind of kinds("socket_filter/fields")) expect(kind).toMatch(/^FIELD_/);
    const source = readFileSync(join(CILIUM_ROOT, "btf/testdata/relocs.c"), "utf8");
    const targets = [...source.matchAll(/^\ttarget_and_local_id_match\((?:struct |union |enum )?(\w+)\);/gm)].map((m) => m[1]).sort();
    const targetRelos = wholeSection(o, "socket_filter/type_ids").coreRelos.filter((r) => r.kind === CoreReloKind.TYPE_ID_TARGET);
    expect(targetRelos.map((r) => o.btf.type(r.typeId).name).sort()).toEqual(targets);
    for (const r of wholeSection(o, "socket_filter/fields").coreRelos) expect(r.accessString).toMatch(/^\d+(:\d+)*$/);
  });
});

describe("concatExtInfo", () => {
  it("moves each function's records to its slot and keeps them in order", () => {
    const o = extObjects.find((x) => x.label === "fixture/subprog.o")!;
    const spec = parseObject(objectBytes(o.path));
    const info = (name: string) => {
      const p = spec.programs.get(name) ?? spec.subprograms.get(name)!;
      return extInfoForFunction(o.ext, o.btf, p.section, p.sectionOffset, p.sectionOffset + p.bytes.byteLength);
    };
    const entry = info("tc_global_call");
    const bump = info("bump");
    const joined = concatExtInfo([
      { info: bump, startSlot: 100 },
      { info: entry, startSlot: 0 },
    ]);
    expect(joined.funcInfo.map((f) => [f.insn, f.name])).toEqual([
      [0, "tc_global_call"],
      [100, "bump"],
    ]);
    expect(joined.lineInfo).toEqual([...entry.lineInfo, ...bump.lineInfo.map((l) => ({ ...l, insn: l.insn + 100 }))]);
    expect(joined.lineInfoRecords.records).toEqual(encodeLineInfo(joined.lineInfo).records);
    expect(joined.funcInfoRecords.count).toBe(2);
    expect(thrown(() => concatExtInfo([{ info: entry, startSlot: -1 }]))).toBeInstanceOf(BtfError);
  });

  it.skipIf(skipWithoutRoot)("the kernel loads a program of three functions with their func_info and line_info", () => {
    const path = progPath("subprog");
    const spec = parseObject(objectBytes(path));
    const elf = parseElf(objectBytes(path));
    const btf = spec.btf!;
    const ext = parseBtfExt(spec.btfExt!);
    // clang leaves DATASEC sizes and variable offsets at 0; the kernel wants them filled in.
    const fixed = BtfBuilder.from(btf);
    for (let id = 1; id < btf.typeCount; id++) {
      const t = btf.type(id);
      if (t.kind !== "datasec") continue;
      const section = elf.section(t.name)!;
      const offsetOf = (varId: number) => elf.symbols.find((s) => s.name === btf.type(varId).name && s.sectionIndex === section.index)!.value;
      fixed.replace(id, { ...t, size: section.size, vars: t.vars.map((v) => ({ ...v, offset: offsetOf(v.type) })) });
    }
    const btfFd = loadBtf(fixed.build());
    const map = createMap({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, name: "calls" });
    try {
      const entry = spec.programs.get("tc_global_call")!;
      const linked = link(spec, entry);
      expect(linked.layout.map((l) => l.name).sort()).toEqual(["bump", "classify_len", "tc_global_call"]);
      expect(linked.layout[0]).toEqual({ name: "tc_global_call", start: 0 });
      const insns = resolveReferences(linked, { mapFd: (name) => (name === "calls" ? map.raw : undefined), dataFd: () => undefined });
      const joined = concatExtInfo(
        linked.layout.map((l) => {
          const fn = spec.programs.get(l.name) ?? spec.subprograms.get(l.name)!;
          return { info: extInfoForFunction(ext, btf, fn.section, fn.sectionOffset, fn.sectionOffset + fn.bytes.byteLength), startSlot: l.start };
        }),
      );
      const fd = loadProgram({
        type: ProgramType.SCHED_CLS,
        insns,
        license: spec.license,
        name: entry.name,
        btfFd,
        funcInfo: joined.funcInfoRecords,
        lineInfo: joined.lineInfoRecords,
      });
      try {
        const info = programInfo(fd);
        expect(info.nrFuncInfo).toBe(3);
        expect(info.nrLineInfo).toBe(joined.lineInfo.length);
        // bpftool prints the source line of each line_info record above its instruction.
        const dump = execFileSync("bpftool", ["prog", "dump", "xlated", "id", String(info.id)], { encoding: "utf8" });
        for (const name of ["tc_global_call", "bump", "classify_len"]) expect(dump).toContain(`${name}(`);
        for (const line of new Set(joined.lineInfo.filter((l) => l.line > 0).map((l) => l.lineText.trim()))) expect(dump).toContain(`; ${line}`);
      } finally {
        fd.close();
      }
    } finally {
      map.close();
      btfFd.close();
    }
  });
});

// ---------------------------------------------------------------------------------------
// Hand-made .BTF.ext sections: record sizes, header lengths, byte orders, and damage.

interface Block {
  recordSize: number;
  sections: { nameOffset: number; records: number[][] }[];
}

/** Writes a .BTF.ext; each record is rec_size bytes: its u32 fields as far as they fit, then zeroes. */
function buildExt(blocks: { func?: Block; line?: Block; core?: Block }, options: { littleEndian?: boolean; headerLength?: number } = {}): Uint8Array {
  const le = options.littleEndian ?? true;
  const headerLength = options.headerLength ?? 32;
  const bodies = [blocks.func, blocks.line, blocks.core].map((block) => {
    if (block === undefined) return new Uint8Array(0);
    const size = 4 + block.sections.reduce((n, s) => n + 8 + s.records.length * block.recordSize, 0);
    const bytes = new Uint8Array(size);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, block.recordSize, le);
    let at = 4;
    for (const s of block.sections) {
      view.setUint32(at, s.nameOffset, le);
      view.setUint32(at + 4, s.records.length, le);
      at += 8;
      for (const r of s.records) {
        // Fields that fit in recordSize; zero padding after them.
        r.forEach((field, i) => {
          if (i * 4 + 4 <= block.recordSize) view.setUint32(at + i * 4, field, le);
        });
        at += block.recordSize;
      }
    }
    return bytes;
  });
  const total = headerLength + bodies.reduce((n, b) => n + b.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint16(0, 0xeb9f, le);
  out[2] = 1;
  view.setUint32(4, headerLength, le);
  let offset = 0;
  bodies.forEach((body, i) => {
    if (8 + i * 8 + 8 <= headerLength) {
      view.setUint32(8 + i * 8, offset, le);
      view.setUint32(12 + i * 8, body.length, le);
    }
    out.set(body, headerLength + offset);
    offset += body.length;
  });
  return out;
}

describe("parseBtfExt on hand-made sections", () => {
  const func: Block = { recordSize: 8, sections: [{ nameOffset: 5, records: [[0, 3], [64, 4]] }] };
  const line: Block = { recordSize: 16, sections: [{ nameOffset: 5, records: [[0, 1, 2, (7 << 10) | 3]] }] };
  const core: Block = { recordSize: 16, sections: [{ nameOffset: 5, records: [[8, 2, 9, CoreReloKind.FIELD_EXISTS]] }] };

  // Records are decoded on first use (a getter): compare what a reader sees.
  const plainBlock = (block: BtfExt["funcInfo"] | BtfExt["lineInfo"] | BtfExt["coreRelos"]) => ({
    recordSize: block.recordSize,
    sections: block.sections.map((section) => ({ sectionNameOffset: section.sectionNameOffset, records: section.records })),
  });
  const plain = (ext: BtfExt) => ({
    ...ext,
    funcInfo: plainBlock(ext.funcInfo),
    lineInfo: plainBlock(ext.lineInfo),
    coreRelos: plainBlock(ext.coreRelos),
  });

  it("reads both byte orders alike", () => {
    const little = parseBtfExt(buildExt({ func, line, core }));
    const big = parseBtfExt(buildExt({ func, line, core }, { littleEndian: false }));
    expect(big.littleEndian).toBe(false);
    expect({ ...plain(big), littleEndian: true }).toEqual(plain(little));
    expect(plainBlock(little.funcInfo).sections).toEqual([{ sectionNameOffset: 5, records: [{ insnOffset: 0, typeId: 3 }, { insnOffset: 64, typeId: 4 }] }]);
    expect(little.lineInfo.sections[0].records).toEqual([{ insnOffset: 0, fileNameOffset: 1, lineOffset: 2, line: 7, column: 3 }]);
    expect(little.coreRelos.sections[0].records).toEqual([{ insnOffset: 8, typeId: 2, accessStringOffset: 9, kind: 2 }]);
  });

  it("skips the fields of records bigger than it knows", () => {
    const bigger = parseBtfExt(buildExt({ func: { ...func, recordSize: 16 }, line: { ...line, recordSize: 24 }, core: { ...core, recordSize: 20 } }));
    expect(bigger.funcInfo.recordSize).toBe(16);
    const smaller = plain(parseBtfExt(buildExt({ func, line, core })));
    const { recordSize: _f, ...funcSections } = plainBlock(bigger.funcInfo);
    expect(funcSections).toEqual({ sections: smaller.funcInfo.sections });
    expect(plainBlock(bigger.lineInfo).sections).toEqual(smaller.lineInfo.sections);
    expect(plainBlock(bigger.coreRelos).sections).toEqual(smaller.coreRelos.sections);
    expect(plainBlock(bigger.funcInfo).sections).toEqual(plainBlock(parseBtfExt(buildExt({ func })).funcInfo).sections);
    expect(plainBlock(bigger.lineInfo).sections).toEqual(plainBlock(parseBtfExt(buildExt({ line })).lineInfo).sections);
  });

  it("reads a header without CO-RE fields (hdr_len 24) and one longer than it knows", () => {
    expect(parseBtfExt(buildExt({ func, line }, { headerLength: 24 })).coreRelos).toEqual({ recordSize: 0, sections: [] });
    expect(parseBtfExt(buildExt({ func, line, core }, { headerLength: 40 })).coreRelos.sections).toHaveLength(1);
  });

  it("names what is wrong", () => {
    const message = (bytes: Uint8Array) => (thrown(() => parseBtfExt(bytes)) as Error).message;
    expect(message(buildExt({ func: { ...func, recordSize: 4 } }))).toMatch(/func_info rec_size 4 is smaller than a record \(8 bytes\)/);
    expect(message(buildExt({ line: { ...line, recordSize: 18 } }))).toMatch(/line_info rec_size 18 is not a multiple of 4/);
    const good = buildExt({ func });
    expect(message(good.subarray(0, good.length - 4))).toMatch(/func_info block .* runs past the end/);
    const lying = buildExt({ func });
    new DataView(lying.buffer).setUint32(32 + 8, 1000, true); // num_info
    expect(message(lying)).toMatch(/func_info section entry 0 claims 1000 records of 8 bytes/);
    expect(message(buildExt({ func: { recordSize: 8, sections: [{ nameOffset: 1, records: [[12, 1]] }] } }))).toMatch(/insn_off 12 is not a multiple of 8/);
    // The same in big-endian, and an offset whose low byte is aligned but whose value is not
    // in the other byte order (0x0100 + 4 = 260): the check reads the right byte.
    for (const littleEndian of [true, false]) {
      const misaligned = { recordSize: 8, sections: [{ nameOffset: 1, records: [[16, 1], [260, 1]] }] };
      expect(message(buildExt({ func: misaligned }, { littleEndian }))).toMatch(/record 1: insn_off 260 is not a multiple of 8/);
      const aligned = { recordSize: 8, sections: [{ nameOffset: 1, records: [[16, 1], [0x0800, 1]] }] };
      expect(parseBtfExt(buildExt({ func: aligned }, { littleEndian })).funcInfo.sections[0].records.map((r) => r.insnOffset)).toEqual([16, 0x0800]);
    }
    const version = buildExt({});
    version[2] = 2;
    expect(message(version)).toMatch(/unsupported version 2/);
    expect(message(new Uint8Array(10))).toMatch(/too short for a header/);
    expect(message(new Uint8Array(32))).toMatch(/bad magic/);
  });
});

describe("malformed .BTF.ext: BtfError only", () => {
  const sources = extObjects.filter((o) => ["fixture/core_read.o", "fixture/subprog.o"].includes(o.label) || o.path.endsWith("relocs-eb.elf"));

  /** Parses and then resolves every section's records through the object's BTF. */
  function parseAndResolve(o: ExtObject, bytes: Uint8Array): void {
    const ext = parseBtfExt(bytes);
    const probe = { ...o, ext };
    for (const section of sectionNames(probe)) wholeSection(probe, section);
  }

  it.each(sources)("$label: every truncation", (o) => {
    for (let length = 0; length < o.extBytes.length; length++) {
      const error = thrown(() => parseAndResolve(o, o.extBytes.subarray(0, length)));
      if (error !== undefined && !(error instanceof BtfError)) throw error;
    }
  });

  it.each(sources)("$label: random mutations", (o) => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    let rejected = 0;
    for (let round = 0; round < 3000; round++) {
      const bytes = o.extBytes.slice();
      for (let flips = 1 + Math.floor(random() * 3); flips > 0; flips--) {
        // Mostly the header and the first records, where the lengths and counts live.
        const at = Math.floor(random() * Math.min(bytes.length, random() < 0.5 ? 64 : bytes.length));
        bytes[at] = random() < 0.5 ? bytes[at] ^ (1 << Math.floor(random() * 8)) : Math.floor(random() * 256);
      }
      const error = thrown(() => parseAndResolve(o, bytes));
      if (error === undefined) continue;
      if (!(error instanceof BtfError)) throw error;
      rejected++;
    }
    expect(rejected).toBeGreaterThan(100);
  });
});
