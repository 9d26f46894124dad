// C layout facts of BTF types: alignment, whether a struct must be packed, and sizes that
// tolerate types without one. The C dumper needs them to write a struct that the compiler
// lays out exactly as the BTF says (same member offsets, same size).
//
// BTF records sizes and member bit offsets but not alignment; alignment is inferred the way
// a C compiler assigns it on the BPF target (and x86-64): a scalar is aligned to its size,
// capped at the pointer size; an aggregate to its most aligned member. A struct whose
// offsets or size contradict that inference was declared __attribute__((packed)).

import type { Btf } from "./parse.js";
import type { BtfStruct } from "./types.js";

/** Pointer size of the BPF target (and of every 64-bit kernel whose BTF we read). */
export const POINTER_SIZE = 8;

/**
 * Alignment in bytes of the type `id` as C would give it, 1 for a struct or union that
 * must be packed, 0 for a type that has none (void, function prototype, forward
 * declaration, variable).
 */
export function alignOf(btf: Btf, id: number): number {
  for (let depth = 0; depth < 64; depth++) {
    const type = btf.type(id);
    switch (type.kind) {
      case "int":
      case "enum":
      case "enum64":
      case "float":
        return Math.min(POINTER_SIZE, type.size);
      case "ptr":
        return POINTER_SIZE;
      case "typedef":
      case "volatile":
      case "const":
      case "restrict":
      case "type_tag":
        id = type.type;
        continue;
      case "array":
        id = type.type;
        continue;
      case "struct":
      case "union":
        return aggregateAlign(btf, type);
      default:
        return 0;
    }
  }
  return 0;
}

/** The most strict member alignment, or 1 when an offset or the size shows the struct is packed. */
function aggregateAlign(btf: Btf, type: BtfStruct): number {
  let max = 1;
  for (const m of type.members) {
    const align = alignOf(btf, m.type);
    if (align === 0) return 0;
    max = Math.max(max, align);
    // An ordinary member at an offset its type's alignment forbids: only packing allows that.
    if (m.bitfieldSize === 0 && m.bitOffset % (8 * align) !== 0) return 1;
  }
  // A C compiler rounds a struct's size up to a multiple of its alignment.
  return type.size % max === 0 ? max : 1;
}

/**
 * True if the struct cannot be written without __attribute__((packed)): a non-bitfield
 * member sits off its natural alignment, or the size is not a multiple of the largest
 * member alignment. A struct declared packed whose layout happens to be natural is not
 * reported; writing it unpacked gives the same layout.
 */
export function isStructPacked(btf: Btf, type: BtfStruct): boolean {
  let max = 1;
  for (const m of type.members) {
    const align = alignOf(btf, m.type);
    if (align !== 0 && m.bitfieldSize === 0 && m.bitOffset % (8 * align) !== 0) return true;
    max = Math.max(max, align);
  }
  return type.size % max !== 0;
}

/** Size in bytes of a type, or 0 for one without a size (void, function prototype, fwd). */
export function sizeOrZero(btf: Btf, id: number): number {
  for (let depth = 0; depth < 64; depth++) {
    const type = btf.type(id);
    switch (type.kind) {
      case "int":
      case "enum":
      case "enum64":
      case "float":
      case "struct":
      case "union":
      case "datasec":
        return type.size;
      case "ptr":
        return POINTER_SIZE;
      case "typedef":
      case "volatile":
      case "const":
      case "restrict":
      case "type_tag":
      case "var":
      case "decl_tag":
        id = type.type;
        continue;
      case "array": {
        const element = sizeOrZero(btf, type.type);
        return element * type.nelems;
      }
      default:
        return 0;
    }
  }
  return 0;
}
