// Malformed objects: parseObject must answer with one of our typed errors (ElfError,
// BtfError, SpecError, RelocationError: all BpfError) and never with a TypeError, a
// RangeError or a hang. The rule for everything here, and for the fuzz test at the end:
// "returns a spec or throws BpfError", where using the returned spec (decoding each
// program's instructions, reading its BTF) obeys the same rule.
//
// Where a field lives is taken from llvm-readelf (section header table, section offsets),
// not from the parser under test.

import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BpfError, BtfError, ElfError, RelocationError, SpecError, isBpfError } from "../common/errors.js";
import { parseBtf } from "../btf/index.js";
import { parseElf } from "../elf/index.js";
import { parseObject, type ObjectSpec } from "../loader/spec.js";
import { ciliumObject, objectBytes, readelfJson, readelfRelocations, xdpToolsObject, type ReadelfJson } from "./helpers/objects.js";
import { progPath } from "./helpers/progs.js";

const SECTION_HEADER_SIZE = 64;
const SYMBOL_SIZE = 24;
const SHT_NOBITS = 8;
const STT_FUNC = 2;

/** An object's bytes with a DataView in its byte order and llvm-readelf's map of it. */
class Subject {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly le: boolean;
  readonly layout: ReadelfJson;

  constructor(readonly path: string) {
    this.bytes = objectBytes(path);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    this.layout = readelfJson(path);
    this.le = this.layout.header.Ident.DataEncoding.RawValue === 1;
  }

  section(name: string) {
    const found = this.layout.sections.find((s) => s.Name.Value === name);
    if (found === undefined) throw new Error(`${this.path} has no section ${name}`);
    return found;
  }

  /** File offset of section `index`'s header. */
  header(index: number): number {
    return this.layout.header.SectionHeaderOffset + index * SECTION_HEADER_SIZE;
  }

  u16(at: number, v: number): this {
    this.view.setUint16(at, v, this.le);
    return this;
  }

  u32(at: number, v: number): this {
    this.view.setUint32(at, v, this.le);
    return this;
  }

  u64(at: number, v: bigint): this {
    this.view.setBigUint64(at, v, this.le);
    return this;
  }

  readU32(at: number): number {
    return this.view.getUint32(at, this.le);
  }
}

const xdpCounter = () => new Subject(progPath("xdp_counter"));

/** parseObject, then everything a caller would touch on the spec. */
function parseFully(bytes: Uint8Array): ObjectSpec {
  return readEverything(parseObject(bytes));
}

/** Reads every lazily parsed part of a spec. */
function readEverything(spec: ObjectSpec): ObjectSpec {
  for (const program of [...spec.programs.values(), ...spec.subprograms.values()]) {
    void program.instructions.length;
    void program.slotCount;
    void program.references.length;
  }
  const btf = spec.btf;
  if (btf !== undefined) for (let id = 0; id < btf.typeCount; id++) btf.type(id);
  for (const map of spec.maps.values()) void map.innerMap;
  return spec;
}

/** The error parseFully throws, which must be a BpfError of `kind`. */
function failure<T extends BpfError>(bytes: Uint8Array, kind: abstract new (...args: never[]) => T): T {
  let error: unknown;
  try {
    parseFully(bytes);
  } catch (e) {
    error = e;
  }
  expect(error, "parseObject accepted the object").toBeDefined();
  if (!(error instanceof kind)) {
    throw new Error(`expected ${kind.name}, got ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`, { cause: error });
  }
  return error;
}

/** "Returns a spec or throws BpfError." Returns the error, if any, for further checks. */
function obeysTheRule(bytes: Uint8Array, what: string): BpfError | undefined {
  const given = createHash("sha1").update(bytes).digest("hex");
  let spec: ObjectSpec | undefined;
  try {
    spec = parseObject(bytes);
    readEverything(spec);
    return undefined;
  } catch (error) {
    if (!isBpfError(error)) {
      const detail = error instanceof Error ? `${error.name}: ${error.message}\n${error.stack}` : String(error);
      throw new Error(`${what}: not a BpfError: ${detail}`);
    }
    return error;
  } finally {
    // Whatever the parse did or refused (the DATASEC fixup may fail after writing a word of
    // its own copy), the caller's bytes are unchanged, and sha1, where there is one, is their hash.
    if (spec?.sha1 !== undefined) expect(spec.sha1, `${what}: sha1`).toBe(given);
    expect(createHash("sha1").update(bytes).digest("hex"), `${what}: the caller's bytes`).toBe(given);
  }
}

