// CO-RE values: what a relocation's instruction holds (computed from the local BTF) and
// what it must hold instead (computed from the target BTF), per kind (enum bpf_core_relo_kind):
//
//   FIELD_BYTE_OFFSET  byte offset of the field from the start of the root type; for a
//                      bitfield, of the smallest naturally aligned 1/2/4/8-byte word holding it
//   FIELD_BYTE_SIZE    bytes of the field (of that word, for a bitfield)
//   FIELD_EXISTS       1 when the target has the field, else 0
//   FIELD_SIGNED       1 for a signed int or a signed enum
//   FIELD_LSHIFT_U64   left shift that puts the field's top bit at bit 63 of a u64 holding
//   FIELD_RSHIFT_U64   that word, and the right shift that then brings the field down to bit 0
//                      (BPF_CORE_READ_BITFIELD: val << lshift >> rshift, arithmetic if signed)
//   TYPE_ID_LOCAL      the type's id in the program's own BTF
//   TYPE_ID_TARGET     the id of the matching type in the target BTF, 0 when none
//   TYPE_EXISTS        1 when the target has a compatible type, else 0
//   TYPE_MATCHES       1 when the target has a matching type (the strict rule), else 0
//   TYPE_SIZE          sizeof the target type, 0 when none
//   ENUMVAL_EXISTS     1 when the target enum has the enumerator, else 0
//   ENUMVAL_VALUE      the enumerator's value in the target (64-bit for ENUM64; a 32-bit
//                      ENUM value is sign-extended, see enumValue)
//
// "Exists"-style kinds answer 0 when there is no target; the others (an offset of a field
// that is not there, the value of a missing enumerator) have no answer: the instruction is
// poisoned instead (see core-patch.ts), which is harmless when the program guards it.

import { BtfError } from "../common/errors.js";
import { CoreReloKind } from "./ext.js";
import { kindClass, type CoreAccess } from "./core-access.js";

/** One side's answer: the value, and for a field offset the field's size and type (for loads). */
interface Side {
  readonly value: bigint;
  /** FIELD_BYTE_OFFSET of a non-bitfield: the bytes a load or store of the field moves; else 0. */
  readonly size: number;
  /** The (resolved) type of that field; 0 when `size` is 0. */
  readonly typeId: number;
  /** The instruction's current value can be checked against this one (never for a bitfield's offset: the compiler may pick another word). */
  readonly validate: boolean;
}

/** No answer: the instruction must be poisoned, for this reason. */
interface NoAnswer {
  readonly poison: string;
}

export interface CoreDecision {
  readonly poison: boolean;
  /** Why the instruction is poisoned. */
  readonly poisonReason?: string;
  /** What the compiler computed from the local BTF (what the instruction holds). */
  readonly localValue: bigint;
  /** What the instruction must hold for the target; 0 when poisoned. */
  readonly targetValue: bigint;
  /** Check that the instruction holds localValue before patching. */
  readonly validate: boolean;
  /** Field size for loads and stores, locally and in the target (0 when not a field offset). */
  readonly localSize: number;
  readonly targetSize: number;
  /**
   * The sizes differ and the field is not an unsigned int or a pointer in both: a load or
   * store cannot simply be resized (a signed value would lose its sign), so it is poisoned.
   */
  readonly sizeMismatch: boolean;
}

/**
 * The decision for one relocation: `local` is its access in the program's BTF, `target`
 * its access in the chosen target type (undefined when no candidate matched). Throws
 * BtfError when the relocation cannot be computed at all (a bitfield wider than 64 bits).
 */
export function decide(kind: number, local: CoreAccess, target: CoreAccess | undefined, littleEndian: boolean): CoreDecision {
  const before = sideValue(kind, local, littleEndian, true);
  if ("poison" in before) throw new BtfError(`CO-RE relocation has no local value: ${before.poison}`, { typeId: local.rootTypeId });
  const after = sideValue(kind, target, littleEndian, false);
  if ("poison" in after) {
    return { poison: true, poisonReason: after.poison, localValue: before.value, targetValue: 0n, validate: before.validate, localSize: before.size, targetSize: 0, sizeMismatch: false };
  }
  let sizeMismatch = false;
  if (before.size !== after.size && target !== undefined) {
    const l = local.btf.type(before.typeId);
    const t = target.btf.type(after.typeId);
    const bothPointers = l.kind === "ptr" && t.kind === "ptr";
    const bothUnsigned = l.kind === "int" && t.kind === "int" && !l.signed && !t.signed;
    sizeMismatch = !bothPointers && !bothUnsigned;
  }
  return {
    poison: false,
    localValue: before.value,
    targetValue: after.value,
    validate: before.validate,
    localSize: before.size,
    targetSize: after.size,
    sizeMismatch,
  };
}

/** TYPE_ID_LOCAL needs no target: the value is the local id, not checked (linking may renumber). */
export function decideLocalTypeId(local: CoreAccess): CoreDecision {
  const id = BigInt(local.rootTypeId);
  return { poison: false, localValue: id, targetValue: id, validate: false, localSize: 0, targetSize: 0, sizeMismatch: false };
}

function sideValue(kind: number, access: CoreAccess | undefined, littleEndian: boolean, local: boolean): Side | NoAnswer {
  switch (kindClass(kind)) {
    case "field":
      return fieldValue(kind, access, littleEndian);
    case "type":
      return typeValue(kind, access, local);
    case "enumval":
      return enumValue(kind, access);
    default:
      throw new BtfError(`relocation kind ${kind} is not one CO-RE defines`);
  }
}

