// The object's BTF as parseObject hands it out: parsed from the spec's private copy of .BTF,
// with what the compiler could not know filled in (btf/fixup.ts): DATASEC sizes and variable
// offsets from the ELF file, and static linkage for hidden global subprograms. Both write
// into that copy, never into the caller's bytes.

import { decodeAscii } from "../common/reader.js";
import { parseBtf, type Btf } from "../btf/index.js";
import { fixupDatasecs, markFunctionsStatic } from "../btf/fixup.js";
import { SectionFlags, SymbolBinding, SymbolType, SymbolVisibility, isExecutable, type ElfFile, type ElfSection } from "../elf/index.js";

export interface ObjectBtf {
  btf: Btf;
  /** The DATASEC describing each ELF section: type id by section index. */
  datasecs: Map<number, number>;
}

/**
 * The object's BTF, parsed from `bytes` (a private copy of the .BTF section: the fixups write
 * into it), with DATASEC sizes and variable offsets filled in from the ELF file. `allocated`
 * are the file's SHF_ALLOC sections, the ones a DATASEC can describe.
 */
export function objectBtf(elf: ElfFile, bytes: Uint8Array, allocated: readonly ElfSection[]): ObjectBtf {
  const btf = parseBtf(bytes);
  const symbols = new FixupSymbols(elf);
  const datasecs = fixupDatasecs(btf, {
    sectionIndex: (strings, nameStart) => allocated.find((candidate) => candidate.nameEqualsBytes(strings, nameStart))?.index ?? -1,
    sectionSize: (index) => elf.sections[index].size,
    symbolOffset: (index, strings, nameStart) => symbols.variableOffset(index, strings, nameStart),
  });
  // Hidden global subprograms can be called from no other object: libbpf gives their BTF
  // FUNCs static linkage, so that the verifier checks them in their callers' context.
  if (symbols.hiddenSubprograms.length > 0) markFunctionsStatic(btf, symbols.hiddenSubprograms);
  return { btf, datasecs };
}

/** Variable symbols compared by name in place up to this many; past it, a map by name. */
const SCAN_LIMIT = 32;

/**
 * The symbols the BTF fixups ask about, found in one pass over the symbol table:
 * - global variables: STT_OBJECT symbols with STB_GLOBAL or STB_WEAK binding in allocated,
 *   non-code sections. The DATASEC fixup asks where each BTF_VAR_GLOBAL_ALLOCATED variable
 *   is; a static variable of the same name (objects linked from several files hold such
 *   pairs) has a local symbol elsewhere in the section and must not answer for it, as libbpf
 *   also rules. An object has a few, so a question compares the name's bytes in the two
 *   string tables in place; one with more than SCAN_LIMIT gets a map by name.
 * - hidden subprograms: global STT_FUNC symbols of .text with STV_HIDDEN or STV_INTERNAL
 *   visibility (`__hidden`).
 */
class FixupSymbols {
  /** Symbol indices of the variable candidates, and the section each is defined in. */
  readonly #candidates: number[] = [];
  readonly #sections: number[] = [];
  #byName: Map<string, number[]> | undefined;
  readonly hiddenSubprograms: string[] = [];

  constructor(private readonly elf: ElfFile) {
    const table = elf.symbolTable;
    for (let index = 1; index < table.count; index++) {
      const type = table.type(index);
      const binding = table.binding(index);
      if (type === SymbolType.OBJECT ? binding !== SymbolBinding.GLOBAL && binding !== SymbolBinding.WEAK : type !== SymbolType.FUNC || binding === SymbolBinding.LOCAL) continue;
      const sectionIndex = table.sectionIndex(index);
      const section = elf.sections[sectionIndex];
      if (section === undefined) continue;
      if (type === SymbolType.FUNC) {
        const visibility = table.visibility(index);
        if ((visibility === SymbolVisibility.HIDDEN || visibility === SymbolVisibility.INTERNAL) && section.name === ".text") {
          this.hiddenSubprograms.push(table.name(index));
        }
      } else if ((section.flags & SectionFlags.ALLOC) !== 0 && !isExecutable(section)) {
        this.#candidates.push(index);
        this.#sections.push(sectionIndex);
      }
    }
  }

  /**
   * Value (offset in the section) of the global variable's symbol in section `sectionIndex`
   * named by the NUL-terminated bytes at `nameStart` in `strings`.
   */
  variableOffset(sectionIndex: number, strings: Uint8Array, nameStart: number): number | undefined {
    const table = this.elf.symbolTable;
    const candidates = this.#candidates;
    if (candidates.length <= SCAN_LIMIT) {
      const sections = this.#sections;
      for (let i = 0; i < candidates.length; i++) {
        if (sections[i] === sectionIndex && table.nameEqualsBytes(candidates[i], strings, nameStart)) return table.value(candidates[i]);
      }
      return undefined;
    }
    // The map is keyed by decoded names; the bytes decide, as in the scan (two different
    // invalid UTF-8 names decode to the same string).
    const name = decodeAscii(strings, nameStart, strings.indexOf(0, nameStart));
    for (const index of this.#nameMap(candidates).get(name) ?? []) {
      if (table.sectionIndex(index) === sectionIndex && table.nameEqualsBytes(index, strings, nameStart)) return table.value(index);
    }
    return undefined;
  }

  #nameMap(candidates: readonly number[]): Map<string, number[]> {
    if (this.#byName === undefined) {
      this.#byName = new Map();
      const table = this.elf.symbolTable;
      for (const index of candidates) {
        const name = table.name(index);
        const list = this.#byName.get(name);
        if (list === undefined) this.#byName.set(name, [index]);
        else list.push(index);
      }
    }
    return this.#byName;
  }
}
