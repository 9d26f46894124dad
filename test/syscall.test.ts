// The bpf(2) layer on the real kernel: fds, map creation and element calls, pins,
// object info, feature probes, CPU counts and the errors that explain what to do.
// (Programs, test runs and BTF: syscall-prog.test.ts.)
//
// Oracles: bpftool (its own libbpf reading of the same kernel objects), /proc/self/fdinfo,
// /proc/self/fd (no descriptor may survive a failure), and an unprivileged child process.

import { cleanFailure, fdCount } from "./helpers/fds.js";
import { SpecError } from "../common/errors.js";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SyscallError } from "../common/errors.js";
import { createMap, freezeMap, MapElemCommands, NextKeyCursor } from "../syscall/bpf-map.js";
import { NativeBuffer } from "../syscall/native.js";
import { getPinnedObject, pinObject } from "../syscall/bpf-obj.js";
import { FileFlags, MapFlags, MapType, ProgramType, UpdateFlags } from "../syscall/constants.js";
import { parseCpuList, perCpuValueSize, possibleCpus } from "../syscall/cpus.js";
import { Errno } from "../syscall/errno.js";
import { clearFeatureCache, kernelFeatures } from "../syscall/features.js";
import { Fd, ownFd } from "../syscall/fd.js";
import { mapInfo, programInfo } from "../syscall/info.js";
import { loadProgram } from "../syscall/prog-load.js";
import { skipWithoutRoot } from "./helpers/netns.js";

