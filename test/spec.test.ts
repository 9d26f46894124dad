// parseObject against tools we did not write, on every BPF object we can find, then the
// particular facts of cilium's test objects and of our own fixtures.
//
// Oracles (test/helpers/objects.ts):
// - programs: llvm-readelf's function symbols and llvm-objdump's disassembly. A program's
//   instructions are the objdump lines between its symbol's start and end (an ld_imm64 is
//   one line of two slots), and its slot count is st_size / 8;
// - references: llvm-readelf's relocation entries (one reference per relocated instruction);
// - BTF-defined maps: `bpftool btf dump` (the .maps DATASEC and the types of its variables);
// - legacy maps: the raw u32 fields at each map symbol's offset in the "maps" section;
// - license: `llvm-readelf -p license`.

import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { SpecError, isBpfError } from "../common/errors.js";
import { AttachType, MapType, ProgramType } from "../common/uapi.js";
import { parseObject, type ObjectSpec } from "../loader/spec.js";
import { parseElf } from "../elf/index.js";
import { parseBtf } from "../btf/index.js";
import type { ProgramSpec } from "../loader/programs.js";
import type { Reference } from "../loader/references.js";
import type { MapSpec } from "../maps/spec.js";
import { FIXTURES, MAP_TYPE_IDS } from "./helpers/fixture-manifest.js";
import {
  allObjects, bpftoolBtf, ciliumObject, ciliumObjects, objdump, objectBytes, readelfJson, readelfRelocations, readelfString,
  xdpToolsObject, type BpftoolType, type ReadelfJsonSymbol, type TestObject,
} from "./helpers/objects.js";
import { REPO_ROOT, compileSources, progPath } from "./helpers/progs.js";

const STT_FUNC = 2;
const STT_NOTYPE = 0;
const STT_SECTION = 3;
const SHT_PROGBITS = 1;
const SHF_EXECINSTR = 0x4;
const BPF_F_NO_PREALLOC = 1;

/** cilium's invalid_map and invalid_btf_map_init objects are meant to fail; they get their own tests. */
const isInvalidMap = (o: TestObject) => /\/invalid_(btf_)?map(_init)?-e[lb]\.elf$/.test(o.path);
const OBJECTS = allObjects().filter((o) => !isInvalidMap(o));

interface FunctionOracle {
  name: string;
  section: string;
  start: number;
  end: number;
  binding: number;
  /** Slot index (within the section) of each instruction line objdump prints in [start, end). */
  lineSlots: number[];
}

/** Assembler-local labels (LBB0_3, .Ltmp1): untyped symbols that are not functions. */
const ASSEMBLER_LABEL = /^(\.L|LBB\d+_\d+$)/;

/**
 * The functions of an object as LLVM sees them: FUNC symbols in executable sections. Objects
 * from clang before 9 type no symbol at all; there, every named untyped symbol in code that
 * is not an assembler label is a function (objdump prints a header for each).
 */
function functionsOf(path: string): FunctionOracle[] {
  const { sections, symbols } = readelfJson(path);
  const executable = new Set(sections.filter((s) => s.Type.RawValue === SHT_PROGBITS && (s.Flags.RawFlags & SHF_EXECINSTR) !== 0).map((s) => s.Index));
  const inCode = symbols.filter((s) => executable.has(s.Section.RawValue) && s.Name.RawValue !== 0);
  const typed = inCode.some((s) => s.Type.RawValue === STT_FUNC);
  const isFunction = (s: ReadelfJsonSymbol) =>
    typed ? s.Type.RawValue === STT_FUNC : s.Type.RawValue === STT_NOTYPE && !ASSEMBLER_LABEL.test(s.Name.Value);
  const functions = inCode.filter(isFunction);
  const disassembly = objdump(path);

  return functions.map((symbol) => {
    const section = sections[symbol.Section.RawValue]!;
    const starts = functions.filter((f) => f.Section.RawValue === symbol.Section.RawValue).map((f) => f.Value).sort((a, b) => a - b);
    const next = starts.find((v) => v > symbol.Value) ?? section.Size;
    const end = symbol.Size > 0 ? symbol.Value + symbol.Size : next;
    const lines = disassembly.find((d) => d.name === section.Name.Value)?.lines ?? [];
    return {
      name: symbol.Name.Value,
      section: section.Name.Value,
      start: symbol.Value,
      end,
      binding: symbol.Binding.RawValue,
      lineSlots: lines.filter((l) => l.slot * 8 >= symbol.Value && l.slot * 8 < end).map((l) => l.slot),
    };
  });
}

function allFunctions(spec: ObjectSpec): ProgramSpec[] {
  return [...spec.programs.values(), ...spec.subprograms.values()];
}

// ---------------------------------------------------------------------------------------
// BTF-defined maps as bpftool's dump describes them.

interface MapOracle {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  pinning: string;
  keyTypeId: number;
  valueTypeId: number;
  inner?: MapOracle;
}

const QUALIFIERS = new Set(["TYPEDEF", "CONST", "VOLATILE", "RESTRICT", "TYPE_TAG"]);

function resolved(types: Map<number, BpftoolType>, id: number): BpftoolType {
  let type = types.get(id) ?? { id: 0, kind: "VOID", name: "void" };
  while (QUALIFIERS.has(type.kind)) type = types.get(type.type_id!)!;
  return type;
}

function sizeOf(types: Map<number, BpftoolType>, id: number): number {
  const type = resolved(types, id);
  if (type.kind === "PTR") return 8;
  if (type.kind === "ARRAY") return type.nr_elems! * sizeOf(types, type.type_id!);
  if (type.size === undefined) throw new Error(`bpftool type ${id} (${type.kind}) has no size`);
  return type.size;
}

/**
 * libbpf's reading of a map definition struct: __uint(name, N) is a pointer to an array of N
 * elements, __type(name, T) a pointer to T, __array(values, T) an array of pointers to T
 * (a map-in-map or prog array, whose values are 4-byte fds).
 */
