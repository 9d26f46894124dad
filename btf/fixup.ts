// What the compiler leaves for the loader to fill in: clang cannot know where the linker
// will place global variables, so each DATASEC (one per data section: .data, .bss,
// .rodata, .maps, license...) is written with size 0, and on some compilers each variable's
// offset as 0 too. The kernel refuses a DATASEC of size 0 (btf_datasec_check_meta), and
// wants its variables in increasing offset order. The ELF file has the facts: the section's
// size and each variable's symbol value. Pure: the caller passes those facts in.

import type { Btf } from "./parse.js";
import type { BtfVarSecinfo } from "./types.js";

/** btf_var.linkage of a global variable defined in this object (BTF_VAR_GLOBAL_ALLOCATED). */
const BTF_VAR_GLOBAL_ALLOCATED = 1;

export interface DataSectionFacts {
  /** Size in bytes of the ELF section with this name, or undefined if there is none. */
  sectionSize(name: string): number | undefined;
  /** Value (offset in its section) of the ELF symbol `variable` defined in section `section`. */
  symbolOffset(section: string, variable: string): number | undefined;
}

/**
 * DATASEC sizes and variable offsets from the ELF file. Returns the BTF unchanged (the same
 * object) when nothing needs fixing, otherwise a copy of its bytes with those fields
 * written in place (types, ids and strings untouched, so .BTF.ext offsets stay valid).
 */
export function fixupDatasecs(btf: Btf, facts: DataSectionFacts): Btf | Uint8Array {
  let copy: DataView | undefined;
  for (let id = btf.firstTypeId; id < btf.typeCount; id++) {
    if (btf.kindOf(id) !== 15 /* BTF_KIND_DATASEC */) continue;
    const datasec = btf.type(id);
    if (datasec.kind !== "datasec") continue;
    // .kconfig and .ksyms describe externs the loader provides, not ELF sections.
    if (datasec.name === ".kconfig" || datasec.name === ".ksyms") continue;
    const size = datasec.size === 0 ? facts.sectionSize(datasec.name) ?? 0 : datasec.size;
    const vars: BtfVarSecinfo[] = datasec.vars.map((secinfo) => {
      const variable = btf.type(secinfo.type);
      // Static variables keep the offset the compiler wrote (their symbol names need not be
      // unique); extern ones have no place in the file.
      if (variable.kind !== "var" || variable.linkage !== BTF_VAR_GLOBAL_ALLOCATED) return secinfo;
      const offset = facts.symbolOffset(datasec.name, variable.name);
      return offset === undefined ? secinfo : { ...secinfo, offset };
    });
    vars.sort((a, b) => a.offset - b.offset);
    const changed = size !== datasec.size || vars.some((v, i) => v.offset !== datasec.vars[i].offset || v.type !== datasec.vars[i].type);
    if (!changed) continue;
    copy ??= dataViewOf(btf.bytes.slice());
    // struct btf_type: size at +8; then vlen struct btf_var_secinfo { type, offset, size }.
    const record = btf.recordOffset(id);
    const le = btf.littleEndian;
    copy.setUint32(record + 8, size, le);
    vars.forEach((v, i) => {
      const entry = record + 12 + i * 12;
      copy!.setUint32(entry, v.type, le);
      copy!.setUint32(entry + 4, v.offset, le);
      copy!.setUint32(entry + 8, v.size, le);
    });
  }
  return copy === undefined ? btf : new Uint8Array(copy.buffer, copy.byteOffset, copy.byteLength);
}

function dataViewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
