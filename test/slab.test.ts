// common/slab.ts: small buffers carved out of shared slabs must behave like buffers of their own.
import { describe, expect, it } from "vitest";
import { allocateBytes, allocateWords, copyBytes } from "../common/slab.js";

describe("slab buffers", () => {
  it("are zero-filled, 8-byte aligned, and never overlap, across many slabs", () => {
    const pieces: Uint8Array[] = [];
    // 3000 pieces of up to 1 KiB: several 256 KiB slabs.
    for (let i = 0; i < 3000; i++) {
      const words = i % 3 === 0 ? allocateWords((i % 250) + 1) : undefined;
      const piece = words === undefined ? allocateBytes((i * 37) % 1024) : new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
      if (piece.byteLength > 0) {
        expect(piece.byteOffset % 8).toBe(0);
        expect(piece.every((b) => b === 0)).toBe(true);
        piece.fill(i & 0xff || 1);
        pieces.push(piece);
      }
    }
    pieces.forEach((piece, n) => expect(piece.every((b) => b === piece[0]), `piece ${n}`).toBe(true));
  });

  it("words are zero-filled and writable as words", () => {
    const words = allocateWords(100);
    expect(words.length).toBe(100);
    expect(words.byteOffset % 8).toBe(0);
    expect(Array.from(words).every((w) => w === 0)).toBe(true);
    words[99] = 0xffffffff;
    expect(words[99]).toBe(0xffffffff);
  });

  it("copies are independent of their source, also for a Node Buffer and above the piece limit", () => {
    for (const size of [0, 1, 4848, 70_000]) {
      const source = Buffer.alloc(size, 7);
      const copy = copyBytes(source);
      expect(copy.constructor).toBe(Uint8Array);
      expect(copy.byteLength).toBe(size);
      expect(Buffer.from(copy).equals(source)).toBe(true);
      source.fill(1);
      expect(copy.every((b) => b === 7)).toBe(true);
    }
  });

  it("hands out pieces as large as asked, with a buffer of their own above 64 KiB", () => {
    const large = allocateBytes(100_000);
    expect(large.byteLength).toBe(100_000);
    expect(large.buffer.byteLength).toBe(100_000);
    expect(large.every((b) => b === 0)).toBe(true);
  });
});