function mapFromBpftool(types: Map<number, BpftoolType>, name: string, structId: number): MapOracle {
  const map: MapOracle = { name, type: 0, keySize: 0, valueSize: 0, maxEntries: 0, flags: 0, pinning: "none", keyTypeId: 0, valueTypeId: 0 };
  for (const member of resolved(types, structId).members ?? []) {
    if (member.name === "values") {
      const element = resolved(types, resolved(types, member.type_id).type_id!);
      const target = resolved(types, element.type_id!);
      if (target.kind === "STRUCT") map.inner = mapFromBpftool(types, `${name}.inner`, target.id);
      map.valueSize = 4;
      continue;
    }
    const pointee = resolved(types, member.type_id).type_id!;
    if (member.name === "key" || member.name === "value") {
      map[`${member.name}Size`] = sizeOf(types, pointee);
      map[`${member.name}TypeId`] = pointee;
      continue;
    }
    const n = resolved(types, pointee).nr_elems!;
    switch (member.name) {
      case "type": map.type = n; break;
      case "key_size": map.keySize = n; break;
      case "value_size": map.valueSize = n; break;
      case "max_entries": map.maxEntries = n; break;
      case "map_flags": map.flags = n; break;
      case "pinning": map.pinning = n === 1 ? "by-name" : n === 0 ? "none" : `pinning ${n}`; break;
      default: throw new Error(`map ${name}: bpftool shows an attribute this oracle does not know: ${member.name}`);
    }
  }
  return map;
}

function btfMapsFromBpftool(path: string): MapOracle[] {
  // clang before 9 wrote no .BTF (and bpftool refuses such files): no BTF-defined maps.
  if (!readelfJson(path).sections.some((s) => s.Name.Value === ".BTF")) return [];
  const types = bpftoolBtf(path);
  const datasec = [...types.values()].find((t) => t.kind === "DATASEC" && t.name === ".maps");
  return (datasec?.vars ?? []).map((v) => {
    const variable = types.get(v.type_id)!;
    return mapFromBpftool(types, variable.name, variable.type_id!);
  });
}

function asOracle(spec: MapSpec): MapOracle {
  const { name, type, keySize, valueSize, maxEntries, flags, pinning, keyTypeId, valueTypeId } = spec;
  const out: MapOracle = { name, type, keySize, valueSize, maxEntries, flags, pinning, keyTypeId, valueTypeId };
  if (spec.innerMap !== undefined) out.inner = asOracle(spec.innerMap);
  return out;
}

// ---------------------------------------------------------------------------------------

function checkObject(object: TestObject): void {
  describe(object.label, () => {
    const spec = parseObject(objectBytes(object.path));
    const functions = functionsOf(object.path);

    it("has one program per function symbol: .text ones are subprograms, the others entry points", () => {
      const programs = functions.filter((f) => f.section !== ".text").map((f) => `${f.section}:${f.name}`).sort();
      const subprograms = functions.filter((f) => f.section === ".text").map((f) => f.name).sort();
      expect([...spec.programs.values()].map((p) => `${p.section}:${p.name}`).sort()).toEqual(programs);
      expect([...spec.subprograms.keys()].sort()).toEqual(subprograms);
      for (const p of spec.programs.values()) expect(p.isSubprogram, p.name).toBe(false);
      for (const p of spec.subprograms.values()) expect(p.isSubprogram, p.name).toBe(true);
    });

    it("programs hold the instructions llvm-objdump shows for their symbol", () => {
      for (const fn of functions) {
        const program = (fn.section === ".text" ? spec.subprograms : spec.programs).get(fn.name)!;
        expect(program, fn.name).toBeDefined();
        expect(program.section).toBe(fn.section);
        expect(program.sectionOffset, fn.name).toBe(fn.start);
        expect(program.slotCount, fn.name).toBe((fn.end - fn.start) / 8);
        expect(program.instructions.length, fn.name).toBe(fn.lineSlots.length);
        // Each decoded instruction starts where objdump starts a line (ld_imm64 covers two slots).
        expect(program.instructions.map((i) => i.slot), fn.name).toEqual(fn.lineSlots.map((s) => s - fn.start / 8));
        expect(program.linkage, fn.name).toBe(fn.binding === 0 ? "static" : "global");
      }
    });

    it("FUNC symbols with a size span exactly st_size / 8 slots", () => {
      for (const symbol of readelfJson(object.path).symbols.filter((s) => s.Type.RawValue === STT_FUNC && s.Size > 0)) {
        const program = spec.programs.get(symbol.Name.Value) ?? spec.subprograms.get(symbol.Name.Value);
        if (program === undefined) continue; // a FUNC outside executable sections; checked above
        expect(program.slotCount, symbol.Name.Value).toBe(symbol.Size / 8);
      }
    });

    it("every relocated instruction of a program is one reference, named as llvm-readelf names the symbol", () => {
      const { sections } = readelfJson(object.path);
      for (const rel of readelfRelocations(object.path)) {
        const relSection = sections.find((s) => s.Name.Value === rel.name)!;
        const target = sections[relSection.Info]!;
        for (const fn of functions.filter((f) => f.section === target.Name.Value)) {
          const program = (fn.section === ".text" ? spec.subprograms : spec.programs).get(fn.name)!;
          const inside = rel.entries.filter((r) => r.offset >= fn.start && r.offset < fn.end);
          const relocated = inside.map((r) => (r.offset - fn.start) / 8);
          const fromRelocations = program.references.filter((r) => relocated.includes(r.insn));
          expect(fromRelocations.map((r) => r.insn), fn.name).toEqual(relocated.sort((a, b) => a - b));
          for (const entry of inside) {
            const reference = fromRelocations.find((r) => r.insn === (entry.offset - fn.start) / 8)!;
            const symbol = readelfJson(object.path).symbols[entry.symbolIndex]!;
            const viaSection = symbol.Type.RawValue === STT_SECTION;
            checkReferenceNames(reference, entry.symbolName, viaSection, fn.name);
          }
        }
      }
    });

    it("reads the license section as llvm-readelf prints it", () => {
      expect(spec.license).toBe(readelfString(object.path, "license") ?? "");
      for (const program of allFunctions(spec)) expect(program.license).toBe(spec.license);
    });

    it("BTF-defined maps in .maps equal bpftool's reading of the .maps variables", () => {
      const expected = btfMapsFromBpftool(object.path);
      const ours = [...spec.maps.values()].filter((m) => m.source === "btf");
      expect(ours.map(asOracle)).toEqual(expected);
    });

    it("legacy maps are the symbols of the maps section, with the fields at their offsets", () => {
      const { sections, symbols } = readelfJson(object.path);
      const mapsSection = sections.find((s) => s.Name.Value === "maps");
      const legacy = [...spec.maps.values()].filter((m) => m.source === "legacy" || m.source === "iproute2");
      if (mapsSection === undefined) {
        expect(legacy).toEqual([]);
        return;
      }
      const mapSymbols = symbols
        .filter((s) => s.Section.RawValue === mapsSection.Index && s.Name.RawValue !== 0 && s.Type.RawValue !== STT_SECTION)
        .sort((a, b) => a.Value - b.Value);
      expect(legacy.map((m) => m.name)).toEqual(mapSymbols.map((s) => s.Name.Value));
      const bytes = objectBytes(object.path);
      const view = new DataView(bytes.buffer, bytes.byteOffset + mapsSection.Offset, mapsSection.Size);
      const le = spec.littleEndian;
      for (const symbol of mapSymbols) {
        const map = spec.maps.get(symbol.Name.Value)!;
        const u32 = (field: number) => view.getUint32(symbol.Value + field * 4, le);
        expect([map.type, map.keySize, map.valueSize, map.maxEntries, map.flags], map.name).toEqual([u32(0), u32(1), u32(2), u32(3), u32(4)]);
        expect(map.section).toBe("maps");
      }
    });

    it("the same bytes give the same spec", () => {
      const again = parseObject(objectBytes(object.path));
      const view = (s: ObjectSpec) => ({
        programs: allFunctions(s).map((p) => [p.name, p.section, p.type, p.expectedAttachType, p.flags, Array.from(p.bytes), p.references]),
        maps: [...s.maps.values()].map(asOracle),
        data: [...s.dataSections.values()].map((d) => [d.name, d.size, Array.from(d.contents), d.readonly]),
        license: s.license,
        kernelVersion: s.kernelVersion,
      });
      expect(view(again)).toEqual(view(spec));
    });
  });
}

