// The symbol table: names for functions (programs), maps, global variables and sections.

import { ElfError } from "../common/errors.js";
import { SHN_XINDEX, SectionType } from "./constants.js";
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
 * Reads the SHT_SYMTAB section. `names` is its string table (sh_link). `extendedIndices` is
 * the SHT_SYMTAB_SHNDX section, present only when an object has 65280 sections or more and
 * st_shndx says SHN_XINDEX.
 */
export function readSymbols(
  symtab: ElfSection,
  names: StringTable,
  littleEndian: boolean,
  extendedIndices: ElfSection | undefined,
): ElfSymbol[] {
  const region = symtab.name || ".symtab";
  if (symtab.size % SYMBOL_SIZE !== 0) {
    throw new ElfError(`symbol table size ${symtab.size} is not a multiple of ${SYMBOL_SIZE}`, { offset: symtab.offset, section: region });
  }
  // The section's extent was checked against the file when its header was read, so each
  // Elf64_Sym (layouts.ts) is read without a check per field.
  const data = symtab.data;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const shndx = extendedIndices === undefined ? undefined : extendedIndicesOf(extendedIndices, littleEndian);
  const le = littleEndian;
  const count = symtab.size / SYMBOL_SIZE;
  const symbols: ElfSymbol[] = new Array(count);
  for (let index = 0, at = 0; index < count; index++, at += SYMBOL_SIZE) {
    const info = data[at + 4];
    let sectionIndex = view.getUint16(at + 6, le);
    if (sectionIndex === SHN_XINDEX && shndx !== undefined) {
      if (index >= shndx.length) throw new ElfError(`symbol ${index} has no entry in ${extendedIndices!.name}`, { offset: extendedIndices!.offset });
      sectionIndex = shndx[index];
    }
    symbols[index] = {
      index,
      name: names.get(view.getUint32(at, le)),
      binding: info >> 4,
      type: info & 0xf,
      visibility: data[at + 5] & 0x3,
      sectionIndex,
      value: u64AsNumber(view, at + 8, le, `symbol ${index} value`, symtab.offset),
      size: u64AsNumber(view, at + 16, le, `symbol ${index} size`, symtab.offset),
    };
  }
  return symbols;
}

/** SHT_SYMTAB_SHNDX: one u32 section index per symbol. */
function extendedIndicesOf(section: ElfSection, littleEndian: boolean): number[] {
  const view = new DataView(section.data.buffer, section.data.byteOffset, section.data.byteLength);
  const indices: number[] = new Array(section.data.byteLength >>> 2);
  for (let i = 0; i < indices.length; i++) indices[i] = view.getUint32(i * 4, littleEndian);
  return indices;
}

export function findSymbolTable(sections: readonly ElfSection[]): { symtab?: ElfSection; shndx?: ElfSection } {
  let symtab: ElfSection | undefined;
  let shndx: ElfSection | undefined;
  for (const section of sections) {
    if (section.type === SectionType.SYMTAB) symtab ??= section;
    else if (section.type === SectionType.SYMTAB_SHNDX) shndx ??= section;
  }
  return { symtab, shndx };
}