describe("truncation", () => {
  for (const [label, path] of [["xdp_counter.o", () => progPath("xdp_counter")], ["loader-eb.elf", () => ciliumObject("loader-eb.elf")]] as const) {
    it(`${label}: every proper prefix is an ElfError`, () => {
      const subject = new Subject(path());
      const { header } = subject.layout;
      // clang writes the section header table last, so every prefix cuts into it.
      expect(header.SectionHeaderOffset + Number(header.SectionHeaderCount) * SECTION_HEADER_SIZE).toBe(subject.bytes.byteLength);
      for (let length = 0; length < subject.bytes.byteLength; length++) {
        const error = failure(subject.bytes.subarray(0, length), ElfError);
        expect(error.offset, `prefix of ${length} bytes`).toBeLessThanOrEqual(subject.bytes.byteLength);
      }
    });
  }

  it("xdp_counter.o: a section whose bytes run one past the end of the file is an ElfError naming its header", () => {
    const pristine = xdpCounter();
    for (const section of pristine.layout.sections) {
      if (section.Index === 0 || section.Type.RawValue === SHT_NOBITS) continue;
      const subject = xdpCounter();
      subject.u64(subject.header(section.Index) + 32, BigInt(subject.bytes.byteLength - section.Offset + 1));
      const error = failure(subject.bytes, ElfError);
      expect(error.offset, section.Name.Value).toBe(subject.header(section.Index));
    }
  });
});

describe("64-bit fields past 2^53", () => {
  // Offsets and sizes are kept as numbers; one that does not fit in 53 bits cannot address
  // anything, and the error names the field and its section or symbol by number.
  it("a section's offset, size, alignment or entry size: ElfError naming section and field", () => {
    for (const [field, at] of [["offset", 24], ["size", 32], ["alignment", 48], ["entry size", 56]] as const) {
      const subject = xdpCounter();
      const index = subject.section("license").Index;
      subject.u64(subject.header(index) + at, 2n ** 60n);
      const error = failure(subject.bytes, ElfError);
      expect(error.message).toContain(`section ${index} ${field} ${2n ** 60n} is too large`);
      expect(error.offset).toBe(subject.header(index) + at);
    }
  });

  it("a symbol's value or size: ElfError naming the symbol and field", () => {
    for (const [field, at] of [["value", 8], ["size", 16]] as const) {
      const subject = xdpCounter();
      const symtab = subject.section(".symtab");
      // The first function symbol (llvm-readelf lists the null symbol 0 too).
      const index = subject.layout.symbols.findIndex((s) => s.Type.RawValue === STT_FUNC);
      expect(parseElf(subject.bytes).symbol(index)?.name).toBe(subject.layout.symbols[index].Name.Value);
      subject.u64(symtab.Offset + index * SYMBOL_SIZE + at, 2n ** 62n);
      const error = failure(subject.bytes, ElfError);
      expect(error.message).toContain(`symbol ${index} ${field} ${2n ** 62n} is too large`);
    }
  });
});

