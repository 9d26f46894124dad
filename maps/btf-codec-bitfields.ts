// Bitfields for BTF-typed codecs (maps/btf-codec.ts explains the whole).
//
//   struct btf_member { __u32 name_off; __u32 type; __u32 offset; }   (include/uapi/linux/btf.h)
//   with the struct's kind_flag set: offset = bitfield_size << 24 | bit_offset;
//   without it (older BTF), a bitfield's type is an INT whose encoding word gives
//   nr_bits and a bit offset of its own, added to the member's.
//
// On a little-endian host a struct's bit i is bit i % 8 of byte floor(i / 8), so a field
// of w bits at bit b lives in bytes floor(b / 8) ... floor((b + w - 1) / 8), starting
// b % 8 bits into the first. Reading gathers those bytes into an integer (int32
// arithmetic up to 32 bits, a double's exact integers up to 53, bigint beyond), shifts
// and masks; writing is read-modify-write, so the neighbouring fields keep their bits.

import { enumValue, FieldError, IntRange, toBit, type EnumNames, type Node } from "./btf-codec-scalars.js";

/** What a bitfield's bits mean in JS, from its declared type. */
export type BitfieldMeaning =
  | { readonly kind: "int"; readonly signed: boolean; readonly bigint: boolean }
  | { readonly kind: "bool" }
  | { readonly kind: "enum"; readonly signed: boolean; readonly bigint: boolean; readonly names: EnumNames };

/**
 * A bitfield: `width` bits starting `shift` bits (0 to 7) into the byte at the node's
 * offset, so a struct member at bit offset b has its node at byte floor(b / 8), shift b % 8.
 * The JS type follows the declared type: `__u64 x : 3` is a bigint, `__u32 y : 3` a number.
 * Writing is read-modify-write: the neighbours' bits stay as they are.
 */
export function bitfieldNode(shift: number, width: number, meaning: BitfieldMeaning, label: string): Node {
  if (!(width >= 1 && width <= 128)) throw new FieldError(`${label}: a bitfield of ${width} bits (BTF allows 1 to 128)`);
  if (!(shift >= 0 && shift < 8)) throw new FieldError(`${label}: bit shift ${shift} is not 0 to 7`);
  const span = shift + width;
  const size = Math.ceil(span / 8);
  const signed = meaning.kind !== "bool" && meaning.signed;
  const asBigInt = meaning.kind !== "bool" && meaning.bigint;
  const fieldLabel = `${label} : ${width}`;
  const range = new IntRange(width, signed, fieldLabel);

  const present = (bits: number | bigint): unknown => {
    if (meaning.kind === "bool") return bits !== 0 && bits !== 0n;
    const value = asBigInt ? BigInt(bits) : Number(bits);
    return meaning.kind === "enum" ? (meaning.names.byValue.get(value) ?? value) : value;
  };
  /** The integer to store: bool and enum names first become numbers. */
  const integer = (value: unknown): unknown => {
    if (meaning.kind === "bool") return toBit(value, fieldLabel);
    return meaning.kind === "enum" ? enumValue(value, meaning.names, fieldLabel) : value;
  };
  if (span <= 64 && width <= 53) {
    // Doubles hold integers below 2^53 exactly: no bigint arithmetic needed.
    const bits = span <= 32 ? narrowBits(shift, width, size) : mediumBits(shift, width, size);
    return {
      size, label: fieldLabel,
      decode: (bytes, _v, at) => present(bits.read(bytes, at, signed)),
      encode: (value, bytes, _v, at) => bits.write(bytes, at, range.number(integer(value))),
    };
  }
  const bits = wideBits(shift, width, size);
  return {
    size, label: fieldLabel,
    decode: (bytes, _v, at) => present(bits.read(bytes, at, signed)),
    encode: (value, bytes, _v, at) => bits.write(bytes, at, range.bigint(integer(value))),
  };
}

interface BitAccess<T> {
  read(bytes: Uint8Array, at: number, signed: boolean): T;
  /** `value` is in range; negative values are written in two's complement. */
  write(bytes: Uint8Array, at: number, value: T): void;
}

/** Little-endian unsigned integer of `count` (at most 4) bytes. */
function loadWord(bytes: Uint8Array, at: number, count: number): number {
  let word = 0;
  for (let i = 0; i < count; i++) word |= bytes[at + i] << (8 * i);
  return word >>> 0;
}

function storeWord(bytes: Uint8Array, at: number, count: number, word: number): void {
  for (let i = 0; i < count; i++) bytes[at + i] = (word >>> (8 * i)) & 0xff;
}

/** Bits within one 32-bit window (shift + width <= 32): int32 arithmetic. */
function narrowBits(shift: number, width: number, size: number): BitAccess<number> {
  const mask = width === 32 ? 0xffffffff : (1 << width) - 1;
  const shiftedMask = (mask << shift) >>> 0;
  const unused = 32 - width;
  return {
    read(bytes, at, signed) {
      const bits = (loadWord(bytes, at, size) >>> shift) & mask;
      // Sign-extend by moving the field's top bit to bit 31 and back.
      return signed ? (bits << unused) >> unused : bits >>> 0;
    },
    write(bytes, at, value) {
      const word = (loadWord(bytes, at, size) & ~shiftedMask) | ((value << shift) & shiftedMask);
      storeWord(bytes, at, size, word >>> 0);
    },
  };
}

/**
 * Bits across two 32-bit words (32 < shift + width <= 64, width <= 53): the low word holds
 * the field's first 32 - shift bits, the high word the rest; joined in a double.
 */
function mediumBits(shift: number, width: number, size: number): BitAccess<number> {
  const lowScale = 2 ** (32 - shift);
  const keepLow = (1 << shift) - 1;
  const highBits = shift + width - 32;
  const highMask = highBits === 32 ? 0xffffffff : (1 << highBits) - 1;
  const highSize = size - 4;
  const full = 2 ** width;
  return {
    read(bytes, at, signed) {
      const low = loadWord(bytes, at, 4) >>> shift;
      const high = (loadWord(bytes, at + 4, highSize) & highMask) >>> 0;
      const value = low + high * lowScale;
      return signed && value >= full / 2 ? value - full : value;
    },
    write(bytes, at, value) {
      const bits = value < 0 ? value + full : value;
      const low = (loadWord(bytes, at, 4) & keepLow) | ((bits % lowScale) << shift);
      const high = (loadWord(bytes, at + 4, highSize) & ~highMask) | (Math.floor(bits / lowScale) & highMask);
      storeWord(bytes, at, 4, low >>> 0);
      storeWord(bytes, at + 4, highSize, high >>> 0);
    },
  };
}

/** Everything wider (up to 128 bits): bigint arithmetic over `size` bytes. */
function wideBits(shift: number, width: number, size: number): BitAccess<bigint> {
  const mask = (1n << BigInt(width)) - 1n;
  const bigShift = BigInt(shift);
  const load = (bytes: Uint8Array, at: number): bigint => {
    let word = 0n;
    for (let i = size - 1; i >= 0; i--) word = (word << 8n) | BigInt(bytes[at + i]);
    return word;
  };
  return {
    read(bytes, at, signed) {
      const bits = (load(bytes, at) >> bigShift) & mask;
      return signed ? BigInt.asIntN(width, bits) : bits;
    },
    write(bytes, at, value) {
      let word = (load(bytes, at) & ~(mask << bigShift)) | ((value & mask) << bigShift);
      for (let i = 0; i < size; i++, word >>= 8n) bytes[at + i] = Number(word & 0xffn);
    },
  };
}
