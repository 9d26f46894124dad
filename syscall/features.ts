// Kernel feature probes: small experiments that ask the running kernel what it supports.
//
// Each probe runs on first use and is remembered for the life of the process (the kernel
// does not change under us). The loader reads them through `kernelFeatures()` and passes
// the answers down (STYLE rule 3: kernel facts are passed in, not looked up deep inside).
// A probe that fails for lack of privileges answers false; the real operation will then
// report EPERM with its own hint.

import { MapFlags, MapType, ProgramType } from "./constants.js";
import { BatchCmd, MapBatchCall } from "./bpf-batch.js";
import { createMap } from "./bpf-map.js";
import { loadBtf } from "./bpf-btf.js";
import { progLoadAttempt } from "./bpf-prog.js";
import { Errno } from "./errno.js";
import { ownFd, type Fd } from "./fd.js";
import { NativeBuffer } from "./native.js";

/** r0 = XDP_PASS; exit. The smallest program every kernel accepts. */
const PASS_PROGRAM = new Uint8Array([0xb7, 0, 0, 0, 2, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);

const PROBES = {
  /** prog_name in BPF_PROG_LOAD (Linux 4.15). */
  progName: () => tryLoad("tsbpf_probe"),
  /** map_name in BPF_MAP_CREATE (Linux 4.15). */
  mapName: () => tryCreate(MapType.ARRAY, 0, "tsbpf_probe"),
  /** BPF_F_MMAPABLE array maps (Linux 5.5). */
  mmapableArray: () => tryCreate(MapType.ARRAY, MapFlags.MMAPABLE),
  /** BPF_MAP_*_BATCH commands on hash maps (Linux 5.6). */
  batchOps: probeBatchOps,
  /** log_true_size output of BPF_PROG_LOAD and BPF_BTF_LOAD (Linux 6.4). */
  logTrueSize: probeLogTrueSize,
  /** BPF_BTF_LOAD of a minimal blob (Linux 4.18). */
  btfLoad: probeBtfLoad,
} satisfies Record<string, () => boolean>;

export type FeatureName = keyof typeof PROBES;

const answers = new Map<FeatureName, boolean>();

/** Whether the running kernel supports `name`; probed once, then remembered. */
export function haveFeature(name: FeatureName): boolean {
  let answer = answers.get(name);
  if (answer === undefined) {
    answer = PROBES[name]();
    answers.set(name, answer);
  }
  return answer;
}

/** All features as a read-only object whose properties probe on first read. */
export type KernelFeatures = { readonly [K in FeatureName]: boolean };

export function kernelFeatures(): KernelFeatures {
  const features = {} as Record<FeatureName, boolean>;
  for (const name of Object.keys(PROBES) as FeatureName[]) {
    Object.defineProperty(features, name, { enumerable: true, get: () => haveFeature(name) });
  }
  return features;
}

/** Forgets every answer (tests use this to probe again). */
export function clearFeatureCache(): void {
  answers.clear();
}

function closing(fd: Fd): true {
  fd.close();
  return true;
}

function tryCreate(type: number, flags: number, name?: string): boolean {
  try {
    return closing(createMap({ type, keySize: 4, valueSize: 4, maxEntries: 1, flags, name }));
  } catch {
    return false;
  }
}

function tryLoad(name?: string): boolean {
  const { result } = progLoadAttempt({ type: ProgramType.XDP, insns: PASS_PROGRAM, license: "GPL", name });
  return result >= 0 && closing(ownFd(result));
}

function probeLogTrueSize(): boolean {
  const buffer = new NativeBuffer(4096);
  try {
    const attempt = progLoadAttempt(
      { type: ProgramType.XDP, insns: PASS_PROGRAM, license: "GPL" },
      { level: 1, buffer },
    );
    if (attempt.result >= 0) ownFd(attempt.result).close();
    return attempt.result >= 0 && attempt.logTrueSize > 0;
  } finally {
    buffer.free();
  }
}

function probeBatchOps(): boolean {
  let map: Fd;
  try {
    map = createMap({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
  } catch {
    return false;
  }
  const batch = new MapBatchCall(map.raw, 4, 4, 1);
  try {
    // An empty map answers ENOENT ("no more elements") when the command exists.
    const ret = batch.run(BatchCmd.lookup, 1);
    return ret === 0 || ret === -Errno.ENOENT;
  } finally {
    batch.free();
    map.close();
  }
}

/**
 * A minimal BTF blob: struct btf_header (24 bytes: magic 0xeb9f, version 1, flags 0,
 * hdr_len 24, type_off 0, type_len 16, str_off 16, str_len 5), one type
 * `INT "int" size 4 bits 32 signed` (struct btf_type + u32 encoding), strings "\0int\0".
 */
function minimalBtf(): Uint8Array {
  const bytes = new Uint8Array(24 + 16 + 5);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, 0xeb9f, true);
  bytes[2] = 1; // version
  view.setUint32(4, 24, true); // hdr_len
  view.setUint32(8, 0, true); // type_off
  view.setUint32(12, 16, true); // type_len
  view.setUint32(16, 16, true); // str_off
  view.setUint32(20, 5, true); // str_len
  view.setUint32(24, 1, true); // name_off -> "int"
  view.setUint32(28, 1 << 24, true); // info: kind 1 = BTF_KIND_INT, vlen 0
  view.setUint32(32, 4, true); // size
  view.setUint32(36, (1 << 24) | 32, true); // encoding BTF_INT_SIGNED, offset 0, bits 32
  bytes.set([0, 0x69, 0x6e, 0x74, 0], 40);
  return bytes;
}

function probeBtfLoad(): boolean {
  try {
    return closing(loadBtf(minimalBtf()));
  } catch {
    return false;
  }
}
