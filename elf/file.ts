// parseElf: an ELF64 relocatable object as sections, symbols and relocations.
// Pure: it reads nothing but the bytes it is given, and every offset is checked against them.

import { ElfError } from "../common/errors.js";
import { ELFCLASS64, ELFDATA2LSB, ELFDATA2MSB, SHN_XINDEX, SectionType } from "./constants.js";
import { ELF_HEADER_SIZE, ELF_IDENT_SIZE, SECTION_HEADER_SIZE } from "./layouts.js";
import { readSectionHeaders, u64AsNumber, StringTable, type ElfSection } from "./sections.js";
import { SymbolTable, type ElfSymbol } from "./symbols.js";
import { readRelocations, type ElfRelocation } from "./relocations.js";

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46]; // "\x7fELF"

export interface ElfFile {
  readonly bytes: Uint8Array;
  /**
   * A DataView of the whole file, for readers of records in place (symbols, relocations,
   * instructions), which add their section's offset: one view per file, not one per section.
   */
  readonly view: DataView;
  readonly littleEndian: boolean;
  /** e_machine: EM_BPF (247) for BPF objects. */
  readonly machine: number;
  /** e_type: ET_REL (1) for compiler output. */
  readonly type: number;
  /** All sections, indexed by section index (index 0 is the null section). */
  readonly sections: readonly ElfSection[];
  /** All symbols, indexed by symbol index (index 0 is the null symbol); read on first use. */
  readonly symbols: readonly ElfSymbol[];
  /** The symbol table read in place, for scans that need a few fields of many symbols. */
  readonly symbolTable: SymbolTable;
  /** Symbol `index` (made on first use), or undefined past the end of the table. */
  symbol(index: number): ElfSymbol | undefined;
  /** The first section with this name. */
  section(name: string): ElfSection | undefined;
  /** The symbols defined in one section (st_shndx), in symbol table order. */
  symbolsIn(sectionIndex: number): readonly ElfSymbol[];
  /** Relocation sections keyed by the index of the section they patch (sh_info), in the order of those indexes. */
  readonly relocationSections: ReadonlyMap<number, ElfSection>;
  /** The relocation entries that patch `section`, read on first use. */
  relocationsFor(section: ElfSection): readonly ElfRelocation[];
}

