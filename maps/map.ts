// BpfMap: a loaded map, and the operations user space has on it.
//
//     const map = BpfMap.create({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1024, name: "stats" });
//     map.update(2, 10n);
//     map.lookup(2);          // 10n
//     map.lookup(3);          // undefined: a missing key is an ordinary answer
//     for (const [k, v] of map.entries()) ...
//     map.close();
//
// A BpfMap owns its Fd and one block of native scratch memory holding a ready-made bpf_attr
// and the key/value buffers it points to (its base class MapElemCommands, syscall/bpf-map.ts),
// so lookup/update/delete encode into the scratch, make one bpf(2) call and decode, without
// allocating anything but the returned value.
//
// Keys and values go through codecs (maps/codec.ts): numbers for 1/2/4-byte scalars,
// bigints for 8 bytes, Uint8Array otherwise or with `raw: true`, and arrays with one value
// per possible CPU for per-CPU maps. Named BpfMap so that it never shadows JS's Map.

import { SpecError, SyscallError } from "../common/errors.js";
import { BpfCommand, MapType, UpdateFlags, mapTypeName } from "../syscall/constants.js";
import { ARRAY_MAP_TYPES, createMap, freezeMap, MapElemCommands, NextKeyCursor, type MapCreateAttrs } from "../syscall/bpf-map.js";
import { bpfError } from "../syscall/bpf.js";
import { NativeBuffer } from "../syscall/native.js";
import { getPinnedObject, objectFdById, objectKindOf, pinObject } from "../syscall/bpf-obj.js";
import { possibleCpus } from "../syscall/cpus.js";
import { Errno } from "../syscall/errno.js";
import type { Fd } from "../syscall/fd.js";
import { mapInfo, type MapInfoResult } from "../syscall/info.js";
import { deleteBatch, lookupBatch, lookupBatchChunks, updateBatch, updateBatchBytes, type BatchChunk, type BatchOptions } from "./batch.js";
import { defaultCodec, perCpuCodec, type Codec, type MapValue, type Scalar } from "./codec.js";
import { KeyWalk } from "./key-walk.js";

/** What a BpfMap needs to know about the kernel map behind its Fd. */
export interface MapDescription {
  /** The full name (the kernel keeps at most 15 characters of it). */
  name: string;
  /** MapType value (BPF_MAP_TYPE_*). */
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

export interface BpfMapOptions<K, V> {
  /** Codec for keys; default: by key size (see maps/codec.ts). */
  keyCodec?: Codec<K>;
  /** Codec for one value (for per-CPU maps: one CPU's value); default: by value size. */
  valueCodec?: Codec<V>;
  /** Keys and values as Uint8Array whatever their size. */
  raw?: boolean;
}

/** BPF_ANY ("any"), BPF_NOEXIST ("noexist"), BPF_EXIST ("exist"), or UpdateFlag bits. */
export type UpdateFlagInput = "any" | "noexist" | "exist" | number;

const UPDATE_FLAGS = { any: UpdateFlags.ANY, noexist: UpdateFlags.NOEXIST, exist: UpdateFlags.EXIST } as const;

/** Map types whose values hold one copy per possible CPU. */
const PER_CPU_TYPES: ReadonlySet<number> = new Set([
  MapType.PERCPU_HASH,
  MapType.PERCPU_ARRAY,
  MapType.LRU_PERCPU_HASH,
  MapType.PERCPU_CGROUP_STORAGE,
]);

export function isPerCpuMapType(type: number): boolean {
  return PER_CPU_TYPES.has(type);
}

export function updateFlagValue(flag: UpdateFlagInput): number {
  return typeof flag === "number" ? flag : UPDATE_FLAGS[flag];
}

/**
 * A map of a loaded object. Its keys and values take the shape of its BTF types, known
 * only at run time (objects for structs, numbers for u32...), so statically they are `any`;
 * `obj.map<K, V>(name)` names the shapes a caller expects.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type LoadedMap = BpfMap<any, any>;

export class BpfMap<K = Scalar, V = MapValue> extends MapElemCommands {
  readonly fd: Fd;
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  /** value_size as created: the size of one CPU's value for per-CPU maps. */
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  /** True for per-CPU map types: values are arrays with one entry per possible CPU. */
  readonly perCpu: boolean;
  readonly keyCodec: Codec<K>;
  /** Codec for the whole value as the kernel copies it (the per-CPU array for per-CPU maps). */
  readonly valueCodec: Codec<V>;
  /** `map "name"`, and the same for its keys and values, for error messages. */
  readonly #part: string;
  readonly #keyPart: string;
  readonly #valuePart: string;

