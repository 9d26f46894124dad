// CO-RE access strings: the path a relocation follows from its type to a field, walked in
// the local BTF (where the indexes are) and then, by name, in a target BTF.
//
// The compiler writes "0:1:2" for `p->b.c` when p points at the relocation's type: the
// first number indexes the pointer as an array (p[0]); each later number is a member index
// when the current type is a struct or union, and an element index when it is an array.
// Typedefs and qualifiers are looked through. An enum relocation's string is one number,
// the enumerator's index; a type relocation's is always "0".
//
// Members without a name (anonymous structs and unions inlined in their parent) are steps
// of the raw path but not of the access: in the target, a named member is searched through
// any depth of anonymous members, since a kernel may have moved a field into (or out of)
// an anonymous union. The walk keeps
//   accessors  the steps that carry meaning: array indexes, and named members or enumerators
//   raw        every index, anonymous members included (what an access string for this BTF says)
//   bitOffset  where the field starts, in bits from the start of element 0
// as libbpf's bpf_core_spec does.

import { BtfError } from "../common/errors.js";
import type { Btf } from "./parse.js";
import type { BtfType } from "./types.js";
import { CoreReloKind } from "./ext.js";
import { fieldsAreCompatible } from "./core-compat.js";
import { essentialNameLength } from "./core-candidates.js";

/** Longest access path accepted (libbpf's BPF_CORE_SPEC_MAX_LEN). */
export const MAX_ACCESS_LENGTH = 64;

export interface CoreAccessor {
  /** For a member or enumerator: the struct, union or enum it belongs to. For an index: the element type. */
  readonly typeId: number;
  readonly index: number;
  /** Member or enumerator name; undefined for an array index. */
  readonly name: string | undefined;
}

export interface CoreAccess {
  readonly btf: Btf;
  readonly rootTypeId: number;
  readonly accessors: readonly CoreAccessor[];
  readonly raw: readonly number[];
  readonly bitOffset: number;
}

export type CoreKindClass = "field" | "type" | "enumval";

/** FIELD_* relocations follow a path to a field; TYPE_* name a type; ENUMVAL_* an enumerator. */
export function kindClass(kind: number): CoreKindClass | undefined {
  switch (kind) {
    case CoreReloKind.FIELD_BYTE_OFFSET:
    case CoreReloKind.FIELD_BYTE_SIZE:
    case CoreReloKind.FIELD_EXISTS:
    case CoreReloKind.FIELD_SIGNED:
    case CoreReloKind.FIELD_LSHIFT_U64:
    case CoreReloKind.FIELD_RSHIFT_U64:
      return "field";
    case CoreReloKind.TYPE_ID_LOCAL:
    case CoreReloKind.TYPE_ID_TARGET:
    case CoreReloKind.TYPE_EXISTS:
    case CoreReloKind.TYPE_SIZE:
    case CoreReloKind.TYPE_MATCHES:
      return "type";
    case CoreReloKind.ENUMVAL_EXISTS:
    case CoreReloKind.ENUMVAL_VALUE:
      return "enumval";
    default:
      return undefined;
  }
}

/** "0:1:2" -> [0, 1, 2]; a BtfError for anything else ("", ":1", "1:", "-1", "a"). */
export function parseAccessString(text: string): number[] {
  if (!/^\d+(:\d+)*$/.test(text)) throw new BtfError(`CO-RE access string ${JSON.stringify(text)} is not a list of numbers separated by ":"`);
  const raw = text.split(":").map(Number);
  if (raw.length > MAX_ACCESS_LENGTH) throw new BtfError(`CO-RE access string ${JSON.stringify(text)} is longer than ${MAX_ACCESS_LENGTH} steps`);
  if (raw.some((n) => n > 0x7fffffff)) throw new BtfError(`CO-RE access string ${JSON.stringify(text)} has an index past 2^31`);
  return raw;
}

/** Walks the access string through the local BTF: the relocation as the compiler saw it. */
export function localAccess(btf: Btf, rootTypeId: number, accessString: string, kind: number): CoreAccess {
  const raw = parseAccessString(accessString);
  const fail = (why: string) => new BtfError(`CO-RE access ${accessString}: ${why}`, { typeId: rootTypeId });
  switch (kindClass(kind)) {
    case "type":
      if (accessString !== "0") throw fail("a type relocation's access string must be \"0\"");
      return { btf, rootTypeId, accessors: [], raw, bitOffset: 0 };
    case "enumval": {
      const t = btf.resolve(rootTypeId);
      if (t.kind !== "enum" && t.kind !== "enum64") throw fail(`an enum value relocation needs an enum, not a ${t.kind}`);
      if (raw.length !== 1 || raw[0] >= t.values.length) throw fail(`${t.name || "the enum"} has ${t.values.length} values`);
      return { btf, rootTypeId, accessors: [{ typeId: t.id, index: raw[0], name: t.values[raw[0]].name }], raw, bitOffset: 0 };
    }
    case "field":
      return localFieldAccess(btf, rootTypeId, raw, fail);
    default:
      throw fail(`relocation kind ${kind} is not one CO-RE defines`);
  }
}

