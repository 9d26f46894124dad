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
import { MapType, mapTypeName } from "../common/uapi.js";
import { BtfKind, type Btf } from "../btf/index.js";
import { KIND_NAMES } from "../btf/kinds.js";
import { emptyMapSpec, type MapPinning, type MapSpec } from "./spec.js";

// Every parse of an object with .maps reads these definitions, so they are read from the
// BTF records in place (Btf.membersOf, pointeeOf, resolvedArrayLengthOf...): decoding each struct, pointer
// and array into objects cost several times more than the reading.

/** LIBBPF_PIN_* values (bpf_helpers.h). */
const LIBBPF_PINNING: Record<number, MapPinning> = { 0: "none", 1: "by-name" };

/** The attributes a definition may have, for the message about one it may not. */
const KNOWN_ATTRIBUTES = ["type", "max_entries", "map_flags", "numa_node", "key_size", "value_size", "pinning", "map_extra", "key", "value", "values"];

/**
 * The map definitions of the DATASEC `sectionName`; `datasecId` is its type id when the
 * caller knows it already (parseObject learns every DATASEC's id while fixing them up).
 */
export function readBtfMaps(btf: Btf, sectionName = ".maps", datasecId?: number): MapSpec[] {
  const datasec = datasecId === undefined ? btf.typeByName(sectionName, "datasec") : btf.type(datasecId);
  if (datasec === undefined || datasec.kind !== "datasec") return [];
  return datasec.vars.map((secinfo) => {
    const variable = secinfo.type;
    if (btf.kindOf(variable) !== BtfKind.VAR) {
      throw new SpecError(`BTF entry ${variable} of ${sectionName} is a ${kindName(btf, variable)}, not a variable`, { part: sectionName });
    }
    return readMapDefinition(btf, btf.string(btf.nameOffsetOf(variable)), btf.referencedIdOf(variable), sectionName, false);
  });
}

/** Reads one map definition struct (also used for the inner map of a map-in-map). */
function readMapDefinition(btf: Btf, name: string, typeId: number, section: string, inner: boolean): MapSpec {
  const definition = btf.resolveId(typeId);
  if (btf.kindOf(definition) !== BtfKind.STRUCT) {
    throw new SpecError(`map definition is a ${kindName(btf, definition)}, expected a struct built with __uint/__type/__array`, { part: name });
  }
  const spec = emptyMapSpec(name, "btf", section);
  const members = btf.membersOf(definition);
  for (let m = 0; m < members.length; m += 2) {
    const attribute = btf.string(members[m]);
    if (attribute === "values") {
      // The kernel refuses maps of maps of maps, and a definition naming itself would never end.
      if (inner) throw new SpecError("an inner map cannot itself declare values (maps of maps nest only once)", { part: name });
      // `values` is a flexible array: C puts it last, and libbpf refuses it anywhere else.
      if (m + 2 !== members.length) throw new SpecError('"values" must be the last member of the definition (__array(values, ...) is a flexible array)', { part: name });
    }
    readAttribute(btf, spec, attribute, members[m + 1]);
  }
  if (spec.type === MapType.UNSPEC) throw mapTypeMissing(name);
  return spec;
}

/** libbpf refuses a definition without __uint(type, ...) too: the kernel has no default type. */
function mapTypeMissing(mapName: string): SpecError {
  return new SpecError("the map type is not specified: declare it with __uint(type, BPF_MAP_TYPE_...)", { part: mapName });
}

