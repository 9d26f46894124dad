// What the compiler leaves for the loader to fill in: clang cannot know where the linker
// will place global variables, so each DATASEC (one per data section: .data, .bss,
// .rodata, .maps, license...) is written with size 0, and on some compilers each variable's
// offset as 0 too. The kernel refuses a DATASEC of size 0 (btf_datasec_check_meta), and
// wants its variables in increasing offset order. The ELF file has the facts: the section's
// size and each variable's symbol value. The caller passes those facts in; nothing here
// reads the ELF file.
//
// The records are read and written in place, without decoding them into BtfType objects,
// and a variable's name is handed over as the place of its bytes in the string section, not
// as a string: this runs in every parse of every object, and most objects need a few words
// changed.
//
//   struct btf_type { name_off, info (kind << 24 | vlen), size }              12 bytes
//   DATASEC: then vlen x struct btf_var_secinfo { type, offset, size }        12 bytes each
//   VAR:     then struct btf_var { linkage }                                   4 bytes
//
// One more rewrite the loader owes the kernel, as libbpf makes it: hidden global functions
// (`__hidden`) get static FUNC linkage (markFunctionsStatic, below).

import type { Btf } from "./parse.js";
import { BtfKind } from "./kinds.js";
import { BtfError } from "../common/errors.js";

/** btf_var.linkage of a global variable defined in this object (BTF_VAR_GLOBAL_ALLOCATED). */
const BTF_VAR_GLOBAL_ALLOCATED = 1;

/**
 * What the ELF file says, asked with names as the place of their bytes in the BTF's own
 * string section (`strings`, whose last byte is a NUL; `nameStart` is where a name's
 * NUL-terminated bytes begin), for the caller to compare in place.
 */
export interface DataSectionFacts {
  /** The index of the ELF section with this name, or -1 if there is none. */
  sectionIndex(strings: Uint8Array, nameStart: number): number;
  /** The size in bytes of ELF section `section`. */
  sectionSize(section: number): number;
  /** Value (offset in the section) of the symbol with this name defined in ELF section `section`. */
  symbolOffset(section: number, strings: Uint8Array, nameStart: number): number | undefined;
}

/**
 * Writes DATASEC sizes and variable offsets from the ELF file into `btf.bytes`, in place
 * (types, ids and strings untouched, so .BTF.ext offsets stay valid), and returns which
 * DATASEC describes each ELF section: type id by section index. The bytes must be the
 * caller's own: parseObject's private copy of .BTF, or a copy made for the purpose.
 */
export function fixupDatasecs(btf: Btf, facts: DataSectionFacts): Map<number, number> {
  const datasecs = new Map<number, number>();
  const le = btf.littleEndian;
  // Records are found through the index (btf.offsets, relative to the type section).
  const view = btf.records;
  const { offsets } = btf;
  // An object's BTF stands alone; split BTF (a kernel module's) has no ELF sections to fix.
  if (btf.base !== undefined) throw new BtfError("DATASEC fixup applies to an object's own BTF, not to split BTF");
  // Name offsets were checked against this section when the types were indexed.
  const strings = btf.strings.bytes;
  for (let i = 1; i < offsets.length; i++) {
    const record = offsets[i];
    const info = view.getUint32(record + 4, le);
    if (((info >>> 24) & 0x1f) !== BtfKind.DATASEC) continue;
    const name = view.getUint32(record, le);
    // .kconfig and .ksyms describe externs the loader provides, not ELF sections.
    if (bytesSpell(strings, name, ".kconfig") || bytesSpell(strings, name, ".ksyms")) continue;
    const section = facts.sectionIndex(strings, name);
    if (section >= 0 && !datasecs.has(section)) datasecs.set(section, btf.firstTypeId + i - 1);
    const vlen = info & 0xffff;
    const declaredSize = view.getUint32(record + 8, le);
    const size = declaredSize === 0 && section >= 0 ? facts.sectionSize(section) : declaredSize;
    let changed = size !== declaredSize;
    if (changed) view.setUint32(record + 8, size, le);
    let sorted = true;
    let previous = 0;
    for (let v = 0; v < vlen; v++) {
      const entry = record + 12 + v * 12;
      let offset = view.getUint32(entry + 4, le);
      // Static variables keep the offset the compiler wrote (their symbol names need not be
      // unique); extern ones have no place in the file.
      const variable = allocatedGlobal(btf, view.getUint32(entry, le));
      if (variable !== NOT_ALLOCATED && section >= 0) {
        const placed = facts.symbolOffset(section, strings, view.getUint32(variable, le));
        if (placed !== undefined && placed !== offset) {
          view.setUint32(entry + 4, placed, le);
          offset = placed;
          changed = true;
        }
      }
      if (offset < previous) sorted = false;
      previous = offset;
    }
    if (!sorted) sortByOffset(view, record + 12, vlen, le);
    if (changed || !sorted) btf.reread(btf.firstTypeId + i - 1);
  }
  return datasecs;
}

