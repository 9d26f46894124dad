// Map definitions in the `maps` section: fixed C structs, one per map symbol.
//
//   libbpf < 1.0 (struct bpf_map_def, 20 bytes):
//     u32 type, key_size, value_size, max_entries, map_flags
//   iproute2 (struct bpf_elf_map, 36 bytes, include/bpf_elf.h):
//     u32 type, size_key, size_value, max_elem, flags, id, pinning, inner_id, inner_idx
//
// The section has no header saying which struct it holds, nor how big a record is: like
// libbpf and iproute2, we divide the section size by the number of map symbols in it.
// A 36-byte record is iproute2's bpf_elf_map; any other size is bpf_map_def, where bytes
// past the fields we know must be zero (a non-zero byte is a field we would silently drop)
// and a record cut short inside map_flags (17 to 19 bytes) has the rest of it zero, as both
// loaders copied records into a zeroed struct.
//
// Key and value types: neither struct says them, but libbpf 0.x and iproute2 took them from
// BPF_ANNOTATE_KV_PAIR's `struct ____btf_map_<name> { key; value; }` in the object's BTF
// (annotatedKeyValueTypes, which parseObject calls once it has the BTF).
//
// iproute2's maps of maps: an outer map (array or hash of maps) names the definition its inner
// maps follow by that definition's `id` (inner_id). Every map with an `id`, no inner_id of its
// own and an inner_idx other than -1 then goes into slot inner_idx of each outer map whose
// inner_id is that id (iproute2's lib/bpf_legacy.c, bpf_maps_attach_all).

import { ByteReader } from "../common/reader.js";
import { BtfError, SpecError } from "../common/errors.js";
import type { Btf } from "../btf/index.js";
import { MapType } from "../common/uapi.js";
import { SymbolType, type ElfFile, type ElfSection, type ElfSymbol } from "../elf/index.js";
import { emptyMapSpec, type MapPinning, type MapSpec } from "./spec.js";

const BPF_MAP_DEF_SIZE = 20;
const BPF_MAP_DEF_MIN = 16; // up to max_entries: older definitions stopped there
const BPF_ELF_MAP_SIZE = 36;

/** iproute2's PIN_* values (include/bpf_elf.h). */
const IPROUTE2_PINNING: Record<number, MapPinning> = { 0: "none", 1: "object-ns", 2: "global-ns" };

export function readLegacyMaps(elf: ElfFile, section: ElfSection): MapSpec[] {
  const symbols = mapSymbols(elf, section);
  if (symbols.length === 0) return [];
  if (section.size % symbols.length !== 0) {
    throw new SpecError(`section size ${section.size} is not a multiple of its ${symbols.length} map symbols`, { part: section.name });
  }
  const recordSize = section.size / symbols.length;
  const reader = new ByteReader(section.data, elf.littleEndian, { region: section.name, base: section.offset });
  const iproute2 = recordSize === BPF_ELF_MAP_SIZE;
  if (!iproute2 && recordSize < BPF_MAP_DEF_MIN) {
    throw new SpecError(`map records of ${recordSize} bytes are too small for struct bpf_map_def`, { part: section.name });
  }
  const maps = symbols.map((symbol) => {
    if (symbol.value % recordSize !== 0) {
      throw new SpecError(`map symbol at offset ${symbol.value} is not at a record boundary (records are ${recordSize} bytes)`, {
        part: symbol.name,
      });
    }
    const record = reader.sub(symbol.value, recordSize, section.name);
    return iproute2 ? readElfMap(symbol.name, section.name, record) : readMapDef(symbol.name, section.name, record);
  });
  if (iproute2) linkMapsOfMaps(maps, section.name);
  return maps;
}

/** In iproute2's struct bpf_elf_map, an inner_idx of -1 says "put me in no outer map". */
const NO_INNER_INDEX = 0xffffffff;

/** Gives each iproute2 map of maps its inner map's definition and the maps that start in its slots. */
function linkMapsOfMaps(maps: MapSpec[], section: string): void {
  const byId = new Map<number, MapSpec>();
  for (const map of maps) {
    const id = map.iproute2!.id;
    if (id !== 0 && !byId.has(id)) byId.set(id, map);
  }
  for (const outer of maps) {
    if (outer.type !== MapType.ARRAY_OF_MAPS && outer.type !== MapType.HASH_OF_MAPS) continue;
    const innerId = outer.iproute2!.innerId;
    const template = innerId === 0 ? undefined : byId.get(innerId);
    if (template === undefined) {
      throw new SpecError(
        innerId === 0
          ? "a map of maps needs inner_id: the id of the map definition its inner maps follow"
          : `inner_id ${innerId} names no map: no map definition in ${section} has that id`,
        { part: outer.name },
      );
    }
    const inner = emptyMapSpec(`${outer.name}.inner`, "iproute2", section);
    inner.type = template.type;
    inner.keySize = template.keySize;
    inner.valueSize = template.valueSize;
    inner.maxEntries = template.maxEntries;
    inner.flags = template.flags;
    outer.innerMap = inner;
  }
  for (const map of maps) {
    const { id, innerId, innerIndex } = map.iproute2!;
    if (id === 0 || innerId !== 0 || innerIndex === NO_INNER_INDEX) continue;
    for (const outer of maps) {
      if (outer.innerMap === undefined || outer.iproute2!.innerId !== id) continue;
      if (innerIndex >= outer.maxEntries) {
        throw new SpecError(`inner_idx ${innerIndex} is past the ${outer.maxEntries} slots of ${outer.name}, whose inner_id is its id ${id}`, {
          part: map.name,
        });
      }
      (outer.initialValues ??= []).push({ index: innerIndex, kind: "map", name: map.name });
    }
  }
}

