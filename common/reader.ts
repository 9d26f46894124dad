// One bounds-checked reader for every binary format tsbpf parses (ELF, BTF, .BTF.ext, maps).
//
// It reads at explicit offsets (the formats are tables addressed by offset, not streams),
// knows the byte order of the file, returns 64-bit values as bigint, and throws a caller
// chosen BpfError naming the region and the absolute offset when a read would leave the
// region. Every read goes through `check`, so no parser can raise a RangeError.

import { ElfError, type BpfError } from "./errors.js";

const textDecoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** Builds the error thrown when a read leaves the region; the default is ElfError. */
export type OutOfBoundsError = (message: string, offset: number, region: string | undefined) => BpfError;

const elfOutOfBounds: OutOfBoundsError = (message, offset, region) =>
  new ElfError(message, region === undefined ? { offset } : { offset, section: region });

export class ByteReader {
  readonly bytes: Uint8Array;
  /** Made on the first read that needs it: many readers only hand out views or strings. */
  #view: DataView | undefined;
  readonly littleEndian: boolean;
  /** Name of the region (e.g. a section name) used in error messages. */
  readonly region: string | undefined;
  /** Offset of this region within the whole file, so errors report absolute positions. */
  readonly base: number;
  private readonly outOfBounds: OutOfBoundsError;
  /** bytes.byteLength, read once: every check compares against it. */
  private readonly byteLength: number;
  /**
   * The DataView the reads go through: that of the reader sub() made this one from, when it
   * had one already, else this reader's own, made on its first read (a DataView costs about
   * 50 ns to make, and a parse makes sub-readers by the handful); `#readsAt` is where this
   * reader's first byte is in it.
   */
  #reads: DataView | undefined;
  readonly #readsAt: number;

  constructor(
    bytes: Uint8Array,
    littleEndian: boolean,
    /** `reads` is sub()'s: the parent reader's DataView, when it has one, and where `bytes` start in it. */
    options: { region?: string; base?: number; outOfBounds?: OutOfBoundsError; reads?: { view: DataView; at: number } } = {},
  ) {
    this.bytes = bytes;
    this.littleEndian = littleEndian;
    this.region = options.region;
    this.base = options.base ?? 0;
    this.outOfBounds = options.outOfBounds ?? elfOutOfBounds;
    this.byteLength = bytes.byteLength;
    this.#reads = options.reads?.view;
    this.#readsAt = options.reads?.at ?? 0;
  }

  get view(): DataView {
    // Node Buffers are often views into a shared pool: honour byteOffset.
    return (this.#view ??= new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength));
  }

  get length(): number {
    return this.bytes.byteLength;
  }

  /** Throws unless [offset, offset + size) lies inside the region. */
  check(offset: number, size: number, what = "data"): void {
    // offset + size <= length also bounds both below 2^53: no separate safe-integer test.
    if (!(offset >= 0 && size >= 0 && offset + size <= this.byteLength)) {
      throw this.fail(`${what} of ${size} bytes at offset ${offset} runs past the end (${this.byteLength} bytes)`, offset);
    }
  }

  /** An error of this reader's kind at a region-relative offset. */
  fail(message: string, offset: number): BpfError {
    return this.outOfBounds(message, this.base + offset, this.region);
  }

  u8(offset: number): number {
    this.check(offset, 1);
    return this.bytes[offset];
  }

  u16(offset: number): number {
    this.check(offset, 2);
    return (this.#reads ??= this.view).getUint16(this.#readsAt + offset, this.littleEndian);
  }

  i16(offset: number): number {
    this.check(offset, 2);
    return (this.#reads ??= this.view).getInt16(this.#readsAt + offset, this.littleEndian);
  }

  u32(offset: number): number {
    this.check(offset, 4);
    return (this.#reads ??= this.view).getUint32(this.#readsAt + offset, this.littleEndian);
  }

  i32(offset: number): number {
    this.check(offset, 4);
    return (this.#reads ??= this.view).getInt32(this.#readsAt + offset, this.littleEndian);
  }

  u64(offset: number): bigint {
    this.check(offset, 8);
    return (this.#reads ??= this.view).getBigUint64(this.#readsAt + offset, this.littleEndian);
  }

  i64(offset: number): bigint {
    this.check(offset, 8);
    return (this.#reads ??= this.view).getBigInt64(this.#readsAt + offset, this.littleEndian);
  }

  /** A view (not a copy) of `size` bytes. */
  slice(offset: number, size: number, what = "data"): Uint8Array {
    this.check(offset, size, what);
    return this.bytes.subarray(offset, offset + size);
  }

  /** A reader for a sub-range, reporting errors against `region`. */
  sub(offset: number, size: number, region: string | undefined = this.region): ByteReader {
    return new ByteReader(this.slice(offset, size, region ?? "region"), this.littleEndian, {
      region,
      base: this.base + offset,
      outOfBounds: this.outOfBounds,
      // This reader's DataView when it has one; else the sub-reader makes its own if it reads.
      reads: this.#reads === undefined ? undefined : { view: this.#reads, at: this.#readsAt + offset },
    });
  }

  /** A NUL-terminated string starting at `offset`; it must end inside the region. */
  cstring(offset: number): string {
    this.check(offset, 0, "string");
    const end = this.bytes.indexOf(0, offset);
    if (end < 0) throw this.fail(`string at offset ${offset} is not NUL-terminated`, offset);
    return decodeAscii(this.bytes, offset, end);
  }
}

/** Decodes bytes [start, end): a fast path for the ASCII names that fill ELF and BTF string tables. */
export function decodeAscii(bytes: Uint8Array, start: number, end: number): string {
  if (end - start < 64) {
    let text = "";
    for (let i = start; i < end; i++) {
      const c = bytes[i];
      if (c >= 0x80) return textDecoder.decode(bytes.subarray(start, end));
      text += String.fromCharCode(c);
    }
    return text;
  }
  return textDecoder.decode(bytes.subarray(start, end));
}
