// The object's BTF in the kernel: BPF_BTF_LOAD once per object, so that maps can name their
// key and value types (bpftool map dump prints fields) and programs can carry func_info and
// line_info (the verifier checks global functions by prototype, logs show source lines).
//
// BTF is an aid, not a requirement: when the kernel refuses it (a compiler emitting kinds
// this kernel does not know, say), libbpf loads without it and says so; so do we, through
// the warning callback, naming what is lost.

import { BtfError, SyscallError } from "../common/errors.js";
import { MapType } from "../common/uapi.js";
import { loadBtf } from "../syscall/bpf-btf.js";
import type { Fd } from "../syscall/fd.js";
import type { MapSpec } from "../maps/spec.js";
import type { ObjectSpec } from "./spec.js";
import { sanitizeBtf, type BtfFeatures } from "../btf/sanitize.js";
import { btfFeatures } from "./btf-features.js";
import { kernelReadyExternBtf } from "./externs-btf.js";

export type Warn = (message: string) => void;

/** BPF_BTF_LOAD of the object's (fixed-up) BTF; undefined, with a warning, if the kernel refuses it. */
export function loadObjectBtf(spec: ObjectSpec, warn: Warn, features: BtfFeatures = btfFeatures()): Fd | undefined {
  if (spec.btf === undefined) return undefined;
  try {
    // Extern declarations (.kconfig, .ksyms) rewritten as BPF_BTF_LOAD accepts them: loader/externs-btf.ts.
    const btf = kernelReadyExternBtf(spec.btf);
    const sanitized = sanitizeBtf(btf, features);
    if (sanitized.changes.length > 0) {
      warn(`this kernel does not know every BTF kind the object uses: ${sanitized.changes.join(", ")}`);
    }
    return loadBtf(sanitized.btf instanceof Uint8Array ? sanitized.btf : sanitized.btf.bytes);
  } catch (error) {
    if (!(error instanceof BtfError || error instanceof SyscallError)) throw error;
    warn(
      `loading without BTF: ${error.message}. Maps are created without key/value types and programs without ` +
        "source line information (global functions are then verified as static ones).",
    );
    return undefined;
  }
}

/**
 * Map types whose keys and values are not the program's data (fds, CPUs, sockets) or that
 * have none: the kernel refuses BTF key/value type ids for them.
 */
const NO_BTF_TYPES: ReadonlySet<number> = new Set([
  MapType.PERF_EVENT_ARRAY,
  MapType.CGROUP_ARRAY,
  MapType.STACK_TRACE,
  MapType.ARRAY_OF_MAPS,
  MapType.HASH_OF_MAPS,
  MapType.DEVMAP,
  MapType.DEVMAP_HASH,
  MapType.CPUMAP,
  MapType.XSKMAP,
  MapType.SOCKMAP,
  MapType.SOCKHASH,
  MapType.QUEUE,
  MapType.STACK,
  MapType.RINGBUF,
  MapType.USER_RINGBUF,
  MapType.PROG_ARRAY,
]);

/** The BTF attributes of BPF_MAP_CREATE for a map, or none. */
export function mapBtfAttrs(spec: MapSpec, btfFd: Fd | undefined): { btfFd?: Fd; btfKeyTypeId?: number; btfValueTypeId?: number } {
  if (btfFd === undefined || spec.valueTypeId === 0 || NO_BTF_TYPES.has(spec.type)) return {};
  return { btfFd, btfKeyTypeId: spec.keyTypeId, btfValueTypeId: spec.valueTypeId };
}
