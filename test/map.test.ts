// BpfMap on the real kernel: element operations, iteration, codecs (numbers, bigints,
// bytes), per-CPU values, and maps without keys (queue, stack, bloom filter).
// (Batches, pins, bpftool comparisons: map-objects.test.ts.)

import { cleanFailure, fdCount } from "./helpers/fds.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SpecError, SyscallError } from "../common/errors.js";
import { bytesCodec, perCpuCodec, u64Codec, uintCodec } from "../maps/codec.js";
import { BpfMap } from "../maps/map.js";
import { MapType, UpdateFlags } from "../syscall/constants.js";
import { possibleCpus } from "../syscall/cpus.js";
import { skipWithoutRoot } from "./helpers/netns.js";

const le32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];

/** Expects `fn` to throw a `type` and leak no descriptor. */
const failure = <E>(type: new (...args: never[]) => E, fn: () => unknown): E => cleanFailure(fn, type);

const hash = (name: string, keySize = 4, valueSize = 8, maxEntries = 1024) =>
  BpfMap.create({ type: MapType.HASH, keySize, valueSize, maxEntries, name });

describe.skipIf(skipWithoutRoot)("BpfMap", () => {
  let baseline = 0;

  beforeAll(() => {
    baseline = fdCount();
  });
  afterAll(() => {
    // Every test closes what it opens.
    expect(fdCount()).toBe(baseline);
  });

  describe("elements", () => {
    it("updates, looks up and deletes; a missing key is undefined, not an error", () => {
      using map = hash("elems");
      expect(map.lookup(1)).toBeUndefined();
      map.update(1, 10n);
      map.update(2, 20); // numbers are accepted for 8-byte values
      expect(map.lookup(1)).toBe(10n);
      expect(map.lookup(2)).toBe(20n);
      expect(map.delete(1)).toBe(true);
      expect(map.delete(1)).toBe(false);
      expect(map.lookup(1)).toBeUndefined();
      expect(map.lookupAndDelete(2)).toBe(20n);
      expect(map.lookupAndDelete(2)).toBeUndefined();
      expect(String(map)).toBe("BpfMap(elems, hash, key 4, value 8, max 1024)");
    });

    it("honours update flags", () => {
      using map = hash("flags");
      map.update(1, 1n, "noexist");
      const exists = failure(SyscallError, () => map.update(1, 2n, "noexist"));
      expect(exists.message).toBe(
        'BPF_MAP_UPDATE_ELEM for map "flags" failed with EEXIST: the key already exists and the update asked for BPF_NOEXIST',
      );
      const missing = failure(SyscallError, () => map.update(9, 2n, "exist"));
      expect(missing.errnoName).toBe("ENOENT");
      map.update(1, 3n, UpdateFlags.EXIST);
      expect(map.lookup(1)).toBe(3n);
    });

    it("reports a full map", () => {
      using map = hash("full", 4, 8, 2);
      map.update(1, 1n);
      map.update(2, 2n);
      const full = failure(SyscallError, () => map.update(3, 3n));
      expect(full.errnoName).toBe("E2BIG");
      expect(full.message).toMatch(/the map is full/);
    });

    it("arrays: every index exists, out of range is undefined, delete is refused", () => {
      using map = BpfMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, name: "arr" });
      expect(map.lookup(3)).toBe(0);
      expect(map.lookup(4)).toBeUndefined();
      map.update(3, 0xdeadbeef);
      expect(map.lookup(3)).toBe(0xdeadbeef);
      const refused = failure(SyscallError, () => map.delete(3));
      expect(refused.message).toMatch(/^BPF_MAP_DELETE_ELEM for map "arr" failed with EINVAL: .*arrays cannot delete/);
      const past = failure(SyscallError, () => map.update(4, 1));
      expect(past.message).toBe(
        'BPF_MAP_UPDATE_ELEM for map "arr" failed with E2BIG: index 4 is out of range: the array has max_entries 4 (indexes 0 to 3)',
      );
      expect([...map.keys()]).toEqual([0, 1, 2, 3]);
      expect([...map.entries()]).toEqual([[0, 0], [1, 0], [2, 0], [3, 0xdeadbeef]]);
    });

    it("LRU maps evict instead of failing when full", () => {
      using map = BpfMap.create({ type: MapType.LRU_HASH, keySize: 4, valueSize: 4, maxEntries: 64, name: "lru" });
      for (let i = 0; i < 1000; i++) map.update(i, i);
      const keys = [...map.keys()];
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.length).toBeLessThanOrEqual(64);
      expect(map.lookup(999)).toBe(999);
    });
  });

  describe("iteration", () => {
    it("keys() and entries() visit every element once", () => {
      using map = hash("iter", 4, 4, 256);
      for (let i = 0; i < 200; i++) map.update(i * 7, i);
      const keys = [...map.keys()];
      expect(keys.length).toBe(200);
      expect(new Set(keys)).toEqual(new Set(Array.from({ length: 200 }, (_, i) => i * 7)));
      const entries = new Map(map.entries());
      expect(entries.size).toBe(200);
      for (const [k, v] of entries) expect(v).toBe((k as number) / 7);
      expect([...map].length).toBe(200);
    });

    it("a lookup inside the loop does not disturb the walk", () => {
      using map = hash("iter2", 4, 4, 64);
      for (let i = 0; i < 50; i++) map.update(i, i);
      let seen = 0;
      for (const key of map.keys()) {
        expect(map.lookup(key)).toBe(key);
        map.lookup(49 - (key as number)); // overwrites the shared scratch key
        seen++;
      }
      expect(seen).toBe(50);
    });

    it("an empty map yields nothing", () => {
      using map = hash("empty");
      expect([...map.keys()]).toEqual([]);
      expect(map.lookupBatch()).toEqual([]);
    });
  });

  describe("codecs", () => {
    it("decodes 1, 2 and 4 bytes as numbers, 8 as bigint, other sizes as bytes", () => {
      using small = BpfMap.create({ type: MapType.HASH, keySize: 1, valueSize: 2, maxEntries: 8, name: "small" });
      small.update(0xff, 0xbeef);
      expect(small.lookup(0xff)).toBe(0xbeef);
      using wide = BpfMap.create({ type: MapType.HASH, keySize: 8, valueSize: 16, maxEntries: 8, name: "wide" });
      const value = Uint8Array.from({ length: 16 }, (_, i) => i);
      wide.update(2n ** 64n - 1n, value);
      wide.update(5, value); // a safe-integer number for an 8-byte key
      expect(wide.lookup(2n ** 64n - 1n)).toEqual(value);
      expect(new Set(wide.keys())).toEqual(new Set([2n ** 64n - 1n, 5n]));
    });

    it("stores negative numbers in two's complement", () => {
      using map = hash("neg", 4, 8);
      map.update(-1, -2n);
      expect(map.lookup(0xffffffff)).toBe(2n ** 64n - 2n);
      expect([...map.keys()]).toEqual([0xffffffff]);
    });

    it("returns raw bytes when asked, and accepts bytes for scalar sizes", () => {
      using map = BpfMap.create(
        { type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 8, name: "raw" },
        { raw: true },
      );
      map.update(new Uint8Array(le32(7)), new Uint8Array(le32(0x01020304)));
      expect(map.lookup(new Uint8Array(le32(7)))).toEqual(new Uint8Array([4, 3, 2, 1]));
      using plain = hash("rawin", 4, 4);
      plain.update(new Uint8Array(le32(7)), new Uint8Array(le32(9)));
      expect(plain.lookup(7)).toBe(9);
    });

    it("refuses keys and values of the wrong size with a SpecError naming the map", () => {
      using map = hash("sizes", 4, 8);
      const key = failure(SpecError, () => map.lookup(new Uint8Array(3)));
      expect(key.message).toBe('map "sizes" key: must be 4 bytes, got 3 bytes');
      expect(key.part).toBe('map "sizes" key');
      const value = failure(SpecError, () => map.update(1, new Uint8Array(4)));
      expect(value.message).toBe('map "sizes" value: must be 8 bytes, got 4 bytes');
      expect(failure(SpecError, () => map.update(2 ** 32, 1n)).message).toMatch(/does not fit in 4 bytes/);
      expect(failure(SpecError, () => map.update(1.5, 1n)).message).toMatch(/1.5 does not fit/);
      expect(failure(SpecError, () => map.update(1, 2 ** 60)).message).toMatch(/not a safe integer; pass a bigint/);
      using wide = hash("wide2", 16, 4);
      expect(failure(SpecError, () => wide.lookup(1 as never)).message).toMatch(/expects a Uint8Array of 16 bytes/);
    });

    it("takes typed codecs, checked against the map's sizes", () => {
      using map = BpfMap.create<number, bigint>(
        { type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 8, name: "typed" },
        { keyCodec: uintCodec(4), valueCodec: u64Codec() },
      );
      map.update(1, 5n);
      const five: bigint | undefined = map.lookup(1);
      expect(five).toBe(5n);
      const before = fdCount();
      expect(() =>
        BpfMap.create({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 8 }, { keyCodec: bytesCodec(8) }),
      ).toThrow(/the key codec encodes 8 bytes but the map's keys are 4 bytes/);
      expect(fdCount()).toBe(before);
    });

    it("hands codecs the key at 0 and the value after it, in a scratch whose bytes do not include the bpf_attr", () => {
      // Codecs that record where they are asked to write; the key's first scribbles over every
      // byte it was given: the attr (map fd, key and value pointers) must stay intact.
      const seen: string[] = [];
      const recording = <T>(inner: { size: number; encode: (...args: never[]) => void; decode: (...args: never[]) => T }, role: string) => ({
        size: inner.size,
        encode(value: never, bytes: Uint8Array, view: DataView, offset: number, part: never) {
          seen.push(`${role}@${offset}/${bytes.byteLength}/${view.byteLength === bytes.byteLength && view.byteOffset === bytes.byteOffset}`);
          if (role === "key") bytes.fill(0xee);
          (inner.encode as (...args: unknown[]) => void)(value, bytes, view, offset, part);
        },
        decode: inner.decode,
      });
      using other = hash("scribble_other", 4, 8, 8);
      other.update(7, 70n);
      using map = BpfMap.create(
        { type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 8, name: "scribble" },
        { keyCodec: recording(uintCodec(4), "key"), valueCodec: recording(u64Codec(), "value") },
      );
      map.update(7, 5n);
      expect(map.lookup(7)).toBe(5n);
      expect(other.lookup(7)).toBe(70n); // the update went to `map`, not elsewhere
      // The key at 0 and the value at 8 (keys are padded to 8 bytes), in a 16-byte scratch.
      expect(seen).toEqual(["key@0/16/true", "value@8/16/true", "key@0/16/true"]);
    });

    it("stops working when its fd is closed by hand", () => {
      const map = hash("closed_by_hand");
      map.update(1, 1n);
      map.fd.close();
      expect(() => map.lookup(1)).toThrow('map "closed_by_hand" is closed');
      expect(() => map.update(1, 2n)).toThrow(/is closed/);
      expect(() => [...map.keys()]).toThrow(/is closed/);
      map.close();
    });
  });

  describe("per-CPU maps", () => {
    const cpus = possibleCpus();
    const perCpuTypes = [
      MapType.PERCPU_ARRAY,
      MapType.PERCPU_HASH,
      MapType.LRU_PERCPU_HASH,
    ];

    for (const type of perCpuTypes) {
      it(`type ${type}: one value per possible CPU`, () => {
        using map = BpfMap.create({ type, keySize: 4, valueSize: 4, maxEntries: 4, name: `pcpu${type}` });
        expect(map.perCpu).toBe(true);
        const values = Array.from({ length: cpus }, (_, cpu) => 100 + cpu);
        map.update(1, values);
        expect(map.lookup(1)).toEqual(values);
        const wrong = failure(SpecError, () => map.update(1, [1]));
        expect(wrong.message).toMatch(`per-CPU values are arrays with one value per possible CPU (${cpus}), got an array of 1`);
        expect(failure(SpecError, () => map.update(1, 5 as never)).message).toMatch(/got number/);
      });
    }

    it("pads odd value sizes to 8 bytes per CPU and returns bytes", () => {
      using map = BpfMap.create({ type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 12, maxEntries: 1, name: "pad" });
      expect(map.valueCodec.size).toBe(16 * cpus);
      const values = Array.from({ length: cpus }, (_, cpu) => new Uint8Array(12).fill(cpu + 1));
      map.update(0, values);
      expect(map.lookup(0)).toEqual(values);
      expect(map.lookupBatch()).toEqual([[0, values]]);
    });

    it("a per-CPU codec composes with a typed one", () => {
      using map = BpfMap.create<number, bigint[]>(
        { type: MapType.PERCPU_HASH, keySize: 4, valueSize: 8, maxEntries: 4, name: "pcpu_typed" },
        { valueCodec: u64Codec() },
      );
      map.update(3, Array.from({ length: cpus }, () => 7n));
      expect(map.lookup(3)).toEqual(Array.from({ length: cpus }, () => 7n));
      expect(perCpuCodec(u64Codec(), 3).size).toBe(24);
    });
  });

  describe("maps without keys", () => {
    it("queue: push, peek and pop in FIFO order", () => {
      using queue = BpfMap.create({ type: MapType.QUEUE, keySize: 0, valueSize: 4, maxEntries: 4, name: "queue" });
      expect(queue.pop()).toBeUndefined();
      for (const v of [1, 2, 3]) queue.push(v);
      expect(queue.peek()).toBe(1);
      expect([queue.pop(), queue.pop(), queue.pop(), queue.pop()]).toEqual([1, 2, 3, undefined]);
    });

    it("stack: LIFO order; a full stack refuses unless told to overwrite", () => {
      using stack = BpfMap.create({ type: MapType.STACK, keySize: 0, valueSize: 8, maxEntries: 2, name: "stack" });
      stack.push(1n);
      stack.push(2n);
      expect(failure(SyscallError, () => stack.push(3n)).errnoName).toBe("E2BIG");
      stack.push(3n, UpdateFlags.EXIST); // BPF_EXIST on a queue/stack: drop the oldest
      expect([stack.pop(), stack.pop(), stack.pop()]).toEqual([3n, 2n, undefined]);
    });

    it("bloom filter: pushed values may be present, others are certainly absent", () => {
      using bloom = BpfMap.create({ type: MapType.BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 100, name: "bloom" });
      for (let i = 0; i < 10; i++) bloom.push(i * 1000);
      for (let i = 0; i < 10; i++) expect(bloom.mayContain(i * 1000)).toBe(true);
      const absent = Array.from({ length: 50 }, (_, i) => 7 + i).filter((v) => !bloom.mayContain(v));
      expect(absent.length).toBeGreaterThan(40);
    });

    it("push and pop are refused for maps with keys", () => {
      using map = hash("keyed");
      expect(failure(SpecError, () => map.pop()).message).toBe(
        'map "keyed": pop() is for maps without keys (queue, stack, bloom filter); this map has 4-byte keys',
      );
    });
  });
});
