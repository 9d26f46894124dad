// Static initialization of BTF-defined prog arrays and maps of maps:
//
//   struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); ... __array(values, int()); }
//     jump_table SEC(".maps") = { .values = { [1] = &tail_1 } };
//
// The compiler cannot know fds, so the `values` array is all zeroes in the section and each
// initialized slot gets a relocation (R_BPF_64_ABS64) naming the program or map symbol. The
// slot index is where the relocation lands: (offset - map start - offset of `values`) / 8,
// since the array holds 8-byte pointers.

import { SpecError } from "../common/errors.js";
import { SectionType, SymbolType, isExecutable, type ElfFile, type ElfRelocation, type ElfSection, type ElfSymbol } from "../elf/index.js";
import type { Btf } from "../btf/index.js";
import type { MapInitialValue, MapSpec } from "./spec.js";

const POINTER_SIZE = 8;

/** Reads `.rel.maps` into each map's initialValues; refuses other non-zero data in `.maps`. */
export function readMapInitialValues(elf: ElfFile, section: ElfSection, btf: Btf, maps: ReadonlyMap<string, MapSpec>): void {
  const relocations = elf.relocationsFor(section);
  const data = section.data;
  if (relocations.length === 0 && isAllZero(data)) return; // the usual case: nothing initialized
  const definitions = elf.symbolsIn(section.index).filter((s) => s.type === SymbolType.OBJECT && maps.has(s.name));
  const relocated = new Set<number>();
  for (const relocation of relocations) {
    const container = definitions.find((s) => relocation.offset >= s.value && relocation.offset < s.value + s.size);
    const target = elf.symbol(relocation.symbolIndex);
    const part = container?.name ?? section.name;
    if (container === undefined || target === undefined) {
      throw new SpecError(`relocation at byte ${relocation.offset} of ${section.name} is not inside a map definition`, { part });
    }
    const spec = maps.get(container.name)!;
    const index = (relocation.offset - container.value - valuesOffset(btf, spec, container)) / POINTER_SIZE;
    if (!Number.isInteger(index) || index < 0 || index >= spec.maxEntries) {
      throw new SpecError(`only the values array can be initialized, and only within max_entries ${spec.maxEntries}`, { part });
    }
    if (relocation.offset + POINTER_SIZE > data.length) throw new SpecError(`relocation at byte ${relocation.offset} of ${section.name} runs past its end`, { part });
    const named = target.type === SymbolType.SECTION ? symbolAtAddend(elf, section, relocation, target, index, part) : target;
    (spec.initialValues ??= []).push(initialValue(elf, named, index, part));
    for (let i = 0; i < POINTER_SIZE; i++) relocated.add(relocation.offset + i);
  }
  // libbpf and cilium/ebpf load no other initial data for BTF maps; a non-zero byte would be lost.
  for (let offset = 0; offset < data.length; offset++) {
    if (data[offset] !== 0 && !relocated.has(offset)) {
      const owner = definitions.find((s) => offset >= s.value && offset < s.value + s.size);
      throw new SpecError(`byte ${offset} of ${section.name} is initialized; a BTF map definition can only initialize .values with pointers`, {
        part: owner?.name ?? section.name,
      });
    }
  }
}

function isAllZero(bytes: Uint8Array): boolean {
  let any = 0;
  for (let i = 0; i < bytes.length; i++) any |= bytes[i];
  return any === 0;
}

/**
 * The function or map a relocation against a section symbol points to. Clang names a static
 * function that way (`[1] = &tail_1` with tail_1 static): the symbol is its section's, and the
 * addend is the target's offset in that section: in the 8 bytes being relocated for SHT_REL
 * (clang, gcc), in r_addend for SHT_RELA.
 */
function symbolAtAddend(elf: ElfFile, maps: ElfSection, relocation: ElfRelocation, sectionSymbol: ElfSymbol, index: number, part: string): ElfSymbol {
  const withAddend = elf.relocationSections.get(maps.index)?.type === SectionType.RELA;
  const addend = withAddend ? relocation.addend : elf.view.getBigUint64(maps.offset + relocation.offset, elf.littleEndian);
  const offset = sectionSymbol.value + Number(addend);
  const section = elf.sections[sectionSymbol.sectionIndex];
  const wanted = section !== undefined && isExecutable(section) ? SymbolType.FUNC : SymbolType.OBJECT;
  const found = elf.symbolsIn(sectionSymbol.sectionIndex).find((symbol) => symbol.type === wanted && symbol.value === offset && symbol.name !== "");
  if (found === undefined) {
    throw new SpecError(`values[${index}] points to byte ${addend} of ${section?.name ?? `section ${sectionSymbol.sectionIndex}`}, where no function or map starts`, { part });
  }
  return found;
}

function initialValue(elf: ElfFile, target: ElfSymbol, index: number, part: string): MapInitialValue {
  const section = elf.sections[target.sectionIndex];
  if (section !== undefined && isExecutable(section)) return { index, kind: "program", name: target.name };
  if (section !== undefined && section.name === ".maps") return { index, kind: "map", name: target.name };
  throw new SpecError(`values[${index}] points to ${target.name}, which is neither a program nor a map`, { part });
}

/** Byte offset of the `values` member in the map's definition struct. */
function valuesOffset(btf: Btf, spec: MapSpec, symbol: ElfSymbol): number {
  const datasec = btf.typeByName(".maps", "datasec");
  const variable = datasec?.kind === "datasec" ? datasec.vars.map((v) => btf.type(v.type)).find((v) => v.name === symbol.name) : undefined;
  const definition = variable?.kind === "var" ? btf.resolve(variable.type) : undefined;
  const member = definition?.kind === "struct" ? definition.members.find((m) => m.name === "values") : undefined;
  if (member === undefined) throw new SpecError("has initial values but no `values` member (declare it with __array(values, ...))", { part: spec.name });
  return member.bitOffset / 8;
}
