// parseElf against llvm-readelf, on every BPF object we can find: xdp-tools' objects,
// cilium/ebpf's test objects in both byte orders, and our own fixtures. For each object the
// header, every section header, every symbol and every relocation entry must be what LLVM
// reads from the same bytes. The oracle is llvm-readelf (JSON for sections and symbols, the
// GNU text for relocations); see test/helpers/objects.ts.

import { describe, expect, it } from "vitest";
import { BpfRelocationType, SectionType, SymbolType, parseElf, type ElfFile } from "../elf/index.js";
import { ELF_IDENT_SIZE, ElfHeader } from "../elf/layouts.js";
import { readRecord } from "../common/layouts.js";
import {
  allObjects,
  ciliumObject,
  objectBytes,
  readelfJson,
  readelfRelocations,
  type ReadelfJsonSection,
  type TestObject,
} from "./helpers/objects.js";

const OBJECTS = allObjects();

/** The low 32 bits of sh_flags, which is what ElfSection.flags keeps. */
function low32(flags: number): number {
  return Number(BigInt(flags) & 0xffffffffn);
}

function sectionRow(s: ReadelfJsonSection) {
  return {
    index: s.Index,
    name: s.Name.Value,
    type: s.Type.RawValue,
    flags: low32(s.Flags.RawFlags),
    offset: s.Offset,
    size: s.Size,
    link: s.Link,
    info: s.Info,
    addralign: s.AddressAlignment,
    entsize: s.EntrySize,
  };
}

/** The name llvm-readelf prints for a relocation's symbol: a section symbol goes by its section's name. */
function printedSymbolName(elf: ElfFile, index: number): string {
  const symbol = elf.symbols[index];
  if (symbol === undefined) return "";
  if (symbol.type === SymbolType.SECTION) return elf.sections[symbol.sectionIndex]?.name ?? "";
  return symbol.name;
}

