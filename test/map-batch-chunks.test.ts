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
