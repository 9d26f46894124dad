// The raw-koffi side of bench/maps: the least a JavaScript program can do per map
// operation, and so the floor the library is measured against. One koffi binding of
// syscall(2), one native block allocated up front, attrs written once; per operation:
// write the key with a DataView, make the call, read the value with a DataView.
//
//     long syscall(SYS_bpf = 321, int cmd, union bpf_attr *attr, unsigned int size);
//
//     elem attr (BPF_MAP_LOOKUP_ELEM / UPDATE_ELEM / DELETE_ELEM / GET_NEXT_KEY), 32 bytes:
//       0 map_fd u32 | 8 key u64 (address) | 16 value or next_key u64 (address) | 24 flags u64
//     batch attr (BPF_MAP_LOOKUP_BATCH / UPDATE_BATCH), 56 bytes:
//       0 in_batch | 8 out_batch | 16 keys | 24 values   (u64 addresses)
//       32 count u32 (in: capacity, out: processed) | 36 map_fd u32 | 40 elem_flags | 48 flags
//
// Keys are u32 and values u64 (the benchmark's maps); values are read as bigint, as the
// library returns them, so both sides hand the caller the same JS values.

import koffi from "koffi";
import { BpfCommand, SYS_bpf } from "../syscall/constants.js";

const libc = koffi.load("libc.so.6");
// The fixed prototype is exact on x86-64 for integer arguments (see syscall/bpf.ts).
const syscall = libc.func("long syscall(long number, int cmd, uintptr_t attr, unsigned int size)") as (
  number: number,
  cmd: number,
  attr: number,
  size: number,
) => number;

const ENOENT = 2;
const ELEM_ATTR_SIZE = 32;
const DELETE_ATTR_SIZE = 16; // offsetofend(union bpf_attr, key)
const BATCH_ATTR_SIZE = 56;

// Offsets in the native block.
const ELEM = 0; // attr for lookup/update/delete
const NEXT = 32; // attr for GET_NEXT_KEY
const KEY = 64;
const VALUE = 72;
const NEXT_KEY = 80;
const BATCH = 88; // batch attr
const IN_BATCH = 144;
const OUT_BATCH = 152;
const KEYS = 160; // `chunk` u32 keys, then `chunk` u64 values

const close = libc.func("int close(int fd)") as (fd: number) => number;

/**
 * BPF_MAP_CREATE of a u32 -> u64 map, and BPF_OBJ_GET_INFO_BY_FD for its id, so the other
 * sides can open the same map by id (the library through BpfMap.fromId, C through
 * bpf_map_get_fd_by_id) even when the library cannot create one.
 *   map_create attr: 0 map_type | 4 key_size | 8 value_size | 12 max_entries (u32 each)
 *   info attr: 0 bpf_fd u32 | 4 info_len u32 | 8 info u64 (address of struct bpf_map_info,
 *   whose first fields are type u32 and id u32)
 */
export function createRawMap(type: number, maxEntries: number): { fd: number; id: number } {
  const pointer = koffi.alloc("uint8_t", 128);
  try {
    const base = Number(koffi.address(pointer));
    const v = new DataView(koffi.view(pointer, 128));
    new Uint8Array(v.buffer).fill(0);
    v.setUint32(0, type, true);
    v.setUint32(4, 4, true);
    v.setUint32(8, 8, true);
    v.setUint32(12, maxEntries, true);
    const fd = syscall(SYS_bpf, BpfCommand.MAP_CREATE, base, 72);
    if (fd < 0) failed("map_create");
    new Uint8Array(v.buffer).fill(0);
    v.setUint32(0, fd, true);
    v.setUint32(4, 8, true); // only type and id are wanted
    v.setBigUint64(8, BigInt(base + 64), true);
    if (syscall(SYS_bpf, BpfCommand.OBJ_GET_INFO_BY_FD, base, 16) < 0) {
      close(fd);
      failed("obj_get_info_by_fd");
    }
    return { fd, id: v.getUint32(68, true) };
  } finally {
    koffi.free(pointer);
  }
}

export function closeRawFd(fd: number): void {
  close(fd);
}

export class RawMap {
  readonly #chunk: number;
  readonly #pointer: unknown;
  readonly #base: number;
  readonly #view: DataView;
  readonly #valuesAt: number;