function checkObject(object: TestObject): void {
  describe(object.label, () => {
    const bytes = objectBytes(object.path);
    const elf = parseElf(bytes);
    const oracle = readelfJson(object.path);

    it("header: byte order, machine, type and section count", () => {
      expect(oracle.header.Ident.Class.RawValue).toBe(2); // ELFCLASS64
      expect(elf.littleEndian).toBe(oracle.header.Ident.DataEncoding.RawValue === 1);
      expect(elf.machine).toBe(oracle.header.Machine.RawValue);
      // LLVM prints e_type as "Relocatable (0x1)".
      expect(elf.type).toBe(parseInt(/\(0x([0-9a-f]+)\)/.exec(oracle.header.Type)![1]!, 16));
      expect(elf.sections.length).toBe(Number(oracle.header.SectionHeaderCount));
      expect(elf.sections.length).toBe(oracle.sections.length);
    });

    it("header: parseElf's fixed-offset reads agree with the typed-binary ElfHeader schema", () => {
      const header = readRecord(ElfHeader, bytes, ELF_IDENT_SIZE, elf.littleEndian);
      expect({ machine: elf.machine, type: elf.type, sections: elf.sections.length }).toEqual({
        machine: header.machine,
        type: header.type,
        sections: header.shnum,
      });
      expect(header.shentsize).toBe(64);
      expect(Number(header.shoff)).toBe(Number(oracle.header.SectionHeaderOffset));
      expect(header.shstrndx).toBe(Number(oracle.header.StringTableSectionIndex));
    });

    it("sections: name, type, flags, offset, size, link, info, alignment, entry size", () => {
      const ours = elf.sections.map((s) => ({
        index: s.index,
        name: s.name,
        type: s.type,
        flags: s.flags,
        offset: s.offset,
        size: s.size,
        link: s.link,
        info: s.info,
        addralign: s.addralign,
        entsize: s.entsize,
      }));
      expect(ours).toEqual(oracle.sections.map(sectionRow));
    });

    it("section data is a view of the file at sh_offset (empty for NOBITS)", () => {
      for (const section of elf.sections) {
        const hasBytes = section.type !== SectionType.NOBITS && section.type !== SectionType.NULL;
        expect(section.data.byteLength, section.name).toBe(hasBytes ? section.size : 0);
        if (hasBytes && section.size > 0) {
          expect(section.data.buffer).toBe(bytes.buffer);
          expect(section.data.byteOffset - bytes.byteOffset, section.name).toBe(section.offset);
        }
      }
    });

    it("section(name) finds the first section of that name", () => {
      for (const row of oracle.sections) {
        const first = oracle.sections.find((s) => s.Name.Value === row.Name.Value)!;
        expect(elf.section(row.Name.Value)?.index).toBe(first.Index);
      }
      expect(elf.section("no such section")).toBeUndefined();
    });

    it("symbols: name, value, size, type, binding, visibility, section index", () => {
      const ours = elf.symbols.map((s, i) => ({
        index: s.index,
        name: s.name,
        value: s.value,
        size: s.size,
        type: s.type,
        binding: s.binding,
        visibility: s.visibility,
        sectionIndex: s.sectionIndex,
        at: i,
      }));
      const expected = oracle.symbols.map((s, i) => ({
        index: i,
        // LLVM names a section symbol after its section; the symbol's own st_name is 0, i.e. "".
        name: s.Name.RawValue === 0 ? "" : s.Name.Value,
        value: s.Value,
        size: s.Size,
        type: s.Type.RawValue,
        binding: s.Binding.RawValue,
        visibility: s.Other & 0x3,
        sectionIndex: s.Section.RawValue,
        at: i,
      }));
      expect(ours).toEqual(expected);
    });

    it("relocations: offset, type and symbol of every entry", () => {
      const relSections = readelfRelocations(object.path);
      const ourRelSections = elf.sections.filter((s) => s.type === SectionType.REL || s.type === SectionType.RELA);
      expect(ourRelSections.map((s) => s.name)).toEqual(relSections.map((s) => s.name));
      expect(elf.relocationSections.size).toBe(relSections.length);

      for (const expected of relSections) {
        const relSection = ourRelSections.find((s) => s.offset === expected.fileOffset && s.name === expected.name)!;
        expect(relSection, expected.name).toBeDefined();
        const target = elf.sections[relSection.info]!;
        expect(elf.relocationSections.get(target.index)).toBe(relSection);
        const ours = elf.relocationsFor(target).map((r) => ({
          offset: r.offset,
          symbolIndex: r.symbolIndex,
          type: r.type,
          symbolName: printedSymbolName(elf, r.symbolIndex),
          addend: r.addend,
        }));
        const theirs = expected.entries.map((r) => ({
          offset: r.offset,
          symbolIndex: r.symbolIndex,
          type: r.type,
          symbolName: r.symbolName,
          addend: 0n, // BPF objects use SHT_REL: no addend field
        }));
        expect(ours, expected.name).toEqual(theirs);
        // Our names for the relocation types agree with LLVM's.
        for (const r of expected.entries) {
          const known = (BpfRelocationType as Record<string, number>)[r.typeName];
          if (known !== undefined) expect(known, r.typeName).toBe(r.type);
        }
      }
    });

    it("sections nothing patches have no relocations", () => {
      for (const section of elf.sections) {
        if (!elf.relocationSections.has(section.index)) expect(elf.relocationsFor(section)).toEqual([]);
      }
    });
  });
}

describe("parseElf agrees with llvm-readelf", () => {
  it("finds objects from every source", () => {
    const origins = new Set(OBJECTS.map((o) => o.origin));
    expect([...origins].sort()).toEqual(["cilium", "fixture", "xdp-tools"]);
    // Both byte orders are represented.
    expect(OBJECTS.some((o) => o.path.endsWith("-eb.elf"))).toBe(true);
    expect(OBJECTS.some((o) => o.path.endsWith("-el.elf"))).toBe(true);
  });

  for (const object of OBJECTS) checkObject(object);
});

