// BpfMap and the kernel: what programs write, batches over 100k entries, pins, freezing,
// closing, and descriptor accounting.
//
// Oracles: bpftool's dump of the same map (its own reading of keys and values as bytes),
// bpftool map show, and a hand-assembled XDP program that counts into a map through the
// kernel's helper, whose counts user space must read back.

import { cleanFailure, fdCount } from "./helpers/fds.js";
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SyscallError } from "../common/errors.js";
import { BpfMap } from "../maps/map.js";
import { testRun } from "../syscall/bpf-prog.js";
import { FileFlags, MapType, ProgramType, XdpAction } from "../syscall/constants.js";
import { loadProgram } from "../syscall/prog-load.js";
import { skipWithoutRoot } from "./helpers/netns.js";

const bpftool = (...args: string[]) => JSON.parse(execFileSync("bpftool", [...args, "--json"], { encoding: "utf8", maxBuffer: 1 << 28 }));
const hex = (bytes: Iterable<number>) => Array.from(bytes, (b) => `0x${b.toString(16).padStart(2, "0")}`);
const le32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];

/** Expects `fn` to throw a `type` and leak no descriptor. */
const failure = <E>(type: new (...args: never[]) => E, fn: () => unknown): E => cleanFailure(fn, type);

const hash = (name: string, keySize = 4, valueSize = 8, maxEntries = 1024) =>
  BpfMap.create({ type: MapType.HASH, keySize, valueSize, maxEntries, name });

// ---- a counting XDP program: value(key 0) += 1 through bpf_map_lookup_elem ----
function insn(code: number, dst: number, src: number, off: number, imm: number): number[] {
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  bytes[0] = code;
  bytes[1] = (src << 4) | dst;
  view.setInt16(2, off, true);
  view.setInt32(4, imm, true);
  return [...bytes];
}
function counter(mapFd: number): Uint8Array {
  return new Uint8Array(
    [
      insn(0x62, 10, 0, -4, 0), // *(u32 *)(r10 - 4) = 0        the key, on the stack
      insn(0xbf, 2, 10, 0, 0), // r2 = r10
      insn(0x07, 2, 0, 0, -4), // r2 += -4
      insn(0x18, 1, 1, 0, mapFd), // r1 = map (ld_imm64, BPF_PSEUDO_MAP_FD)
      insn(0, 0, 0, 0, 0),
      insn(0x85, 0, 0, 0, 1), // call bpf_map_lookup_elem
      insn(0x15, 0, 0, 3, 0), // if r0 == 0 goto +3
      insn(0x79, 1, 0, 0, 0), // r1 = *(u64 *)(r0 + 0)
      insn(0x07, 1, 0, 0, 1), // r1 += 1
      insn(0x7b, 0, 1, 0, 0), // *(u64 *)(r0 + 0) = r1
      insn(0xb7, 0, 0, 0, XdpAction.PASS), // r0 = XDP_PASS
      insn(0x95, 0, 0, 0, 0), // exit
    ].flat(),
  );
}

