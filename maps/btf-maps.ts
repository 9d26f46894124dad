// BTF-defined maps: variables in the `.maps` section whose type is an anonymous struct.
// The struct's members carry the attributes in their *types*, not in the section bytes
// (which are all zero), using the macros of libbpf's bpf_helpers.h:
//
//   __uint(max_entries, 16)   ->  int (*max_entries)[16];      PTR -> ARRAY, nelems = value
//   __type(key, __u32)        ->  __u32 *key;                  PTR -> the key type
//   __array(values, struct x) ->  struct x *values[];          ARRAY of PTR -> inner definition
//
// So reading a map definition means walking BTF: the DATASEC ".maps" lists the variables,
// each VAR names its struct, each member's type gives one attribute.

import { SpecError } from "../common/errors.js";
import type { Btf, BtfMember } from "../btf/index.js";
import { emptyMapSpec, type MapPinning, type MapSpec } from "./spec.js";

/** LIBBPF_PIN_* values (bpf_helpers.h). */
const LIBBPF_PINNING: Record<number, MapPinning> = { 0: "none", 1: "by-name" };

/** Integer attributes written with __uint(name, value), by member name. */
const INTEGER_ATTRIBUTES = ["type", "max_entries", "map_flags", "numa_node", "key_size", "value_size", "pinning", "map_extra"] as const;

/**
 * The map definitions of the DATASEC `sectionName`; `datasecId` is its type id when the
 * caller knows it already (parseObject learns every DATASEC's id while fixing them up).
 */
export function readBtfMaps(btf: Btf, sectionName = ".maps", datasecId?: number): MapSpec[] {
  const datasec = datasecId === undefined ? btf.typeByName(sectionName, "datasec") : btf.type(datasecId);
  if (datasec === undefined || datasec.kind !== "datasec") return [];
  return datasec.vars.map((secinfo) => {
    const variable = btf.type(secinfo.type);
    if (variable.kind !== "var") {
      throw new SpecError(`BTF entry ${secinfo.type} of ${sectionName} is a ${variable.kind}, not a variable`, { part: sectionName });
    }
    return readMapDefinition(btf, variable.name, variable.type, sectionName, false);
  });
}

/** Reads one map definition struct (also used for the inner map of a map-in-map). */
function readMapDefinition(btf: Btf, name: string, typeId: number, section: string, inner: boolean): MapSpec {
  const definition = btf.resolve(typeId);
  if (definition.kind !== "struct") {
    throw new SpecError(`map definition is a ${definition.kind}, expected a struct built with __uint/__type/__array`, { part: name });
  }
  const spec = emptyMapSpec(name, "btf", section);
  for (const member of definition.members) {
    // The kernel refuses maps of maps of maps, and a definition naming itself would never end.
    if (inner && member.name === "values") throw new SpecError("an inner map cannot itself declare values (maps of maps nest only once)", { part: name });
    readAttribute(btf, spec, member);
  }
  return spec;
}

function readAttribute(btf: Btf, spec: MapSpec, member: BtfMember): void {
  switch (member.name) {
    case "key":
    case "value": {
      const target = pointee(btf, spec.name, member);
      const size = btf.sizeof(target);
      if (member.name === "key") {
        spec.keyTypeId = target;
        spec.keySize = checkSize(spec, "key", spec.keySize, size);
      } else {
        spec.valueTypeId = target;
        spec.valueSize = checkSize(spec, "value", spec.valueSize, size);
      }
      return;
    }
    case "values":
      spec.innerMap = readInnerMap(btf, spec, member);
      return;
    default:
      if ((INTEGER_ATTRIBUTES as readonly string[]).includes(member.name)) {
        setInteger(spec, member.name as (typeof INTEGER_ATTRIBUTES)[number], integerValue(btf, spec.name, member));
        return;
      }
      throw new SpecError(`unknown map attribute "${member.name}" (known: ${[...INTEGER_ATTRIBUTES, "key", "value", "values"].join(", ")})`, {
        part: spec.name,
      });
  }
}

function setInteger(spec: MapSpec, attribute: (typeof INTEGER_ATTRIBUTES)[number], value: number): void {
  switch (attribute) {
    case "type": spec.type = value; return;
    case "max_entries": spec.maxEntries = value; return;
    case "map_flags": spec.flags = value; return;
    case "numa_node": spec.numaNode = value; return;
    case "key_size": spec.keySize = checkSize(spec, "key", spec.keySize, value); return;
    case "value_size": spec.valueSize = checkSize(spec, "value", spec.valueSize, value); return;
    case "map_extra": spec.mapExtra = BigInt(value); return;
    case "pinning": {
      const mode = LIBBPF_PINNING[value];
      if (mode === undefined) throw new SpecError(`unknown pinning ${value} (expected LIBBPF_PIN_NONE 0 or LIBBPF_PIN_BY_NAME 1)`, { part: spec.name });
      spec.pinning = mode;
      return;
    }
  }
}

/** key_size and __type(key) may both be given; they must then agree. */
function checkSize(spec: MapSpec, what: "key" | "value", previous: number, size: number): number {
  if (previous !== 0 && previous !== size) {
    throw new SpecError(`${what} size is declared twice with different values (${previous} and ${size})`, { part: spec.name });
  }
  return size;
}

/** __uint(name, N) is `int (*name)[N]`: the value is the array's element count. */
function integerValue(btf: Btf, mapName: string, member: BtfMember): number {
  const array = btf.resolve(pointee(btf, mapName, member));
  if (array.kind !== "array") {
    throw new SpecError(`attribute "${member.name}" must be declared with __uint() (a pointer to an array), found a pointer to ${array.kind}`, {
      part: mapName,
    });
  }
  return array.nelems;
}

function pointee(btf: Btf, mapName: string, member: BtfMember): number {
  const pointer = btf.resolve(member.type);
  if (pointer.kind !== "ptr") {
    throw new SpecError(`attribute "${member.name}" must be a pointer (use __uint, __type or __array), found ${pointer.kind}`, { part: mapName });
  }
  return pointer.type;
}

/**
 * __array(values, T) is `T *values[]`. For a map of maps T is the inner map's definition
 * struct; for a prog array it is a function prototype and there is no inner map.
 */
function readInnerMap(btf: Btf, spec: MapSpec, member: BtfMember): MapSpec | undefined {
  const array = btf.resolve(member.type);
  if (array.kind !== "array") {
    throw new SpecError(`"values" must be declared with __array(values, ...), found ${array.kind}`, { part: spec.name });
  }
  const element = btf.resolve(array.type);
  if (element.kind !== "ptr") throw new SpecError(`"values" must be an array of pointers, found an array of ${element.kind}`, { part: spec.name });
  const target = btf.resolve(element.type);
  if (target.kind === "func_proto") {
    // Prog array: the values are program fds, 4 bytes each.
    spec.valueSize = checkSize(spec, "value", spec.valueSize, 4);
    return undefined;
  }
  if (target.kind !== "struct") {
    throw new SpecError(`"values" must point to a map definition struct or a function, found ${target.kind}`, { part: spec.name });
  }
  // Inner maps get the outer map's name with a suffix, as libbpf names them.
  const inner = readMapDefinition(btf, `${spec.name}.inner`, target.id, spec.section, true);
  // Map-in-map values are map fds: 4 bytes, whatever the inner definition says.
  spec.valueSize = checkSize(spec, "value", spec.valueSize, 4);
  return inner;
}