function localFieldAccess(btf: Btf, rootTypeId: number, raw: number[], fail: (why: string) => BtfError): CoreAccess {
  let type = btf.resolve(rootTypeId);
  const accessors: CoreAccessor[] = [{ typeId: type.id, index: raw[0], name: undefined }];
  let bitOffset = raw[0] * btf.sizeof(type.id) * 8;
  for (let i = 1; i < raw.length; i++) {
    const index = raw[i];
    if (type.kind === "struct" || type.kind === "union") {
      if (index >= type.members.length) throw fail(`${describeType(btf, type.id)} has ${type.members.length} members, not ${index + 1}`);
      const member = type.members[index];
      bitOffset += member.bitOffset;
      if (member.name !== "") accessors.push({ typeId: type.id, index, name: member.name });
      type = btf.resolve(member.type);
    } else if (type.kind === "array") {
      const element = btf.resolve(type.type);
      if (!isFlexibleArray(btf, accessors[accessors.length - 1], type) && index >= type.nelems) {
        throw fail(`index ${index} is past the end of an array of ${type.nelems}`);
      }
      accessors.push({ typeId: element.id, index, name: undefined });
      bitOffset += index * btf.sizeof(element.id) * 8;
      type = element;
    } else {
      throw fail(`step ${i} reaches a ${type.kind}, which has no members or elements`);
    }
  }
  return { btf, rootTypeId, accessors, raw, bitOffset };
}

/**
 * An array of 0 elements that is the last member of a struct (`char data[];`): an index
 * past its length is allowed.
 */
function isFlexibleArray(btf: Btf, parent: CoreAccessor, array: Extract<BtfType, { kind: "array" }>): boolean {
  if (parent.name === undefined || array.nelems > 0) return false;
  const owner = btf.type(parent.typeId);
  return (owner.kind === "struct" || owner.kind === "union") && parent.index === owner.members.length - 1;
}

/** What following an access through a target type gives: its access there, or why there is none. */
export type TargetAccess = { readonly ok: true; readonly access: CoreAccess } | { readonly ok: false; readonly reason: string };

const mismatch = (reason: string): TargetAccess => ({ ok: false, reason });

/**
 * Follows a local field or enumerator access through a target type by names: the target's
 * access when every step exists there with a compatible type, or the step that does not.
 */
export function targetAccess(local: CoreAccess, kind: number, target: Btf, targetTypeId: number): TargetAccess {
  if (kindClass(kind) === "enumval") return targetEnumAccess(local, target, targetTypeId);
  const walk: Walk = { target, accessors: [], raw: [], bitOffset: 0 };
  let id = targetTypeId;
  for (let i = 0; i < local.accessors.length; i++) {
    const step = local.accessors[i];
    const type = target.resolve(id);
    if (step.name !== undefined) {
      const found = findMember(local, step, walk, type.id);
      if (found === undefined) return mismatch(`no member ${step.name} in ${describeType(target, type.id)}`);
      if (typeof found === "string") return mismatch(found);
      id = found;
      continue;
    }
    let elementId = type.id;
    if (i > 0) {
      // After the root, an index step needs an array in the target too.
      if (type.kind !== "array") return mismatch(`${describeType(target, type.id)} is not an array`);
      if (!isFlexibleArray(target, walk.accessors[walk.accessors.length - 1], type) && step.index >= type.nelems) {
        return mismatch(`index ${step.index} is past the end of an array of ${type.nelems}`);
      }
      elementId = target.resolve(type.type).id;
    }
    if (walk.raw.length === MAX_ACCESS_LENGTH) throw new BtfError(`target access is deeper than ${MAX_ACCESS_LENGTH} steps`, { typeId: targetTypeId });
    walk.accessors.push({ typeId: elementId, index: step.index, name: undefined });
    walk.raw.push(step.index);
    walk.bitOffset += step.index * target.sizeof(elementId) * 8;
    id = elementId;
  }
  return { ok: true, access: { btf: target, rootTypeId: targetTypeId, accessors: walk.accessors, raw: walk.raw, bitOffset: walk.bitOffset } };
}

/** The target path found so far. */
interface Walk {
  readonly target: Btf;
  readonly accessors: CoreAccessor[];
  readonly raw: number[];
  bitOffset: number;
}