export function parseElf(input: Uint8Array): ElfFile {
  // A plain Uint8Array view even when given a Node Buffer (whose slice() is a view, not a
  // copy), so that every view handed out behaves like a Uint8Array.
  const bytes = input.constructor === Uint8Array ? input : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const littleEndian = readIdentification(bytes);
  if (bytes.byteLength < ELF_HEADER_SIZE) {
    throw new ElfError(`ELF header of ${ELF_HEADER_SIZE} bytes at offset 0 runs past the end (${bytes.byteLength} bytes)`, { offset: 0 });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Elf64_Ehdr (layouts.ts), read at fixed offsets: the few fields a loader needs.
  const le = littleEndian;
  const type = view.getUint16(ELF_IDENT_SIZE, le);
  const machine = view.getUint16(ELF_IDENT_SIZE + 2, le);
  const tableOffset = u64AsNumber(view, 40, le, "section header offset (e_shoff)");
  if (tableOffset === 0) throw new ElfError("the file has no section header table", { offset: 40 });
  let count = view.getUint16(60, le);
  let namesIndex = view.getUint16(62, le);
  if (count === 0 || namesIndex === SHN_XINDEX) {
    // Extended numbering: the real values are in section 0's sh_size and sh_link.
    if (!(tableOffset + SECTION_HEADER_SIZE <= bytes.byteLength)) {
      throw new ElfError(`section header 0 at offset ${tableOffset} runs past the end (${bytes.byteLength} bytes)`, { offset: 40 });
    }
    if (count === 0) count = u64AsNumber(view, tableOffset + 32, le, "extended section count");
    if (namesIndex === SHN_XINDEX) namesIndex = view.getUint32(tableOffset + 40, le);
  }
  const { sections, names } = readSectionHeaders(bytes, view, le, { offset: tableOffset, count, entrySize: view.getUint16(58, le), namesIndex });
  return new ParsedElf(bytes, view, le, machine, type, sections, names);
}

/**
 * The byte order an ELF file declares (e_ident[EI_DATA]), after checking the magic and the
 * class: true for little-endian. Cheap, for refusing an object before parsing it.
 */
export function elfIsLittleEndian(bytes: Uint8Array): boolean {
  return readIdentification(bytes);
}

function readIdentification(bytes: Uint8Array): boolean {
  if (bytes.byteLength < ELF_IDENT_SIZE) {
    throw new ElfError(`file is ${bytes.byteLength} bytes, too short for an ELF header`, { offset: 0 });
  }
  for (let i = 0; i < ELF_MAGIC.length; i++) {
    if (bytes[i] !== ELF_MAGIC[i]) throw new ElfError("not an ELF file (bad magic number)", { offset: i });
  }
  if (bytes[4] !== ELFCLASS64) throw new ElfError(`ELF class ${bytes[4]} is not ELFCLASS64; BPF objects are 64-bit`, { offset: 4 });
  if (bytes[5] === ELFDATA2LSB) return true;
  if (bytes[5] === ELFDATA2MSB) return false;
  throw new ElfError(`unknown ELF byte order ${bytes[5]}`, { offset: 5 });
}

class ParsedElf implements ElfFile {
  /** The relocation section patching each section, by the patched section's index (sh_info). */
  private readonly relocationSectionOf: (ElfSection | undefined)[];
  private readonly symtab: ElfSection | undefined;
  /** SHT_SYMTAB_SHNDX, present only in objects with 65280 sections or more. */
  private readonly symtabIndices: ElfSection | undefined;
  private relocationSectionMap: Map<number, ElfSection> | undefined;
  /** Sections by name, built on the first lookup (parseObject makes its own single pass). */
  private byName: Map<string, ElfSection> | undefined;
  /** The entries of each relocation section read so far, by the patched section's index. */
  private readonly relocationCache: (readonly ElfRelocation[] | undefined)[] = [];
  private table: SymbolTable | undefined;
  private allSymbols: ElfSymbol[] | undefined;
  private bySection: Map<number, ElfSymbol[]> | undefined;

  constructor(
    readonly bytes: Uint8Array,
    readonly view: DataView,
    readonly littleEndian: boolean,
    readonly machine: number,
    readonly type: number,
    readonly sections: readonly ElfSection[],
    /** The section name table, reused when the symbol table shares it. */
    private readonly sectionNames: StringTable | undefined,
  ) {
    // One pass finds the relocation section of each section (the last, should two patch one)
    // and the symbol table (the first).
    const relocationSectionOf: (ElfSection | undefined)[] = new Array(sections.length);
    let symtab: ElfSection | undefined;
    let symtabIndices: ElfSection | undefined;
    for (const section of sections) {
      const type = section.type;
      if (type === SectionType.REL || type === SectionType.RELA) {
        if (section.info >= sections.length) {
          throw new ElfError(`relocation section patches section ${section.info}, which does not exist`, {
            offset: section.offset,
            section: section.name,
          });
        }
        relocationSectionOf[section.info] = section;
      } else if (type === SectionType.SYMTAB) symtab ??= section;
      else if (type === SectionType.SYMTAB_SHNDX) symtabIndices ??= section;
    }
    this.relocationSectionOf = relocationSectionOf;
    this.symtab = symtab;
    this.symtabIndices = symtabIndices;
  }

  get relocationSections(): ReadonlyMap<number, ElfSection> {
    if (this.relocationSectionMap === undefined) {
      const map = new Map<number, ElfSection>();
      for (let index = 0; index < this.relocationSectionOf.length; index++) {
        const section = this.relocationSectionOf[index];
        if (section !== undefined) map.set(index, section);
      }
      this.relocationSectionMap = map;
    }
    return this.relocationSectionMap;
  }

  get symbolTable(): SymbolTable {
    return (this.table ??= this.readSymbolTable());
  }

  get symbols(): readonly ElfSymbol[] {
    return (this.allSymbols ??= this.symbolTable.all());
  }

  symbol(index: number): ElfSymbol | undefined {
    return this.symbolTable.symbol(index);
  }

  section(name: string): ElfSection | undefined {
    if (this.byName === undefined) {
      this.byName = new Map();
      for (const section of this.sections) if (!this.byName.has(section.name)) this.byName.set(section.name, section);
    }
    return this.byName.get(name);
  }

  symbolsIn(sectionIndex: number): readonly ElfSymbol[] {
    if (this.bySection === undefined) {
      this.bySection = new Map();
      for (const symbol of this.symbols) {
        const list = this.bySection.get(symbol.sectionIndex);
        if (list === undefined) this.bySection.set(symbol.sectionIndex, [symbol]);
        else list.push(symbol);
      }
    }
    return this.bySection.get(sectionIndex) ?? NO_SYMBOLS;
  }

  relocationsFor(section: ElfSection): readonly ElfRelocation[] {
    const relSection = this.relocationSectionOf[section.index];
    if (relSection === undefined) return NO_RELOCATIONS;
    return (this.relocationCache[section.index] ??= readRelocations(relSection, this.littleEndian, this.view));
  }

  private readSymbolTable(): SymbolTable {
    const { symtab, symtabIndices: shndx } = this;
    if (symtab === undefined) return new SymbolTable(EMPTY_SYMTAB, EMPTY_NAMES, this.littleEndian, undefined, EMPTY_VIEW);
    const strings = this.sections[symtab.link];
    if (strings === undefined) {
      throw new ElfError(`symbol table names string table ${symtab.link}, which does not exist`, { offset: symtab.offset, section: symtab.name || ".symtab" });
    }
    const names = this.sectionNames?.section === strings ? this.sectionNames : new StringTable(strings);
    return new SymbolTable(symtab, names, this.littleEndian, shndx, this.view);
  }
}

/** What an object without a symbol table has: a table of no symbols. */
const EMPTY_SYMTAB: ElfSection = {
  index: 0, name: "", type: SectionType.SYMTAB, flags: 0, offset: 0, size: 0, link: 0, info: 0, addralign: 0, entsize: 0, data: new Uint8Array(0),
  nameEqualsBytes: (strings, start) => strings[start] === 0,
};
const EMPTY_NAMES = new StringTable({ ...EMPTY_SYMTAB, type: SectionType.STRTAB });
const EMPTY_VIEW = new DataView(new ArrayBuffer(0));

const NO_SYMBOLS: readonly ElfSymbol[] = [];
const NO_RELOCATIONS: readonly ElfRelocation[] = [];
