// Small buffers carved out of shared slabs.
//
// Every ArrayBuffer V8 allocates outside its heap costs about a microsecond (calloc, the
// backing-store bookkeeping, and the external-memory accounting that makes the garbage
// collector run sooner), whatever its size. Parsing a small object makes a handful of such
// buffers (its private copies, the BTF type index), and a microsecond each is a large share of
// the 4 to 20 us libbpf needs to open the same object. So small buffers are views into a
// shared 256 KiB slab instead, the way Node's Buffer pool serves Buffer.allocUnsafe: each
// piece is fresh (a slab is never reused), filled (a copy) or zeroed when handed out, and
// aligned to 8 bytes so that Uint32Array and BigUint64Array views of it work.
//
// The price: a slab stays alive while any view into it does, so a long-lived small spec can
// keep up to 256 KiB reachable. Buffers larger than MAX_PIECE get an ArrayBuffer of their own.

import { Buffer } from "node:buffer";

const SLAB_SIZE = 256 * 1024;
const MAX_PIECE = 64 * 1024;

let current = new ArrayBuffer(0);
/** The whole current slab, for copies made with one `set` each. */
let currentBytes = new Uint8Array(current);
let used = 0;

/** A fresh, zero-filled Uint8Array of `length` bytes, 8-byte aligned. */
export function allocateBytes(length: number): Uint8Array {
  if (length > MAX_PIECE) return new Uint8Array(length);
  const start = reserve(length);
  return new Uint8Array(current, start, length).fill(0);
}

/** A fresh, zero-filled Uint32Array of `length` words. */
export function allocateWords(length: number): Uint32Array {
  if (length * 4 > MAX_PIECE) return new Uint32Array(length);
  const start = reserve(length * 4);
  return new Uint32Array(current, start, length).fill(0);
}

/**
 * Private copies of several byte ranges, side by side in one piece (one reservation for all
 * of them): the copies, in the order given, each starting 8-byte aligned. The few bytes of
 * padding between them are zeroed, like every byte a piece hands out.
 */
export function copyAll(parts: readonly Uint8Array[]): Uint8Array[] {
  let total = 0;
  for (const part of parts) total += (part.byteLength + 7) & ~7;
  const own = total > MAX_PIECE;
  // reserve() first: it may start a new slab.
  let at = own ? 0 : reserve(total);
  const buffer = own ? new ArrayBuffer(total) : current;
  const bytes = own ? new Uint8Array(buffer) : currentBytes;
  const copies: Uint8Array[] = new Array(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    const length = part.byteLength;
    bytes.set(part, at);
    copies[i] = new Uint8Array(buffer, at, length);
    const end = (at + length + 7) & ~7;
    if (!own) bytes.fill(0, at + length, end);
    at = end;
  }
  return copies;
}

/** Where `length` bytes start in the current slab, after starting a new slab if they do not fit. */
function reserve(length: number): number {
  if (used + length > current.byteLength) {
    // Uninitialized memory (malloc, not calloc): every piece is overwritten or zeroed as it
    // is handed out, and zeroing 256 KiB that copies overwrite anyway is most of a slab's cost.
    current = Buffer.allocUnsafeSlow(SLAB_SIZE).buffer;
    currentBytes = new Uint8Array(current);
    used = 0;
  }
  const start = used;
  used = (used + length + 7) & ~7;
  return start;
}
