// Batch operations of a BpfMap: many elements per bpf(2) call (Linux 5.6).
//
// Lookups walk the map with a resume token (see syscall/bpf-batch.ts for the wire format):
// call, decode `count` elements, copy out_batch to in_batch, call again, until the kernel
// answers ENOENT, possibly with a last handful of elements in the same answer. A hash map
// answers ENOSPC with nothing processed when a single bucket holds more entries than the
// buffers have room for; the walk then doubles the buffers and resumes from the same token.
//
// Updates and deletes stop at the first element that fails and report how many were
// processed before it. A delete of a missing key is not an error for a BpfMap (delete()
// returns false), so deleteBatch skips the missing key and carries on with the rest.

import { SpecError, SyscallError } from "../common/errors.js";
import { BpfCommand, UpdateFlags } from "../syscall/constants.js";
import { MapBatchCall } from "../syscall/bpf-batch.js";
import { bpfError } from "../syscall/bpf.js";
import { Errno } from "../syscall/errno.js";
import type { Codec } from "./codec.js";

export interface BatchOptions {
  /** Elements per bpf(2) call; default min(max_entries, 4096). */
  batchSize?: number;
  /**
   * BPF_F_LOCK: copy each value under its struct bpf_spin_lock (maps whose BTF value type
   * has one). It is the only element flag the batch commands accept: a batch update
   * always stores unconditionally (BPF_ANY); conditional stores need update().
   */
  lock?: boolean;
}

/** What the batch functions need from a BpfMap. */
export interface BatchTarget<K, V> {
  fd: number;
  keyCodec: Codec<K>;
  valueCodec: Codec<V>;
  /** `map "name"`, and the same for its keys and values, for error messages. */
  part: string;
  keyPart: string;
  valuePart: string;
  maxEntries: number;
}

const DEFAULT_BATCH = 4096;
const MAX_BATCH = 1 << 20;

function elemFlags(options: BatchOptions): number {
  return options.lock === true ? UpdateFlags.F_LOCK : 0;
}

function batchSize<K, V>(target: BatchTarget<K, V>, options: BatchOptions): number {
  return Math.max(1, options.batchSize ?? Math.min(target.maxEntries, DEFAULT_BATCH));
}

/**
 * One answer of a batch lookup: `count` keys and values back to back in the kernel's
 * layout, as views of exactly those elements into the call's buffers, valid until the walk
 * goes on (updateBatchBytes takes them as they are).
 */
export interface BatchChunk {
  readonly count: number;
  readonly keys: Uint8Array;
  readonly keysView: DataView;
  readonly values: Uint8Array;
  readonly valuesView: DataView;
}

/**
 * BPF_MAP_LOOKUP_BATCH or BPF_MAP_LOOKUP_AND_DELETE_BATCH over the whole map, chunk by
 * chunk without decoding anything: the fastest way to read a large map (what C does).
 */
export function* lookupBatchChunks<K, V>(target: BatchTarget<K, V>, cmd: number, options: BatchOptions): Generator<BatchChunk> {
  const { keyCodec, valueCodec } = target;
  let capacity = batchSize(target, options);
  let batch = new MapBatchCall(target.fd, keyCodec.size, valueCodec.size, capacity);
  let resume = false;
  try {
    for (;;) {
      const ret = batch.run(cmd, capacity, { resume, elemFlags: elemFlags(options) });
      const count = batch.processed;
      if (ret === -Errno.ENOSPC && count === 0 && capacity < MAX_BATCH) {
        // One hash bucket holds more than `capacity` entries: grow and resume from the same token.
        capacity *= 2;
        const bigger = new MapBatchCall(target.fd, keyCodec.size, valueCodec.size, capacity);
        bigger.inBatch.bytes.set(batch.inBatch.bytes);
        batch.free();
        batch = bigger;
        continue;
      }
      if (ret < 0 && ret !== -Errno.ENOENT) throw bpfError(cmd, -ret, { subject: target.part });
      if (count > 0) yield chunkOf(batch, count, keyCodec.size, valueCodec.size);
      if (ret === -Errno.ENOENT) return;
      batch.advance();
      resume = true;
    }
  } finally {
    batch.free();
  }
}

/** The first `count` keys and values of the call's buffers, as views of exactly that many elements. */
function chunkOf(batch: MapBatchCall, count: number, keySize: number, valueSize: number): BatchChunk {
  const keys = batch.keys.bytes.subarray(0, count * keySize);
  const values = batch.values!.bytes.subarray(0, count * valueSize);
  return {
    count,
    keys,
    keysView: new DataView(keys.buffer, keys.byteOffset, keys.byteLength),
    values,
    valuesView: new DataView(values.buffer, values.byteOffset, values.byteLength),
  };
}

/** The same walk, every element decoded into a [key, value] pair. */
export function lookupBatch<K, V>(target: BatchTarget<K, V>, cmd: number, options: BatchOptions): Array<[K, V]> {
  const { keyCodec, valueCodec } = target;
  const keySize = keyCodec.size;
  const valueSize = valueCodec.size;
  const entries: Array<[K, V]> = [];
  for (const { count, keys, keysView, values, valuesView } of lookupBatchChunks(target, cmd, options)) {
    for (let i = 0; i < count; i++) {
      entries.push([keyCodec.decode(keys, keysView, i * keySize), valueCodec.decode(values, valuesView, i * valueSize)]);
    }
  }
  return entries;
}

