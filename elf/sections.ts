// Section headers: where each section's bytes are and what kind of section it is.

import { isAscii } from "node:buffer";
import { ElfError } from "../common/errors.js";
import { decodeAscii } from "../common/reader.js";
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
  /**
   * Whether the section's name has the bytes of the NUL-terminated string at `start` in
   * `strings` (another string table, such as BTF's), compared in place: no string is made.
   */
  nameEqualsBytes(strings: Uint8Array, start: number): boolean;
}

export function isExecutable(section: ElfSection): boolean {
  return section.type === SectionType.PROGBITS && (section.flags & SectionFlags.EXECINSTR) !== 0;
}

/** Where the section header table is and how to read it (from the ELF header). */
export interface SectionTable {
  /** e_shoff */
  offset: number;
  /** e_shnum, or section 0's sh_size under extended numbering. */
  count: number;
  /** e_shentsize */
  entrySize: number;
  /** e_shstrndx (0: the sections have no names). */
  namesIndex: number;
}

/**
 * Reads the section header table and names each section from the string table at
 * `table.namesIndex`. The table's extent is checked once; then each Elf64_Shdr is read
 * field by field at the offsets drawn in layouts.ts (this runs for every section of every
 * object, so it reads at fixed offsets instead of through a schema). Returns the sections
 * and the name table, which the symbol table usually shares (clang writes one .strtab).
 */
export function readSectionHeaders(
  bytes: Uint8Array,
  view: DataView,
  littleEndian: boolean,
  table: SectionTable,
): { sections: ElfSection[]; names: StringTable | undefined } {
  const { offset: tableOffset, count, entrySize, namesIndex } = table;
  if (entrySize < SECTION_HEADER_SIZE) {
    throw new ElfError(`section header size ${entrySize} is smaller than ${SECTION_HEADER_SIZE}`, { offset: 58 });
  }
  const fileLength = bytes.byteLength;
  if (!(tableOffset + count * entrySize <= fileLength)) {
    throw new ElfError(`section header table of ${count} x ${entrySize} bytes at offset ${tableOffset} runs past the end (${fileLength} bytes)`, {
      offset: 40,
    });
  }
  const le = littleEndian;
  const sections: Section[] = new Array(count);
  let largestNameOffset = 0;
  // Filled in once the name table is known (it is one of these sections).
  const source: NameSource = { table: undefined };
  for (let index = 0; index < count; index++) {
    const at = tableOffset + index * entrySize;
    const type = view.getUint32(at + 4, le);
    const offset = u64AsNumber(view, at + 24, le, "section # offset", index);
    const size = u64AsNumber(view, at + 32, le, "section # size", index);
    const hasBytes = type !== SectionType.NOBITS && type !== SectionType.NULL;
    if (hasBytes && !(offset + size <= fileLength)) {
      throw new ElfError(`section ${index} (offset ${offset}, size ${size}) extends past the end of the file (${fileLength} bytes)`, {
        offset: at,
      });
    }
    const nameOffset = view.getUint32(at, le);
    if (nameOffset > largestNameOffset) largestNameOffset = nameOffset;
    sections[index] = new Section(
      bytes,
      index,
      type,
      // sh_flags is 64 bits; every flag a BPF object uses is in the low word.
      view.getUint32(at + (le ? 8 : 12), le),
      offset,
      size,
      view.getUint32(at + 40, le),
      view.getUint32(at + 44, le),
      u64AsNumber(view, at + 48, le, "section # alignment", index),
      u64AsNumber(view, at + 56, le, "section # entry size", index),
      hasBytes,
      source,
      nameOffset,
    );
  }
  if (namesIndex === 0) return { sections, names: undefined };
  const namesSection = sections[namesIndex];
  if (namesSection === undefined) {
    throw new ElfError(`section name table index ${namesIndex} is past the ${count} sections`, { offset: 62 });
  }
  const names = new StringTable(namesSection);
  // Names are decoded when first read (a parse reads those of the sections it uses, not of
  // every relocation or DWARF section), but every offset is checked now, and so is the NUL
  // that ends the table, without which the last name would have no end.
  names.checkOffset(largestNameOffset);
  source.table = names;
  // Without the final NUL some name has no end: reading every name finds which, and says so.
  if (!names.endsWithNul) for (const section of sections) void section.name;
  return { sections, names };
}

/**
 * A 64-bit offset or size as a number. Values past 2^53 cannot address anything in a
 * buffer, so they are reported as out of bounds instead of losing precision. Two 32-bit
 * reads, no BigInt: this runs for every offset and size in a file. The caller has checked
 * that the 8 bytes are inside the view; `base` is the view's offset in the file, for errors.
 * `what` names the field for the error, with "#" standing for `index` (the section or
 * symbol number): the message is built only when it is needed, not on every read.
 */
export function u64AsNumber(view: DataView, at: number, littleEndian: boolean, what: string, index = 0, base = 0): number {
  const low = view.getUint32(at + (littleEndian ? 0 : 4), littleEndian);
  const high = view.getUint32(at + (littleEndian ? 4 : 0), littleEndian);
  // The usual case returns `low` itself: V8 keeps it a small integer, while the product
  // below is a double that costs a heap allocation in every object it is stored in.
  if (high === 0) return low;
  if (high > 0x1fffff) {
    throw new ElfError(`${what.replace("#", String(index))} ${view.getBigUint64(at, littleEndian)} is too large`, { offset: base + at });
  }
  return high * 0x100000000 + low;
}

