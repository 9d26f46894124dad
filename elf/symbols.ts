// The symbol table: names for functions (programs), maps, global variables and sections.

import { ByteReader } from "../common/reader.js";
import { ElfError } from "../common/errors.js";
import { SHN_XINDEX, SectionType } from "./constants.js";
import { SYMBOL_SIZE } from "./layouts.js";
import { StringTable, type ElfSection } from "./sections.js";

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
 * Reads the SHT_SYMTAB section. `extendedIndices` is the SHT_SYMTAB_SHNDX section, present
 * only when an object has 65280 sections or more and st_shndx says SHN_XINDEX.
 */
export function readSymbols(
  symtab: ElfSection,
  sections: readonly ElfSection[],
  littleEndian: boolean,
  extendedIndices: ElfSection | undefined,
): ElfSymbol[] {
  const region = symtab.name || ".symtab";
  if (symtab.size % SYMBOL_SIZE !== 0) {
    throw new ElfError(`symbol table size ${symtab.size} is not a multiple of ${SYMBOL_SIZE}`, { offset: symtab.offset, section: region });
  }
  const strings = sections[symtab.link];
  if (strings === undefined) {
    throw new ElfError(`symbol table names string table ${symtab.link}, which does not exist`, { offset: symtab.offset, section: region });
  }
  const names = new StringTable(strings, littleEndian);
  const table = new ByteReader(symtab.data, littleEndian, { region, base: symtab.offset });
  const shndx = extendedIndices === undefined ? undefined : new ByteReader(extendedIndices.data, littleEndian, { region: extendedIndices.name });

  const count = symtab.size / SYMBOL_SIZE;
  const symbols: ElfSymbol[] = new Array(count);
  for (let index = 0; index < count; index++) {
    const at = index * SYMBOL_SIZE;
    const info = table.u8(at + 4);
    let sectionIndex = table.u16(at + 6);
    if (sectionIndex === SHN_XINDEX && shndx !== undefined) sectionIndex = shndx.u32(index * 4);
    symbols[index] = {
      index,
      name: names.get(table.u32(at)),
      binding: info >> 4,
      type: info & 0xf,
      visibility: table.u8(at + 5) & 0x3,
      sectionIndex,
      value: table.u64AsNumber(at + 8, "symbol value"),
      size: table.u64AsNumber(at + 16, "symbol size"),
    };
  }
  return symbols;
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