describe("ELF identification and header", () => {
  it("wrong magic: ElfError at the wrong byte", () => {
    for (let i = 0; i < 4; i++) {
      const subject = xdpCounter();
      subject.bytes[i] ^= 0xff;
      expect(failure(subject.bytes, ElfError).offset).toBe(i);
    }
  });

  it("wrong class (ELFCLASSNONE, ELFCLASS32, 3): ElfError at byte 4", () => {
    for (const elfClass of [0, 1, 3]) {
      const subject = xdpCounter();
      subject.bytes[4] = elfClass;
      const error = failure(subject.bytes, ElfError);
      expect(error.offset).toBe(4);
      expect(error.message).toContain(`class ${elfClass}`);
    }
  });

  it("unknown byte order (ELFDATANONE, 3): ElfError at byte 5", () => {
    for (const data of [0, 3, 0xff]) {
      const subject = xdpCounter();
      subject.bytes[5] = data;
      expect(failure(subject.bytes, ElfError).offset).toBe(5);
    }
  });

  it("the other byte order: every field reads as nonsense, and that is a BpfError", () => {
    for (const path of [progPath("xdp_counter"), ciliumObject("loader-eb.elf")]) {
      const subject = new Subject(path);
      subject.bytes[5] = subject.le ? 2 : 1;
      expect(obeysTheRule(subject.bytes, path)).toBeInstanceOf(BpfError);
    }
  });

  it("files shorter than the ELF header", () => {
    const subject = xdpCounter();
    for (const length of [0, 1, 15, 16, 17, 63]) failure(subject.bytes.subarray(0, length), ElfError);
  });

  it("e_machine other than EM_BPF: SpecError, unless anyMachine", () => {
    const subject = xdpCounter().u16(18, 62); // EM_X86_64
    const error = failure(subject.bytes, SpecError);
    expect(error.part).toBe("ELF header");
    expect(error.message).toContain("e_machine is 62");
    expect([...parseObject(subject.bytes, { anyMachine: true }).programs.keys()]).toEqual(["xdp_count"]);
  });

  it("e_shoff 0, past the end, or beyond 2^53: ElfError", () => {
    expect(failure(xdpCounter().u64(40, 0n).bytes, ElfError).offset).toBe(40);
    const past = xdpCounter();
    failure(past.u64(40, BigInt(past.bytes.byteLength)).bytes, ElfError);
    failure(xdpCounter().u64(40, 1n << 63n).bytes, ElfError);
    failure(xdpCounter().u64(40, 0xffffffffffffffffn).bytes, ElfError);
  });

  it("e_shnum huge, or 0 with an extended count in section 0 that does not fit: ElfError", () => {
    failure(xdpCounter().u16(60, 0xffff).bytes, ElfError);
    const extended = xdpCounter().u16(60, 0);
    extended.u64(extended.header(0) + 32, 1n << 40n);
    failure(extended.bytes, ElfError);
    const tooLarge = xdpCounter().u16(60, 0);
    tooLarge.u64(tooLarge.header(0) + 32, 0xffffffffffffffffn);
    failure(tooLarge.bytes, ElfError);
  });

  it("e_shentsize smaller than a section header: ElfError at its field", () => {
    expect(failure(xdpCounter().u16(58, 32).bytes, ElfError).offset).toBe(58);
    expect(failure(xdpCounter().u16(58, 0).bytes, ElfError).offset).toBe(58);
  });

  it("e_shentsize larger than a section header: headers are read at that stride, and that is a BpfError", () => {
    expect(obeysTheRule(xdpCounter().u16(58, 128).bytes, "e_shentsize 128")).toBeInstanceOf(BpfError);
  });

  it("e_shstrndx past the sections, or naming a section that is not a string table: ElfError", () => {
    expect(failure(xdpCounter().u16(62, 999).bytes, ElfError).offset).toBe(62);
    const subject = xdpCounter();
    failure(subject.u16(62, subject.section(".symtab").Index).bytes, ElfError);
  });
});

