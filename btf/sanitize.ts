// Sanitizing: rewriting an object's BTF into what the running kernel accepts, keeping every
// type id (instructions, func_info and map definitions refer to types by id) and the string
// section (line_info refers to strings by offset). Kernel facts are passed in (features),
// so this stays pure and testable against any kernel's feature set.
//
// What gets rewritten, and into what (each keeps the id, and the size where it has one):
//   INT with several encoding bits   one bit: gcc 12 writes char as SIGNED|CHAR, which the
//                                    kernel refuses ("Unsupported encoding")
//   FUNC with unnamed parameters     a TYPEDEF of its prototype: gcc 12 declares helpers so,
//                                    and the kernel refuses them ("Invalid arg#1")
//   DECL_TAG (kernel 5.16)           an INT of size 1, never referenced by anything
//   TYPE_TAG (5.17)                  a CONST of the tagged type
//   FLOAT (5.13)                     a STRUCT of the same size with no members
//   ENUM64 (6.0)                     a UNION of the same size with no members
//   FUNC with global linkage (5.6)   a static FUNC
//   VAR (5.2)                        an INT of size 1 (kernels before VAR knew no DATASEC either)
//   DATASEC (5.2)                    a STRUCT of the section's size with no members

import type { Btf } from "./parse.js";
import { BtfBuilder, BtfFuncLinkage } from "./builder.js";
import type { BtfTypeSpec } from "./marshal.js";
import type { BtfType } from "./types.js";

/** What the running kernel's BTF loader knows; everything true on a current kernel. */
export interface BtfFeatures {
  declTag: boolean;
  typeTag: boolean;
  float: boolean;
  enum64: boolean;
  globalFunc: boolean;
  datasec: boolean;
}

export const ALL_BTF_FEATURES: BtfFeatures = { declTag: true, typeTag: true, float: true, enum64: true, globalFunc: true, datasec: true };

export interface SanitizedBtf {
  /** The BTF to load: the same object when nothing needed changing. */
  readonly btf: Btf | Uint8Array;
  /** One line per kind of change that loses information, for the warning that says what was dropped. */
  readonly changes: readonly string[];
}

export function sanitizeBtf(btf: Btf, features: BtfFeatures): SanitizedBtf {
  let builder: BtfBuilder | undefined;
  const counts = new Map<string, number>();
  for (let id = btf.firstTypeId; id < btf.typeCount; id++) {
    const type = btf.type(id);
    const rewrite = replacement(btf, type, features);
    if (rewrite === undefined) continue;
    builder ??= BtfBuilder.from(btf);
    builder.replace(id, rewrite.type);
    counts.set(rewrite.why, (counts.get(rewrite.why) ?? 0) + 1);
  }
  if (builder === undefined) return { btf, changes: [] };
  // Fixing a compiler's INT encodings and helper declarations loses nothing: not worth a warning.
  const lossy = [...counts].filter(([why]) => why !== INT_FIX && why !== FUNC_FIX);
  return { btf: builder.build(), changes: lossy.map(([why, n]) => `${n} ${why}`) };
}

function replacement(btf: Btf, type: BtfType, f: BtfFeatures): { type: BtfTypeSpec; why: string } | undefined {
  const name = type.name;
  switch (type.kind) {
    case "int": {
      const bits = Number(type.signed) + Number(type.char) + Number(type.bool);
      if (bits <= 1) return undefined;
      // Keep what matters to the value: signedness first, then bool.
      const one = type.signed ? { signed: true, char: false, bool: false } : { signed: false, char: false, bool: type.bool };
      return { type: { ...type, ...one }, why: INT_FIX };
    }
    case "decl_tag":
      return f.declTag ? undefined : { type: int1(name), why: "DECL_TAGs replaced by unused INTs" };
    case "type_tag":
      return f.typeTag ? undefined : { type: { kind: "const", name: "", type: type.type }, why: "TYPE_TAGs replaced by CONSTs" };
    case "float":
      return f.float ? undefined : { type: { kind: "struct", name, size: type.size, members: [] }, why: "FLOATs replaced by empty STRUCTs" };
    case "enum64":
      return f.enum64 ? undefined : { type: { kind: "union", name, size: type.size, members: [] }, why: "ENUM64s replaced by empty UNIONs" };
    case "func": {
      // The kernel wants every parameter of a FUNC named; gcc declares helpers without names.
      const proto = btf.type(type.type);
      if (proto.kind === "func_proto" && proto.params.some((p) => p.name === "" && p.type !== 0)) {
        return { type: { kind: "typedef", name, type: type.type }, why: FUNC_FIX };
      }
      if (f.globalFunc || type.linkage === BtfFuncLinkage.STATIC) return undefined;
      return { type: { ...type, linkage: BtfFuncLinkage.STATIC }, why: "global FUNCs made static" };
    }
    case "var":
      return f.datasec ? undefined : { type: int1(name), why: "VARs replaced by INTs" };
    case "datasec":
      // A STRUCT name must be a C identifier: ".data" becomes "_data".
      return f.datasec ? undefined : { type: { kind: "struct", name: name.replace(/\./g, "_"), size: type.size, members: [] }, why: "DATASECs replaced by empty STRUCTs" };
    default:
      return undefined;
  }
}

const INT_FIX = "INT types with several encodings reduced to one";
const FUNC_FIX = "FUNC declarations with unnamed parameters turned into TYPEDEFs";

function int1(name: string): BtfTypeSpec {
  return { kind: "int", name, size: 1, signed: false, char: false, bool: false, bitOffset: 0, bits: 8 };
}
