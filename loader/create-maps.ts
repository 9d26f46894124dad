// Creating the kernel maps of an object: BPF_MAP_CREATE from each MapSpec, reuse of pinned
// maps, and the single-entry array maps that hold global data sections.

import { existsSync, mkdirSync } from "node:fs";
import { join, resolve, sep } from "node:path";
import { SpecError } from "../common/errors.js";
import { MapFlags, MapType } from "../common/uapi.js";
import { createMap, freezeMap } from "../syscall/bpf-map.js";
import { getPinnedObject, pinObject } from "../syscall/bpf-obj.js";
import type { Fd } from "../syscall/fd.js";
import { mapInfo } from "../syscall/info.js";
import { haveFeature } from "../syscall/features.js";
import { possibleCpus } from "../syscall/cpus.js";
import { assertOnBpfFs } from "../syscall/bpffs.js";
import { bytesCodec } from "../maps/codec.js";
import { BpfMap, type LoadedMap, type MapDescription } from "../maps/map.js";
import type { MapSpec } from "../maps/spec.js";
import type { DataSectionSpec } from "./spec.js";
import { mapBtfAttrs, type Warn } from "./btf-load.js";
import { codecsFor, type MapCodecs } from "../maps/btf-codec.js";
import type { Btf } from "../btf/index.js";

export interface MapCreation {
  /** bpffs directory under which maps are pinned. */
  readonly pinRoot: string;
  /** The object file's SHA-1 (ObjectSpec.sha1): iproute2's PIN_OBJECT_NS directory. */
  readonly objectSha1: string | undefined;
  /** Pins this load created, so that a failed load can remove them again. */
  readonly pinned: string[];
  /** The object's BTF in the kernel, for key/value type ids; undefined without BTF. */
  readonly btfFd: Fd | undefined;
  /** The object's BTF, to read and write keys and values as objects. */
  readonly btf: Btf | undefined;
  readonly warn: Warn;
}

export function createMapFromSpec(spec: MapSpec, creation: MapCreation): LoadedMap {
  const pinPath = pinPathFor(spec, creation.pinRoot, creation.objectSha1);
  if (pinPath !== undefined) assertOnBpfFs(pinPath);
  if (pinPath !== undefined && existsSync(pinPath)) return reusePinned(spec, pinPath, creation);
  const fd = createKernelMap(spec, creation);
  const map = new BpfMap(fd, describe(withKernelDefaults(spec)), typedCodecs(spec, creation));
  if (pinPath !== undefined) {
    try {
      mkdirSync(resolve(pinPath, ".."), { recursive: true });
      pinObject(fd, pinPath);
      creation.pinned.push(pinPath);
    } catch (error) {
      map.close();
      throw error;
    }
  }
  return map;
}

/**
 * What the kernel requires but an object may leave out: a perf event array's key and value
 * are 4-byte indexes and fds, and it needs one slot per possible CPU (what libbpf and
 * cilium/ebpf fill in when the definition says 0).
 */
function withKernelDefaults(spec: MapSpec): MapSpec {
  if (spec.type !== MapType.PERF_EVENT_ARRAY) return spec;
  return {
    ...spec,
    keySize: spec.keySize || 4,
    valueSize: spec.valueSize || 4,
    maxEntries: spec.maxEntries || possibleCpus(),
  };
}

function createKernelMap(declared: MapSpec, creation: MapCreation): Fd {
  const spec = withKernelDefaults(declared);
  let inner: Fd | undefined;
  try {
    // Maps of maps need a template of their inner map at creation; it is closed right after.
    if (spec.innerMap !== undefined) inner = createKernelMap(spec.innerMap, creation);
    else if (spec.type === MapType.ARRAY_OF_MAPS || spec.type === MapType.HASH_OF_MAPS) {
      throw new SpecError("a map of maps needs an inner map definition: declare __array(values, struct { ... })", { part: spec.name });
    }
    const attrs = {
      type: spec.type,
      keySize: spec.keySize,
      valueSize: spec.valueSize,
      maxEntries: spec.maxEntries,
      flags: spec.flags,
      name: spec.name,
      innerMapFd: inner,
      numaNode: spec.numaNode,
      mapExtra: spec.mapExtra,
    };
    const btf = mapBtfAttrs(spec, creation.btfFd);
    if (btf.btfFd === undefined) return createMap(attrs);
    try {
      return createMap({ ...attrs, ...btf });
    } catch (error) {
      // As libbpf does: a map the kernel refuses with BTF types may still work without them.
      const fd = createMap(attrs);
      creation.warn(`map ${spec.name}: created without BTF key/value types, which the kernel refused (${(error as Error).message})`);
      return fd;
    }
  } finally {
    inner?.close();
  }
}

/**
 * A pinned map is reused only if it is the map the object declares: same type, sizes, entries
 * and flags. Anything else would let the program read memory laid out differently.
 */