const EMPTY = new Uint8Array(0);

/**
 * A section header, with its bytes viewed only when asked for: most sections of an object
 * (DWARF, BTF before it is needed) are never read, and a view costs an allocation.
 */
class Section implements ElfSection {
  // #private: what a section holds on to stays out of JSON.stringify, spreads and inspect
  // (the name table holds its own section, so plain fields would make a cycle).
  readonly #file: Uint8Array;
  readonly #hasBytes: boolean;
  readonly #names: NameSource;
  readonly #nameOffset: number;
  #view: Uint8Array | undefined;
  #name: string | undefined;

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
    names: NameSource,
    nameOffset: number,
  ) {
    this.#file = file;
    this.#hasBytes = hasBytes;
    this.#names = names;
    this.#nameOffset = nameOffset;
  }

  get name(): string {
    if (this.#name === undefined) this.#name = this.#names.table?.get(this.#nameOffset) ?? "";
    return this.#name;
  }

  nameEqualsBytes(strings: Uint8Array, start: number): boolean {
    const table = this.#names.table;
    return table === undefined ? strings[start] === 0 : table.equalsBytes(this.#nameOffset, strings, start);
  }

  get data(): Uint8Array {
    return (this.#view ??= this.#hasBytes ? this.#file.subarray(this.offset, this.offset + this.size) : EMPTY);
  }

  toJSON(): Omit<ElfSection, "data" | "nameEqualsBytes"> {
    const { index, name, type, flags, offset, size, link, info, addralign, entsize } = this;
    return { index, name, type, flags, offset, size, link, info, addralign, entsize };
  }
}

/** Where the sections' names come from: the section name table, once it is known (none: ""). */
interface NameSource {
  table: StringTable | undefined;
}

/** A string table (SHT_STRTAB): names are NUL-terminated strings at byte offsets into it. */
export class StringTable {
  private readonly bytes: Uint8Array;
  /** The whole table as one string when it is pure ASCII (byte offsets are then string indexes). */
  private readonly ascii: string | undefined;

  constructor(readonly section: ElfSection) {
    if (section.type !== SectionType.STRTAB) {
      throw new ElfError(`section ${section.index} is used as a string table but has type ${section.type}`, {
        offset: section.offset,
        section: section.name || undefined,
      });
    }
    this.bytes = section.data;
    // Decoding the table once is cheaper than decoding each of hundreds of names.
    this.ascii = isAscii(this.bytes) ? utf8.decode(this.bytes) : undefined;
  }

  /** Whether the table's last byte is a NUL, so that every name in it has an end. */
  get endsWithNul(): boolean {
    return this.bytes.byteLength > 0 && this.bytes[this.bytes.byteLength - 1] === 0;
  }

  /** Throws the ElfError get() would for an offset outside the table. */
  checkOffset(offset: number): void {
    if (!(offset >= 0 && offset < this.bytes.byteLength)) throw this.fail(`name offset ${offset} is outside the string table`, offset);
  }

  get(offset: number): string {
    this.checkOffset(offset);
    const end = this.ascii === undefined ? this.bytes.indexOf(0, offset) : this.ascii.indexOf("\0", offset);
    if (end < 0) throw this.fail(`string at offset ${offset} is not NUL-terminated`, offset);
    if (end === offset) return "";
    return this.ascii === undefined ? decodeAscii(this.bytes, offset, end) : this.ascii.slice(offset, end);
  }

  /**
   * Whether the string at `offset` has the bytes of the NUL-terminated string at `start` in
   * `other` (another string table, such as BTF's), compared in place. A string that runs off
   * either table's end is not equal to anything.
   */
  equalsBytes(offset: number, other: Uint8Array, start: number): boolean {
    const own = this.bytes;
    if (!(offset >= 0 && start >= 0)) return false;
    for (let i = 0; ; i++) {
      const byte = own[offset + i];
      // undefined past the end of either table: unequal, or (both undefined) not a string.
      if (byte !== other[start + i] || byte === undefined) return false;
      if (byte === 0) return true;
    }
  }

  /**
   * Whether the string at `offset` is one of the assembler's local labels: ".L...",
   * "LBB<digit>..." or "L<digit>...". Read from the bytes, without making the string.
   */
  isAssemblerLabel(offset: number): boolean {
    const b = this.bytes;
    if (!(offset >= 0 && offset + 4 <= b.byteLength)) return this.get(offset).match(/^(\.L|LBB\d|L\d)/) !== null;
    const first = b[offset];
    const second = b[offset + 1];
    if (first === 0x2e /* . */) return second === 0x4c /* L */;
    if (first !== 0x4c /* L */) return false;
    if (second >= 0x30 && second <= 0x39) return true;
    const fourth = b[offset + 3];
    return second === 0x42 /* B */ && b[offset + 2] === 0x42 /* B */ && fourth >= 0x30 && fourth <= 0x39;
  }

  private fail(message: string, offset: number): ElfError {
    return new ElfError(message, { offset: this.section.offset + offset, section: this.section.name || `#${this.section.index}` });
  }
}

const utf8 = new TextDecoder("utf-8");