describe.skipIf(skipWithoutRoot)("BpfMap and the kernel", () => {
  const pinDir = `/sys/fs/bpf/tsbpf-map-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  let baseline = 0;

  beforeAll(() => {
    mkdirSync(pinDir);
    baseline = fdCount();
  });
  afterAll(() => {
    rmSync(pinDir, { recursive: true, force: true });
    // Every test closes what it opens.
    expect(fdCount()).toBe(baseline);
  });

  describe("what programs write", () => {
    it("reads counts a program wrote through bpf_map_lookup_elem", () => {
      for (const type of [MapType.ARRAY, MapType.PERCPU_ARRAY]) {
        using map = BpfMap.create({ type, keySize: 4, valueSize: 8, maxEntries: 1, name: "counts" });
        const prog = loadProgram({ type: ProgramType.XDP, insns: counter(map.fd.raw), license: "GPL", name: "count" });
        try {
          const run = testRun(prog, { data: new Uint8Array(64), repeat: 5 });
          expect(run.retval).toBe(XdpAction.PASS);
          const value = map.lookup(0);
          const total = Array.isArray(value) ? value.reduce((a, b) => (a as bigint) + (b as bigint), 0n) : value;
          expect(total).toBe(5n);
        } finally {
          prog.close();
        }
      }
    });
  });

  describe("batches", () => {
    const N = 100_000;

    it(`writes, reads and drains ${N} hash entries in batches`, () => {
      using map = hash("batch", 4, 8, N);
      const entries = Array.from({ length: N }, (_, i) => [i * 3, BigInt(i) * 1000n] as const);
      expect(map.updateBatch(entries)).toBe(N);
      const read = map.lookupBatch();
      expect(read.length).toBe(N);
      const byKey = new Map(read);
      expect(byKey.size).toBe(N);
      for (const [k, v] of entries) expect(byKey.get(k)).toBe(v);
      expect(map.lookupBatch({ batchSize: 1000 }).length).toBe(N);
      expect([...map.keys()].length).toBe(N);

      const deleted = map.deleteBatch(Array.from({ length: 1000 }, (_, i) => i * 3));
      expect(deleted).toBe(1000);
      const drained = map.lookupAndDeleteBatch({ batchSize: 8192 });
      expect(drained.length).toBe(N - 1000);
      expect([...map.keys()]).toEqual([]);
    });

    it("grows its buffers when one hash bucket holds more than a batch", () => {
      using map = hash("bucket", 4, 4, 4096);
      for (let i = 0; i < 3000; i++) map.update(i, i);
      // With room for one element, buckets of two or more are refused with ENOSPC at first.
      const all = map.lookupBatch({ batchSize: 1 });
      expect(all.length).toBe(3000);
      expect(new Set(all.map(([k]) => k)).size).toBe(3000);
    });

    it("skips missing keys when deleting and counts what it deleted", () => {
      using map = hash("delmiss", 4, 4, 64);
      for (let i = 0; i < 10; i++) map.update(i, i);
      expect(map.deleteBatch([0, 100, 1, 2, 200, 300, 3])).toBe(4);
      expect(new Set(map.keys())).toEqual(new Set([4, 5, 6, 7, 8, 9]));
    });

    it("arrays: batch lookup and update work; batch delete is refused with a hint", () => {
      using map = BpfMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 100, name: "barr" });
      expect(map.updateBatch(Array.from({ length: 100 }, (_, i) => [i, i * i] as const), { batchSize: 33 })).toBe(100);
      expect(map.lookupBatch({ batchSize: 7 })).toEqual(Array.from({ length: 100 }, (_, i) => [i, i * i]));
      const refused = failure(SyscallError, () => map.deleteBatch([1, 2]));
      expect(refused.operation).toBe("BPF_MAP_DELETE_BATCH");
      expect(refused.message).toBe(
        'BPF_MAP_DELETE_BATCH for map "barr" failed with ENOTSUPP: this map type does not support batch operations (0 elements deleted before the failure)',
      );
    });

    it("refuses conditional flags in batches, as the kernel does", () => {
      // BPF_F_LOCK is the only elem_flags bit the batch commands take; on a map without a
      // spin lock in its value the kernel refuses it before touching any element.
      using map = hash("block", 4, 4, 10);
      const error = failure(SyscallError, () => map.updateBatch([[1, 1]], { lock: true }));
      expect(error.errnoName).toBe("EINVAL");
      expect(error.message).toMatch(/\(0 elements stored before the failure\)$/);
      expect(map.lookup(1)).toBeUndefined();
    });

    it("reports how far a failing batch update got", () => {
      using map = hash("bfull", 4, 4, 10);
      const error = failure(SyscallError, () => map.updateBatch(Array.from({ length: 20 }, (_, i) => [i, i] as const)));
      expect(error.errnoName).toBe("E2BIG");
      expect(error.message).toMatch(/\(10 elements stored before the failure\)$/);
    });
  });

  describe("kernel objects", () => {
    it("matches bpftool's dump of the same map, byte for byte", () => {
      using map = hash("dumped", 4, 8, 16);
      map.update(1, 0x1122334455667788n);
      map.update(0x01020304, 5n);
      const dump: Array<{ key: string[]; value: string[] }> = bpftool("map", "dump", "id", String(map.info().id));
      const tool = dump.map((e) => [e.key.join(" "), e.value.join(" ")]).sort();
      const ours = [...map.entries()]
        .map(([k, v]) => {
          const value = new DataView(new ArrayBuffer(8));
          value.setBigUint64(0, v as bigint, true);
          return [hex(le32(k as number)).join(" "), hex(new Uint8Array(value.buffer)).join(" ")];
        })
        .sort();
      expect(ours).toEqual(tool);
    });

    it("info() agrees with bpftool map show", () => {
      using map = BpfMap.create({ type: MapType.LRU_HASH, keySize: 8, valueSize: 16, maxEntries: 32, name: "shown" });
      const info = map.info();
      expect(bpftool("map", "show", "id", String(info.id))).toMatchObject({
        id: info.id,
        type: "lru_hash",
        name: "shown",
        bytes_key: 8,
        bytes_value: 16,
        max_entries: 32,
      });
    });

    it("pins, reopens by path and by id, read-only when asked", () => {
      const path = join(pinDir, "pinned_counts");
      {
        using map = hash("pinned_counts_long_name", 4, 8);
        map.update(1, 42n);
        map.pin(path);
      }
      using again = BpfMap.openPinned(path);
      expect(again.name).toBe("pinned_counts_l"); // the kernel keeps 15 characters
      expect(again.lookup(1)).toBe(42n);
      expect({ type: again.type, keySize: again.keySize, valueSize: again.valueSize, maxEntries: again.maxEntries }).toEqual({
        type: MapType.HASH,
        keySize: 4,
        valueSize: 8,
        maxEntries: 1024,
      });
      using named = BpfMap.fromId(again.info().id, { name: "pinned_counts_long_name" });
      expect(named.name).toBe("pinned_counts_long_name");
      expect(named.lookup(1)).toBe(42n);
      using readOnly = BpfMap.openPinned(path, { fileFlags: FileFlags.RDONLY });
      expect(readOnly.lookup(1)).toBe(42n);
      const refused = failure(SyscallError, () => readOnly.update(1, 1n));
      expect(refused.errnoName).toBe("EPERM");
      expect(refused.message).toMatch(/frozen or read-only/);
      expect(failure(SyscallError, () => BpfMap.openPinned(join(pinDir, "absent"))).errnoName).toBe("ENOENT");
    });

    it("freezes", () => {
      using map = hash("freeze");
      map.update(1, 1n);
      map.freeze();
      expect(map.lookup(1)).toBe(1n);
      expect(failure(SyscallError, () => map.update(1, 2n)).errnoName).toBe("EPERM");
    });

    it("closes once and refuses use after close", () => {
      const before = fdCount();
      const map = hash("closing");
      expect(fdCount()).toBe(before + 1);
      map.close();
      map.close();
      expect(map.closed).toBe(true);
      expect(fdCount()).toBe(before);
      const closed = failure(SyscallError, () => map.lookup(1));
      expect(closed.message).toBe('map "closing" is closed');
      expect(() => [...map.keys()]).toThrow(/is closed/);
      expect(() => map.lookupBatch()).toThrow(/is closed/);
    });

    it("leaks nothing when creation fails", () => {
      const error = failure(SyscallError, () => hash("zero", 4, 8, 0));
      expect(error.message).toMatch(/max_entries is 0/);
    });
  });
});