  constructor(fd: number, chunk: number) {
    this.#chunk = chunk;
    this.#valuesAt = KEYS + ((chunk * 4 + 7) & ~7);
    const size = this.#valuesAt + chunk * 8;
    this.#pointer = koffi.alloc("uint8_t", size);
    this.#base = Number(koffi.address(this.#pointer));
    this.#view = new DataView(koffi.view(this.#pointer, size));
    new Uint8Array(this.#view.buffer).fill(0);
    const v = this.#view;
    const address = (at: number) => BigInt(this.#base + at);
    v.setUint32(ELEM, fd, true);
    v.setBigUint64(ELEM + 8, address(KEY), true);
    v.setBigUint64(ELEM + 16, address(VALUE), true);
    v.setUint32(NEXT, fd, true);
    v.setBigUint64(NEXT + 16, address(NEXT_KEY), true);
    v.setBigUint64(BATCH + 8, address(OUT_BATCH), true);
    v.setBigUint64(BATCH + 16, address(KEYS), true);
    v.setBigUint64(BATCH + 24, address(this.#valuesAt), true);
    v.setUint32(BATCH + 36, fd, true);
  }

  lookup(key: number): bigint | undefined {
    this.#view.setUint32(KEY, key, true);
    if (syscall(SYS_bpf, BpfCommand.MAP_LOOKUP_ELEM, this.#base + ELEM, ELEM_ATTR_SIZE) < 0) return failed("lookup");
    return this.#view.getBigUint64(VALUE, true);
  }

  update(key: number, value: bigint): void {
    this.#view.setUint32(KEY, key, true);
    this.#view.setBigUint64(VALUE, value, true);
    if (syscall(SYS_bpf, BpfCommand.MAP_UPDATE_ELEM, this.#base + ELEM, ELEM_ATTR_SIZE) < 0) failed("update");
  }

  delete(key: number): void {
    this.#view.setUint32(KEY, key, true);
    // DELETE reads only map_fd and key, and refuses non-zero bytes after them (EINVAL):
    // the attr is passed cut after `key`, hiding the value pointer.
    if (syscall(SYS_bpf, BpfCommand.MAP_DELETE_ELEM, this.#base + ELEM, DELETE_ATTR_SIZE) < 0) failed("delete");
  }

  /** Walks every key with BPF_MAP_GET_NEXT_KEY; returns how many there were. */
  iterate(): number {
    const v = this.#view;
    v.setBigUint64(NEXT + 8, 0n, true); // key = NULL: start with the first key
    let count = 0;
    let sink = 0;
    while (syscall(SYS_bpf, BpfCommand.MAP_GET_NEXT_KEY, this.#base + NEXT, ELEM_ATTR_SIZE) >= 0) {
      const key = v.getUint32(NEXT_KEY, true);
      sink ^= key;
      v.setUint32(KEY, key, true);
      if (count++ === 0) v.setBigUint64(NEXT + 8, BigInt(this.#base + KEY), true);
    }
    if (koffi.errno() !== ENOENT) failed("get_next_key");
    return count + (sink & 0);
  }

  /**
   * Reads the whole map with BPF_MAP_LOOKUP_BATCH, `chunk` at a time; returns the element
   * count. "pairs" builds what BpfMap.lookupBatch returns ([key as number, value as bigint]
   * per element, in one array): the floor for that call. "bytes" leaves the elements in the
   * buffer, as C and BpfMap.lookupBatchChunks do.
   */
  lookupBatch(output: "pairs" | "bytes"): number {
    const v = this.#view;
    let total = 0;
    const pairs: [number, bigint][] = [];
    for (let first = true; ; first = false) {
      v.setBigUint64(BATCH, first ? 0n : BigInt(this.#base + IN_BATCH), true);
      v.setUint32(BATCH + 32, this.#chunk, true);
      const ret = syscall(SYS_bpf, BpfCommand.MAP_LOOKUP_BATCH, this.#base + BATCH, BATCH_ATTR_SIZE);
      const errno = ret < 0 ? koffi.errno() : 0;
      const count = v.getUint32(BATCH + 32, true);
      if (output === "pairs") {
        for (let i = 0; i < count; i++) pairs.push([v.getUint32(KEYS + i * 4, true), v.getBigUint64(this.#valuesAt + i * 8, true)]);
      }
      total += count;
      if (errno === ENOENT) return output === "pairs" ? pairs.length : total;
      if (ret < 0) failed("lookup_batch");
      v.setUint32(IN_BATCH, v.getUint32(OUT_BATCH, true), true);
    }
  }

  /** Stores every entry with BPF_MAP_UPDATE_BATCH, `chunk` at a time; returns how many. */
  updateBatch(keys: readonly number[], values: readonly bigint[]): number {
    const v = this.#view;
    v.setBigUint64(BATCH, 0n, true);
    for (let at = 0; at < keys.length; at += this.#chunk) {
      const count = Math.min(this.#chunk, keys.length - at);
      for (let i = 0; i < count; i++) {
        v.setUint32(KEYS + i * 4, keys[at + i], true);
        v.setBigUint64(this.#valuesAt + i * 8, values[at + i], true);
      }
      v.setUint32(BATCH + 32, count, true);
      if (syscall(SYS_bpf, BpfCommand.MAP_UPDATE_BATCH, this.#base + BATCH, BATCH_ATTR_SIZE) < 0) failed("update_batch");
    }
    return keys.length;
  }

  free(): void {
    koffi.free(this.#pointer);
  }
}

/** The benchmark's maps are full and well formed: any failure is a broken benchmark. */
function failed(what: string): undefined {
  const errno = koffi.errno();
  throw new Error(`raw bpf(2) ${what} failed with errno ${errno}`);
}
