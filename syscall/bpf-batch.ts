// The batch commands: BPF_MAP_LOOKUP_BATCH, BPF_MAP_LOOKUP_AND_DELETE_BATCH,
// BPF_MAP_UPDATE_BATCH and BPF_MAP_DELETE_BATCH (Linux 5.6).
//
//     struct { /* union bpf_attr, member `batch` */
//       __aligned_u64 in_batch;   // resume token from the previous call; NULL = start
//       __aligned_u64 out_batch;  // where the kernel writes the token for the next call
//       __aligned_u64 keys;       // count keys, back to back
//       __aligned_u64 values;     // count values, back to back (per-CPU: each value
//                                 //   is round_up(value_size, 8) * possible CPUs)
//       __u32 count;              // in: capacity of keys/values; out: elements processed
//       __u32 map_fd;
//       __u64 elem_flags;         // BPF_F_LOCK, or BPF_ANY/NOEXIST/EXIST for updates
//       __u64 flags;              // must be 0
//     } batch;
//
// Lookups walk the map in kernel order. The token is opaque: hash maps store a bucket
// index (u32) in it, arrays the next key, so its buffer must hold max(key_size, 4) bytes.
// The walk ends with ENOENT, and that last call may still return elements in `count`.
// A hash map refuses with ENOSPC (and count 0) when one bucket holds more entries than
// `count` leaves room for: the caller retries with larger buffers.

import { BpfCommand } from "./constants.js";
import { Attr } from "./attr.js";
import { sysBpf } from "./bpf.js";
import { MapBatchAttr } from "./layout.js";
import { NativeBuffer } from "./native.js";

/** Native buffers and a reusable attr for one batch walk or batch write over a map. */
export class MapBatchCall {
  readonly keys: NativeBuffer;
  readonly values: NativeBuffer | undefined;
  /** Resume tokens: the kernel writes `outBatch`; the caller copies it to `inBatch`. */
  readonly inBatch: NativeBuffer;
  readonly outBatch: NativeBuffer;
  readonly capacity: number;
  readonly #attr: Attr;

  /**
   * `valueSize` is the size of one value as the kernel copies it (0 for delete batches,
   * which have no values); room for `capacity` elements is allocated.
   */
  constructor(mapFd: number, keySize: number, valueSize: number, capacity: number) {
    this.capacity = capacity;
    this.keys = new NativeBuffer(keySize * capacity);
    this.values = valueSize === 0 ? undefined : new NativeBuffer(valueSize * capacity);
    const tokenSize = Math.max(keySize, 4);
    this.inBatch = new NativeBuffer(tokenSize);
    this.outBatch = new NativeBuffer(tokenSize);
    this.#attr = new Attr(MapBatchAttr.flags);
    this.#attr
      .u32(MapBatchAttr.map_fd, mapFd)
      .pointer(MapBatchAttr.keys, this.keys)
      .pointer(MapBatchAttr.values, this.values)
      .pointer(MapBatchAttr.out_batch, this.outBatch);
  }

  /**
   * One batch command over `count` elements. `resume` passes the token of the previous
   * call (lookups only). Returns 0 or the negated errno; `processed` tells how many
   * elements the kernel handled either way.
   */
  run(cmd: number, count: number, options: { resume?: boolean; elemFlags?: number } = {}): number {
    this.#attr
      .pointer(MapBatchAttr.in_batch, options.resume === true ? this.inBatch : undefined)
      .u32(MapBatchAttr.count, count)
      .u64(MapBatchAttr.elem_flags, options.elemFlags ?? 0);
    return sysBpf(cmd, this.#attr.address, this.#attr.size);
  }

  /** The elements the last run() processed (the kernel's output `count`). */
  get processed(): number {
    return this.#attr.getU32(MapBatchAttr.count);
  }

  /** Makes the token the kernel just wrote the input of the next lookup. */
  advance(): void {
    this.inBatch.bytes.set(this.outBatch.bytes);
  }

  free(): void {
    this.keys.free();
    this.values?.free();
    this.inBatch.free();
    this.outBatch.free();
    this.#attr.free();
  }
}

export const BatchCmd = {
  lookup: BpfCommand.MAP_LOOKUP_BATCH,
  lookupAndDelete: BpfCommand.MAP_LOOKUP_AND_DELETE_BATCH,
  update: BpfCommand.MAP_UPDATE_BATCH,
  delete: BpfCommand.MAP_DELETE_BATCH,
} as const;