/** A reference made from a relocation names what the relocation's symbol names. */
function checkReferenceNames(reference: Reference, symbolName: string, viaSection: boolean, fn: string): void {
  switch (reference.kind) {
    case "map":
      // Through a section symbol the map is found by offset; otherwise the symbol is the map.
      if (viaSection) expect(["maps", ".maps"], fn).toContain(symbolName);
      else expect(reference.map, fn).toBe(symbolName);
      return;
    case "data":
      if (viaSection) expect(reference.section, fn).toBe(symbolName);
      else expect(reference.symbol, fn).toBe(symbolName);
      return;
    case "extern":
      expect(reference.symbol, fn).toBe(symbolName);
      return;
    case "call":
    case "function":
      if (!viaSection) expect(reference.target, fn).toBe(symbolName);
      return;
    default: {
      const unexpected: never = reference;
      throw new Error(`unknown reference ${JSON.stringify(unexpected)}`);
    }
  }
}

describe("parseObject agrees with llvm-readelf, llvm-objdump and bpftool", () => {
  for (const object of OBJECTS) checkObject(object);
});

// ---------------------------------------------------------------------------------------
// cilium/ebpf's test objects.

function parseCilium(name: string): ObjectSpec {
  return parseObject(objectBytes(ciliumObject(name)));
}

function program(spec: ObjectSpec, name: string): ProgramSpec {
  const found = spec.programs.get(name) ?? spec.subprograms.get(name);
  if (found === undefined) throw new Error(`no program ${name}; have ${allFunctions(spec).map((p) => p.name).join(", ")}`);
  return found;
}

function mapShape(map: MapSpec | undefined) {
  if (map === undefined) return undefined;
  return { type: map.type, keySize: map.keySize, valueSize: map.valueSize, maxEntries: map.maxEntries, flags: map.flags, pinning: map.pinning };
}

const shape = (type: number, keySize: number, valueSize: number, maxEntries: number, flags = 0, pinning = "none") => ({
  type, keySize, valueSize, maxEntries, flags, pinning,
});

