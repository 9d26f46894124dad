// common/slab.ts: small buffers carved out of shared slabs must behave like buffers of their own.
import { describe, expect, it } from "vitest";
import { allocateBytes, allocateWords, copyAll } from "../common/slab.js";

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
      const [copy] = copyAll([source]);
      expect(copy.constructor).toBe(Uint8Array);
      expect(copy.byteLength).toBe(size);
      expect(Buffer.from(copy).equals(source)).toBe(true);
      source.fill(1);
      expect(copy.every((b) => b === 7)).toBe(true);
    }
  });

  it("copies several parts side by side, each 8-byte aligned, with zeroed padding between them", () => {
    const parts = [Buffer.alloc(3, 1), Buffer.alloc(0), Buffer.alloc(13, 2), Buffer.from([3])];
    const copies = copyAll(parts);
    expect(copies.map((c) => [c.byteLength, c.byteOffset % 8, c.buffer === copies[0].buffer])).toEqual([
      [3, 0, true], [0, 0, true], [13, 0, true], [1, 0, true],
    ]);
    copies.forEach((copy, i) => expect(Buffer.from(copy).equals(parts[i])).toBe(true));
    // From the start of the first copy to the end of the last: the parts and zeroes, nothing else.
    const first = copies[0].byteOffset;
    const span = new Uint8Array(copies[0].buffer, first, copies[3].byteOffset + 1 - first);
    expect(Array.from(span)).toEqual([1, 1, 1, 0, 0, 0, 0, 0, ...new Array(13).fill(2), 0, 0, 0, 3]);
  });

  it("hands out pieces as large as asked, with a buffer of their own above 64 KiB", () => {
    const large = allocateBytes(100_000);
    expect(large.byteLength).toBe(100_000);
    expect(large.buffer.byteLength).toBe(100_000);
    expect(large.every((b) => b === 0)).toBe(true);
  });
});
