// Section headers: where each section's bytes are and what kind of section it is.

import { ByteReader } from "../common/reader.js";
import { ElfError } from "../common/errors.js";
import { SECTION_HEADER_SIZE } from "./layouts.js";
import { SectionFlags, SectionType } from "./constants.js";

export interface ElfSection {
  /** Index in the section header table; symbols and relocations refer to sections by it. */
  readonly index: number;
  readonly name: string;
  /** sh_type, one of SectionType. */
  readonly type: number;
  /** sh_flags, see SectionFlags (the low 32 bits; BPF objects use no higher flag). */
  readonly flags: number;
  /** sh_offset: where the bytes start in the file. */
  readonly offset: number;
  /** sh_size: for SHT_NOBITS (.bss) the size in memory, with no bytes in the file. */
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
  /** The section's bytes: a view into the file, empty for SHT_NOBITS. */
  readonly data: Uint8Array;
}

export function isExecutable(section: ElfSection): boolean {
  return section.type === SectionType.PROGBITS && (section.flags & SectionFlags.EXECINSTR) !== 0;
}

/**
 * Reads `count` section headers at `tableOffset` and names them from the string table at
 * index `namesIndex` (e_shstrndx; 0 means the sections have no names).
 */
export function readSectionHeaders(
  file: ByteReader,
  tableOffset: number,
  count: number,
  entrySize: number,
  namesIndex: number,
): ElfSection[] {
  if (entrySize < SECTION_HEADER_SIZE) {
    throw file.fail(`section header size ${entrySize} is smaller than ${SECTION_HEADER_SIZE}`, 58);
  }
  file.check(tableOffset, count * entrySize, "section header table");
  const sections: ElfSection[] = new Array(count);
  const nameOffsets: number[] = new Array(count);
  for (let index = 0; index < count; index++) {
    // Elf64_Shdr, field by field (layout in layouts.ts): this loop runs for every section
    // of every object, so it reads at fixed offsets instead of through a schema.
    const at = tableOffset + index * entrySize;
    const type = file.u32(at + 4);
    const offset = file.u64AsNumber(at + 24, `section ${index} offset`);
    const size = file.u64AsNumber(at + 32, `section ${index} size`);
    const hasBytes = type !== SectionType.NOBITS && type !== SectionType.NULL;
    if (hasBytes && !(offset + size <= file.length)) {
      throw new ElfError(`section ${index} (offset ${offset}, size ${size}) extends past the end of the file (${file.length} bytes)`, {
        offset: at,
      });
    }
    nameOffsets[index] = file.u32(at);
    sections[index] = new Section(
      file.bytes,
      index,
      type,
      // sh_flags is 64 bits; every flag a BPF object uses is in the low word.
      file.u32(at + (file.littleEndian ? 8 : 12)),
      offset,
      size,
      file.u32(at + 40),
      file.u32(at + 44),
      file.u64AsNumber(at + 48, `section ${index} alignment`),
      file.u64AsNumber(at + 56, `section ${index} entry size`),
      hasBytes,
    );
  }
  if (namesIndex !== 0) {
    const namesSection = sections[namesIndex];
    if (namesSection === undefined) {
      throw new ElfError(`section name table index ${namesIndex} is past the ${count} sections`, { offset: 62 });
    }
    const names = new StringTable(namesSection, file.littleEndian);
    for (let index = 0; index < count; index++) {
      (sections[index] as Section).name = names.get(nameOffsets[index]);
    }
  }
  return sections;
}

const EMPTY = new Uint8Array(0);

/**
 * A section header, with its bytes viewed only when asked for: most sections of an object
 * (DWARF, BTF before it is needed) are never read, and a view costs an allocation.
 */
class Section implements ElfSection {
  name = "";
  #data: Uint8Array | undefined;
  readonly #file: Uint8Array;
  readonly #hasBytes: boolean;

  constructor(
    file: Uint8Array,
    readonly index: number,
    readonly type: number,
    readonly flags: number,
    readonly offset: number,
    readonly size: number,
    readonly link: number,
    readonly info: number,
    readonly addralign: number,
    readonly entsize: number,
    hasBytes: boolean,
  ) {
    this.#file = file;
    this.#hasBytes = hasBytes;
  }

  get data(): Uint8Array {
    return (this.#data ??= this.#hasBytes ? this.#file.subarray(this.offset, this.offset + this.size) : EMPTY);
  }
}

/** A string table (SHT_STRTAB): names are NUL-terminated strings at byte offsets into it. */
export class StringTable {
  private readonly reader: ByteReader;
  /** The whole table as one string when it is pure ASCII (byte offsets are then string indexes). */
  private readonly ascii: string | undefined;

  constructor(section: ElfSection, littleEndian: boolean) {
    if (section.type !== SectionType.STRTAB) {
      throw new ElfError(`section ${section.index} is used as a string table but has type ${section.type}`, {
        offset: section.offset,
        section: section.name || undefined,
      });
    }
    this.reader = new ByteReader(section.data, littleEndian, { region: section.name || `#${section.index}`, base: section.offset });
    // Decoding the table once is cheaper than decoding each of hundreds of names.
    this.ascii = isAscii(section.data) ? asciiDecoder.decode(section.data) : undefined;
  }

  get(offset: number): string {
    if (!(offset >= 0 && offset < this.reader.length)) throw this.reader.fail(`name offset ${offset} is outside the string table`, offset);
    if (this.ascii === undefined) return this.reader.cstring(offset);
    const end = this.ascii.indexOf("\0", offset);
    if (end < 0) throw this.reader.fail(`string at offset ${offset} is not NUL-terminated`, offset);
    return this.ascii.slice(offset, end);
  }
}

const asciiDecoder = new TextDecoder("utf-8");

function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] >= 0x80) return false;
  return true;
}