describe("cilium test objects", () => {
  const loaders = ["loader-el.elf", "loader-eb.elf", "loader-clang-14-el.elf", "loader-clang-14-eb.elf", "loader-clang-9-el.elf", "loader-clang-9-eb.elf"];

  for (const name of loaders) {
    describe(name, () => {
      const spec = parseCilium(name);

      it("reads the BTF-defined maps of loader.c", () => {
        expect(mapShape(spec.maps.get("hash_map"))).toEqual(shape(MapType.HASH, 4, 8, 1, BPF_F_NO_PREALLOC));
        expect(mapShape(spec.maps.get("hash_map2"))).toEqual(shape(MapType.HASH, 4, 8, 2));
        expect(mapShape(spec.maps.get("btf_pin"))).toEqual(shape(MapType.HASH, 4, 8, 1, 0, "by-name"));
        expect(mapShape(spec.maps.get("perf_event_array"))).toEqual(shape(MapType.PERF_EVENT_ARRAY, 0, 0, 4096));
        for (const outer of ["btf_outer_map", "btf_outer_map_anon"]) {
          const map = spec.maps.get(outer)!;
          expect(mapShape(map), outer).toEqual(shape(MapType.ARRAY_OF_MAPS, 4, 4, 1));
          expect(mapShape(map.innerMap), `${outer} inner`).toEqual(shape(MapType.HASH, 4, 4, 1));
        }
        for (const name of ["hash_map", "hash_map2", "btf_pin", "perf_event_array", "btf_outer_map"]) {
          expect(spec.maps.get(name)!.source, name).toBe("btf");
        }
        // The one legacy definition, in "maps": value_size left 0 in the C source.
        expect(mapShape(spec.maps.get("array_of_hash_map"))).toEqual(shape(MapType.ARRAY_OF_MAPS, 4, 0, 2));
        expect(spec.maps.get("array_of_hash_map")!.source).toBe("legacy");
      });

      it('reads license "MIT"', () => {
        expect(spec.license).toBe("MIT");
      });

      it("xdp_prog references hash_map/hash_map2, .bss/.data/.rodata and calls static_fn and global_fn", () => {
        const xdp = spec.programs.get("xdp_prog")!;
        expect(xdp.section).toBe("xdp");
        expect(xdp.type).toBe(ProgramType.XDP);
        const refs = xdp.references;
        expect(refs.filter((r) => r.kind === "map").map((r) => r.map)).toEqual(["hash_map", "hash_map2", "hash_map2"]);
        const data = refs.flatMap((r) => (r.kind === "data" ? [r.section] : []));
        expect(new Set(data)).toEqual(new Set([".bss", ".data", ".rodata", ".rodata.test"]));
        expect(refs.filter((r) => r.kind === "call").map((r) => r.target)).toEqual(["static_fn", "global_fn"]);
        // Every reference sits on an ld_imm64 (maps, data) or a call.
        for (const r of refs) {
          const insn = xdp.instructions.find((i) => i.slot === r.insn)!;
          expect(insn, `reference at ${r.insn}`).toBeDefined();
          expect(r.kind === "call" ? insn.isPseudoCall : insn.isLdImm64, `${r.kind} at ${r.insn}`).toBe(true);
        }
      });

      it("global_fn in .text calls into three sections; static_fn and global_fn3 are entry points of their own sections", () => {
        const globalFn = spec.subprograms.get("global_fn")!;
        expect(globalFn.references.map((r) => (r.kind === "call" ? r.target : r.kind))).toEqual(["static_fn", "global_fn2", "global_fn3"]);
        expect(spec.programs.get("static_fn")!.section).toBe("static");
        expect(spec.programs.get("static_fn")!.linkage).toBe("static");
        expect(spec.programs.get("global_fn3")!.section).toBe("other");
        expect(spec.programs.get("static_fn")!.type).toBe(ProgramType.UNSPEC);
      });

      it("asm_relocation has an extern reference to MY_CONST", () => {
        expect(spec.programs.get("asm_relocation")!.references).toEqual([{ kind: "extern", insn: 0, symbol: "MY_CONST", call: false }]);
      });

      it("data sections: .rodata is read-only, .bss is zero-filled", () => {
        expect(spec.dataSections.get(".rodata")!.readonly).toBe(true);
        expect(spec.dataSections.get(".data")!.readonly).toBe(false);
        const bss = spec.dataSections.get(".bss")!;
        expect(bss.contents).toEqual(new Uint8Array(bss.size));
        // key2 = 1 in .data, in the object's byte order.
        const data = spec.dataSections.get(".data")!.contents;
        expect(new DataView(data.buffer, data.byteOffset).getUint32(0, spec.littleEndian)).toBe(1);
      });
    });
  }

  for (const name of ["loader-clang-7-el.elf", "loader-clang-7-eb.elf"]) {
    it(`${name}: clang 7 wrote legacy maps and untyped function symbols; the .text call without relocation is found`, () => {
      const spec = parseCilium(name);
      expect(mapShape(spec.maps.get("hash_map"))).toEqual(shape(MapType.HASH, 4, 8, 1, BPF_F_NO_PREALLOC));
      expect(mapShape(spec.maps.get("hash_map2"))).toEqual(shape(MapType.HASH, 4, 8, 2));
      expect(mapShape(spec.maps.get("perf_event_array"))).toEqual(shape(MapType.PERF_EVENT_ARRAY, 0, 0, 4096));
      for (const map of spec.maps.values()) expect(map.source, map.name).toBe("legacy");
      // global_fn -> global_fn2 is a call within .text that clang 7 resolved itself.
      const calls = spec.subprograms.get("global_fn")!.references.map((r) => (r.kind === "call" ? `${r.insn}:${r.target}` : r.kind));
      expect(calls).toEqual(["1:static_fn", "4:global_fn2", "8:global_fn3"]);
      expect(spec.license).toBe("MIT");
    });
  }

  it("loader-clang-7-el.elf with one function typed STT_FUNC: untyped functions of the other code sections are still found", () => {
    // As in an object linked from old and new compilers' output: the fallback to untyped
    // symbols is decided per code section.
    const bytes = objectBytes(ciliumObject("loader-clang-7-el.elf"));
    const pristine = parseObject(bytes);
    const elf = parseElf(bytes);
    const index = elf.symbols.findIndex((s) => s.name === "static_fn");
    const symtab = elf.sections.find((s) => s.type === 2)!; // SHT_SYMTAB
    bytes[symtab.offset + index * 24 + 4] = (bytes[symtab.offset + index * 24 + 4] & 0xf0) | 2; // STT_FUNC
    const mixed = parseObject(bytes);
    expect(parseElf(bytes).symbols[index].type).toBe(2);
    const names = (spec: ObjectSpec) => [[...spec.programs.keys()].sort(), [...spec.subprograms.keys()].sort()];
    expect(names(mixed)).toEqual(names(pristine));
    expect(names(mixed)[1].length).toBeGreaterThan(1);
  });

  for (const suffix of ["el", "eb"]) {
    it(`iproute2_map_compat-${suffix}: hash_map is an iproute2 bpf_elf_map pinned in the global namespace`, () => {
      const spec = parseCilium(`iproute2_map_compat-${suffix}.elf`);
      const map = spec.maps.get("hash_map")!;
      expect(mapShape(map)).toEqual(shape(MapType.HASH, 4, 8, 2, 0, "global-ns"));
      expect(map.source).toBe("iproute2");
      expect(map.iproute2).toEqual({ id: 0, innerId: 0, innerIndex: 0 });
    });

    it(`invalid_map-${suffix}: the non-zero byte after struct bpf_map_def is a SpecError naming it`, () => {
      const bytes = objectBytes(ciliumObject(`invalid_map-${suffix}.elf`));
      let error: unknown;
      try {
        parseObject(bytes);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SpecError);
      const specError = error as SpecError;
      expect(specError.part).toBe("invalid_map");
      // `dummy = 1` is a u32 right after the 20-byte struct: its non-zero byte is 20 (LE) or 23 (BE).
      expect(specError.message).toContain(`byte ${suffix === "el" ? 20 : 23} is not zero`);
    });

    it(`invalid_btf_map_init-${suffix}: data in .maps other than .values pointers is a SpecError naming the map`, () => {
      const bytes = objectBytes(ciliumObject(`invalid_btf_map_init-${suffix}.elf`));
      expect(() => parseObject(bytes)).toThrow(SpecError);
      expect(() => parseObject(bytes)).toThrow(/^hash_map: byte \d+ of \.maps is initialized/);
    });

    it(`btf_map_init-${suffix}: .values initializers of a prog array and a map of maps`, () => {
      const spec = parseObject(objectBytes(ciliumObject(`btf_map_init-${suffix}.elf`)));
      expect(spec.maps.get("prog_array_init")!.initialValues).toEqual([{ index: 1, kind: "program", name: "tail_1" }]);
      expect(spec.maps.get("outer_map_init")!.initialValues).toEqual([{ index: 1, kind: "map", name: "inner_map" }]);
    });

    it(`subprog_reloc-${suffix}: fp_relocation passes sub_prog as a callback (a function reference)`, () => {
      const spec = parseCilium(`subprog_reloc-${suffix}.elf`);
      const fp = spec.programs.get("fp_relocation")!;
      expect(fp.references.filter((r) => r.kind === "function")).toEqual([expect.objectContaining({ kind: "function", target: "sub_prog" })]);
      expect(fp.references.filter((r) => r.kind === "map").map((r) => r.map)).toEqual(["hash_map", "hash_map", "hash_map"]);
      const sub = spec.subprograms.get("sub_prog")!;
      expect(sub.linkage).toBe("static");
      expect(sub.references).toEqual([expect.objectContaining({ kind: "map", map: "hash_map" })]);
      expect(mapShape(spec.maps.get("hash_map"))).toEqual(shape(MapType.HASH, 4, 8, 1));
    });

    it(`fwd_decl-${suffix}: call_fwd calls the undefined function fwd (an extern reference)`, () => {
      const spec = parseCilium(`fwd_decl-${suffix}.elf`);
      expect(spec.programs.get("call_fwd")!.references).toEqual([{ kind: "extern", insn: 0, symbol: "fwd", call: true }]);
      expect(spec.license).toBe("");
    });

    it(`raw_tracepoint-${suffix}: section raw_tracepoint/sched_process_exec`, () => {
      const p = parseCilium(`raw_tracepoint-${suffix}.elf`).programs.get("sched_process_exec")!;
      expect([p.type, p.attachTarget]).toEqual([ProgramType.RAW_TRACEPOINT, "sched_process_exec"]);
    });

    it(`btf_map_init-${suffix}: a prog array and an array of maps with a named inner definition`, () => {
      const spec = parseCilium(`btf_map_init-${suffix}.elf`);
      expect(mapShape(spec.maps.get("prog_array_init"))).toEqual(shape(MapType.PROG_ARRAY, 4, 4, 2));
      expect(spec.maps.get("prog_array_init")!.innerMap).toBeUndefined();
      const outer = spec.maps.get("outer_map_init")!;
      expect(mapShape(outer)).toEqual(shape(MapType.ARRAY_OF_MAPS, 4, 4, 2));
      expect(mapShape(outer.innerMap)).toEqual(shape(MapType.ARRAY, 4, 4, 1));
    });
  }

  it("every cilium object but invalid_map parses", () => {
    for (const object of ciliumObjects()) {
      if (isInvalidMap(object)) continue;
      expect(() => parseObject(objectBytes(object.path)), object.label).not.toThrow();
    }
  });
});