describe("section headers", () => {
  it("sh_offset past the end: ElfError at the section's header; beyond 2^53: ElfError at its sh_offset field", () => {
    for (const offset of [0x7fffffffn, 1n << 60n, 0xffffffffffffffffn]) {
      const subject = xdpCounter();
      const at = subject.header(subject.section("xdp").Index);
      const error = failure(subject.u64(at + 24, offset).bytes, ElfError);
      const unrepresentable = offset > BigInt(Number.MAX_SAFE_INTEGER);
      expect(error.offset, `sh_offset ${offset}`).toBe(unrepresentable ? at + 24 : at);
    }
  });

  it("a section name offset past .strtab: ElfError", () => {
    const subject = xdpCounter();
    const names = subject.section(subject.layout.sections[Number(subject.layout.header.StringTableSectionIndex)]!.Name.Value);
    const error = failure(subject.u32(subject.header(subject.section("xdp").Index), names.Size + 10).bytes, ElfError);
    expect(error.message).toContain(`name offset ${names.Size + 10}`);
  });

  it("a relocation section's name offset past .strtab: ElfError, though parsing never reads that name", () => {
    const subject = xdpCounter();
    const names = subject.section(subject.layout.sections[Number(subject.layout.header.StringTableSectionIndex)]!.Name.Value);
    const rel = subject.layout.sections.find((s) => s.Type.RawValue === 9)!; // SHT_REL
    const error = failure(subject.u32(subject.header(rel.Index), names.Size + 3).bytes, ElfError);
    expect(error.message).toContain(`name offset ${names.Size + 3}`);
  });

  it("a section name that runs to the end of the name table without a NUL: ElfError", () => {
    const subject = xdpCounter();
    const names = subject.section(subject.layout.sections[Number(subject.layout.header.StringTableSectionIndex)]!.Name.Value);
    // The last section name in the table, and everything after it, made non-NUL: the name of
    // a relocation section perhaps, which parsing never reads, but the table is refused.
    const last = Math.max(...subject.layout.sections.map((s) => s.Name.RawValue));
    subject.bytes.fill(0x41, names.Offset + last, names.Offset + names.Size);
    const error = failure(subject.bytes, ElfError);
    expect(error.message).toMatch(/not NUL-terminated/);
  });

  it("a symbol name offset past the symbol string table: ElfError", () => {
    const subject = xdpCounter();
    const symtab = subject.section(".symtab");
    const strtab = subject.layout.sections[symtab.Link]!;
    const error = failure(subject.u32(symtab.Offset + 3 * SYMBOL_SIZE, strtab.Size + 1).bytes, ElfError);
    expect(error.message).toContain(`name offset ${strtab.Size + 1}`);
  });

  it("a symbol table whose size is not a multiple of 24: ElfError naming .symtab", () => {
    const subject = xdpCounter();
    const symtab = subject.section(".symtab");
    const error = failure(subject.u64(subject.header(symtab.Index) + 32, BigInt(symtab.Size - 5)).bytes, ElfError);
    expect(error.section).toBe(".symtab");
  });

  it("a symbol table with sh_entsize 16: a BpfError or the same programs", () => {
    const subject = xdpCounter();
    subject.u64(subject.header(subject.section(".symtab").Index) + 56, 16n);
    if (obeysTheRule(subject.bytes, "sh_entsize 16") === undefined) {
      expect([...parseObject(subject.bytes).programs.keys()]).toEqual(["xdp_count"]);
    }
  });

  it("a relocation section whose size is not a multiple of 16: ElfError naming it", () => {
    const subject = xdpCounter();
    const rel = subject.section(".relxdp");
    const error = failure(subject.u64(subject.header(rel.Index) + 32, BigInt(rel.Size - 1)).bytes, ElfError);
    expect(error.section).toBe(".relxdp");
  });

  it("a relocation section patching a section that does not exist: ElfError", () => {
    const subject = xdpCounter();
    failure(subject.u32(subject.header(subject.section(".relxdp").Index) + 44, 4000).bytes, ElfError);
  });

  it("sh_link of the symbol table to a missing section or to one that is not a string table: ElfError", () => {
    const missing = xdpCounter();
    const error = failure(missing.u32(missing.header(missing.section(".symtab").Index) + 40, 999).bytes, ElfError);
    expect(error.message).toContain("999");
    const wrong = xdpCounter();
    failure(wrong.u32(wrong.header(wrong.section(".symtab").Index) + 40, wrong.section("xdp").Index).bytes, ElfError);
  });
});