/** BTF_FUNC_STATIC and BTF_FUNC_GLOBAL: a FUNC record's linkage, kept in its vlen bits. */
const BTF_FUNC_STATIC = 0;
const BTF_FUNC_GLOBAL = 1;

/**
 * Gives every global BTF FUNC named one of `names` static linkage. A global function with
 * hidden or internal visibility (`__hidden`) can be called from no other object, so, as
 * libbpf does, the verifier may check it as a static function: in the context of each call,
 * knowing what its pointer arguments point to, instead of from its declared types alone
 * (which refuses, for one, dereferencing an `int *` argument that could be NULL).
 */
export function markFunctionsStatic(btf: Btf, names: readonly string[]): void {
  if (btf.base !== undefined) throw new BtfError("FUNC linkage fixup applies to an object's own BTF, not to split BTF");
  for (const name of names) {
    for (const id of btf.idsByName(name)) {
      if (btf.kindOf(id) !== BtfKind.FUNC) continue;
      const info = btf.records.getUint32(btf.offsets[id] + 4, btf.littleEndian);
      if ((info & 0xffff) !== BTF_FUNC_GLOBAL) continue;
      btf.records.setUint32(btf.offsets[id] + 4, ((info & ~0xffff) | BTF_FUNC_STATIC) >>> 0, btf.littleEndian);
      btf.reread(id);
    }
  }
}

/** Whether the NUL-terminated bytes at `start` spell the ASCII `text`. */
function bytesSpell(bytes: Uint8Array, start: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) if (bytes[start + i] !== text.charCodeAt(i)) return false;
  return bytes[start + text.length] === 0;
}

/** Sorts `count` btf_var_secinfo records at `at` by offset, in place. */
function sortByOffset(view: DataView, at: number, count: number, le: boolean): void {
  const entries = [];
  for (let v = 0; v < count; v++) {
    const entry = at + v * 12;
    entries.push({ type: view.getUint32(entry, le), offset: view.getUint32(entry + 4, le), size: view.getUint32(entry + 8, le) });
  }
  entries.sort((a, b) => a.offset - b.offset);
  for (let v = 0; v < count; v++) {
    const entry = at + v * 12;
    view.setUint32(entry, entries[v].type, le);
    view.setUint32(entry + 4, entries[v].offset, le);
    view.setUint32(entry + 8, entries[v].size, le);
  }
}

const NOT_ALLOCATED = -1;

/**
 * Where the record of type `id` is in the type section when it is a VAR with
 * BTF_VAR_GLOBAL_ALLOCATED linkage (struct btf_var follows its 12-byte header); else NOT_ALLOCATED.
 * kindOf refuses an id that is not one of this BTF's types (and the BTF is not split: all are its own).
 */
function allocatedGlobal(btf: Btf, id: number): number {
  if (btf.kindOf(id) !== BtfKind.VAR) return NOT_ALLOCATED;
  const record = btf.offsets[id - btf.firstTypeId + 1];
  return btf.records.getUint32(record + 12, btf.littleEndian) === BTF_VAR_GLOBAL_ALLOCATED ? record : NOT_ALLOCATED;
}