/** One member of a definition: `attribute` is its name, `type` its type id. */
function readAttribute(btf: Btf, spec: MapSpec, attribute: string, type: number): void {
  // The usual attributes first: a switch on strings compares them in order.
  switch (attribute) {
    case "type": spec.type = integerValue(btf, spec.name, attribute, type); return;
    case "key": {
      spec.keyTypeId = pointee(btf, spec.name, attribute, type);
      spec.keySize = checkSize(spec, "key", spec.keySize, btf.sizeof(spec.keyTypeId));
      return;
    }
    case "value": {
      spec.valueTypeId = pointee(btf, spec.name, attribute, type);
      spec.valueSize = checkSize(spec, "value", spec.valueSize, btf.sizeof(spec.valueTypeId));
      return;
    }
    case "max_entries": spec.maxEntries = integerValue(btf, spec.name, attribute, type); return;
    case "map_flags": spec.flags = integerValue(btf, spec.name, attribute, type); return;
    case "key_size": spec.keySize = checkSize(spec, "key", spec.keySize, integerValue(btf, spec.name, attribute, type)); return;
    case "value_size": spec.valueSize = checkSize(spec, "value", spec.valueSize, integerValue(btf, spec.name, attribute, type)); return;
    case "pinning": {
      const value = integerValue(btf, spec.name, attribute, type);
      const mode = LIBBPF_PINNING[value];
      if (mode === undefined) throw new SpecError(`unknown pinning ${value} (expected LIBBPF_PIN_NONE 0 or LIBBPF_PIN_BY_NAME 1)`, { part: spec.name });
      spec.pinning = mode;
      return;
    }
    case "values": spec.innerMap = readInnerMap(btf, spec, type); return;
    case "numa_node": spec.numaNode = integerValue(btf, spec.name, attribute, type); return;
    case "map_extra": spec.mapExtra = BigInt(integerValue(btf, spec.name, attribute, type)); return;
    default:
      throw new SpecError(`unknown map attribute "${attribute}" (known: ${KNOWN_ATTRIBUTES.join(", ")})`, { part: spec.name });
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
function integerValue(btf: Btf, mapName: string, attribute: string, type: number): number {
  const target = pointee(btf, mapName, attribute, type);
  const length = btf.resolvedArrayLengthOf(target);
  if (length < 0) {
    throw new SpecError(`attribute "${attribute}" must be declared with __uint() (a pointer to an array), found a pointer to ${kindName(btf, btf.resolveId(target))}`, {
      part: mapName,
    });
  }
  return length;
}

/** The type a __uint/__type/__array member points to. */
function pointee(btf: Btf, mapName: string, attribute: string, type: number): number {
  const target = btf.pointeeOf(type);
  if (target < 0) {
    throw new SpecError(`attribute "${attribute}" must be a pointer (use __uint, __type or __array), found ${kindName(btf, btf.resolveId(type))}`, { part: mapName });
  }
  return target;
}

/**
 * __array(values, T) is `T *values[]`. For a map of maps T is the inner map's definition
 * struct; for a prog array it is a function prototype and there is no inner map.
 */
function readInnerMap(btf: Btf, spec: MapSpec, type: number): MapSpec | undefined {
  const array = btf.resolve(type);
  if (array.kind !== "array") {
    throw new SpecError(`"values" must be declared with __array(values, ...), found ${array.kind}`, { part: spec.name });
  }
  // __array declares a flexible array (`T *values[]`): its initializers live in the section's
  // data, not in the type. libbpf refuses a sized one too.
  if (array.nelems !== 0) {
    throw new SpecError(`"values" must be declared with __array(values, ...), an array of no declared size, found ${array.nelems} elements`, {
      part: spec.name,
    });
  }
  const element = btf.resolve(array.type);
  if (element.kind !== "ptr") throw new SpecError(`"values" must be an array of pointers, found an array of ${element.kind}`, { part: spec.name });
  const target = btf.resolve(element.type);
  // Only a prog array (values: programs) and a map of maps (values: maps) have initial values
  // to declare; `type` comes before `values`, which is last.
  if (spec.type === MapType.UNSPEC) throw mapTypeMissing(spec.name);
  const isProgArray = spec.type === MapType.PROG_ARRAY;
  const isMapOfMaps = spec.type === MapType.ARRAY_OF_MAPS || spec.type === MapType.HASH_OF_MAPS;
  if (!isProgArray && !isMapOfMaps) {
    throw new SpecError(`"values" is for prog arrays and maps of maps, not a ${mapTypeName(spec.type)} map`, { part: spec.name });
  }
  if (isProgArray !== (target.kind === "func_proto")) {
    throw new SpecError(
      isProgArray ? `a prog array's "values" must point to a function prototype, found ${target.kind}` : `a map of maps' "values" must point to the inner map's definition struct, found ${target.kind}`,
      { part: spec.name },
    );
  }
  if (target.kind === "func_proto") {
    // Prog array: the values are program fds, 4 bytes each.
    spec.valueSize = checkSize(spec, "value", spec.valueSize, 4);
    return undefined;
  }
  if (target.kind !== "struct") {
    throw new SpecError(`a map of maps' "values" must point to the inner map's definition struct, found ${target.kind}`, { part: spec.name });
  }
  // Inner maps get the outer map's name with a suffix, as libbpf names them.
  const inner = readMapDefinition(btf, `${spec.name}.inner`, target.id, spec.section, true);
  // Map-in-map values are map fds: 4 bytes, whatever the inner definition says.
  spec.valueSize = checkSize(spec, "value", spec.valueSize, 4);
  return inner;
}

/** A kind's name as the decoded types spell it ("struct", "func_proto", "void"), for messages. */
function kindName(btf: Btf, id: number): string {
  return id === 0 ? "void" : KIND_NAMES[btf.kindOf(id)].toLowerCase();
}