describe("relocations", () => {
  const relocation = (subject: Subject) => {
    const entry = readelfRelocations(subject.path).find((r) => r.name === ".relxdp")!.entries[0]!;
    const at = subject.section(".relxdp").Offset;
    // Elf64_Rel: r_offset u64, r_info u64 = symbol << 32 | type, in the file's byte order.
    const symbolAt = at + (subject.le ? 12 : 8);
    return { entry, at, symbolAt };
  };

  it("a symbol index past the symbol table: RelocationError naming program, instruction and symbol", () => {
    const subject = xdpCounter();
    const { entry, symbolAt } = relocation(subject);
    const error = failure(subject.u32(symbolAt, 9999).bytes, RelocationError);
    expect([error.program, error.instruction, error.symbol]).toEqual(["xdp_count", entry.offset / 8, "#9999"]);
    expect(error.message).toContain("9999");
  });

  it("a relocation on an instruction that is neither ld_imm64 nor call: RelocationError at that instruction", () => {
    const subject = xdpCounter();
    const { at } = relocation(subject);
    const error = failure(subject.u64(at, 0n).bytes, RelocationError); // slot 0: r2 = *(u32 *)(r1 + 4)
    expect([error.program, error.instruction, error.symbol]).toEqual(["xdp_count", 0, "stats"]);
  });

  it("a relocation between two instruction slots: RelocationError", () => {
    const subject = xdpCounter();
    const { entry, at } = relocation(subject);
    const error = failure(subject.u64(at, BigInt(entry.offset + 4)).bytes, RelocationError);
    expect(error.program).toBe("xdp_count");
  });

  it("a relocation against a symbol outside code, maps and data (e.g. the license): RelocationError", () => {
    const subject = xdpCounter();
    const { symbolAt } = relocation(subject);
    const license = subject.layout.symbols.findIndex((s) => s.Name.Value === "LICENSE");
    const error = failure(subject.u32(symbolAt, license).bytes, RelocationError);
    expect(error.symbol).toBe("LICENSE");
  });

  it("a call whose target is not the start of a function: RelocationError", () => {
    const subject = new Subject(progPath("subprog"));
    // xdp_static_call: slot 1 is `call 9` against the .text section symbol (bump at slot 10).
    const xdp = subject.section("xdp");
    expect(subject.readU32(xdp.Offset + 8 + 4)).toBe(9);
    const error = failure(subject.u32(xdp.Offset + 8 + 4, 3).bytes, RelocationError);
    expect([error.program, error.instruction]).toEqual(["xdp_static_call", 1]);
  });
});

describe("same-section calls (no relocation: found when references are first read)", () => {
  // loader-clang-7-el.elf: global_fn in .text calls global_fn2 at slot 4 with no relocation.
  const callSite = (subject: Subject) => {
    const text = subject.section(".text");
    const globalFn = subject.layout.symbols.find((s) => s.Name.Value === "global_fn")!;
    return text.Offset + globalFn.Value + 4 * 8;
  };

  it("the call is found, and the spec parses without reading it", () => {
    const subject = new Subject(ciliumObject("loader-clang-7-el.elf"));
    expect(subject.bytes[callSite(subject)]).toBe(0x85);
    const spec = parseObject(subject.bytes);
    expect(spec.subprograms.get("global_fn")!.references.find((r) => r.insn === 4)).toEqual({ kind: "call", insn: 4, target: "global_fn2" });
  });

  it("a call into the middle of a function: RelocationError naming the caller and instruction", () => {
    const subject = new Subject(ciliumObject("loader-clang-7-el.elf"));
    const at = callSite(subject);
    subject.u32(at + 4, subject.readU32(at + 4) + 1); // one slot past global_fn2's start
    const spec = parseObject(subject.bytes);
    let error: unknown;
    try {
      void spec.subprograms.get("global_fn")!.references;
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RelocationError);
    expect(error).toMatchObject({ program: "global_fn", instruction: 4 });
    expect((error as Error).message).toMatch(/call jumps to byte \d+ of \.text, where no function starts/);
    failure(subject.bytes, RelocationError);
  });
});

