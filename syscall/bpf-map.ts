// bpf(2) commands on maps: BPF_MAP_CREATE, the element commands and BPF_MAP_FREEZE.
//
//     union bpf_attr {
//       struct { __u32 map_type, key_size, value_size, max_entries, map_flags,
//                inner_map_fd, numa_node; char map_name[16]; __u32 map_ifindex, btf_fd,
//                btf_key_type_id, btf_value_type_id, btf_vmlinux_value_type_id;
//                __u64 map_extra; };                                  // BPF_MAP_CREATE
//       struct { __u32 map_fd; __aligned_u64 key;
//                union { __aligned_u64 value, next_key; }; __u64 flags; }; // BPF_MAP_*_ELEM
//     };
//
// The element commands are the hot path. MapElemCommands keeps, per map, one native block
// holding a ready attr plus the key and value scratch it points to, so a lookup is: write
// the key bytes, call, read the value bytes. No allocation, no throw:
// each call returns 0 or the negated errno and the map handle decides what ENOENT means.

import { BpfCommand, MapFlags, MapType } from "./constants.js";
import { Attr, writeU64 } from "./attr.js";
import { bpfCall, bpfFdCall, sysBpf } from "./bpf.js";
import { rawFd, type Fd } from "./fd.js";
import { MapCreateAttr, MapElemAttr, offsetofend } from "./layout.js";
import { NativeBuffer } from "./native.js";
import { Errno } from "./errno.js";

/** The attributes of BPF_MAP_CREATE, named after the bpf_attr fields. */
export interface MapCreateAttrs {
  /** MapType value (BPF_MAP_TYPE_*). */
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** MapFlag bits (BPF_F_*). */
  flags?: number;
  /** Object name; sent as at most 15 characters of [A-Za-z0-9_.] (see objectName). */
  name?: string;
  /** For ARRAY_OF_MAPS / HASH_OF_MAPS: a map of the inner type. */
  innerMapFd?: Fd | number;
  /** NUMA node; used by the kernel only with BPF_F_NUMA_NODE. */
  numaNode?: number;
  /** Create the map on this network device (offload). */
  ifindex?: number;
  btfFd?: Fd | number;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  btfVmlinuxValueTypeId?: number;
  /** Per-type extra (bloom filter: number of hash functions in the low 4 bits). Linux 5.16. */
  mapExtra?: number | bigint;
}

/** BPF_MAP_CREATE: a new map, owned by the returned Fd. */
export function createMap(attrs: MapCreateAttrs): Fd {
  const usesExtra = attrs.mapExtra !== undefined && attrs.mapExtra !== 0 && attrs.mapExtra !== 0n;
  const usesBtf = attrs.btfFd !== undefined || attrs.btfVmlinuxValueTypeId !== undefined;
  const attr = new Attr(
    usesExtra ? MapCreateAttr.map_extra : usesBtf ? MapCreateAttr.btf_vmlinux_value_type_id : MapCreateAttr.map_ifindex,
  );
  try {
    attr
      .u32(MapCreateAttr.map_type, attrs.type)
      .u32(MapCreateAttr.key_size, attrs.keySize)
      .u32(MapCreateAttr.value_size, attrs.valueSize)
      .u32(MapCreateAttr.max_entries, attrs.maxEntries)
      .u32(MapCreateAttr.map_flags, attrs.flags ?? 0)
      .u32(MapCreateAttr.inner_map_fd, rawFd(attrs.innerMapFd))
      .u32(MapCreateAttr.numa_node, attrs.numaNode ?? 0)
      .name(MapCreateAttr.map_name, attrs.name)
      .u32(MapCreateAttr.map_ifindex, attrs.ifindex ?? 0);
    if (usesBtf || usesExtra) {
      attr
        .u32(MapCreateAttr.btf_fd, rawFd(attrs.btfFd))
        .u32(MapCreateAttr.btf_key_type_id, attrs.btfKeyTypeId ?? 0)
        .u32(MapCreateAttr.btf_value_type_id, attrs.btfValueTypeId ?? 0)
        .u32(MapCreateAttr.btf_vmlinux_value_type_id, attrs.btfVmlinuxValueTypeId ?? 0);
    }
    if (usesExtra) attr.u64(MapCreateAttr.map_extra, attrs.mapExtra ?? 0);
    return bpfFdCall(BpfCommand.MAP_CREATE, attr, {
      subject: attrs.name === undefined ? "a map" : `map ${JSON.stringify(attrs.name)}`,
      causes: mapCreateCauses(attrs),
    });
  } finally {
    attr.free();
  }
}