  /**
   * Takes ownership of `fd`, a map described by `description`; if the handle cannot be
   * built (a codec of the wrong size), the fd is closed before the error is thrown.
   */
  constructor(fd: Fd, description: MapDescription, options: BpfMapOptions<K, unknown> = {}) {
    const part = `map ${JSON.stringify(description.name)}`;
    const { keyCodec, valueCodec } = adopt(fd, () => chooseCodecs<K, V>(part, description, options));
    // Allocated before the handle takes the fd over, so that a failure here still closes it.
    const valueSize = valueCodec.size;
    const scratch = adopt(fd, () => new NativeBuffer(MapElemCommands.blockSize(description.keySize, valueSize)));
    super(fd.raw, scratch, description.keySize, valueSize);
    this.fd = fd;
    this.name = description.name;
    this.type = description.type;
    this.keySize = description.keySize;
    this.valueSize = description.valueSize;
    this.maxEntries = description.maxEntries;
    this.flags = description.flags;
    this.perCpu = isPerCpuMapType(description.type);
    this.#part = part;
    this.#keyPart = `${part} key`;
    this.#valuePart = `${part} value`;
    this.keyCodec = keyCodec;
    this.valueCodec = valueCodec;
  }

  /** BPF_MAP_CREATE and a handle that owns the new map. */
  static create<K = Scalar, V = MapValue>(attrs: MapCreateAttrs, options: BpfMapOptions<K, unknown> = {}): BpfMap<K, V> {
    const fd = createMap(attrs);
    const description = { ...attrs, name: attrs.name ?? "", flags: attrs.flags ?? 0 };
    return new BpfMap<K, V>(fd, description, options);
  }

  /** A handle for a map fd of unknown shape: the kernel describes it (BPF_OBJ_GET_INFO_BY_FD). */
  static fromFd<K = Scalar, V = MapValue>(fd: Fd, options: BpfMapOptions<K, unknown> & { name?: string } = {}): BpfMap<K, V> {
    return adopt(fd, () => {
      const kind = objectKindOf(fd);
      if (kind !== "map") {
        throw new SpecError(`fd ${fd.raw} refers to a BPF ${kind === "prog" ? "program" : kind} object, not a map`, { part: options.name ?? "map" });
      }
      const info = mapInfo(fd);
      return new BpfMap<K, V>(fd, { ...info, name: options.name ?? info.name }, options);
    });
  }

  /** Opens the map pinned at `path`; `fileFlags` may be FileFlags.RDONLY / BPF_F_WRONLY. */
  static openPinned<K = Scalar, V = MapValue>(
    path: string,
    options: BpfMapOptions<K, unknown> & { name?: string; fileFlags?: number } = {},
  ): BpfMap<K, V> {
    return BpfMap.fromFd<K, V>(getPinnedObject(path, options.fileFlags ?? 0), options);
  }

  /** Opens the map with this global id (as `bpftool map show` lists). */
  static fromId<K = Scalar, V = MapValue>(id: number, options: BpfMapOptions<K, unknown> & { name?: string } = {}): BpfMap<K, V> {
    return BpfMap.fromFd<K, V>(objectFdById("map", id), options);
  }

  get closed(): boolean {
    return this.fd.closed;
  }