describe("BTF and map definitions", () => {
  it("a broken .BTF magic in an object with BTF-defined maps: BtfError", () => {
    const subject = xdpCounter();
    subject.bytes[subject.section(".BTF").Offset] ^= 0xff;
    failure(subject.bytes, BtfError);
  });

  it("a .BTF type section running past the end: BtfError", () => {
    const subject = xdpCounter();
    failure(subject.u32(subject.section(".BTF").Offset + 12, 0x7fffffff).bytes, BtfError);
  });

  it("an unknown BTF kind: BtfError naming the type", () => {
    const subject = xdpCounter();
    const btf = subject.section(".BTF");
    const headerLength = subject.readU32(btf.Offset + 4);
    const typeOff = subject.readU32(btf.Offset + 8);
    // Type 1's info word: kind in bits 24-28.
    const error = failure(subject.u32(btf.Offset + headerLength + typeOff + 4, 31 << 24).bytes, BtfError);
    expect(error.typeId).toBe(1);
  });

  it("legacy maps: a section size that is not a multiple of the map symbols: SpecError", () => {
    const subject = new Subject(progPath("legacy_maps"));
    const maps = subject.section("maps");
    const error = failure(subject.u64(subject.header(maps.Index) + 32, BigInt(maps.Size - 1)).bytes, SpecError);
    expect(error.part).toBe("maps");
  });

  it("iproute2 maps: an unknown pinning value: SpecError naming the map", () => {
    const subject = new Subject(progPath("iproute2_elf_map"));
    // struct bpf_elf_map: pinning is the 7th u32 of pinned_counts (offset 0).
    const error = failure(subject.u32(subject.section("maps").Offset + 24, 7).bytes, SpecError);
    expect(error.part).toBe("pinned_counts");
  });

  it("a version section without bytes (SHT_NOBITS): a BpfError, not a RangeError", () => {
    const subject = new Subject(progPath("legacy_maps"));
    subject.u32(subject.header(subject.section("version").Index) + 4, SHT_NOBITS);
    expect(obeysTheRule(subject.bytes, "NOBITS version")).toBeInstanceOf(BpfError);
  });

  it("a .bss of 2^40 bytes: a BpfError, not a RangeError (nor a terabyte allocation)", () => {
    const subject = new Subject(progPath("global_data"));
    subject.u64(subject.header(subject.section(".bss").Index) + 32, 1n << 40n);
    expect(obeysTheRule(subject.bytes, ".bss of 2^40 bytes")).toBeInstanceOf(BpfError);
  });

  it("a map-in-map whose inner definition is the outer one again: a BpfError, not a stack overflow", () => {
    const subject = new Subject(ciliumObject("loader-el.elf"));
    const section = subject.section(".BTF");
    const btfBytes = subject.bytes.subarray(section.Offset, section.Offset + section.Size);
    // Locate the records with our own BTF reader (the intact object parses; see spec.test.ts).
    const btf = parseBtf(btfBytes);
    const outerVar = btf.typeByName("btf_outer_map", "var");
    if (outerVar?.kind !== "var") throw new Error("loader-el.elf has no btf_outer_map variable");
    const outer = btf.resolve(outerVar.type);
    if (outer.kind !== "struct") throw new Error("btf_outer_map is not a struct");
    const values = btf.resolve(outer.members.find((m) => m.name === "values")!.type);
    if (values.kind !== "array") throw new Error("values is not an array");
    // values is `struct inner_map_t *values[]`: point the PTR at the outer struct itself.
    const headerLength = subject.readU32(section.Offset + 4);
    const typeOff = subject.readU32(section.Offset + 8);
    subject.u32(section.Offset + headerLength + typeOff + btf.offsets[values.type]! + 8, outer.id);
    expect(obeysTheRule(subject.bytes, "recursive inner map")).toBeInstanceOf(BpfError);
  });
});

/**
 * A little-endian BPF object written from scratch: `count` functions in section "xdp", each
 * `r1 = map ll; exit` (3 slots) with one R_BPF_64_64 relocation against map "m" (a legacy
 * struct bpf_map_def in "maps"). Sections: 0 null, 1 xdp, 2 .relxdp, 3 maps, 4 .symtab, 5 .strtab.
 */