// ---------------------------------------------------------------------------------------
// xdp-tools.

describe("xdp-tools objects", () => {
  it("xdpfilt_alw_all.o: the five maps of xdp-filter, pinned by name", () => {
    const spec = parseObject(objectBytes(xdpToolsObject("xdpfilt_alw_all.o")));
    expect(spec.license).toBe("GPL");
    // xdp-filter's common_kern_user.h / xdpfilt_prog.h: stats are struct datarec { __u64 rx_packets, rx_bytes; }
    // per XDP action (XDP_ACTION_MAX = 5); filter maps count hits per port/address.
    expect(Object.fromEntries([...spec.maps].map(([n, m]) => [n, mapShape(m)]))).toEqual({
      xdp_stats_map: shape(MapType.PERCPU_ARRAY, 4, 16, 5, 0, "by-name"),
      filter_ports: shape(MapType.PERCPU_ARRAY, 4, 8, 65536, 0, "by-name"),
      filter_ipv4: shape(MapType.PERCPU_HASH, 4, 8, 10000, 0, "by-name"),
      filter_ipv6: shape(MapType.PERCPU_HASH, 16, 8, 10000, 0, "by-name"),
      filter_ethernet: shape(MapType.PERCPU_HASH, 6, 8, 10000, 0, "by-name"),
    });
    expect([...spec.programs.keys()]).toEqual(["xdpfilt_alw_all"]);
  });

  it("xdp-dispatcher.o: the dispatcher calls prog0..prog9 and compat_test in .text (global functions freplace replaces)", () => {
    const spec = parseObject(objectBytes(xdpToolsObject("xdp-dispatcher.o")));
    const dispatcher = spec.programs.get("xdp_dispatcher")!;
    const targets = dispatcher.references.flatMap((r) => (r.kind === "call" ? [r.target] : []));
    expect(targets).toEqual([...Array.from({ length: 10 }, (_, i) => `prog${i}`), "compat_test"]);
    // Its configuration is a const struct in .rodata, read before each call.
    expect(new Set(dispatcher.references.flatMap((r) => (r.kind === "data" ? [r.section] : [])))).toEqual(new Set([".rodata"]));
    for (let i = 0; i < 10; i++) expect(spec.subprograms.get(`prog${i}`)!.linkage).toBe("global");
  });

  it("xdpdump_bpf.o: fentry/fexit programs are TRACING with their attach types", () => {
    const spec = parseObject(objectBytes(xdpToolsObject("xdpdump_bpf.o")));
    const entry = spec.programs.get("trace_on_entry")!;
    const exit = spec.programs.get("trace_on_exit")!;
    expect([entry.type, entry.expectedAttachType, entry.attachTarget]).toEqual([ProgramType.TRACING, AttachType.TRACE_FENTRY, "func"]);
    expect([exit.type, exit.expectedAttachType, exit.attachTarget]).toEqual([ProgramType.TRACING, AttachType.TRACE_FEXIT, "func"]);
  });
});

