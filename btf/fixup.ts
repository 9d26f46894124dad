// What the compiler leaves for the loader to fill in: clang cannot know where the linker
// will place global variables, so each DATASEC (one per data section: .data, .bss,
// .rodata, .maps, license...) is written with size 0, and on some compilers each variable's
// offset as 0 too. The kernel refuses a DATASEC of size 0 (btf_datasec_check_meta), and
// wants its variables in increasing offset order. The ELF file has the facts: the section's
// size and each variable's symbol value. The caller passes those facts in; nothing here
// reads the ELF file.

import type { Btf } from "./parse.js";
import type { BtfVarSecinfo } from "./types.js";
import { BtfKind } from "./kinds.js";

/** btf_var.linkage of a global variable defined in this object (BTF_VAR_GLOBAL_ALLOCATED). */
const BTF_VAR_GLOBAL_ALLOCATED = 1;

export interface DataSectionFacts {
  /** Size in bytes of the ELF section with this name, or undefined if there is none. */
  sectionSize(name: string): number | undefined;
  /** Value (offset in its section) of the ELF symbol `variable` defined in section `section`. */
  symbolOffset(section: string, variable: string): number | undefined;
}

/**
 * Writes DATASEC sizes and variable offsets from the ELF file into `btf.bytes`, in place
 * (types, ids and strings untouched, so .BTF.ext offsets stay valid), and returns the ids of
 * every DATASEC by name. The bytes must be the caller's own: parseObject's private copy of
 * the object, or a copy made for the purpose.
 */
export function fixupDatasecs(btf: Btf, facts: DataSectionFacts): Map<string, number> {
  const datasecs = new Map<string, number>();
  const le = btf.littleEndian;
  let view: DataView | undefined;
  for (let id = btf.firstTypeId; id < btf.typeCount; id++) {
    if (btf.kindOf(id) !== BtfKind.DATASEC) continue;
    const datasec = btf.type(id);
    if (datasec.kind !== "datasec") continue;
    if (!datasecs.has(datasec.name)) datasecs.set(datasec.name, id);
    // .kconfig and .ksyms describe externs the loader provides, not ELF sections.
    if (datasec.name === ".kconfig" || datasec.name === ".ksyms") continue;
    const size = datasec.size === 0 ? facts.sectionSize(datasec.name) ?? 0 : datasec.size;
    let vars: BtfVarSecinfo[] | undefined;
    for (let i = 0; i < datasec.vars.length; i++) {
      const secinfo = datasec.vars[i];
      const variable = btf.type(secinfo.type);
      // Static variables keep the offset the compiler wrote (their symbol names need not be
      // unique); extern ones have no place in the file.
      if (variable.kind !== "var" || variable.linkage !== BTF_VAR_GLOBAL_ALLOCATED) continue;
      const offset = facts.symbolOffset(datasec.name, variable.name);
      if (offset === undefined || offset === secinfo.offset) continue;
      vars ??= datasec.vars.slice();
      vars[i] = { ...secinfo, offset };
    }
    if (vars === undefined && size === datasec.size && isSorted(datasec.vars)) continue;
    vars ??= datasec.vars.slice();
    vars.sort((a, b) => a.offset - b.offset);
    // struct btf_type: size at +8; then vlen x struct btf_var_secinfo { type, offset, size }.
    view ??= new DataView(btf.bytes.buffer, btf.bytes.byteOffset, btf.bytes.byteLength);
    const record = btf.recordOffset(id);
    view.setUint32(record + 8, size, le);
    for (let i = 0; i < vars.length; i++) {
      const entry = record + 12 + i * 12;
      view.setUint32(entry, vars[i].type, le);
      view.setUint32(entry + 4, vars[i].offset, le);
      view.setUint32(entry + 8, vars[i].size, le);
    }
    btf.reread(id);
  }
  return datasecs;
}

function isSorted(vars: readonly BtfVarSecinfo[]): boolean {
  for (let i = 1; i < vars.length; i++) if (vars[i].offset < vars[i - 1].offset) return false;
  return true;
}
