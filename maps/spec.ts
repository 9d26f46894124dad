// MapSpec: the description of a map as the object file declares it, before any kernel
// object exists. Three declaration styles lead here: BTF-defined maps in `.maps`
// (maps/btf-maps.ts), libbpf's legacy `struct bpf_map_def` and iproute2's
// `struct bpf_elf_map` in `maps` (maps/legacy-maps.ts).

/**
 * How a map is shared through bpffs.
 * - "none": private to the object.
 * - "by-name": libbpf's LIBBPF_PIN_BY_NAME; pinned at `<pinRoot>/<map name>`.
 * - "object-ns": iproute2's PIN_OBJECT_NS; pinned per object under `<pinRoot>/tc/<object hash>`.
 * - "global-ns": iproute2's PIN_GLOBAL_NS; pinned at `<pinRoot>/tc/globals/<map name>`.
 */
export type MapPinning = "none" | "by-name" | "object-ns" | "global-ns";

/** Where the definition came from. */
export type MapSource = "btf" | "legacy" | "iproute2" | "data";

export interface MapSpec {
  name: string;
  /** enum bpf_map_type (see MapType in common/uapi.ts). */
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** map_flags: BPF_F_NO_PREALLOC, BPF_F_RDONLY_PROG, BPF_F_MMAPABLE... */
  flags: number;
  pinning: MapPinning;
  /** NUMA node to allocate on; only used when flags has BPF_F_NUMA_NODE. */
  numaNode: number;
  /** map_extra: bloom filter hash count, arena address... */
  mapExtra: bigint;
  /** For maps of maps: the definition every inner map must match. */
  innerMap: MapSpec | undefined;
  /** BTF type ids of key and value in the object's BTF, when it declares them (0 otherwise). */
  keyTypeId: number;
  valueTypeId: number;
  source: MapSource;
  /** ELF section the definition lives in. */
  section: string;
  /** iproute2's bpf_elf_map extra fields (id, inner_id, inner_idx), only for that source. */
  iproute2?: { id: number; innerId: number; innerIndex: number };
  /** Initial contents: for global data maps the section bytes; empty when none. */
  contents?: Uint8Array;
  /**
   * Static initialization of a prog array or map of maps (`.values = { [1] = &prog }` in C):
   * slot index -> the program or map whose fd goes there once everything is loaded.
   */
  initialValues?: MapInitialValue[];
}

export interface MapInitialValue {
  readonly index: number;
  readonly kind: "program" | "map";
  readonly name: string;
}

export function emptyMapSpec(name: string, source: MapSource, section: string): MapSpec {
  return {
    name,
    type: 0,
    keySize: 0,
    valueSize: 0,
    maxEntries: 0,
    flags: 0,
    pinning: "none",
    numaNode: 0,
    mapExtra: 0n,
    innerMap: undefined,
    keyTypeId: 0,
    valueTypeId: 0,
    source,
    section,
  };
}