describe("parseElf input handling", () => {
  /** Everything parseElf reports, in plain values, so two parses can be compared. */
  function summary(elf: ElfFile) {
    return {
      littleEndian: elf.littleEndian,
      machine: elf.machine,
      type: elf.type,
      sections: elf.sections.map(({ data, ...rest }) => ({ ...rest, data: Array.from(data) })),
      symbols: elf.symbols,
      relocations: elf.sections.map((s) => elf.relocationsFor(s)),
    };
  }

  for (const name of ["loader-el.elf", "loader-eb.elf"]) {
    it(`${name}: parses the same from a view at an odd offset inside a larger buffer`, () => {
      const bytes = objectBytes(ciliumObject(name));
      // Node Buffers are often views into a shared pool: surround the object with junk.
      const pool = new Uint8Array(bytes.byteLength + 64).fill(0xa5);
      pool.set(bytes, 13);
      const view = pool.subarray(13, 13 + bytes.byteLength);
      expect(summary(parseElf(view))).toEqual(summary(parseElf(bytes)));
    });

    it(`${name}: the same bytes give the same result twice and are not modified`, () => {
      const bytes = objectBytes(ciliumObject(name));
      const copy = Uint8Array.from(bytes);
      expect(summary(parseElf(bytes))).toEqual(summary(parseElf(bytes)));
      expect(bytes).toEqual(copy);
    });
  }
});

describe("ElfSection as data", () => {
  it("serializes to its header fields with its name (no cycle through the name table)", () => {
    const elf = parseElf(objectBytes(ciliumObject("loader-el.elf")));
    const json = JSON.parse(JSON.stringify(elf.sections)) as Array<Record<string, unknown>>;
    expect(json.map((s) => s.name)).toEqual(elf.sections.map((s) => s.name));
    expect(Object.keys(json[1]).sort()).toEqual(["addralign", "entsize", "flags", "index", "info", "link", "name", "offset", "size", "type"]);
  });
});

describe("SymbolTable names compared in place", () => {
  it("nameEqualsBytes agrees with the decoded name of every symbol and section of every object", () => {
    const encoder = new TextEncoder();
    let compared = 0;
    for (const object of OBJECTS) {
      const elf = parseElf(objectBytes(object.path));
      const table = elf.symbolTable;
      for (let index = 0; index < table.count; index++) {
        const name = table.name(index);
        // The name as another string table would hold it, at an offset past a neighbour's bytes.
        const other = new Uint8Array([...encoder.encode("x\0"), ...encoder.encode(name), 0]);
        expect(table.nameEqualsBytes(index, other, 2), name).toBe(true);
        // A prefix, a longer name and another name are not equal.
        expect(table.nameEqualsBytes(index, new Uint8Array([...encoder.encode(`${name}_`), 0]), 0)).toBe(false);
        if (name.length > 0) expect(table.nameEqualsBytes(index, new Uint8Array([...encoder.encode(name.slice(0, -1)), 0]), 0)).toBe(false);
        expect(table.nameEqualsBytes(index, other, 0)).toBe(name === "x");
        compared++;
      }
      // Section names the same way, before and after the name is decoded.
      for (const section of parseElf(objectBytes(object.path)).sections) {
        const other = new Uint8Array([...encoder.encode("x\0"), ...encoder.encode(section.name), 0]);
        expect(section.nameEqualsBytes(other, 2), section.name).toBe(true);
        expect(section.nameEqualsBytes(other, 0)).toBe(section.name === "x");
        expect(section.nameEqualsBytes(new Uint8Array([...encoder.encode(`${section.name}.`), 0]), 0)).toBe(false);
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });

  it("a name that runs off the other table's end, or an offset outside it, is not equal", () => {
    const elf = parseElf(objectBytes(ciliumObject("loader-el.elf")));
    const table = elf.symbolTable;
    const index = [...Array(table.count).keys()].find((i) => table.name(i).length > 2)!;
    const name = new TextEncoder().encode(table.name(index));
    expect(table.nameEqualsBytes(index, name, 0)).toBe(false); // no NUL after the bytes
    expect(table.nameEqualsBytes(index, new Uint8Array([...name, 0]), -1)).toBe(false);
    expect(table.nameEqualsBytes(index, new Uint8Array([...name, 0]), name.length + 5)).toBe(false);
  });
});
