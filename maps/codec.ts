// Codecs: how a map's keys and values turn into bytes and back.
//
// The kernel sees keys and values as opaque byte strings of key_size / value_size bytes.
// A codec gives them a JS shape: numbers for 1, 2 and 4 byte scalars, bigints for 8 bytes,
// Uint8Array for everything else (or for everything, with the raw option), and arrays with
// one value per possible CPU for per-CPU maps. A BTF-typed codec (objects decoded through
// the map's BTF) plugs in at the same seam later.
//
// Codecs write into and read from caller-provided memory (the map's native scratch), so the
// hot path allocates nothing but the decoded result. Scalars are in the host byte order
// (little-endian on x86-64), as the BPF program sees them.

import { SpecError } from "../common/errors.js";

/** Encodes T into `size` bytes at `offset`, and decodes it back. */
export interface Codec<T> {
  /** Bytes one encoded value occupies. */
  readonly size: number;
  /**
   * Writes `value` at [offset, offset + size). `part` names the map and the role ("map
   * \"stats\" key") for the SpecError thrown when the value does not fit.
   */
  encode(value: T, bytes: Uint8Array, view: DataView, offset: number, part: string): void;
  decode(bytes: Uint8Array, view: DataView, offset: number): T;
}

/** What the default codecs accept and return for one value. */
export type Scalar = number | bigint | Uint8Array;
/** A map value under the default codecs: a Scalar, or one Scalar per CPU for per-CPU maps. */
export type MapValue = Scalar | Scalar[];

function sizeError(part: string, expected: number, given: number): SpecError {
  return new SpecError(`must be ${expected} bytes, got ${given} bytes`, { part });
}

function copyBytes(value: Uint8Array, bytes: Uint8Array, offset: number, size: number, part: string): void {
  if (value.byteLength !== size) throw sizeError(part, size, value.byteLength);
  bytes.set(value, offset);
}

/** Byte strings of exactly `size` bytes; decoding returns a copy. */
export function bytesCodec(size: number): Codec<Uint8Array> {
  return {
    size,
    encode(value, bytes, _view, offset, part) {
      if (!(value instanceof Uint8Array)) {
        const why = `expects a Uint8Array of ${size} bytes (numbers fit only 1, 2, 4 and 8 byte keys and values), got ${typeof value}`;
        throw new SpecError(why, { part });
      }
      copyBytes(value, bytes, offset, size, part);
    },
    decode(bytes, _view, offset) {
      return bytes.slice(offset, offset + size);
    },
  };
}

/** Unsigned integers of 1, 2 or 4 bytes, decoded as numbers; negative inputs are stored in two's complement. */
export function uintCodec(size: 1 | 2 | 4): Codec<number> {
  const bits = size * 8;
  const min = -(2 ** (bits - 1));
  const max = 2 ** bits - 1;
  return {
    size,
    encode(value: number | bigint | Uint8Array, bytes, view, offset, part) {
      if (value instanceof Uint8Array) return copyBytes(value, bytes, offset, size, part);
      const n = typeof value === "bigint" ? Number(value) : value;
      if (!Number.isInteger(n) || n < min || n > max) {
        throw new SpecError(`${String(value)} does not fit in ${size} bytes (${min} to ${max})`, { part });
      }
      if (size === 4) view.setUint32(offset, n >>> 0, true);
      else if (size === 2) view.setUint16(offset, n & 0xffff, true);
      else view.setUint8(offset, n & 0xff);
    },
    decode(_bytes, view, offset) {
      return size === 4 ? view.getUint32(offset, true) : size === 2 ? view.getUint16(offset, true) : view.getUint8(offset);
    },
  } as Codec<number>;
}

const U64_MIN = -(2n ** 63n);
const U64_MAX = 2n ** 64n - 1n;

/** Unsigned 64-bit integers, decoded as bigints; numbers are accepted when they are safe integers. */
export function u64Codec(): Codec<bigint> {
  return {
    size: 8,
    encode(value: number | bigint | Uint8Array, bytes, view, offset, part) {
      // The common case first, without BigInt arithmetic: a bigint already in u64 range.
      if (typeof value === "bigint" && value >= 0n && value <= U64_MAX) return view.setBigUint64(offset, value, true);
      if (value instanceof Uint8Array) return copyBytes(value, bytes, offset, 8, part);
      if (typeof value === "number" && !Number.isSafeInteger(value)) {
        throw new SpecError(`${value} is not a safe integer; pass a bigint for 8-byte values`, { part });
      }
      const n = BigInt(value);
      if (n < U64_MIN || n > U64_MAX) throw new SpecError(`${n} does not fit in 8 bytes`, { part });
      view.setBigUint64(offset, BigInt.asUintN(64, n), true);
    },
    decode(_bytes, view, offset) {
      return view.getBigUint64(offset, true);
    },
  } as Codec<bigint>;
}

const UINT_CODECS: Partial<Record<1 | 2 | 4, Codec<number>>> = {};
let U64_CODEC: Codec<bigint> | undefined;

/** The codec tsbpf uses when none is given: numbers for 1/2/4 bytes, bigint for 8, bytes otherwise. */
export function defaultCodec(size: number, options: { raw?: boolean } = {}): Codec<Scalar> {
  if (options.raw === true) return bytesCodec(size) as Codec<Scalar>;
  // One shared codec per integer size: every map then calls the same decode and encode
  // functions, which V8 can inline into the loops that call them (batches, walks).
  if (size === 1 || size === 2 || size === 4) return (UINT_CODECS[size] ??= uintCodec(size)) as Codec<Scalar>;
  if (size === 8) return (U64_CODEC ??= u64Codec()) as Codec<Scalar>;
  return bytesCodec(size) as Codec<Scalar>;
}

/**
 * Per-CPU values: the kernel copies one value per possible CPU, each padded to a multiple
 * of 8 bytes (round_up(value_size, 8)); the JS side is an array of exactly `cpus` values.
 */
export function perCpuCodec<T>(inner: Codec<T>, cpus: number): Codec<T[]> {
  const stride = (inner.size + 7) & ~7;
  return {
    size: stride * cpus,
    encode(values, bytes, view, offset, part) {
      if (!Array.isArray(values) || values.length !== cpus) {
        const given = Array.isArray(values) ? `an array of ${values.length}` : typeof values;
        throw new SpecError(`per-CPU values are arrays with one value per possible CPU (${cpus}), got ${given}`, { part });
      }
      for (let cpu = 0; cpu < cpus; cpu++) {
        const at = offset + cpu * stride;
        bytes.fill(0, at + inner.size, at + stride);
        inner.encode(values[cpu], bytes, view, at, part);
      }
    },
    decode(bytes, view, offset) {
      const values = new Array<T>(cpus);
      for (let cpu = 0; cpu < cpus; cpu++) values[cpu] = inner.decode(bytes, view, offset + cpu * stride);
      return values;
    },
  };
}