function manyFunctions(count: number): Uint8Array {
  const strings: number[] = [0];
  const nameAt = new Map<string, number>();
  const name = (text: string) => {
    if (!nameAt.has(text)) {
      nameAt.set(text, strings.length);
      strings.push(...new TextEncoder().encode(text), 0);
    }
    return nameAt.get(text)!;
  };
  ["xdp", ".relxdp", "maps", ".symtab", ".strtab", "m"].forEach(name);

  const FN_SIZE = 24;
  const code = new Uint8Array(count * FN_SIZE);
  const rel = new DataView(new ArrayBuffer(count * 16));
  const symbols = new DataView(new ArrayBuffer((2 + count) * SYMBOL_SIZE));
  // Symbol 1: the map, STB_GLOBAL | STT_OBJECT in section 3.
  symbols.setUint32(SYMBOL_SIZE, name("m"), true);
  symbols.setUint8(SYMBOL_SIZE + 4, 0x11);
  symbols.setUint16(SYMBOL_SIZE + 6, 3, true);
  symbols.setBigUint64(SYMBOL_SIZE + 16, 20n, true);
  for (let i = 0; i < count; i++) {
    code.set([0x18, 0x01], i * FN_SIZE); // ld_imm64 r1 (second slot zero)
    code[i * FN_SIZE + 16] = 0x95; // exit
    const sym = (2 + i) * SYMBOL_SIZE;
    symbols.setUint32(sym, name(`f${i}`), true);
    symbols.setUint8(sym + 4, 0x12); // STB_GLOBAL | STT_FUNC
    symbols.setUint16(sym + 6, 1, true);
    symbols.setBigUint64(sym + 8, BigInt(i * FN_SIZE), true);
    symbols.setBigUint64(sym + 16, BigInt(FN_SIZE), true);
    rel.setBigUint64(i * 16, BigInt(i * FN_SIZE), true);
    rel.setBigUint64(i * 16 + 8, (1n << 32n) | 1n, true); // symbol 1, R_BPF_64_64
  }
  const mapDef = new DataView(new ArrayBuffer(20));
  [2, 4, 4, 1, 0].forEach((v, i) => mapDef.setUint32(i * 4, v, true)); // ARRAY, key 4, value 4, 1 entry

  const contents = [code, new Uint8Array(rel.buffer), new Uint8Array(mapDef.buffer), new Uint8Array(symbols.buffer), Uint8Array.from(strings)];
  const offsets: number[] = [];
  let end = 64;
  for (const part of contents) {
    offsets.push(end);
    end = (end + part.byteLength + 7) & ~7;
  }
  const out = new Uint8Array(end + 6 * SECTION_HEADER_SIZE);
  const view = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]); // ELF64, little-endian, version 1
  view.setUint16(16, 1, true); // ET_REL
  view.setUint16(18, 247, true); // EM_BPF
  view.setBigUint64(40, BigInt(end), true);
  view.setUint16(52, 64, true);
  view.setUint16(58, SECTION_HEADER_SIZE, true);
  view.setUint16(60, 6, true);
  view.setUint16(62, 5, true);
  contents.forEach((part, i) => out.set(part, offsets[i]!));
  const headers: [string, number, number, number, number, number][] = [
    // name, type, flags, link, info, entsize
    ["xdp", 1, 0x6, 0, 0, 0],
    [".relxdp", 9, 0, 4, 1, 16],
    ["maps", 1, 0x3, 0, 0, 0],
    [".symtab", 2, 0, 5, 2, SYMBOL_SIZE],
    [".strtab", 3, 0, 0, 0, 0],
  ];
  headers.forEach(([sectionName, type, flags, link, info, entsize], i) => {
    const at = end + (i + 1) * SECTION_HEADER_SIZE;
    view.setUint32(at, name(sectionName), true);
    view.setUint32(at + 4, type, true);
    view.setBigUint64(at + 8, BigInt(flags), true);
    view.setBigUint64(at + 24, BigInt(offsets[i]!), true);
    view.setBigUint64(at + 32, BigInt(contents[i]!.byteLength), true);
    view.setUint32(at + 40, link, true);
    view.setUint32(at + 44, info, true);
    view.setBigUint64(at + 48, 8n, true);
    view.setBigUint64(at + 56, BigInt(entsize), true);
  });
  return out;
}

describe("no hang: the cost of parsing grows linearly", () => {
  it("the object builder makes what it says", () => {
    const spec = parseObject(manyFunctions(3));
    expect([...spec.programs.keys()]).toEqual(["f0", "f1", "f2"]);
    for (const program of spec.programs.values()) {
      expect(program.references).toEqual([{ kind: "map", insn: 0, map: "m" }]);
      expect(program.instructions.length).toBe(2);
    }
    expect(spec.maps.get("m")).toMatchObject({ type: 2, keySize: 4, valueSize: 4, maxEntries: 1 });
  });

  // An attacker's object (or a large generated one) with many functions and relocations in
  // one section must not make parseObject quadratic: 16 times the functions may cost at most
  // 128 times the time. A linear parser needs 16 times in theory; measured, 35 to 52 times,
  // since 32,000 functions' objects outgrow the young generation and the collector's work
  // grows faster than the parse; a quadratic parser needs 256 times and more.
  it("16 times more functions (each with a relocation) cost less than 128 times the time", () => {
    const small = manyFunctions(2_000);
    const large = manyFunctions(32_000);
    const time = (bytes: Uint8Array) => {
      let best = Infinity;
      for (let round = 0; round < 3; round++) {
        const started = performance.now();
        parseObject(bytes);
        best = Math.min(best, performance.now() - started);
      }
      return best;
    };
    time(small); // warm up the JIT
    const ratio = time(large) / time(small);
    expect(ratio).toBeLessThan(128);
  }, 120_000);
});