  /** The value stored under `key`, or undefined when there is none. */
  lookup(key: K): V | undefined {
    this.#checkOpen();
    this.keyCodec.encode(key, this.scratch, this.scratchView, 0, this.#keyPart);
    const ret = this.lookupElem();
    if (ret === -Errno.ENOENT) return undefined;
    if (ret < 0) throw this.#error(BpfCommand.MAP_LOOKUP_ELEM, ret);
    return this.valueCodec.decode(this.scratch, this.scratchView, this.valueAt);
  }

  /** Stores `value` under `key`; `flag` "noexist" / "exist" make it conditional (EEXIST / ENOENT otherwise). */
  update(key: K, value: V, flag: UpdateFlagInput = "any"): void {
    this.#checkOpen();
    this.keyCodec.encode(key, this.scratch, this.scratchView, 0, this.#keyPart);
    this.valueCodec.encode(value, this.scratch, this.scratchView, this.valueAt, this.#valuePart);
    const ret = this.updateElem(updateFlagValue(flag));
    if (ret < 0) throw this.#error(BpfCommand.MAP_UPDATE_ELEM, ret, this.#updateCauses(key));
  }

  /** Deletes `key`; false when it was not there. */
  delete(key: K): boolean {
    this.#checkOpen();
    this.keyCodec.encode(key, this.scratch, this.scratchView, 0, this.#keyPart);
    const ret = this.deleteElem();
    if (ret === -Errno.ENOENT) return false;
    if (ret < 0) throw this.#error(BpfCommand.MAP_DELETE_ELEM, ret);
    return true;
  }

  /** Removes `key` and returns its value, atomically (hash maps since 5.14); undefined when absent. */
  lookupAndDelete(key: K): V | undefined {
    this.#checkOpen();
    this.keyCodec.encode(key, this.scratch, this.scratchView, 0, this.#keyPart);
    const ret = this.lookupAndDeleteElem();
    if (ret === -Errno.ENOENT) return undefined;
    if (ret < 0) throw this.#error(BpfCommand.MAP_LOOKUP_AND_DELETE_ELEM, ret);
    return this.valueCodec.decode(this.scratch, this.scratchView, this.valueAt);
  }

  /** Queue, stack or bloom filter (maps without keys): adds `value`. */
  push(value: V, flag: UpdateFlagInput = "any"): void {
    this.#checkKeyless("push");
    this.valueCodec.encode(value, this.scratch, this.scratchView, this.valueAt, this.#valuePart);
    const ret = this.updateElem(updateFlagValue(flag));
    if (ret < 0) throw this.#error(BpfCommand.MAP_UPDATE_ELEM, ret);
  }

  /** Queue or stack: removes and returns the next value; undefined when empty. */
  pop(): V | undefined {
    this.#checkKeyless("pop");
    const ret = this.lookupAndDeleteElem();
    if (ret === -Errno.ENOENT) return undefined;
    if (ret < 0) throw this.#error(BpfCommand.MAP_LOOKUP_AND_DELETE_ELEM, ret);
    return this.valueCodec.decode(this.scratch, this.scratchView, this.valueAt);
  }

  /** Queue or stack: the next value without removing it; undefined when empty. */
  peek(): V | undefined {
    this.#checkKeyless("peek");
    const ret = this.lookupElem();
    if (ret === -Errno.ENOENT) return undefined;
    if (ret < 0) throw this.#error(BpfCommand.MAP_LOOKUP_ELEM, ret);
    return this.valueCodec.decode(this.scratch, this.scratchView, this.valueAt);
  }

  /** Bloom filter: false when `value` was certainly never pushed, true when it may have been. */
  mayContain(value: V): boolean {
    this.#checkKeyless("mayContain");
    // For a bloom filter, BPF_MAP_LOOKUP_ELEM reads `value` as its input.
    this.valueCodec.encode(value, this.scratch, this.scratchView, this.valueAt, this.#valuePart);
    const ret = this.lookupElem();
    if (ret === -Errno.ENOENT) return false;
    if (ret < 0) throw this.#error(BpfCommand.MAP_LOOKUP_ELEM, ret);
    return true;
  }

  /**
   * The keys, in the kernel's order (BPF_MAP_GET_NEXT_KEY). Deleting the current key of a
   * hash map while iterating makes the kernel start over from the first key; to delete
   * while walking, collect the keys first or use deleteBatch(). (Calling next() by hand: each
   * step returns the same result object, so read its value before the next step; for...of,
   * spreading and Array.from do.)
   */
  keys(): IterableIterator<K> {
    // Each walk has its own native cursor: lookups and other walks in the loop cannot move it.
    this.#checkOpen();
    return new KeyWalk(
      new NextKeyCursor(this.fd.raw, this.keySize),
      this.keyCodec,
      () => this.#checkOpen(),
      (ret) => this.#error(BpfCommand.MAP_GET_NEXT_KEY, ret),
    );
  }

  /** [key, value] pairs; a key deleted between the two steps is skipped. */
  *entries(): IterableIterator<[K, V]> {
    for (const key of this.keys()) {
      const value = this.lookup(key);
      if (value !== undefined) yield [key, value];
    }
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  /** Every entry, read with BPF_MAP_LOOKUP_BATCH in batches of `batchSize` (Linux 5.6). */
  lookupBatch(options: BatchOptions = {}): Array<[K, V]> {
    return lookupBatch(this.#batchTarget(), BpfCommand.MAP_LOOKUP_BATCH, options);
  }

  /** Every entry, removed from the map as it is read (BPF_MAP_LOOKUP_AND_DELETE_BATCH; hash maps). */
  /**
   * Every entry, chunk by chunk as raw bytes (keys and values back to back, in the kernel's
   * layout), with no decoding: for reading large maps at C speed. Each chunk's views are
   * valid until the loop moves on; copy what you keep.
   */
  lookupBatchChunks(options: BatchOptions = {}): Generator<BatchChunk> {
    return lookupBatchChunks(this.#batchTarget(), BpfCommand.MAP_LOOKUP_BATCH, options);
  }

  lookupAndDeleteBatch(options: BatchOptions = {}): Array<[K, V]> {
    return lookupBatch(this.#batchTarget(), BpfCommand.MAP_LOOKUP_AND_DELETE_BATCH, options);
  }

  /**
   * Stores all `entries` with BPF_MAP_UPDATE_BATCH (unconditionally: the kernel takes no
   * BPF_NOEXIST/BPF_EXIST for batches); returns how many were stored.
   */
  updateBatch(entries: Iterable<readonly [K, V]>, options: BatchOptions = {}): number {
    return updateBatch(this.#batchTarget(), entries, options);
  }

  /**
   * Stores entries given as raw bytes in the kernel's layout: `keys` holds n keys and
   * `values` n values, back to back (as lookupBatchChunks yields them). Nothing is encoded,
   * so large tables load at C speed. Returns how many were stored.
   */
  updateBatchBytes(keys: Uint8Array, values: Uint8Array, options: BatchOptions = {}): number {
    return updateBatchBytes(this.#batchTarget(), keys, values, options);
  }

  /** Deletes `keys` with BPF_MAP_DELETE_BATCH; missing keys are skipped; returns how many were deleted. */
  deleteBatch(keys: Iterable<K>, options: BatchOptions = {}): number {
    return deleteBatch(this.#batchTarget(), keys, options);
  }

  /** Pins the map at `path` in a BPF filesystem, so it outlives this process. */
  pin(path: string): void {
    this.#checkOpen();
    pinObject(this.fd, path);
  }

  /** Makes the map read-only for user space from now on (BPF_MAP_FREEZE); programs can still write it. */
  freeze(): void {
    this.#checkOpen();
    freezeMap(this.fd, this.#part);
  }

  /** What the kernel reports about the map: id, name, sizes, flags, BTF ids. */
  info(): MapInfoResult {
    this.#checkOpen();
    return mapInfo(this.fd);
  }

  /** Releases the scratch memory and closes the fd; later calls do nothing. */
  close(): void {
    if (!this.scratchFreed) this.freeScratch();
    this.fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  override toString(): string {
    const type = mapTypeName(this.type);
    return `BpfMap(${this.name}, ${type}, key ${this.keySize}, value ${this.valueSize}, max ${this.maxEntries})`;
  }

  /**
   * Every operation starts here. Only the fd is checked: close() frees the scratch and closes
   * the fd together, and an fd closed by hand (map.fd.close()) must stop the map too, since
   * the kernel hands its number to the next file opened.
   */
  #checkOpen(): void {
    if (this.fd.closed) {
      throw new SyscallError(`${this.#part} is closed`, { operation: "map", errno: Errno.EBADF, errnoName: "EBADF" });
    }
  }

  #checkKeyless(operation: string): void {
    if (this.keySize !== 0) {
      const why = `${operation}() is for maps without keys (queue, stack, bloom filter); this map has ${this.keySize}-byte keys`;
      throw new SpecError(why, { part: this.#part });
    }
    this.#checkOpen();
  }

  #error(cmd: number, ret: number, causes?: Record<string, string>): SyscallError {
    return bpfError(cmd, -ret, { subject: this.#part, causes });
  }

  /** For arrays, E2BIG on update means an index past the end, not a full map. */
  #updateCauses(key: K): Record<string, string> | undefined {
    if (!ARRAY_MAP_TYPES.has(this.type)) return undefined;
    const last = this.maxEntries - 1;
    return { E2BIG: `index ${String(key)} is out of range: the array has max_entries ${this.maxEntries} (indexes 0 to ${last})` };
  }

  #batchTarget() {
    this.#checkOpen();
    return {
      fd: this.fd.raw,
      keyCodec: this.keyCodec,
      valueCodec: this.valueCodec,
      part: this.#part,
      keyPart: this.#keyPart,
      valuePart: this.#valuePart,
      maxEntries: this.maxEntries,
    };
  }
}

/** The codecs a map's keys and values go through: the caller's, or the defaults for their sizes. */
function chooseCodecs<K, V>(part: string, description: MapDescription, options: BpfMapOptions<K, unknown>): { keyCodec: Codec<K>; valueCodec: Codec<V> } {
  const keyCodec = options.keyCodec ?? (defaultCodec(description.keySize, options) as Codec<K>);
  const one = options.valueCodec ?? defaultCodec(description.valueSize, options);
  checkCodecSize(part, "key", keyCodec, description.keySize);
  checkCodecSize(part, "value", one, description.valueSize);
  const valueCodec = (isPerCpuMapType(description.type) ? perCpuCodec(one, possibleCpus()) : one) as Codec<V>;
  return { keyCodec, valueCodec };
}

function checkCodecSize(part: string, role: string, codec: Codec<unknown>, size: number): void {
  if (codec.size !== size) {
    throw new SpecError(`the ${role} codec encodes ${codec.size} bytes but the map's ${role}s are ${size} bytes`, { part });
  }
}

/** Runs `make` and closes `fd` if it throws, so a half-built handle never leaks the fd. */
function adopt<T>(fd: Fd, make: () => T): T {
  try {
    return make();
  } catch (error) {
    fd.close();
    throw error;
  }
}