// ---------------------------------------------------------------------------------------
// Our fixtures, against what their C sources declare (test/helpers/fixture-manifest.ts).

function fixture(name: string): ObjectSpec {
  return parseObject(objectBytes(progPath(name)));
}

describe("fixtures", () => {
  for (const [name, manifest] of Object.entries(FIXTURES)) {
    it(`${name}: programs and maps as the C source declares them`, () => {
      const spec = fixture(name);
      expect([...spec.programs.values()].map((p) => `${p.section}:${p.name}`)).toEqual(manifest.programs.map((p) => `${p.section}:${p.name}`));
      expect([...spec.subprograms.keys()].sort()).toEqual(manifest.subprograms.map((s) => s.name).sort());
      for (const sub of manifest.subprograms) expect(spec.subprograms.get(sub.name)!.linkage).toBe(sub.global ? "global" : "static");
      const maps = [...spec.maps.values()].map((m) => ({
        name: m.name, section: m.section, type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags,
      }));
      expect(maps).toEqual(manifest.maps.map((m) => ({
        name: m.name, section: m.section, type: MAP_TYPE_IDS[m.type], keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags,
      })));
      for (const m of manifest.maps) {
        if (m.iproute2 === undefined) continue;
        const spec2 = spec.maps.get(m.name)!;
        expect(spec2.source).toBe("iproute2");
        expect(spec2.iproute2!.id).toBe(m.iproute2.id);
        expect(spec2.pinning).toBe(["none", "object-ns", "global-ns"][m.iproute2.pinning]);
      }
      expect([...spec.dataSections.keys()].filter((d) => [".rodata", ".data", ".bss"].includes(d)).sort()).toEqual([...manifest.dataSections].sort());
      expect(spec.kernelVersion).toBe(manifest.kernelVersion ?? 0);
      expect(spec.license).toBe("GPL");
    });
  }

  it("two_progs: two programs in section xdp, each with its own map reference relative to its start", () => {
    const spec = fixture("two_progs");
    const first = spec.programs.get("xdp_first")!;
    const second = spec.programs.get("xdp_second")!;
    expect([first.section, second.section]).toEqual(["xdp", "xdp"]);
    expect(first.sectionOffset).toBe(0);
    expect(second.sectionOffset).toBe(first.bytes.byteLength);
    const relocations = readelfRelocations(progPath("two_progs")).find((r) => r.name === ".relxdp")!.entries;
    expect(relocations.map((r) => r.symbolName)).toEqual(["hits", "hits"]);
    expect(first.references).toEqual([{ kind: "map", insn: relocations[0]!.offset / 8, map: "hits" }]);
    expect(second.references).toEqual([{ kind: "map", insn: (relocations[1]!.offset - second.sectionOffset) / 8, map: "hits" }]);
    expect(second.references[0]!.insn).toBeLessThan(second.slotCount);
  });

  it("subprog: calls become call references to bump and classify_len", () => {
    const spec = fixture("subprog");
    const calls = (p: ProgramSpec) => p.references.flatMap((r) => (r.kind === "call" ? [r.target] : []));
    expect(calls(spec.programs.get("xdp_static_call")!)).toEqual(["bump"]);
    expect(calls(spec.programs.get("tc_global_call")!)).toEqual(["classify_len", "bump"]);
    expect(spec.subprograms.get("bump")!.references).toEqual([expect.objectContaining({ kind: "map", map: "calls" })]);
    expect(spec.subprograms.get("classify_len")!.references).toEqual([]);
    for (const p of allFunctions(spec)) {
      for (const r of p.references.filter((r) => r.kind === "call")) expect(p.instructions.find((i) => i.slot === r.insn)!.isPseudoCall).toBe(true);
    }
  });

  it("legacy_maps: struct bpf_map_def records and the version section", () => {
    const spec = fixture("legacy_maps");
    expect(spec.maps.get("legacy_array")).toMatchObject({ source: "legacy", type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 });
    expect(spec.maps.get("legacy_hash")).toMatchObject({ source: "legacy", type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 16, flags: BPF_F_NO_PREALLOC });
    expect(spec.kernelVersion).toBe(0x060100);
    const refs = spec.programs.get("xdp_legacy")!.references;
    expect(refs.map((r) => (r.kind === "map" ? r.map : r.kind))).toEqual(["legacy_array", "legacy_hash", "legacy_hash"]);
  });

  it("legacy records cut short inside map_flags read the rest of it as zero (18 bytes: a __u16 flags)", () => {
    const source = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct short_def { __u32 type, key_size, value_size, max_entries; __u16 map_flags; } __attribute__((packed));
struct short_def first SEC("maps") = { .type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 8, .max_entries = 16, .map_flags = BPF_F_NO_PREALLOC };
struct short_def second SEC("maps") = { .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 2 };
char LICENSE[] SEC("license") = "GPL";
`;
    const spec = parseObject(compileSources({ "short.bpf.c": source })["short.bpf.o"]);
    expect(spec.maps.get("first")).toMatchObject({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 16, flags: BPF_F_NO_PREALLOC });
    expect(spec.maps.get("second")).toMatchObject({ type: MapType.ARRAY, maxEntries: 2, flags: 0 });
  });

  it("iproute2_elf_map: struct bpf_elf_map records with id and pinning", () => {
    const spec = fixture("iproute2_elf_map");
    expect(spec.maps.get("pinned_counts")).toMatchObject({ source: "iproute2", type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 2, pinning: "global-ns", iproute2: { id: 1, innerId: 0, innerIndex: 0 } });
    expect(spec.maps.get("private_counts")).toMatchObject({ source: "iproute2", type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 64, pinning: "none", iproute2: { id: 2, innerId: 0, innerIndex: 0 } });
    expect(spec.programs.get("cls_count")!.type).toBe(ProgramType.SCHED_CLS);
  });

  it("xdp_percpu and xdp_hash_saddr: per-CPU array and hash with BTF key/value types", () => {
    const percpu = fixture("xdp_percpu").maps.get("percpu_stats")!;
    expect(mapShape(percpu)).toEqual(shape(MapType.PERCPU_ARRAY, 4, 8, 256));
    const hash = fixture("xdp_hash_saddr").maps.get("saddr_counts")!;
    expect(mapShape(hash)).toEqual(shape(MapType.HASH, 4, 8, 1024));
    // The key is __be32 and the value __u64, as bpftool names the types.
    const types = bpftoolBtf(progPath("xdp_hash_saddr"));
    expect(types.get(hash.keyTypeId)!.name).toBe("__be32");
    expect(types.get(hash.valueTypeId)!.name).toBe("__u64");
  });

  it("global_data: .rodata, .data and .bss with their initial values and the references into them", () => {
    const spec = fixture("global_data");
    const le = spec.littleEndian;
    const rodata = spec.dataSections.get(".rodata")!;
    const data = spec.dataSections.get(".data")!;
    const bss = spec.dataSections.get(".bss")!;
    expect([rodata.size, rodata.readonly, Array.from(rodata.contents)]).toEqual([4, true, [0, 0, 0, 0]]);
    const dataView = new DataView(data.contents.buffer, data.contents.byteOffset, data.size);
    expect([data.size, data.readonly, dataView.getBigUint64(0, le), dataView.getUint32(8, le)]).toEqual([12, false, 1n, 0xc0ffee]);
    expect([bss.size, bss.readonly, Array.from(bss.contents)]).toEqual([8, false, new Array(8).fill(0)]);
    const refs = spec.programs.get("xdp_globals")!.references.map((r) => (r.kind === "data" ? `${r.section}+${r.offset}:${r.symbol}` : r.kind));
    expect(refs).toEqual([".bss+0:packets", ".data+0:last_len", ".data+8:", ".rodata+0:drop_all"]);
  });

  // Objects with every kind of part the spec keeps: fixtures, two xdp-tools objects, and
  // cilium's loader object in both byte orders.
  const keptPartsObjects = () =>
    allObjects().filter((o) => o.origin === "fixture" || /\/(xdpfilt_alw_all|xdp_pass)\.o$/.test(o.path) || /\/loader-e[lb]\.elf$/.test(o.path));

  it("sha1 is the SHA-1 of the file as given for objects with a legacy maps section (iproute2 pins under it), undefined for others", () => {
    const objects = keptPartsObjects();
    expect(objects.filter((o) => /\/loader-eb\.elf$/.test(o.path))).toHaveLength(1);
    let hashed = 0;
    for (const object of objects) {
      const bytes = objectBytes(object.path);
      const given = createHash("sha1").update(bytes).digest("hex");
      const spec = parseObject(bytes);
      const legacy = parseElf(bytes).section("maps") !== undefined;
      expect([object.label, spec.sha1]).toEqual([object.label, legacy ? given : undefined]);
      if (legacy) hashed++;
      // The BTF fixup wrote its sizes and offsets into the spec's copy, not into the caller's bytes.
      void spec.btf;
      expect([object.label, createHash("sha1").update(bytes).digest("hex")]).toEqual([object.label, given]);
    }
    expect(hashed).toBeGreaterThanOrEqual(2); // legacy_maps and iproute2_elf_map at least
  });

  it("the spec keeps copies of what it describes: overwriting the caller's buffer after the parse changes nothing in it; any alignment of the buffer gives the same spec", () => {
    // A variable's value as text (typed values are read in host order: a big-endian object's say why not).
    const valueText = (variable: { get(): unknown }) => {
      try {
        return JSON.stringify(variable.get(), (_, x) => (typeof x === "bigint" ? `${x}n` : x));
      } catch (error) {
        return isBpfError(error) ? error.message : String(error);
      }
    };
    // Everything read here after the overwrite, the lazy parts included (same-section calls,
    // .BTF.ext records, decoded instructions, variables), must equal a parse of untouched bytes.
    const describe = (spec: ObjectSpec) => ({
      programs: [...spec.programs.values(), ...spec.subprograms.values()].map((p) => ({
        name: p.name,
        section: p.section,
        bytes: Buffer.from(p.bytes).toString("hex"),
        references: p.references,
        instructions: p.instructions.map((insn) => insn.toString()),
        ext: p.extInfo === undefined ? undefined : { funcInfo: p.extInfo.funcInfo, lineInfo: p.extInfo.lineInfo, coreRelos: p.extInfo.coreRelos },
      })),
      maps: [...spec.maps.values()],
      data: [...spec.dataSections.values()].map((d) => [d.name, Buffer.from(d.contents).toString("hex")]),
      btf: spec.btf === undefined ? undefined : [...Array(spec.btf.typeCount).keys()].map((id) => spec.btf!.type(id)),
      btfExt: spec.btfExt === undefined ? undefined : Buffer.from(spec.btfExt).toString("hex"),
      variables: [...spec.variables.values()].map((v) => [v.name, v.section, v.offset, valueText(v)]),
      license: spec.license,
    });
    for (const object of keptPartsObjects()) {
      const pristine = objectBytes(object.path);
      const buffer = pristine.slice();
      const spec = parseObject(buffer);
      buffer.fill(0xa5);
      const expected = describe(parseObject(pristine.slice()));
      expect([object.label, describe(spec)]).toEqual([object.label, expected]);
      // A Node Buffer from the pool, or a view into a larger buffer, can start at any byte.
      const larger = new Uint8Array(pristine.length + 3);
      larger.set(pristine, 3);
      expect([object.label, describe(parseObject(larger.subarray(3)))]).toEqual([object.label, expected]);
    }
  });

  it("the spec holds on to none of the caller's buffer: with the spec alive and its lazy parts read, the buffer is collected", () => {
    // In a process of its own, where the garbage collector can be asked to run.
    const paths = keptPartsObjects().map((o) => o.path);
    const script = `
      import { readFileSync } from "node:fs";
      import { parseObject } from "./loader/spec.ts";
      // A function of its own, so that no variable of the caller's still holds the last buffer.
      function parse(path) {
        const bytes = new Uint8Array(readFileSync(path)); // an ArrayBuffer of its own
        const spec = parseObject(bytes);
        for (const p of [...spec.programs.values(), ...spec.subprograms.values()]) void [p.references, p.extInfo, p.instructions];
        void [spec.btf, spec.variables];
        return { spec, buffer: new WeakRef(bytes.buffer) };
      }
      const parsed = process.argv.slice(1).map(parse);
      const specs = parsed.map((p) => p.spec), buffers = parsed.map((p) => p.buffer);
      await new Promise((resolve) => setTimeout(resolve, 10));
      globalThis.gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
      globalThis.gc();
      console.log(JSON.stringify({ specs: specs.length, alive: buffers.map((b, i) => b.deref() === undefined ? undefined : process.argv[1 + i]).filter(Boolean) }));
    `;
    const result = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", "--input-type=module", "-e", script, ...paths], { cwd: REPO_ROOT, encoding: "utf8" });
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ specs: paths.length, alive: [] });
  });

  it("a DATASEC fixup that fails (a VAR id that names no type) leaves the caller's bytes alone; reading btf says what failed", () => {
    const bytes = objectBytes(progPath("global_data")).slice();
    const btfSection = parseElf(bytes).section(".BTF")!;
    const btf = parseBtf(bytes.slice(btfSection.offset, btfSection.offset + btfSection.size));
    // A DATASEC the compiler wrote with size 0: the fixup writes its size, then reads its variables.
    const datasec = [...Array(btf.typeCount).keys()].find((id) => id > 0 && btf.type(id).kind === "datasec" && btf.type(id).name === ".data")!;
    expect(btf.type(datasec)).toMatchObject({ size: 0 });
    new DataView(bytes.buffer, bytes.byteOffset).setUint32(btfSection.offset + btf.recordOffset(datasec) + 12, 0xfffff, btf.littleEndian);
    const given = createHash("sha1").update(bytes).digest("hex");
    // The object has no map definitions to read from its BTF: it parses, and the failure waits for `btf`.
    const spec = parseObject(bytes);
    expect(() => spec.btf).toThrow(/no type with id 1048575/);
    expect(() => spec.variables).toThrow(/no type with id 1048575/);
    expect(createHash("sha1").update(bytes).digest("hex")).toBe(given);
  });

  it("two maps or two programs of one name are refused (a symbol renamed to another's name)", () => {
    // st_name of symbol `from` set to that of symbol `to`: two symbols then have one name.
    const renamed = (name: string, from: string, to: string): Uint8Array => {
      const bytes = objectBytes(progPath(name)).slice();
      const elf = parseElf(bytes);
      const symtab = elf.sections.find((section) => section.type === 2 /* SHT_SYMTAB */)!;
      const index = (symbol: string) => elf.symbols.findIndex((candidate) => candidate.name === symbol);
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      const nameOffset = view.getUint32(symtab.offset + index(to) * 24, elf.littleEndian);
      view.setUint32(symtab.offset + index(from) * 24, nameOffset, elf.littleEndian);
      return bytes;
    };
    expect(() => parseObject(renamed("legacy_maps", "legacy_hash", "legacy_array"))).toThrow(/two maps are named legacy_array/);
    expect(() => parseObject(renamed("two_progs", "xdp_second", "xdp_first"))).toThrow(/two functions are named xdp_first/);
  });

  it("no fixture parse throws", () => {
    for (const object of allObjects().filter((o) => o.origin === "fixture")) {
      try {
        parseObject(objectBytes(object.path));
      } catch (error) {
        expect.fail(`${object.label}: ${isBpfError(error) ? error.message : String(error)}`);
      }
    }
  });
});