const NO_KEY_TYPES: readonly number[] = [
  MapType.QUEUE,
  MapType.STACK,
  MapType.BLOOM_FILTER,
  MapType.RINGBUF,
  MapType.USER_RINGBUF,
];
/** Map types indexed by a u32 below max_entries, whose elements always exist. */
export const ARRAY_MAP_TYPES: ReadonlySet<number> = new Set([
  MapType.ARRAY,
  MapType.PERCPU_ARRAY,
  MapType.PROG_ARRAY,
  MapType.PERF_EVENT_ARRAY,
  MapType.CGROUP_ARRAY,
  MapType.ARRAY_OF_MAPS,
]);

/** EINVAL explanations computed from the attributes themselves (the kernel gives only the errno). */
function mapCreateCauses(attrs: MapCreateAttrs): Record<string, string> {
  const causes: string[] = [];
  const ringBuffer = attrs.type === MapType.RINGBUF || attrs.type === MapType.USER_RINGBUF;
  if (attrs.maxEntries === 0) causes.push("max_entries is 0; a map needs room for at least one entry");
  if (attrs.keySize === 0 && !NO_KEY_TYPES.includes(attrs.type)) {
    causes.push("key_size is 0; only queue, stack, bloom filter and ring buffer maps have no key");
  }
  if (ARRAY_MAP_TYPES.has(attrs.type) && attrs.keySize !== 4) causes.push(`array maps need key_size 4, not ${attrs.keySize}`);
  if (attrs.valueSize === 0 && !ringBuffer) causes.push("value_size is 0");
  if (ARRAY_MAP_TYPES.has(attrs.type) && ((attrs.flags ?? 0) & MapFlags.NO_PREALLOC) !== 0) {
    causes.push("array maps are always preallocated and refuse BPF_F_NO_PREALLOC");
  }
  if (ringBuffer && (attrs.maxEntries & (attrs.maxEntries - 1)) !== 0) {
    causes.push("a ring buffer's max_entries must be a power of 2 and a multiple of the page size");
  }
  return causes.length === 0 ? {} : { EINVAL: causes.join("; ") };
}

/** BPF_MAP_FREEZE: user space can no longer write the map (Linux 5.2). */
export function freezeMap(mapFd: Fd | number, subject?: string): void {
  const attr = new Attr(MapElemAttr.map_fd);
  try {
    attr.u32(MapElemAttr.map_fd, rawFd(mapFd));
    bpfCall(BpfCommand.MAP_FREEZE, attr, { subject });
  } finally {
    attr.free();
  }
}

/** Attr sizes of the element commands, computed once: they are passed on every call. */
const ELEM_ATTR_SIZE = offsetofend(MapElemAttr.flags);
const DELETE_ATTR_SIZE = offsetofend(MapElemAttr.key);
const NEXT_KEY_ATTR_SIZE = offsetofend(MapElemAttr.next_key);

/**
 * The element commands of one map (LOOKUP, UPDATE, DELETE, LOOKUP_AND_DELETE) on one block of
 * native memory holding the attr and the buffers it points to:
 *
 *     [attr: map_fd, key -> key, value -> value, flags][key][value]
 *
 * A call is: write the key (and value) into `scratch`, call bpf(2), read the value from it.
 * `scratch` starts at the key, so what writes into it at the offsets it is given (codecs,
 * some of them the caller's) cannot reach the attr and its pointers. Each call returns 0 or the negated errno; the
 * subclass decides what ENOENT means. No allocation, no throw.
 *
 * BpfMap extends this class instead of holding an instance, so that a map operation reads
 * the fields of one object. Measured in bench/maps: a bpf(2) call leaves little of what
 * JavaScript touched before it in the CPU's caches, and every further object an operation
 * reached through on its way to the syscall (handle, then calls, then block) cost it 10 to
 * 30 ns, a few percent of the syscall each.
 */
export class MapElemCommands {
  /** The key at 0, then the value (all CPUs' for per-CPU maps) at `valueAt`. */
  protected readonly scratch: Uint8Array;
  protected readonly scratchView: DataView;
  protected readonly valueAt: number;
  readonly #block: NativeBuffer;
  readonly #attr: number;
  /** The flags the attr holds now (it starts zeroed). */
  #flags = 0;
  #freed = false;

  /** Bytes of the block for these sizes, for the caller to allocate (see the constructor). */
  static blockSize(keySize: number, valueSize: number): number {
    return ELEM_ATTR_SIZE + align8(keySize) + align8(valueSize);
  }