function readMapDef(name: string, section: string, record: ByteReader): MapSpec {
  const spec = emptyMapSpec(name, "legacy", section);
  spec.type = record.u32(0);
  spec.keySize = record.u32(4);
  spec.valueSize = record.u32(8);
  spec.maxEntries = record.u32(12);
  if (record.length >= BPF_MAP_DEF_SIZE) spec.flags = record.u32(16);
  else if (record.length > BPF_MAP_DEF_MIN) spec.flags = zeroPaddedWord(record, BPF_MAP_DEF_MIN);
  for (let i = BPF_MAP_DEF_SIZE; i < record.length; i++) {
    if (record.bytes[i] !== 0) {
      throw new SpecError(
        `struct bpf_map_def has ${record.length - BPF_MAP_DEF_SIZE} bytes past map_flags and byte ${i} is not zero: ` +
          "this loader does not know that field; remove it or use a BTF-defined map in .maps " +
          `(only 36-byte records are read as iproute2's struct bpf_elf_map: older or other ${record.length}-byte layouts give those bytes different meanings)`,
        { part: name },
      );
    }
  }
  return spec;
}

/** The u32 at `at` of a record that ends inside it, its missing bytes zero (a struct copied into a zeroed one). */
function zeroPaddedWord(record: ByteReader, at: number): number {
  const word = new Uint8Array(4);
  word.set(record.bytes.subarray(at, Math.min(at + 4, record.length)));
  return new DataView(word.buffer).getUint32(0, record.littleEndian);
}

function readElfMap(name: string, section: string, record: ByteReader): MapSpec {
  const spec = emptyMapSpec(name, "iproute2", section);
  spec.type = record.u32(0);
  spec.keySize = record.u32(4);
  spec.valueSize = record.u32(8);
  spec.maxEntries = record.u32(12);
  spec.flags = record.u32(16);
  const pinning = record.u32(24);
  const mode = IPROUTE2_PINNING[pinning];
  if (mode === undefined) {
    throw new SpecError(`unknown iproute2 pinning ${pinning} (expected PIN_NONE 0, PIN_OBJECT_NS 1 or PIN_GLOBAL_NS 2)`, { part: name });
  }
  spec.pinning = mode;
  spec.iproute2 = { id: record.u32(20), innerId: record.u32(28), innerIndex: record.u32(32) };
  return spec;
}

/** The symbols that name map definitions: every object or untyped symbol defined in the section. */
function mapSymbols(elf: ElfFile, section: ElfSection): ElfSymbol[] {
  return elf.symbols
    .filter(
      (s) => s.sectionIndex === section.index && s.name !== "" && (s.type === SymbolType.OBJECT || s.type === SymbolType.NOTYPE),
    )
    .sort((a, b) => a.value - b.value);
}

/**
 * BTF key and value types for legacy maps, from libbpf's and iproute2's BPF_ANNOTATE_KV_PAIR:
 * `struct ____btf_map_<map name> { key_type key; value_type value; }`. Used, as they used it,
 * only when the two sizes are the map's key and value sizes (otherwise the map gets no types).
 */
export function annotatedKeyValueTypes(btf: Btf, maps: readonly MapSpec[]): void {
  for (const map of maps) {
    const pair = btf.typeByName(`____btf_map_${map.name}`, "struct");
    if (pair === undefined || pair.kind !== "struct") continue;
    const key = pair.members.find((member) => member.name === "key");
    const value = pair.members.find((member) => member.name === "value");
    if (key === undefined || value === undefined) continue;
    if (sizeOrNone(btf, key.type) !== map.keySize || sizeOrNone(btf, value.type) !== map.valueSize) continue;
    map.keyTypeId = key.type;
    map.valueTypeId = value.type;
  }
}

/** The size of a type, or -1 for one without a size (void, a function...). */
function sizeOrNone(btf: Btf, id: number): number {
  try {
    return btf.sizeof(id);
  } catch (error) {
    if (error instanceof BtfError) return -1;
    throw error;
  }
}
