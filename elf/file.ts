// parseElf: an ELF64 relocatable object as sections, symbols and relocations.
// Pure: it reads nothing but the bytes it is given, and every offset is checked against them.

import { ByteReader } from "../common/reader.js";
import { ElfError } from "../common/errors.js";
import { ELFCLASS64, ELFDATA2LSB, ELFDATA2MSB, SHN_XINDEX, SectionType } from "./constants.js";
import { ELF_HEADER_SIZE, ELF_IDENT_SIZE, ElfHeader, SECTION_HEADER_SIZE, readRecord } from "./layouts.js";
import { readSectionHeaders, type ElfSection } from "./sections.js";
import { findSymbolTable, readSymbols, type ElfSymbol } from "./symbols.js";
import { readRelocations, type ElfRelocation } from "./relocations.js";

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46]; // "\x7fELF"

export interface ElfFile {
  readonly bytes: Uint8Array;
  readonly littleEndian: boolean;
  /** e_machine: EM_BPF (247) for BPF objects. */
  readonly machine: number;
  /** e_type: ET_REL (1) for compiler output. */
  readonly type: number;
  /** All sections, indexed by section index (index 0 is the null section). */
  readonly sections: readonly ElfSection[];
  /** All symbols, indexed by symbol index (index 0 is the null symbol). */
  readonly symbols: readonly ElfSymbol[];
  /** The first section with this name. */
  section(name: string): ElfSection | undefined;
  /** Relocation sections keyed by the index of the section they patch (sh_info). */
  readonly relocationSections: ReadonlyMap<number, ElfSection>;
  /** The relocation entries that patch `section`, read on first use. */
  relocationsFor(section: ElfSection): readonly ElfRelocation[];
}

export function parseElf(input: Uint8Array): ElfFile {
  // A plain Uint8Array view even when given a Node Buffer: Buffer.slice() returns a view,
  // not a copy, and specs must never alias (and so never write into) the caller's buffer.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const littleEndian = readIdentification(bytes);
  const file = new ByteReader(bytes, littleEndian);
  file.check(0, ELF_HEADER_SIZE, "ELF header");
  const header = readRecord(ElfHeader, bytes, ELF_IDENT_SIZE, littleEndian);

  const sectionTable = file.u64AsNumber(40, "section header offset (e_shoff)");
  if (sectionTable === 0) throw new ElfError("the file has no section header table", { offset: 40 });
  let count = header.shnum;
  let namesIndex = header.shstrndx;
  if (count === 0 || namesIndex === SHN_XINDEX) {
    // Extended numbering: the real values are in section 0's sh_size and sh_link.
    file.check(sectionTable, SECTION_HEADER_SIZE, "section header 0");
    if (count === 0) count = file.u64AsNumber(sectionTable + 32, "extended section count");
    if (namesIndex === SHN_XINDEX) namesIndex = file.u32(sectionTable + 40);
  }
  const sections = readSectionHeaders(file, sectionTable, count, header.shentsize, namesIndex);

  const { symtab, shndx } = findSymbolTable(sections);
  const symbols = symtab === undefined ? [] : readSymbols(symtab, sections, littleEndian, shndx);

  return new ParsedElf(bytes, littleEndian, header.machine, header.type, sections, symbols);
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
  readonly relocationSections: ReadonlyMap<number, ElfSection>;
  private readonly byName = new Map<string, ElfSection>();
  private readonly relocationCache = new Map<number, readonly ElfRelocation[]>();

  constructor(
    readonly bytes: Uint8Array,
    readonly littleEndian: boolean,
    readonly machine: number,
    readonly type: number,
    readonly sections: readonly ElfSection[],
    readonly symbols: readonly ElfSymbol[],
  ) {
    const relocationSections = new Map<number, ElfSection>();
    for (const section of sections) {
      if (!this.byName.has(section.name)) this.byName.set(section.name, section);
      if (section.type === SectionType.REL || section.type === SectionType.RELA) {
        if (section.info >= sections.length) {
          throw new ElfError(`relocation section patches section ${section.info}, which does not exist`, {
            offset: section.offset,
            section: section.name,
          });
        }
        relocationSections.set(section.info, section);
      }
    }
    this.relocationSections = relocationSections;
  }

  section(name: string): ElfSection | undefined {
    return this.byName.get(name);
  }

  relocationsFor(section: ElfSection): readonly ElfRelocation[] {
    const relSection = this.relocationSections.get(section.index);
    if (relSection === undefined) return [];
    let relocations = this.relocationCache.get(section.index);
    if (relocations === undefined) {
      relocations = readRelocations(relSection, this.littleEndian);
      this.relocationCache.set(section.index, relocations);
    }
    return relocations;
  }
}
