// CO-RE compatibility: when a target type may stand for a local one. Three relations,
// each the rule libbpf applies (tools/lib/bpf/relo_core.c) for some relocation kinds:
//
//   typesAreCompatible   TYPE_EXISTS, TYPE_SIZE, TYPE_ID_TARGET. Loose: same kind after
//                        typedefs and qualifiers; structs, unions, enums and forward
//                        declarations match whatever their members; ints of any size (but
//                        not the old "int with a bit offset" encoding); pointers and arrays
//                        by what they point to / hold; function prototypes by parameter
//                        count, each parameter and the return type.
//   fieldsAreCompatible  the last step of a field access (FIELD_* kinds): a struct may stand
//                        for a union and back; enums and forward declarations must have the
//                        same essential name, or one of them none; ints of any size; floats;
//                        any pointer; arrays by element type.
//   typesMatch           TYPE_MATCHES (bpf_core_type_matches, LLVM 17): strict. Names must
//                        agree (flavors aside) at every level; ints by size and signedness;
//                        arrays by length; every local struct/union member must exist in the
//                        target with a matching type (the target may have more); every local
//                        enumerator must exist in the target enum, of the same size; behind a
//                        pointer a struct or union also matches a forward declaration of it.
//
// Typedefs and qualifiers (const, volatile, restrict, type tags) are looked through
// everywhere. Recursion is bounded (32 levels, as libbpf) so a malformed BTF cannot loop.

import { BtfError } from "../common/errors.js";
import type { Btf } from "./parse.js";
import type { BtfType } from "./types.js";
import { sameEssentialName } from "./core-candidates.js";

const MAX_DEPTH = 32;

const isComposite = (t: BtfType): boolean => t.kind === "struct" || t.kind === "union";
const isAnyEnum = (t: BtfType): boolean => t.kind === "enum" || t.kind === "enum64";
/** Same kind, or both enums (ENUM and ENUM64 are interchangeable for CO-RE). */
const sameKind = (a: BtfType, b: BtfType): boolean => a.kind === b.kind || (isAnyEnum(a) && isAnyEnum(b));

function tooDeep(id: number): BtfError {
  return new BtfError("CO-RE type comparison nests deeper than 32 levels (a loop?)", { typeId: id });
}

/** The compatibility rule for TYPE_EXISTS, TYPE_SIZE and TYPE_ID_TARGET (see the top of the file). */
export function typesAreCompatible(local: Btf, localId: number, target: Btf, targetId: number, level = MAX_DEPTH): boolean {
  // The root kinds are compared before typedefs are looked through: a typedef stands only for a typedef.
  if (!sameKind(local.type(localId), target.type(targetId))) return false;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const l = local.resolve(localId);
    const t = target.resolve(targetId);
    if (!sameKind(l, t)) return false;
    switch (l.kind) {
      case "void":
      case "struct":
      case "union":
      case "enum":
      case "enum64":
      case "fwd":
        return true;
      case "int":
        return l.bitOffset === 0 && (t as typeof l).bitOffset === 0;
      case "ptr":
        localId = l.type;
        targetId = (t as typeof l).type;
        continue;
      case "array":
        localId = l.type;
        targetId = (t as typeof l).type;
        continue;
      case "func_proto": {
        const tp = t as typeof l;
        if (l.params.length !== tp.params.length) return false;
        if (level <= 0) throw tooDeep(localId);
        for (let i = 0; i < l.params.length; i++) {
          if (!typesAreCompatible(local, local.resolve(l.params[i].type).id, target, target.resolve(tp.params[i].type).id, level - 1)) return false;
        }
        localId = l.returnType;
        targetId = tp.returnType;
        continue;
      }
      default:
        return false;
    }
  }
  throw tooDeep(localId);
}

/** The compatibility rule for the type of the field a FIELD_* relocation ends at. */
export function fieldsAreCompatible(local: Btf, localId: number, target: Btf, targetId: number): boolean {
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const l = local.resolve(localId);
    const t = target.resolve(targetId);
    if (isComposite(l) && isComposite(t)) return true;
    if (!sameKind(l, t)) return false;
    switch (l.kind) {
      case "ptr":
      case "float":
        return true;
      case "fwd":
      case "enum":
      case "enum64":
        // One of them anonymous, or both with the same name once flavors are dropped.
        return l.name === "" || t.name === "" || sameEssentialName(l.name, t.name);
      case "int":
        return l.bitOffset === 0 && (t as typeof l).bitOffset === 0;
      case "array":
        localId = l.type;
        targetId = (t as typeof l).type;
        continue;
      default:
        return false;
    }
  }
  throw tooDeep(localId);
}

/** The rule of TYPE_MATCHES (see the top of the file). */
export function typesMatch(local: Btf, localId: number, target: Btf, targetId: number, behindPointer = false, level = MAX_DEPTH): boolean {
  if (level <= 0) throw tooDeep(localId);
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const l = local.resolve(localId);
    const t = target.resolve(targetId);
    if (!namesMatch(l.name, t.name)) return false;
    switch (l.kind) {
      case "void":
        return t.kind === "void";
      case "fwd":
        if (t.kind === "fwd") return l.union === t.union;
        // Behind a pointer a declaration matches the definition of the same flavor (struct or union).
        return behindPointer && ((t.kind === "struct" && !l.union) || (t.kind === "union" && l.union));
      case "enum":
      case "enum64":
        return isAnyEnum(t) && enumsMatch(l, t as typeof l);
      case "struct":
      case "union":
        if (behindPointer) return l.kind === t.kind || (t.kind === "fwd" && t.union === (l.kind === "union"));
        return l.kind === t.kind && compositesMatch(local, l, target, t as typeof l, level);
      case "int":
        return t.kind === "int" && l.size === t.size && l.signed === t.signed;
      case "ptr":
        if (t.kind !== "ptr") return false;
        behindPointer = true;
        localId = l.type;
        targetId = t.type;
        continue;
      case "array":
        if (t.kind !== "array" || l.nelems !== t.nelems) return false;
        localId = l.type;
        targetId = t.type;
        continue;
      case "func_proto": {
        if (t.kind !== "func_proto" || l.params.length !== t.params.length) return false;
        for (let i = 0; i < l.params.length; i++) {
          if (!typesMatch(local, l.params[i].type, target, t.params[i].type, behindPointer, level - 1)) return false;
        }
        localId = l.returnType;
        targetId = t.returnType;
        continue;
      }
      default:
        return false;
    }
  }
  throw tooDeep(localId);
}

/** Names agree for TYPE_MATCHES: both anonymous, or equal once flavors are dropped. */
function namesMatch(local: string, target: string): boolean {
  if (target === "") return local === "";
  return sameEssentialName(local, target);
}

type AnyEnum = Extract<BtfType, { kind: "enum" | "enum64" }>;

/** Same size, and every local enumerator's name (not value) is in the target. */
function enumsMatch(local: AnyEnum, target: AnyEnum): boolean {
  if (local.size !== target.size || local.values.length > target.values.length) return false;
  return local.values.every((lv) => target.values.some((tv) => namesMatch(lv.name, tv.name)));
}

type Composite = Extract<BtfType, { kind: "struct" | "union" }>;

/** Every local member has a target member of the same name whose type matches. */
function compositesMatch(local: Btf, l: Composite, target: Btf, t: Composite, level: number): boolean {
  if (l.members.length > t.members.length) return false;
  return l.members.every((lm) =>
    t.members.some((tm) => namesMatch(lm.name, tm.name) && typesMatch(local, lm.type, target, tm.type, false, level - 1)),
  );
}
