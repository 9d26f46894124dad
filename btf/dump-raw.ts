// dumpBtfRaw: every BTF type as one text record, in the layout of `bpftool btf dump file X`
// (bpftool's default "raw" format), so that the two can be compared line for line.
//
//   [ID] KIND 'NAME' FIELDS...            one header line per type, ids from 1
//   \tMORE...                             one tab-indented line per member, enumerator,
//                                         parameter or section variable
//
// Anonymous types print their name as '(anon)'. Per kind (numbers in decimal):
//
//   INT        size=4 bits_offset=0 nr_bits=32 encoding=SIGNED     encoding: (none), SIGNED,
//                                                                  CHAR, BOOL, or UNKN for a mix
//   PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG   type_id=N
//   ARRAY      type_id=N index_type_id=M nr_elems=K
//   STRUCT/UNION size=N vlen=M, then  \t'field' type_id=N bits_offset=M [bitfield_size=K]
//   ENUM       encoding=UNSIGNED size=4 vlen=N, then  \t'A' val=0      (val as s32 if SIGNED)
//   ENUM64     encoding=UNSIGNED size=8 vlen=N, then  \t'A' val=1ULL   (val=-1LL if SIGNED)
//   FWD        fwd_kind=struct | fwd_kind=union
//   FUNC       type_id=N linkage=static | global | extern
//   FUNC_PROTO ret_type_id=N vlen=M, then  \t'param' type_id=N          ('(anon)' unnamed)
//   VAR        type_id=N, linkage=static | global | extern             (note the comma)
//   DATASEC    size=N vlen=M, then  \ttype_id=N offset=M size=K (VAR 'name')
//   FLOAT      size=N
//   DECL_TAG   type_id=N component_idx=I                               (-1: the type itself)
//
// The linkage numbers are BTF_FUNC_STATIC/GLOBAL/EXTERN and BTF_VAR_STATIC/GLOBAL_ALLOCATED/
// GLOBAL_EXTERN (include/uapi/linux/btf.h); an unknown one prints as (unknown).

import type { Btf } from "./parse.js";
import type { BtfType } from "./types.js";

const LINKAGE = ["static", "global", "extern"] as const;

/** Every line of the raw dump, in type id order, without line terminators. */
export function* dumpBtfRaw(btf: Btf): Generator<string, void, undefined> {
  for (let id = 1; id < btf.typeCount; id++) yield* rawTypeLines(btf, id);
}

/** The raw dump as one string, each line ending in "\n" (what bpftool writes to stdout). */
export function dumpBtfRawText(btf: Btf): string {
  const parts: string[] = [];
  for (let id = 1; id < btf.typeCount; id++) {
    for (const line of rawTypeLines(btf, id)) parts.push(line);
  }
  parts.push("");
  return parts.join("\n");
}

/** The lines of one type: the header line, then one line per member / value / parameter / variable. */
export function rawTypeLines(btf: Btf, id: number): string[] {
  const type = btf.type(id);
  const header = `[${id}] ${kindName(type)} '${anon(type.name)}'`;
  switch (type.kind) {
    case "void":
      return [header];
    case "int":
      return [`${header} size=${type.size} bits_offset=${type.bitOffset} nr_bits=${type.bits} encoding=${intEncoding(type)}`];
    case "ptr":
    case "typedef":
    case "volatile":
    case "const":
    case "restrict":
    case "type_tag":
      return [`${header} type_id=${type.type}`];
    case "array":
      return [`${header} type_id=${type.type} index_type_id=${type.indexType} nr_elems=${type.nelems}`];
    case "struct":
    case "union": {
      const lines = [`${header} size=${type.size} vlen=${type.members.length}`];
      for (const m of type.members) {
        const bitfield = m.bitfieldSize === 0 ? "" : ` bitfield_size=${m.bitfieldSize}`;
        lines.push(`\t'${anon(m.name)}' type_id=${m.type} bits_offset=${m.bitOffset}${bitfield}`);
      }
      return lines;
    }
    case "enum":
    case "enum64": {
      const lines = [`${header} encoding=${type.signed ? "SIGNED" : "UNSIGNED"} size=${type.size} vlen=${type.values.length}`];
      // 64-bit enumerators carry C's literal suffix; the decoder already applied signedness.
      const suffix = type.kind === "enum" ? "" : type.signed ? "LL" : "ULL";
      for (const v of type.values) lines.push(`\t'${anon(v.name)}' val=${v.value}${suffix}`);
      return lines;
    }
    case "fwd":
      return [`${header} fwd_kind=${type.union ? "union" : "struct"}`];
    case "func":
      return [`${header} type_id=${type.type} linkage=${linkageName(type.linkage)}`];
    case "func_proto": {
      const lines = [`${header} ret_type_id=${type.returnType} vlen=${type.params.length}`];
      for (const p of type.params) lines.push(`\t'${anon(p.name)}' type_id=${p.type}`);
      return lines;
    }
    case "var":
      return [`${header} type_id=${type.type}, linkage=${linkageName(type.linkage)}`];
    case "datasec": {
      const lines = [`${header} size=${type.size} vlen=${type.vars.length}`];
      for (const v of type.vars) {
        const target = btf.type(v.type);
        lines.push(`\ttype_id=${v.type} offset=${v.offset} size=${v.size} (${kindName(target)} '${anon(target.name)}')`);
      }
      return lines;
    }
    case "float":
      return [`${header} size=${type.size}`];
    case "decl_tag":
      return [`${header} type_id=${type.type} component_idx=${type.componentIdx}`];
    default:
      return assertNever(type);
  }
}

/** BTF_KIND_* without the prefix: "func_proto" -> "FUNC_PROTO". */
function kindName(type: BtfType): string {
  return type.kind === "void" ? "UNKNOWN" : type.kind.toUpperCase();
}

/** bpftool names a type whose name_off is 0 "(anon)". */
function anon(name: string): string {
  return name === "" ? "(anon)" : name;
}

/** BTF_INT_ENCODING: one of the three flags, none, or (never produced by compilers) a mix. */
function intEncoding(type: Extract<BtfType, { kind: "int" }>): string {
  const flags = Number(type.signed) + Number(type.char) + Number(type.bool);
  if (flags === 0) return "(none)";
  if (flags > 1) return "UNKN";
  return type.signed ? "SIGNED" : type.char ? "CHAR" : "BOOL";
}

function linkageName(linkage: number): string {
  return LINKAGE[linkage] ?? "(unknown)";
}

function assertNever(value: never): never {
  throw new Error(`unhandled BTF kind ${(value as BtfType).kind}`);
}
