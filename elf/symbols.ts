// The symbol table: names for functions (programs), maps, global variables and sections.

import { ElfError } from "../common/errors.js";
import { SHN_XINDEX } from "./constants.js";
import { SYMBOL_SIZE } from "./layouts.js";
import { u64AsNumber, type ElfSection, type StringTable } from "./sections.js";

export interface ElfSymbol {
  /** Index in the symbol table; relocations refer to symbols by it. */
  readonly index: number;
  readonly name: string;
  /** STB_* from st_info's high nibble. */
  readonly binding: number;
  /** STT_* from st_info's low nibble. */
  readonly type: number;
  /** STV_* from st_other. */
  readonly visibility: number;
  /** Section the symbol is defined in (SHN_UNDEF for externs, SHN_ABS, SHN_COMMON...). */
  readonly sectionIndex: number;
  /** For a relocatable object, the offset of the symbol within its section. */
  readonly value: number;
  readonly size: number;
}

/**
 * The SHT_SYMTAB section, read in place: the fields of symbol i come straight from its
 * Elf64_Sym (layouts.ts), so scanning a table of hundreds of symbols (most of them jump
 * labels and DWARF section symbols) makes no object per symbol. `symbol(i)` and `all()` make
 * ElfSymbol objects for callers who want them, once each. The field readers take an index
 * below `count` and do not check it (scans loop up to count; symbol() checks its index):
 * they read through the whole file's view, where a larger index reads other bytes.
 *
 * `names` is the table's string table (sh_link). `extendedIndices` is the SHT_SYMTAB_SHNDX
 * section, present only when an object has 65280 sections or more and st_shndx says SHN_XINDEX.
 * `file` is a DataView of the whole file (ElfFile.view): symbol i is at symtab.offset + 24 i.
 */
export class SymbolTable {
  readonly count: number;
  private readonly view: DataView;
  /** Where the table starts in `view`. */
  private readonly base: number;
  private readonly objects: (ElfSymbol | undefined)[] = [];
  private readonly extended: number[] | undefined;

  constructor(
    symtab: ElfSection,
    private readonly names: StringTable,
    private readonly littleEndian: boolean,
    private readonly extendedIndices: ElfSection | undefined,
    file: DataView,
  ) {
    if (symtab.size % SYMBOL_SIZE !== 0) {
      throw new ElfError(`symbol table size ${symtab.size} is not a multiple of ${SYMBOL_SIZE}`, { offset: symtab.offset, section: symtab.name || ".symtab" });
    }
    // The section's extent was checked against the file when its header was read, so the
    // fields are read without a check each.
    this.view = file;
    this.base = symtab.offset;
    this.count = symtab.size / SYMBOL_SIZE;
    // Every name offset must lie inside the string table, whether or not the name is ever
    // read: a corrupt table is refused here, not by whichever later scan reads that name.
    // (One check of the largest: a call per symbol cost more than the rest of this constructor.)
    let largestNameOffset = 0;
    for (let index = 0; index < this.count; index++) {
      const nameOffset = this.view.getUint32(this.base + index * SYMBOL_SIZE, littleEndian);
      if (nameOffset > largestNameOffset) largestNameOffset = nameOffset;
    }
    if (this.count > 0) names.checkOffset(largestNameOffset);
    this.extended = extendedIndices === undefined ? undefined : extendedIndicesOf(extendedIndices, littleEndian);
  }

  /** STB_* (st_info's high nibble). */
  binding(index: number): number {
    return this.view.getUint8(this.base + index * SYMBOL_SIZE + 4) >> 4;
  }

  /** STT_* (st_info's low nibble). */
  type(index: number): number {
    return this.view.getUint8(this.base + index * SYMBOL_SIZE + 4) & 0xf;
  }

  /** STV_* (st_other's low two bits). */
  visibility(index: number): number {
    return this.view.getUint8(this.base + index * SYMBOL_SIZE + 5) & 0x3;
  }

  /** st_shndx, through SHT_SYMTAB_SHNDX when it says SHN_XINDEX. */
  sectionIndex(index: number): number {
    const sectionIndex = this.view.getUint16(this.base + index * SYMBOL_SIZE + 6, this.littleEndian);
    if (sectionIndex !== SHN_XINDEX || this.extended === undefined) return sectionIndex;
    const real = this.extended[index];
    if (real === undefined) throw new ElfError(`symbol ${index} has no entry in ${this.extendedIndices!.name}`, { offset: this.extendedIndices!.offset });
    return real;
  }

  /** st_value: for a relocatable object, the offset within the symbol's section. */
  value(index: number): number {
    return u64AsNumber(this.view, this.base + index * SYMBOL_SIZE + 8, this.littleEndian, "symbol # value", index);
  }

  size(index: number): number {
    return u64AsNumber(this.view, this.base + index * SYMBOL_SIZE + 16, this.littleEndian, "symbol # size", index);
  }

  name(index: number): string {
    return this.names.get(this.view.getUint32(this.base + index * SYMBOL_SIZE, this.littleEndian));
  }

  /** Whether symbol `index`'s name has the bytes of the NUL-terminated string at `start` in `strings`. */
  nameEqualsBytes(index: number, strings: Uint8Array, start: number): boolean {
    return this.names.equalsBytes(this.view.getUint32(this.base + index * SYMBOL_SIZE, this.littleEndian), strings, start);
  }

  /**
   * Whether the name is one of the assembler's local labels: ".L...", "LBB<digit>..." or
   * "L<digit>..." (jump targets, which clang leaves as STT_NOTYPE symbols in code sections;
   * objects have dozens). Read from the string table's bytes, without making the name.
   */
  isAssemblerLabel(index: number): boolean {
    return this.names.isAssemblerLabel(this.view.getUint32(this.base + index * SYMBOL_SIZE, this.littleEndian));
  }

  /** Symbol `index` as an object (made once), or undefined past the end of the table. */
  symbol(index: number): ElfSymbol | undefined {
    if (!(index >= 0 && index < this.count)) return undefined;
    let symbol = this.objects[index];
    if (symbol === undefined) {
      symbol = {
        index,
        name: this.name(index),
        binding: this.binding(index),
        type: this.type(index),
        visibility: this.visibility(index),
        sectionIndex: this.sectionIndex(index),
        value: this.value(index),
        size: this.size(index),
      };
      this.objects[index] = symbol;
    }
    return symbol;
  }

  /** Every symbol as an object, in table order. */
  all(): ElfSymbol[] {
    const symbols: ElfSymbol[] = new Array(this.count);
    for (let index = 0; index < this.count; index++) symbols[index] = this.symbol(index)!;
    return symbols;
  }
}

/** SHT_SYMTAB_SHNDX: one u32 section index per symbol. */
function extendedIndicesOf(section: ElfSection, littleEndian: boolean): number[] {
  const view = new DataView(section.data.buffer, section.data.byteOffset, section.data.byteLength);
  const indices: number[] = new Array(section.data.byteLength >>> 2);
  for (let i = 0; i < indices.length; i++) indices[i] = view.getUint32(i * 4, littleEndian);
  return indices;
}