describe("fuzz: returns a spec or throws BpfError", () => {
  /** mulberry32: a small seeded PRNG, so every run mutates the same way. */
  function prng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  const U32S = [0, 1, 7, 8, 24, 64, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];
  const U64S = [0n, 1n, 1n << 32n, 1n << 40n, 1n << 53n, 1n << 63n, 0xffffffffffffffffn];
  const COPIES = 2000;

  const subjects: [string, () => string][] = [
    ["xdp_counter.o", () => progPath("xdp_counter")],
    ["subprog.o", () => progPath("subprog")],
    ["legacy_maps.o", () => progPath("legacy_maps")],
    ["global_data.o", () => progPath("global_data")],
    ["iproute2_elf_map.o", () => progPath("iproute2_elf_map")],
    ["loader-el.elf", () => ciliumObject("loader-el.elf")],
    ["loader-eb.elf", () => ciliumObject("loader-eb.elf")],
    ["xdpfilt_alw_all.o", () => xdpToolsObject("xdpfilt_alw_all.o")],
  ];

  for (const [label, path] of subjects) {
    it(`${label}: ${COPIES} mutated copies (headers, symbols, relocations, BTF, maps, code)`, () => {
      const pristine = new Subject(path());
      const { layout } = pristine;
      // The parts the parser reads: ELF header, section header table, and the sections that matter.
      const regions: [number, number][] = [[0, 64], [layout.header.SectionHeaderOffset, layout.sections.length * SECTION_HEADER_SIZE]];
      for (const s of layout.sections) {
        const interesting = [2, 3, 4, 9].includes(s.Type.RawValue) && !s.Name.Value.includes("debug")
          || [".BTF", "maps", ".maps", "license", "version"].includes(s.Name.Value)
          || (s.Flags.RawFlags & 0x4) !== 0;
        if (interesting && s.Type.RawValue !== SHT_NOBITS && s.Size > 0) regions.push([s.Offset, s.Size]);
      }
      const random = prng(0x5eed ^ label.length);
      const outcomes = { spec: 0, error: 0 };
      let slowest = 0;
      for (let copy = 0; copy < COPIES; copy++) {
        const subject = new Subject(pristine.path);
        const mutations = 1 + Math.floor(random() * 4);
        const applied: string[] = [];
        for (let m = 0; m < mutations; m++) {
          const [start, size] = regions[Math.floor(random() * regions.length)]!;
          const at = start + Math.floor(random() * size);
          const choice = random();
          if (choice < 0.5 || at + 8 > subject.bytes.byteLength) {
            const value = Math.floor(random() * 256);
            subject.bytes[at] = value;
            applied.push(`byte ${at}=${value}`);
          } else if (choice < 0.75) {
            const value = U32S[Math.floor(random() * U32S.length)]!;
            subject.u32(at, value);
            applied.push(`u32 ${at}=${value}`);
          } else {
            const value = U64S[Math.floor(random() * U64S.length)]!;
            subject.u64(at, value);
            applied.push(`u64 ${at}=${value}`);
          }
        }
        const started = performance.now();
        const error = obeysTheRule(subject.bytes, `${label} copy ${copy} (${applied.join(", ")})`);
        slowest = Math.max(slowest, performance.now() - started);
        if (error === undefined) outcomes.spec++;
        else outcomes.error++;
      }
      // Both outcomes happen (the mutations are neither all harmless nor all fatal), and none hangs.
      expect(outcomes.spec).toBeGreaterThan(0);
      expect(outcomes.error).toBeGreaterThan(0);
      expect(slowest).toBeLessThan(2000);
    }, 60_000);
  }
});