  /**
   * `block` is a NativeBuffer of blockSize(keySize, valueSize) bytes, which this object owns
   * from now on (allocated by the caller, so that a failure to allocate happens before the
   * subclass takes anything over); `valueSize` is the whole value as the kernel copies it.
   */
  constructor(mapFd: number, block: NativeBuffer, keySize: number, valueSize: number) {
    const keyAt = ELEM_ATTR_SIZE;
    const valueAt = keyAt + align8(keySize);
    if (block.length !== MapElemCommands.blockSize(keySize, valueSize)) throw new RangeError("map scratch block of the wrong size");
    this.#block = block;
    const { view, bytes, address } = block;
    this.#attr = address;
    view.setUint32(MapElemAttr.map_fd.offset, mapFd, true);
    // Queues and stacks have key_size 0 and the kernel wants key = NULL for them.
    writeU64(view, MapElemAttr.key.offset, keySize === 0 ? 0 : address + keyAt);
    writeU64(view, MapElemAttr.value.offset, address + valueAt);
    this.scratch = bytes.subarray(keyAt);
    this.scratchView = new DataView(bytes.buffer, bytes.byteOffset + keyAt, bytes.byteLength - keyAt);
    this.valueAt = valueAt - keyAt;
  }

  /** BPF_MAP_LOOKUP_ELEM of the key into the value. */
  protected lookupElem(flags = 0): number {
    return this.#call(BpfCommand.MAP_LOOKUP_ELEM, flags, ELEM_ATTR_SIZE);
  }

  /** BPF_MAP_UPDATE_ELEM of the key with the value. */
  protected updateElem(flags: number): number {
    return this.#call(BpfCommand.MAP_UPDATE_ELEM, flags, ELEM_ATTR_SIZE);
  }

  /** BPF_MAP_DELETE_ELEM of the key. */
  protected deleteElem(): number {
    // The kernel refuses (EINVAL) any non-zero byte after the last field a command reads,
    // and DELETE reads only map_fd and key: the attr is passed cut after `key`.
    return this.#call(BpfCommand.MAP_DELETE_ELEM, this.#flags, DELETE_ATTR_SIZE);
  }

  /** BPF_MAP_LOOKUP_AND_DELETE_ELEM of the key into the value (queues and stacks: no key). */
  protected lookupAndDeleteElem(flags = 0): number {
    return this.#call(BpfCommand.MAP_LOOKUP_AND_DELETE_ELEM, flags, ELEM_ATTR_SIZE);
  }

  protected get scratchFreed(): boolean {
    return this.#freed;
  }

  /** Releases the block; the calls answer EBADF from now on, and the views must not be touched. */
  protected freeScratch(): void {
    this.#freed = true;
    this.#block.free();
  }

  #call(cmd: number, flags: number, attrSize: number): number {
    if (this.#freed) return -Errno.EBADF;
    // Most calls repeat the last flags (0 for lookups, BPF_ANY for updates): write on change only.
    if (flags !== this.#flags) {
      writeU64(this.#block.view, MapElemAttr.flags.offset, flags);
      this.#flags = flags;
    }
    return sysBpf(cmd, this.#attr, attrSize);
  }
}

function align8(n: number): number {
  return Math.max(8, (n + 7) & ~7);
}

/**
 * A BPF_MAP_GET_NEXT_KEY walk with its own attr and key buffers in native memory, so that
 * each walk is independent of the map's other calls (and of other walks), and stepping
 * costs one syscall and one in-place copy (next_key becomes the next call's key).
 *
 *     [attr: map_fd, key -> key (NULL for the first call), next_key -> next] [key] [next]
 */
export class NextKeyCursor {
  readonly key: Uint8Array;
  readonly keyView: DataView;
  readonly #block: NativeBuffer;
  #started = false;

  constructor(mapFd: number, keySize: number) {
    // One key buffer serves as both attr.key and attr.next_key: map_get_next_key
    // (kernel/bpf/syscall.c) copies the key in before it writes the next key out, so each
    // step leaves the key for the following step in place, with nothing to copy in between.
    const keyAt = align8(offsetofend(MapElemAttr.next_key));
    this.#block = new NativeBuffer(keyAt + align8(keySize));
    const { view, bytes, address } = this.#block;
    view.setUint32(MapElemAttr.map_fd.offset, mapFd, true);
    writeU64(view, MapElemAttr.key.offset, 0); // NULL: start from the first key
    writeU64(view, MapElemAttr.next_key.offset, address + keyAt);
    this.key = bytes.subarray(keyAt, keyAt + keySize);
    this.keyView = new DataView(bytes.buffer, bytes.byteOffset + keyAt, keySize);
  }

  /** The next key into `key`; 0, or -ENOENT after the last key, or another -errno. */
  step(): number {
    const ret = sysBpf(BpfCommand.MAP_GET_NEXT_KEY, this.#block.address, NEXT_KEY_ATTR_SIZE);
    if (ret === 0 && !this.#started) {
      // From now on the key to continue from is the one just written.
      writeU64(this.#block.view, MapElemAttr.key.offset, this.#block.address + (this.key.byteOffset - this.#block.bytes.byteOffset));
      this.#started = true;
    }
    return ret;
  }

  free(): void {
    this.#block.free();
  }
}

