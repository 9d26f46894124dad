// The scalar part of BTF-typed codecs (maps/btf-codec.ts explains the whole): integers,
// bool, enums, floats and pointers, each as a Node, the internal form a codec takes before
// maps/btf-codec.ts wraps it into a Codec. Bitfields: maps/btf-codec-bitfields.ts.
//
// The BTF records these come from (include/uapi/linux/btf.h):
//
//   INT      u32 after the header:  bits 24-27 encoding (BTF_INT_SIGNED 1, CHAR 2, BOOL 4)
//                                    bits 16-23 offset (of the value's bits inside `size` bytes)
//                                    bits 0-7   nr_bits
//   ENUM     vlen x { u32 name_off; s32 val }; kind_flag = signed (kernel 6.0; unsigned before)
//   ENUM64   vlen x { u32 name_off; u32 val_lo32; u32 val_hi32 }
//   FLOAT    size 2, 4, 8, 12 or 16
//   PTR      always 8 bytes on BPF
//
// Values are read and written little-endian (x86-64 and arm64 hosts: the byte order the
// program sees); maps/btf-codec.ts refuses big-endian BTF.

/** One type's decoder and encoder, built once per type. Functions never use `this`. */
export interface Node {
  /** Bytes the value occupies (for a bitfield: the bytes its bits touch). */
  readonly size: number;
  /** The C spelling for messages: "__u32", "struct header", "char[12]". */
  readonly label: string;
  readonly decode: (bytes: Uint8Array, view: DataView, offset: number) => unknown;
  /**
   * Writes `value` into [offset, offset + size); composite nodes first zero their whole
   * range, so padding and members the value leaves out are zero. Throws FieldError.
   */
  readonly encode: (value: unknown, bytes: Uint8Array, view: DataView, offset: number) => void;
}

/**
 * A value that does not fit its type, or a type that has no codec, found below the root.
 * Internal: each struct or array level prepends its member name or index to `path` as the
 * error climbs, and maps/btf-codec.ts turns it into a SpecError naming `part + path`.
 */
export class FieldError {
  path = "";
  constructor(readonly message: string) {}

  /** Prepends ".member" or "[index]" and passes the error on. */
  static within(error: unknown, segment: string): unknown {
    if (error instanceof FieldError) error.path = segment + error.path;
    return error;
  }
}

/** A short description of a JS value for messages: `"abc"`, `an object`, `a Uint8Array of 4 bytes`. */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (value instanceof Uint8Array) return `a Uint8Array of ${value.byteLength} bytes`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  switch (typeof value) {
    case "string":
      return value.length > 40 ? `${JSON.stringify(value.slice(0, 40))}... (${value.length} characters)` : JSON.stringify(value);
    case "bigint":
      return `${value}n`;
    case "object":
      return "an object";
    case "number":
    case "boolean":
    case "undefined":
      return String(value);
    default:
      return `a ${typeof value}`;
  }
}

/** Whether the JS side of an integer of `size` bytes is a bigint (8 and 16 bytes) or a number. */
export function isBigIntSize(size: number): boolean {
  return size > 4;
}

/**
 * What integers a field of `bits` bits takes, computed once per field. Like maps/codec.ts,
 * either reading of the bits is accepted, -2^(bits-1) to 2^bits - 1, negative values
 * stored in two's complement (so -1 fills a __u32); messages give the declared signedness's
 * range.
 */
export class IntRange {
  readonly min: number;
  readonly max: number;
  readonly bigMin: bigint;
  readonly bigMax: bigint;

  constructor(readonly bits: number, readonly signed: boolean, readonly label: string) {
    this.bigMin = -(1n << BigInt(bits - 1));
    this.bigMax = (1n << BigInt(bits)) - 1n;
    this.min = Number(this.bigMin);
    this.max = Number(this.bigMax);
  }

  /** `value` as a number, for fields of at most 32 bits. */
  number(value: unknown): number {
    if (typeof value === "number" && Number.isInteger(value) && value >= this.min && value <= this.max) return value;
    if (typeof value === "bigint" && value >= this.bigMin && value <= this.bigMax) return Number(value);
    throw this.#error(value);
  }

  /** `value` as a bigint, for wider fields; numbers must be safe integers. */
  bigint(value: unknown): bigint {
    if (typeof value === "bigint") {
      if (value >= this.bigMin && value <= this.bigMax) return value;
    } else if (typeof value === "number" && Number.isSafeInteger(value) && value >= this.min && value <= this.max) {
      return BigInt(value);
    }
    throw this.#error(value);
  }

  #error(value: unknown): FieldError {
    const range = this.signed ? `${this.bigMin} to ${-this.bigMin - 1n}` : `0 to ${this.bigMax}`;
    const hint = typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value) ? "; pass a bigint beyond 2^53" : "";
    return new FieldError(`${describeValue(value)} is not an integer that fits ${this.label} (${range})${hint}`);
  }
}