/**
 * Finds the member named like the local step in the struct or union `compositeId`, looking
 * inside anonymous members, and appends its path to `walk`. Returns the member's type id,
 * undefined when there is no such member, or why its type does not do. The first member
 * with the name decides (C member names are unique, anonymous members included).
 */
function findMember(local: CoreAccess, step: CoreAccessor, walk: Walk, compositeId: number): number | string | undefined {
  const { target } = walk;
  const composite = target.resolve(compositeId);
  if (composite.kind !== "struct" && composite.kind !== "union") return `${describeType(target, composite.id)} is not a struct or union`;
  const localOwner = local.btf.type(step.typeId) as Extract<BtfType, { kind: "struct" | "union" }>;
  const localMember = localOwner.members[step.index];
  for (let i = 0; i < composite.members.length; i++) {
    const member = composite.members[i];
    if (walk.raw.length === MAX_ACCESS_LENGTH) throw new BtfError(`target access is deeper than ${MAX_ACCESS_LENGTH} steps`, { typeId: compositeId });
    walk.bitOffset += member.bitOffset;
    walk.raw.push(i);
    if (member.name === "") {
      const inner = target.resolve(member.type);
      if (inner.kind === "struct" || inner.kind === "union") {
        const found = findMember(local, step, walk, inner.id);
        if (found !== undefined) return found;
      }
    } else if (member.name === step.name) {
      if (!fieldsAreCompatible(local.btf, localMember.type, target, member.type)) {
        return `member ${step.name} of ${describeType(target, composite.id)} is ${describeType(target, member.type)}, not compatible with the local ${describeType(local.btf, localMember.type)}`;
      }
      walk.accessors.push({ typeId: composite.id, index: i, name: member.name });
      return member.type;
    }
    walk.bitOffset -= member.bitOffset;
    walk.raw.pop();
  }
  return undefined;
}

/** The target enumerator with the local one's name (flavors aside). */
function targetEnumAccess(local: CoreAccess, target: Btf, targetTypeId: number): TargetAccess {
  const type = target.resolve(targetTypeId);
  if (type.kind !== "enum" && type.kind !== "enum64") return mismatch(`${describeType(target, type.id)} is not an enum`);
  const wanted = local.accessors[0].name!;
  const length = essentialNameLength(wanted);
  const index = type.values.findIndex((v) => essentialNameLength(v.name) === length && v.name.slice(0, length) === wanted.slice(0, length));
  if (index < 0) return mismatch(`no value ${wanted} in ${describeType(target, type.id)}`);
  const accessors = [{ typeId: type.id, index, name: type.values[index].name }];
  return { ok: true, access: { btf: target, rootTypeId: targetTypeId, accessors, raw: [index], bitOffset: 0 } };
}

/** "struct task_struct", "union u", "enum e", "s_t" (a typedef), "int *", "struct (anon)". */
export function describeType(btf: Btf, id: number, depth = 0): string {
  const type = btf.type(id);
  const name = type.name === "" ? "(anon)" : type.name;
  // Pointers, qualifiers and arrays nest; a malformed BTF may make them loop.
  const inner = (innerId: number) => (depth >= 8 ? "..." : describeType(btf, innerId, depth + 1));
  switch (type.kind) {
    case "struct":
    case "union":
    case "enum":
      return `${type.kind} ${name}`;
    case "enum64":
      return `enum ${name}`;
    case "fwd":
      return `${type.union ? "union" : "struct"} ${name}`;
    case "void":
      return "void";
    case "ptr":
      return `${inner(type.type)} *`;
    case "const":
    case "volatile":
    case "restrict":
      return `${type.kind} ${inner(type.type)}`;
    case "array":
      return `${inner(type.type)}[${type.nelems}]`;
    default:
      return type.name === "" ? type.kind : type.name;
  }
}

/**
 * The access spelled out in C terms: "task_struct.pid", "t.s[2]._1", "t[1].u._2",
 * "e::TWO"; for a type relocation the type's name.
 */
export function describeAccess(access: CoreAccess, kind: number): string {
  const root = access.btf.type(access.rootTypeId);
  const rootName = root.name === "" ? describeType(access.btf, access.rootTypeId) : root.name;
  const cls = kindClass(kind);
  if (cls === "type") return describeType(access.btf, access.rootTypeId);
  if (cls === "enumval") return `${rootName}::${access.accessors[0]?.name ?? "?"}`;
  let text = rootName;
  access.accessors.forEach((step, i) => {
    if (step.name !== undefined) text += `.${step.name}`;
    else if (i > 0 || step.index !== 0) text += `[${step.index}]`;
  });
  return text;
}