const plain = (value: bigint | number | boolean, validate = true): Side => ({ value: BigInt(value), size: 0, typeId: 0, validate });

function fieldValue(kind: number, access: CoreAccess | undefined, littleEndian: boolean): Side | NoAnswer {
  if (kind === CoreReloKind.FIELD_EXISTS) return plain(access !== undefined);
  if (access === undefined) return { poison: "the field does not exist in the target" };
  const { btf, bitOffset } = access;
  const last = access.accessors[access.accessors.length - 1];
  if (last.name === undefined) {
    // The access ends at an array element (or the root itself): its offset and size only.
    const size = btf.sizeof(last.typeId);
    if (kind === CoreReloKind.FIELD_BYTE_OFFSET) return { value: BigInt(bitOffset / 8), size, typeId: last.typeId, validate: true };
    if (kind === CoreReloKind.FIELD_BYTE_SIZE) return plain(size);
    throw new BtfError("a FIELD_SIGNED or shift relocation cannot be applied to an array element", { typeId: access.rootTypeId });
  }
  const owner = btf.type(last.typeId);
  if (owner.kind !== "struct" && owner.kind !== "union") throw new BtfError(`field access ends in a ${owner.kind}`, { typeId: last.typeId });
  const member = owner.members[last.index];
  const fieldType = btf.resolve(member.type);
  let bitSize = member.bitfieldSize;
  const bitfield = bitSize > 0;
  let byteSize: number;
  let byteOffset: number;
  if (bitfield) {
    if (!("size" in fieldType)) throw new BtfError(`bitfield ${member.name} has a ${fieldType.kind} type`, { typeId: last.typeId });
    // The smallest power-of-two word, aligned to its size, that holds every bit of the field.
    byteSize = fieldType.size;
    byteOffset = Math.floor(bitOffset / 8 / byteSize) * byteSize;
    while (bitOffset + bitSize - byteOffset * 8 > byteSize * 8) {
      if (byteSize >= 8) throw new BtfError(`bitfield ${member.name} cannot be read with one 64-bit load`, { typeId: last.typeId });
      byteSize *= 2;
      byteOffset = Math.floor(bitOffset / 8 / byteSize) * byteSize;
    }
  } else {
    byteSize = btf.sizeof(fieldType.id);
    byteOffset = Math.floor(bitOffset / 8);
    bitSize = byteSize * 8;
  }
  switch (kind) {
    case CoreReloKind.FIELD_BYTE_OFFSET:
      return bitfield ? plain(byteOffset, false) : { value: BigInt(byteOffset), size: byteSize, typeId: fieldType.id, validate: true };
    case CoreReloKind.FIELD_BYTE_SIZE:
      return plain(byteSize, !bitfield);
    case CoreReloKind.FIELD_SIGNED: {
      const signed = (fieldType.kind === "int" || fieldType.kind === "enum" || fieldType.kind === "enum64") && fieldType.signed;
      return plain(signed);
    }
    case CoreReloKind.FIELD_LSHIFT_U64: {
      // In a little-endian word the field's bits count from the low end; big-endian, from the high end.
      const shift = littleEndian ? 64 - (bitOffset + bitSize - byteOffset * 8) : (8 - byteSize) * 8 + (bitOffset - byteOffset * 8);
      return plain(shift, !bitfield);
    }
    case CoreReloKind.FIELD_RSHIFT_U64:
      return plain(64 - bitSize);
    default:
      throw new BtfError(`relocation kind ${kind} is not a field relocation`);
  }
}

function typeValue(kind: number, access: CoreAccess | undefined, local: boolean): Side {
  if (access === undefined) return plain(0);
  switch (kind) {
    case CoreReloKind.TYPE_ID_TARGET:
      // The local side's id may have changed when objects were linked: never checked.
      return plain(access.rootTypeId, !local);
    case CoreReloKind.TYPE_EXISTS:
    case CoreReloKind.TYPE_MATCHES:
      return plain(1);
    case CoreReloKind.TYPE_SIZE:
      return plain(access.btf.sizeof(access.rootTypeId));
    case CoreReloKind.TYPE_ID_LOCAL:
      return plain(access.rootTypeId, false);
    default:
      throw new BtfError(`relocation kind ${kind} is not a type relocation`);
  }
}

function enumValue(kind: number, access: CoreAccess | undefined): Side | NoAnswer {
  if (kind === CoreReloKind.ENUMVAL_EXISTS) return plain(access !== undefined);
  if (access === undefined) return { poison: "the enum value does not exist in the target" };
  const step = access.accessors[0];
  const type = access.btf.type(step.typeId);
  if (type.kind === "enum64") return plain(type.values[step.index].value);
  if (type.kind !== "enum") throw new BtfError(`enum value relocation on a ${type.kind}`, { typeId: step.typeId });
  // A 32-bit BTF enum value is taken as signed, whatever the enum's signedness flag says
  // (libbpf's rule): clang 14 writes a 64-bit enum as ENUM with each value cut to 32 bits,
  // and (u64)-128 must come back as -128, the constant the compiler put in the instruction.
  return plain(BigInt.asIntN(32, BigInt(type.values[step.index].value)));
}