/** Plain integers of 1, 2, 4 (numbers), 8 and 16 bytes (bigints), little-endian. */
export function intNode(size: number, signed: boolean, label: string): Node {
  const range = new IntRange(size * 8, signed, label);
  // The DataView setters store any value modulo 2^bits, which is two's complement for negatives.
  switch (size) {
    case 1:
      return {
        size, label,
        decode: signed ? (_b, view, at) => view.getInt8(at) : (_b, view, at) => view.getUint8(at),
        encode: (value, _b, view, at) => view.setUint8(at, range.number(value)),
      };
    case 2:
      return {
        size, label,
        decode: signed ? (_b, view, at) => view.getInt16(at, true) : (_b, view, at) => view.getUint16(at, true),
        encode: (value, _b, view, at) => view.setUint16(at, range.number(value), true),
      };
    case 4:
      return {
        size, label,
        decode: signed ? (_b, view, at) => view.getInt32(at, true) : (_b, view, at) => view.getUint32(at, true),
        encode: (value, _b, view, at) => view.setUint32(at, range.number(value), true),
      };
    case 8:
      return {
        size, label,
        decode: signed ? (_b, view, at) => view.getBigInt64(at, true) : (_b, view, at) => view.getBigUint64(at, true),
        encode: (value, _b, view, at) => view.setBigUint64(at, range.bigint(value), true),
      };
    case 16:
      // __int128: the low 64 bits first (little-endian).
      return {
        size, label,
        decode: (_b, view, at) => {
          const low = view.getBigUint64(at, true);
          const high = signed ? view.getBigInt64(at + 8, true) : view.getBigUint64(at + 8, true);
          return (high << 64n) | low;
        },
        encode: (value, _b, view, at) => {
          const n = range.bigint(value);
          view.setBigUint64(at, n, true);
          view.setBigUint64(at + 8, n >> 64n, true);
        },
      };
    default:
      throw new FieldError(`${label} is a ${size}-byte integer; BTF integers are 1, 2, 4, 8 or 16 bytes`);
  }
}

/** _Bool: any non-zero byte is true; encoding takes true/false (or 1/0) and writes 1/0. */
export function boolNode(size: number, label: string): Node {
  return {
    size, label,
    decode: (bytes, _v, at) => {
      for (let i = 0; i < size; i++) if (bytes[at + i] !== 0) return true;
      return false;
    },
    encode: (value, bytes, _v, at) => {
      bytes.fill(0, at, at + size);
      bytes[at] = toBit(value, label);
    },
  };
}

export function toBit(value: unknown, label: string): 0 | 1 {
  if (value === true || value === 1) return 1;
  if (value === false || value === 0) return 0;
  throw new FieldError(`${label} takes true or false, got ${describeValue(value)}`);
}

/** float and double as numbers; other float sizes (long double) stay bytes. */
export function floatNode(size: number, label: string): Node {
  const checked = (value: unknown): number => {
    if (typeof value === "number") return value;
    throw new FieldError(`${label} takes a number, got ${describeValue(value)}`);
  };
  if (size === 4) {
    return { size, label, decode: (_b, view, at) => view.getFloat32(at, true), encode: (v, _b, view, at) => view.setFloat32(at, checked(v), true) };
  }
  if (size === 8) {
    return { size, label, decode: (_b, view, at) => view.getFloat64(at, true), encode: (v, _b, view, at) => view.setFloat64(at, checked(v), true) };
  }
  return bytesNode(size, label);
}

/** Raw bytes: named unions, and types with no better JS form. Decoding copies. */
export function bytesNode(size: number, label: string): Node {
  return {
    size, label,
    decode: (bytes, _v, at) => bytes.slice(at, at + size),
    encode: (value, bytes, _v, at) => copyRaw(value, bytes, at, size, label),
  };
}

/** Copies a Uint8Array of exactly `size` bytes; the one form every composite accepts. */
export function copyRaw(value: unknown, bytes: Uint8Array, at: number, size: number, label: string): void {
  if (value instanceof Uint8Array && value.byteLength === size) {
    bytes.set(value, at);
    return;
  }
  throw new FieldError(`${label} takes a Uint8Array of ${size} bytes, got ${describeValue(value)}`);
}

/**
 * How an enum's values show: the enumerator's name when one has this value (the first,
 * when several share it), else the number (or bigint). Encoding takes a name or a value.
 */
export interface EnumNames {
  readonly byValue: ReadonlyMap<number | bigint, string>;
  readonly byName: ReadonlyMap<string, number | bigint>;
}

/**
 * Enumerators keyed the way a reader of `bits` bits with this signedness returns them:
 * clang before 15 records every enum as unsigned, even one with -1 in it, and a packed
 * enum of 1 byte still lists 32-bit values, so each value is first cut to `bits`.
 */
export function enumNames(values: readonly { name: string; value: number | bigint }[], bits: number, signed: boolean, bigints: boolean): EnumNames {
  const byValue = new Map<number | bigint, string>();
  const byName = new Map<string, number | bigint>();
  for (const { name, value } of values) {
    const cut = signed ? BigInt.asIntN(bits, BigInt(value)) : BigInt.asUintN(bits, BigInt(value));
    const key = bigints ? cut : Number(cut);
    if (!byValue.has(key)) byValue.set(key, name);
    if (!byName.has(name)) byName.set(name, key);
  }
  return { byValue, byName };
}

/** The enumerator value for a name; anything else passes through to the integer check. */
export function enumValue(value: unknown, names: EnumNames, label: string): unknown {
  if (typeof value !== "string") return value;
  const found = names.byName.get(value);
  if (found !== undefined) return found;
  const known = [...names.byName.keys()];
  const list = known.length > 12 ? `${known.slice(0, 12).join(", ")}, ... (${known.length} in all)` : known.join(", ");
  throw new FieldError(`${label} has no enumerator ${JSON.stringify(value)} (it has ${list})`);
}

/** An enum (or enum64) over an integer node of its size. */
export function enumNode(base: Node, names: EnumNames): Node {
  const { label } = base;
  return {
    size: base.size, label,
    decode: (bytes, view, at) => {
      const value = base.decode(bytes, view, at) as number | bigint;
      return names.byValue.get(value) ?? value;
    },
    encode: (value, bytes, view, at) => base.encode(enumValue(value, names, label), bytes, view, at),
  };
}