function reusePinned(declared: MapSpec, path: string, creation: MapCreation): LoadedMap {
  const spec = withKernelDefaults(declared);
  const fd = getPinnedObject(path);
  try {
    const info = mapInfo(fd);
    const differences: string[] = [];
    const compare = (what: string, pinned: number, declared: number) => {
      if (pinned !== declared) differences.push(`${what} ${pinned} (object declares ${declared})`);
    };
    compare("type", info.type, spec.type);
    compare("key size", info.keySize, spec.keySize);
    compare("value size", info.valueSize, spec.valueSize);
    compare("max_entries", info.maxEntries, spec.maxEntries);
    compare("flags", info.flags, spec.flags);
    if (differences.length > 0) {
      throw new SpecError(
        `the map pinned at ${path} differs: ${differences.join(", ")}; remove the pin (rm ${path}) or fix the definition`,
        { part: spec.name },
      );
    }
    return new BpfMap(fd, describe(spec), typedCodecs(spec, creation));
  } catch (error) {
    fd.close();
    throw error;
  }
}

/**
 * Keys and values as objects when the map's BTF types are structs, unions, arrays or enums
 * (maps/btf-codec.ts); numbers, bigints and bytes otherwise. BTF the codecs cannot use
 * costs the convenience, not the load.
 */
function typedCodecs(spec: MapSpec, creation: MapCreation): MapCodecs | undefined {
  try {
    return codecsFor(creation.btf, spec);
  } catch (error) {
    creation.warn(`map ${spec.name}: keys and values stay raw bytes: ${(error as Error).message}`);
    return undefined;
  }
}

/**
 * Where a map is pinned, or undefined for private maps. The path never leaves pinRoot.
 * iproute2's layout: PIN_GLOBAL_NS maps in tc/globals (shared by every object; iproute2
 * links xdp/ to tc/), PIN_OBJECT_NS maps in tc/<SHA-1 of the object file>.
 */
export function pinPathFor(spec: MapSpec, pinRoot: string, objectSha1?: string): string | undefined {
  switch (spec.pinning) {
    case "none":
      return undefined;
    case "by-name":
      return checkedPinPath(pinRoot, [spec.name], spec);
    case "global-ns":
      return checkedPinPath(pinRoot, ["tc", "globals", spec.name], spec);
    case "object-ns":
      if (objectSha1 === undefined) {
        throw new SpecError(
          "PIN_OBJECT_NS names its directory after the object file's SHA-1, which parseObject computes only for objects with a legacy " +
            "maps section (iproute2's): set the spec's sha1 to the file's SHA-1 (hex)",
          { part: spec.name },
        );
      }
      return checkedPinPath(pinRoot, ["tc", objectSha1, spec.name], spec);
  }
}

function checkedPinPath(pinRoot: string, parts: string[], spec: MapSpec): string {
  const root = resolve(pinRoot);
  const path = resolve(join(root, ...parts));
  if (!path.startsWith(root + sep)) throw new SpecError(`pin path ${path} leaves the pin root ${root}`, { part: spec.name });
  return path;
}

function describe(spec: MapSpec): MapDescription {
  return {
    name: spec.name,
    type: spec.type,
    keySize: spec.keySize,
    valueSize: spec.valueSize,
    maxEntries: spec.maxEntries,
    flags: spec.flags,
  };
}

/**
 * A global data section as libbpf lays it out: an array map with one element whose value
 * is the whole section. .rodata is read-only for programs (BPF_F_RDONLY_PROG) and frozen
 * after its contents are written, so the verifier can treat its bytes as constants. All of
 * them are BPF_F_MMAPABLE where the kernel allows it (5.5), as libbpf makes them.
 */
export function createDataMap(section: DataSectionSpec, objectName: string): LoadedMap | undefined {
  if (section.size === 0) return undefined;
  const flags = (section.readonly ? MapFlags.RDONLY_PROG : 0) | (haveFeature("mmapableArray") ? MapFlags.MMAPABLE : 0);
  const name = dataMapName(objectName, section.name);
  const description = { name, type: MapType.ARRAY, keySize: 4, valueSize: section.size, maxEntries: 1, flags };
  // The value is the section's bytes, whatever its size (a 4-byte .bss is not a number).
  const map = new BpfMap(createMap(description), description, { valueCodec: bytesCodec(section.size) });
  try {
    map.update(0, section.contents);
    if (section.readonly) freezeMap(map.fd, section.name);
  } catch (error) {
    map.close();
    throw error;
  }
  return map;
}

/**
 * The kernel keeps 15 characters of a map name. Like libbpf, a data map is named by as much
 * of the object's name as fits before the section name (at most 8 characters of it):
 * "xdp_stat.rodata" for .rodata of xdp_stats.o.
 */
export function dataMapName(objectName: string, section: string): string {
  const suffix = section.length;
  const prefix = Math.min(15 - Math.max(suffix, 7), 8, objectName.length);
  return objectName.slice(0, Math.max(prefix, 0)) + section;
}
