// lookupBatchChunks: a whole map as raw chunks, with no per-element decoding.
import { describe, expect, it } from "vitest";
import { BpfMap, MapType } from "../index.js";
import { skipWithoutRoot } from "./helpers/netns.js";

describe.skipIf(skipWithoutRoot)("BpfMap.lookupBatchChunks", () => {
  it("yields every entry of a hash map once, in chunks of at most batchSize, as the kernel lays them out", () => {
    using map = BpfMap.create({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 10_000, name: "chunks" });
    for (let key = 0; key < 5000; key++) map.update(key, BigInt(key) * 3n);
    const seen = new Map<number, bigint>();
    let chunks = 0;
    for (const chunk of map.lookupBatchChunks({ batchSize: 512 })) {
      chunks++;
      expect(chunk.count).toBeLessThanOrEqual(512);
      expect([chunk.keys.byteLength, chunk.keysView.byteLength]).toEqual([chunk.count * 4, chunk.count * 4]);
      expect([chunk.values.byteLength, chunk.valuesView.byteLength]).toEqual([chunk.count * 8, chunk.count * 8]);
      for (let i = 0; i < chunk.count; i++) {
        seen.set(chunk.keysView.getUint32(i * 4, true), chunk.valuesView.getBigUint64(i * 8, true));
      }
    }
    expect(chunks).toBeGreaterThanOrEqual(10);
    expect(seen.size).toBe(5000);
    for (const [key, value] of seen) expect(value).toBe(BigInt(key) * 3n);
    // The decoding variant agrees.
    expect(new Map(map.lookupBatch())).toEqual(seen);
  });
});

describe.skipIf(skipWithoutRoot)("BpfMap.updateBatchBytes", () => {
  it("stores keys and values given as bytes in the kernel's layout, chunk by chunk", () => {
    using map = BpfMap.create({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 10_000, name: "bytes_in" });
    const keys = Uint32Array.from({ length: 3000 }, (_, i) => i * 7);
    const values = BigUint64Array.from({ length: 3000 }, (_, i) => BigInt(i) << 33n);
    // 3000 entries in batches of 512: five full calls and a partial one.
    expect(map.updateBatchBytes(new Uint8Array(keys.buffer), new Uint8Array(values.buffer), { batchSize: 512 })).toBe(3000);
    expect(map.lookup(7 * 2999)).toBe(2999n << 33n);
    expect(new Map(map.lookupBatch())).toEqual(new Map(Array.from(keys, (k, i) => [k, values[i]])));
  });

  it("round-trips the chunks lookupBatchChunks yields into another map", () => {
    using source = BpfMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1000, name: "bytes_src" });
    using copy = BpfMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1000, name: "bytes_dst" });
    for (let key = 0; key < 1000; key++) source.update(key, BigInt(key * key));
    let stored = 0;
    for (const chunk of source.lookupBatchChunks({ batchSize: 300 })) stored += copy.updateBatchBytes(chunk.keys, chunk.values);
    expect(stored).toBe(1000);
    expect(copy.lookupBatch()).toEqual(source.lookupBatch());
  });

  it("refuses bytes that are not whole keys with as many values, before any syscall", () => {
    using map = BpfMap.create({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 16, name: "bytes_bad" });
    expect(() => map.updateBatchBytes(new Uint8Array(6), new Uint8Array(8))).toThrow(
      /updateBatchBytes needs whole keys of 4 bytes and as many values of 8 bytes \(got 6 bytes of keys and 8 bytes of values\)/,
    );
    expect(() => map.updateBatchBytes(new Uint8Array(8), new Uint8Array(8))).toThrow(/as many values/);
    expect([...map.keys()]).toEqual([]);
  });
});

describe.skipIf(skipWithoutRoot)("BpfMap.keys", () => {
  it("walks every key once, also when a loop breaks early and another walk starts", () => {
    using map = BpfMap.create({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 1000, name: "walk" });
    for (let key = 0; key < 500; key++) map.update(key, key);
    const all = [...map.keys()];
    expect(all.sort((a, b) => (a as number) - (b as number))).toEqual(Array.from({ length: 500 }, (_, i) => i));
    let taken = 0;
    for (const _key of map.keys()) if (++taken === 10) break;
    expect(taken).toBe(10);
    // Nested walks have their own cursors.
    let pairs = 0;
    for (const _outer of map.keys()) {
      for (const _inner of map.keys()) pairs++;
      break;
    }
    expect(pairs).toBe(500);
    const walk = map.keys();
    expect(walk.return?.()).toEqual({ done: true, value: undefined });
    expect(walk.next()).toEqual({ done: true, value: undefined });
  });

  it("an empty map has no keys, and a closed map refuses a walk", () => {
    const map = BpfMap.create({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 4, name: "walk_empty" });
    expect([...map.keys()]).toEqual([]);
    const walk = map.keys();
    map.close();
    expect(() => walk.next()).toThrow(/is closed/);
    expect(() => map.keys()).toThrow(/is closed/);
  });
});