/** BPF_MAP_UPDATE_BATCH of every entry; returns how many were stored. */
export function updateBatch<K, V>(target: BatchTarget<K, V>, entries: Iterable<readonly [K, V]>, options: BatchOptions): number {
  const { keyCodec, valueCodec, part, keyPart, valuePart } = target;
  const capacity = batchSize(target, options);
  const batch = new MapBatchCall(target.fd, keyCodec.size, valueCodec.size, capacity);
  const { bytes: keyBytes, view: keyView } = batch.keys;
  const { bytes: valueBytes, view: valueView } = batch.values!;
  const keySize = keyCodec.size;
  const valueSize = valueCodec.size;
  const flags = { elemFlags: elemFlags(options) };
  let stored = 0;
  let filled = 0;
  const flush = (): void => {
    if (filled === 0) return;
    const ret = batch.run(BpfCommand.MAP_UPDATE_BATCH, filled, flags);
    stored += processed(batch, ret, filled);
    if (ret < 0) throw partialFailure(BpfCommand.MAP_UPDATE_BATCH, -ret, part, stored, "stored");
    filled = 0;
  };
  try {
    // entry[0] and entry[1] rather than destructuring, which goes through the array's iterator.
    for (const entry of entries) {
      keyCodec.encode(entry[0], keyBytes, keyView, filled * keySize, keyPart);
      valueCodec.encode(entry[1], valueBytes, valueView, filled * valueSize, valuePart);
      if (++filled === capacity) flush();
    }
    flush();
    return stored;
  } finally {
    batch.free();
  }
}

/**
 * BPF_MAP_UPDATE_BATCH of entries already in the kernel's layout: `keys` holds n keys and
 * `values` n values, back to back (what lookupBatchChunks hands out, or a table built in a
 * typed array). Nothing is encoded; each chunk is one copy into the call's buffers and one
 * syscall, which is what a C loop over bpf_map_update_batch does. Returns how many were stored.
 */
export function updateBatchBytes<K, V>(target: BatchTarget<K, V>, keyBytes: Uint8Array, valueBytes: Uint8Array, options: BatchOptions): number {
  const { keyCodec, valueCodec, part } = target;
  const keySize = keyCodec.size;
  const valueSize = valueCodec.size;
  const count = keySize === 0 ? 0 : keyBytes.byteLength / keySize;
  if (!Number.isInteger(count) || valueBytes.byteLength !== count * valueSize) {
    throw new SpecError(
      `updateBatchBytes needs whole keys of ${keySize} bytes and as many values of ${valueSize} bytes ` +
        `(got ${keyBytes.byteLength} bytes of keys and ${valueBytes.byteLength} bytes of values)`,
      { part },
    );
  }
  const capacity = batchSize(target, options);
  const batch = new MapBatchCall(target.fd, keySize, valueSize, capacity);
  const keys = batch.keys.bytes;
  const values = batch.values!.bytes;
  let stored = 0;
  try {
    for (let at = 0; at < count; at += capacity) {
      const filled = Math.min(capacity, count - at);
      keys.set(keyBytes.subarray(at * keySize, (at + filled) * keySize));
      values.set(valueBytes.subarray(at * valueSize, (at + filled) * valueSize));
      const ret = batch.run(BpfCommand.MAP_UPDATE_BATCH, filled, { elemFlags: elemFlags(options) });
      stored += processed(batch, ret, filled);
      if (ret < 0) throw partialFailure(BpfCommand.MAP_UPDATE_BATCH, -ret, part, stored, "stored");
    }
    return stored;
  } finally {
    batch.free();
  }
}

/** BPF_MAP_DELETE_BATCH of every key, skipping keys that are not in the map; returns how many were deleted. */
export function deleteBatch<K, V>(target: BatchTarget<K, V>, keyList: Iterable<K>, options: BatchOptions): number {
  const { keyCodec, part, keyPart } = target;
  const size = keyCodec.size;
  const capacity = batchSize(target, options);
  const batch = new MapBatchCall(target.fd, size, 0, capacity);
  const keys = batch.keys;
  let deleted = 0;
  let filled = 0;
  const flush = (): void => {
    while (filled > 0) {
      const ret = batch.run(BpfCommand.MAP_DELETE_BATCH, filled);
      const done = processed(batch, ret, filled);
      deleted += done;
      if (ret === 0) break;
      if (ret !== -Errno.ENOENT) throw partialFailure(BpfCommand.MAP_DELETE_BATCH, -ret, part, deleted, "deleted");
      // Key `done` is missing: drop it and send the rest again.
      keys.bytes.copyWithin(0, (done + 1) * size, filled * size);
      filled -= done + 1;
    }
    filled = 0;
  };
  try {
    for (const key of keyList) {
      keyCodec.encode(key, keys.bytes, keys.view, filled * size, keyPart);
      if (++filled === capacity) flush();
    }
    flush();
    return deleted;
  } finally {
    batch.free();
  }
}

/**
 * Elements an update or delete batch got through. The kernel writes `count` back only
 * when it ran the loop, which stops before the failing element; a failure that leaves
 * `count` at its input value was refused before any element (unsupported map type,
 * bad flags).
 */
function processed(batch: MapBatchCall, ret: number, sent: number): number {
  const count = batch.processed;
  return ret < 0 && count === sent ? 0 : count;
}

function partialFailure(cmd: number, errno: number, part: string, processed: number, verb: string): SyscallError {
  const error = bpfError(cmd, errno, { subject: part });
  return new SyscallError(`${error.message} (${processed} elements ${verb} before the failure)`, error, { cause: error });
}