/** r0 = XDP_PASS; exit */
const PASS = new Uint8Array([0xb7, 0, 0, 0, 2, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
const passProgram = (name: string) => ({ type: ProgramType.XDP, insns: PASS, license: "GPL", name });
const bpftool = (...args: string[]) => JSON.parse(execFileSync("bpftool", [...args, "--json"], { encoding: "utf8" }));

const failure = (fn: () => unknown): unknown => cleanFailure(fn);

/** The element commands with their scratch in view, as the tests below drive them. */
class ElemCalls extends MapElemCommands {
  readonly keyView: DataView;
  readonly value: Uint8Array;

  constructor(mapFd: number, keySize: number, valueSize: number) {
    super(mapFd, new NativeBuffer(MapElemCommands.blockSize(keySize, valueSize)), keySize, valueSize);
    this.keyView = new DataView(this.scratch.buffer, this.scratch.byteOffset, keySize);
    this.value = this.scratch.subarray(this.valueAt, this.valueAt + valueSize);
  }

  lookup = () => this.lookupElem();
  update = (flags: number) => this.updateElem(flags);
  delete = () => this.deleteElem();
  free = () => this.freeScratch();
}

describe("CPU lists", () => {
  it("parses the kernel's range syntax", () => {
    expect(parseCpuList("0-3,5")).toEqual([0, 1, 2, 3, 5]);
    expect(parseCpuList("0\n")).toEqual([0]);
    expect(parseCpuList("0,2-3,2")).toEqual([0, 2, 3]);
    expect(() => parseCpuList("a-b")).toThrow(SyscallError);
    expect(() => parseCpuList("")).toThrow(/cannot parse/);
  });

  it("counts the possible CPUs and pads per-CPU values to 8 bytes", () => {
    const text = readFileSync("/sys/devices/system/cpu/possible", "utf8");
    expect(possibleCpus()).toBe(parseCpuList(text).length);
    expect(perCpuValueSize(4, 3)).toBe(24);
    expect(perCpuValueSize(12, 2)).toBe(32);
  });
});

describe.skipIf(skipWithoutRoot)("bpf(2) on the running kernel", () => {
  const pinDir = `/sys/fs/bpf/tsbpf-syscall-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(() => mkdirSync(pinDir));
  afterAll(() => rmSync(pinDir, { recursive: true, force: true }));

  describe("Fd", () => {
    it("closes once, refuses use after close, and dup()s", () => {
      const fd = loadProgram(passProgram("fd_test"));
      const id = programInfo(fd).id;
      const copy = fd.dup();
      expect(copy.raw).not.toBe(fd.raw);
      expect(readFileSync(`/proc/self/fdinfo/${copy.raw}`, "utf8")).toMatch(new RegExp(`^prog_id:\\s*${id}$`, "m"));
      const before = fdCount();
      fd.close();
      fd.close();
      expect(fd.closed).toBe(true);
      expect(fdCount()).toBe(before - 1);
      expect(() => fd.raw).toThrow(/used after close/);
      expect(String(fd)).toBe("Fd(closed)");
      copy[Symbol.dispose]();
      expect(copy.closed).toBe(true);
      expect(fdCount()).toBe(before - 2);
    });

    it("keeps descriptors above stdio and refuses non-descriptors", () => {
      const fd = loadProgram(passProgram("fd_test"));
      expect(fd.raw).toBeGreaterThanOrEqual(3);
      const again = ownFd(fd.dup().raw);
      expect(again.raw).toBeGreaterThanOrEqual(3);
      again.close();
      fd.close();
      expect(() => new Fd(-1)).toThrow(SyscallError);
    });
  });

  describe("maps", () => {
    const cases = [
      { type: MapType.ARRAY, name: "array", perCpu: false, hash: false },
      { type: MapType.HASH, name: "hash", perCpu: false, hash: true },
      { type: MapType.LRU_HASH, name: "lru_hash", perCpu: false, hash: true },
      { type: MapType.PERCPU_ARRAY, name: "percpu_array", perCpu: true, hash: false },
      { type: MapType.PERCPU_HASH, name: "percpu_hash", perCpu: true, hash: true },
      { type: MapType.LRU_PERCPU_HASH, name: "lru_percpu_hash", perCpu: true, hash: true },
    ];

    for (const c of cases) {
      it(`${c.name}: create, update, lookup, next key, delete, info`, () => {
        const valueSize = 12;
        const fd = createMap({ type: c.type, keySize: 4, valueSize, maxEntries: 8, name: `t_${c.name}` });
        const total = c.perCpu ? perCpuValueSize(valueSize) : valueSize;
        const calls = new ElemCalls(fd.raw, 4, total);
        try {
          calls.keyView.setUint32(0, 3, true);
          // One 12-byte value per CPU slot of 16 bytes (round_up(12, 8)); the padding stays zero.
          const stride = c.perCpu ? 16 : 12;
          for (let at = 0; at < total; at += stride) calls.value.fill(0x5a, at, at + 12);
          expect(calls.update(UpdateFlags.ANY)).toBe(0);
          calls.value.fill(0);
          expect(calls.lookup()).toBe(0);
          if (c.perCpu) {
            // Every CPU's slot carries the value; the padding (12 -> 16) reads back as zero.
            for (let cpu = 0; cpu < possibleCpus(); cpu++) {
              expect([...calls.value.subarray(cpu * 16, cpu * 16 + 12)]).toEqual(new Array(12).fill(0x5a));
              expect([...calls.value.subarray(cpu * 16 + 12, cpu * 16 + 16)]).toEqual([0, 0, 0, 0]);
            }
          } else {
            expect([...calls.value]).toEqual(new Array(12).fill(0x5a));
          }
          const cursor = new NextKeyCursor(fd.raw, 4);
          expect(cursor.step()).toBe(0);
          const firstKey = cursor.keyView.getUint32(0, true);
          cursor.free();
          expect(firstKey).toBe(c.hash ? 3 : 0);

          calls.keyView.setUint32(0, 7, true);
          expect(calls.lookup()).toBe(c.hash ? -Errno.ENOENT : 0);
          expect(calls.delete()).toBe(c.hash ? -Errno.ENOENT : -Errno.EINVAL);
          calls.keyView.setUint32(0, 3, true);
          if (c.hash) {
            expect(calls.delete()).toBe(0);
            expect(calls.lookup()).toBe(-Errno.ENOENT);
          }

          const info = mapInfo(fd);
          const tool = bpftool("map", "show", "id", String(info.id));
          expect(info).toMatchObject({ type: c.type, keySize: 4, valueSize, maxEntries: 8, name: `t_${c.name}`.slice(0, 15) });
          expect(tool).toMatchObject({ id: info.id, type: c.name, name: info.name, bytes_key: 4, bytes_value: valueSize, max_entries: 8 });
        } finally {
          calls.free();
          fd.close();
        }
      });
    }

    it("cuts and cleans names as the kernel requires", () => {
      const fd = createMap({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, name: "my-map.with_a_long_name" });
      expect(mapInfo(fd).name).toBe("my_map.with_a_l");
      fd.close();
    });

    it("explains EINVAL from the attributes and leaks nothing", () => {
      const zero = failure(() => createMap({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 0, name: "empty" }));
      expect(zero).toBeInstanceOf(SyscallError);
      expect(zero).toMatchObject({ operation: "BPF_MAP_CREATE", errnoName: "EINVAL", errno: Errno.EINVAL });
      expect((zero as Error).message).toBe(
        'BPF_MAP_CREATE for map "empty" failed with EINVAL: max_entries is 0; a map needs room for at least one entry',
      );
      const prealloc = failure(() =>
        createMap({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, flags: MapFlags.NO_PREALLOC }),
      );
      expect((prealloc as Error).message).toMatch(/EINVAL: array maps are always preallocated and refuse BPF_F_NO_PREALLOC/);
      const key = failure(() => createMap({ type: MapType.ARRAY, keySize: 8, valueSize: 4, maxEntries: 1 }));
      expect((key as Error).message).toMatch(/array maps need key_size 4, not 8/);
    });

    it("reports E2BIG for an oversized hash value and for a full map", () => {
      const big = failure(() => createMap({ type: MapType.HASH, keySize: 4, valueSize: 2 ** 30, maxEntries: 1, name: "bigvalue" }));
      expect(big).toMatchObject({ errnoName: "E2BIG" });
      expect((big as Error).message).toMatch(/larger than this map type allows/);
      const fd = createMap({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0 });
      const calls = new ElemCalls(fd.raw, 4, 4);
      calls.keyView.setUint32(0, 1, true);
      expect(calls.update(UpdateFlags.ANY)).toBe(0);
      calls.keyView.setUint32(0, 2, true);
      expect(calls.update(UpdateFlags.ANY)).toBe(-Errno.E2BIG);
      expect(calls.update(UpdateFlags.EXIST)).toBe(-Errno.ENOENT);
      calls.keyView.setUint32(0, 1, true);
      expect(calls.update(UpdateFlags.NOEXIST)).toBe(-Errno.EEXIST);
      calls.free();
      fd.close();
    });

    it("freezes: user space writes fail with EPERM", () => {
      const fd = createMap({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, name: "frozen" });
      const calls = new ElemCalls(fd.raw, 4, 4);
      freezeMap(fd);
      expect(calls.update(UpdateFlags.ANY)).toBe(-Errno.EPERM);
      expect(calls.lookup()).toBe(0);
      // A frozen map is no longer writable from user space, so freezing it again is EPERM.
      const again = failure(() => freezeMap(fd, 'map "frozen"'));
      expect(again).toMatchObject({ operation: "BPF_MAP_FREEZE", errnoName: "EPERM" });
      expect((again as Error).message).toMatch(/^BPF_MAP_FREEZE for map "frozen" failed with EPERM: the map is already frozen/);
      calls.free();
      fd.close();
    });

    it("fails on a descriptor that is not open", () => {
      // Recent kernels answer EBADFD here (kernel/bpf/syscall.c), older ones EBADF.
      const error = failure(() => mapInfo(12345)) as SyscallError;
      expect(error.operation).toBe("BPF_OBJ_GET_INFO_BY_FD");
      expect(["EBADF", "EBADFD"]).toContain(error.errnoName);
      expect(error.message).toMatch(/a file descriptor in the request is not open/);
    });
  });

  describe("pins", () => {
    it("pins a map and opens it again, read-only when asked", () => {
      const fd = createMap({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, name: "pinned" });
      const path = join(pinDir, "pinned");
      pinObject(fd, path);
      const again = getPinnedObject(path);
      expect(mapInfo(again).id).toBe(mapInfo(fd).id);
      const readOnly = getPinnedObject(path, FileFlags.RDONLY);
      const calls = new ElemCalls(readOnly.raw, 4, 4);
      expect(calls.lookup()).toBe(0);
      expect(calls.update(UpdateFlags.ANY)).toBe(-Errno.EPERM);
      calls.free();
      const twice = failure(() => pinObject(fd, path));
      expect(twice).toMatchObject({ operation: "BPF_OBJ_PIN", errnoName: "EEXIST" });
      expect((twice as Error).message).toMatch(/already pinned at that path/);
      for (const f of [readOnly, again, fd]) f.close();
    });

    it("explains a missing pin and a path outside bpffs", () => {
      const missing = failure(() => getPinnedObject(join(pinDir, "nothing")));
      expect(missing).toMatchObject({ operation: "BPF_OBJ_GET", errnoName: "ENOENT" });
      expect((missing as Error).message).toMatch(/nothing is pinned at that path/);
      const fd = loadProgram(passProgram("pin_tmp"));
      // Refused before the syscall, whose own answer would be a bare EPERM.
      const outside = failure(() => pinObject(fd, join(tmpdir(), `tsbpf-not-bpffs-${process.pid}`)));
      expect(outside).toBeInstanceOf(SpecError);
      expect((outside as Error).message).toMatch(/is not on a BPF filesystem/);
      fd.close();
    });
  });

  describe("feature probes", () => {
    it("answers once per feature from the running kernel", () => {
      clearFeatureCache();
      const before = fdCount();
      expect({ ...kernelFeatures() }).toEqual({
        progName: true,
        mapName: true,
        mmapableArray: true,
        batchOps: true,
        logTrueSize: true,
        btfLoad: true,
      });
      expect(fdCount()).toBe(before);
    });
  });

  describe("privileges", () => {
    it("explains EPERM to an unprivileged process", () => {
      const dir = join(tmpdir(), `tsbpf-eperm-${process.pid}`);
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      const script = join(dir, "eperm.ts");
      const module = fileURLToPath(new URL("../syscall/bpf-map.ts", import.meta.url));
      writeFileSync(
        script,
        `import { createMap } from ${JSON.stringify(module)};
         try { createMap({ type: 2, keySize: 4, valueSize: 4, maxEntries: 1, name: "eperm" }); console.log("{}"); }
         catch (e) { console.log(JSON.stringify({ message: e.message, errnoName: e.errnoName })); }`,
        { mode: 0o644 },
      );
      try {
        const child = spawnSync(
          "setpriv",
          ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", process.execPath, "--import", "tsx", script],
          { encoding: "utf8", cwd: fileURLToPath(new URL("..", import.meta.url)) },
        );
        const result = JSON.parse(child.stdout.trim().split("\n").pop() ?? "{}");
        expect(result.errnoName).toBe("EPERM");
        expect(result.message).toMatch(/^BPF_MAP_CREATE for map "eperm" failed with EPERM: .*needs root, or CAP_BPF/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

// Errno values used above must be the kernel's.
it("errno table", () => {
  expect([Errno.EPERM, Errno.ENOENT, Errno.EBADF, Errno.EACCES, Errno.EINVAL, Errno.ENOSPC, Errno.E2BIG]).toEqual([1, 2, 9, 13, 22, 28, 7]);
});
