// Relocation sections: "patch the instruction at r_offset of section sh_info with symbol N".
// BPF objects use SHT_REL (no addend: the addend sits in the instruction's immediate);
// SHT_RELA is accepted too.

import { ElfError } from "../common/errors.js";
import { SectionType } from "./constants.js";
import { RELA_SIZE, REL_SIZE } from "./layouts.js";
import { u64AsNumber, type ElfSection } from "./sections.js";

export interface ElfRelocation {
  /** Byte offset in the patched section; for code, instruction slot = offset / 8. */
  readonly offset: number;
  /** Index into the symbol table. */
  readonly symbolIndex: number;
  /** R_BPF_* relocation type. */
  readonly type: number;
  /** r_addend for SHT_RELA, 0 for SHT_REL. */
  readonly addend: bigint;
}

/** The entries of relocation section `section`, read through `file`, a DataView of the whole file (ElfFile.view). */
export function readRelocations(section: ElfSection, littleEndian: boolean, file: DataView): ElfRelocation[] {
  const withAddend = section.type === SectionType.RELA;
  if (!withAddend && section.type !== SectionType.REL) {
    throw new ElfError(`section is not a relocation section (type ${section.type})`, { offset: section.offset, section: section.name });
  }
  const entrySize = withAddend ? RELA_SIZE : REL_SIZE;
  if (section.size % entrySize !== 0) {
    throw new ElfError(`relocation section size ${section.size} is not a multiple of ${entrySize}`, {
      offset: section.offset,
      section: section.name,
    });
  }
  // The section's extent was checked when its header was read: no check per field.
  const view = file;
  const count = section.size / entrySize;
  const relocations: ElfRelocation[] = new Array(count);
  for (let i = 0, at = section.offset; i < count; i++, at += entrySize) {
    // r_info = symbol index << 32 | type: read the two 32-bit halves in file order.
    const infoLow = view.getUint32(at + (littleEndian ? 8 : 12), littleEndian);
    const infoHigh = view.getUint32(at + (littleEndian ? 12 : 8), littleEndian);
    relocations[i] = {
      offset: u64AsNumber(view, at, littleEndian, "relocation offset"),
      symbolIndex: infoHigh,
      type: infoLow,
      addend: withAddend ? view.getBigInt64(at + 16, littleEndian) : 0n,
    };
  }
  return relocations;
}
