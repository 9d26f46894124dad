// Externs: the symbols a BPF object uses but does not define, which the loader fills in from
// the running kernel. Pure: this file only reads the ObjectSpec and its BTF.
//
// clang marks each one as an undefined ELF symbol (STB_WEAK with `__weak`) and describes it
// in the object's BTF: a VAR or FUNC with extern linkage, listed in a DATASEC named after
// the section attribute of the declaration. libbpf's headers spell those attributes:
//
//   extern int CONFIG_HZ __kconfig;                     DATASEC ".kconfig"  VAR   kconfig value
//   extern unsigned LINUX_KERNEL_VERSION __kconfig;     DATASEC ".kconfig"  VAR   virtual value
//   extern const int bpf_prog_active __ksym;            DATASEC ".ksyms"    VAR   typed ksym (BTF id)
//   extern const void bpf_prog_put __ksym;              DATASEC ".ksyms"    VAR   typeless ksym (address)
//   extern int bpf_dynptr_from_xdp(...) __ksym;         DATASEC ".ksyms"    FUNC  kfunc (BTF id)
//
// Neither DATASEC names an ELF section, and clang writes both with size 0 and every offset
// 0. The loader decides where kconfig values go: one read-only array map ".kconfig" whose
// value holds all of them, laid out as libbpf lays it out (kconfigLayout below) so that the
// instructions the kernel holds are the same whichever loader produced them.

import { SpecError } from "../common/errors.js";
import { alignOf, sizeOrZero } from "../btf/layout.js";
import type { Btf } from "../btf/parse.js";
import type { BtfDatasec, BtfType } from "../btf/types.js";
import type { ObjectSpec } from "./spec.js";

export const KCONFIG_SECTION = ".kconfig";
export const KSYMS_SECTION = ".ksyms";

/**
 * How a kconfig value is stored (libbpf's enum kcfg_type): `bool` is a 1-byte _Bool; `char`
 * any 1-byte integer, holding 'y', 'n', 'm' or a number; `tristate` an `enum
 * libbpf_tristate` (TRI_NO 0, TRI_YES 1, TRI_MODULE 2); `int` an integer of 2, 4 or 8 bytes;
 * `string` a char array, NUL-terminated.
 */
export type KconfigType = "bool" | "char" | "tristate" | "int" | "string";

interface ExternCommon {
  readonly name: string;
  /** Declared `__weak`: if the kernel has no such thing, the value is 0 instead of an error. */
  readonly weak: boolean;
  /** The VAR or FUNC in the object's BTF. */
  readonly btfId: number;
}

export interface KconfigExtern extends ExternCommon {
  readonly kind: "kconfig";
  readonly type: KconfigType;
  readonly signed: boolean;
  readonly size: number;
  /** Where the value sits in the .kconfig map's value. */
  readonly offset: number;
}

export interface KsymExtern extends ExternCommon {
  readonly kind: "ksym";
  /** The variable's type with typedefs and qualifiers skipped; 0 for a typeless ksym (`const void`). */
  readonly typeId: number;
}

export interface KfuncExtern extends ExternCommon {
  readonly kind: "kfunc";
  /** The kernel function looked up: the name without a `___flavor` suffix (bpf_foo___v2 -> bpf_foo). */
  readonly kernelName: string;
  /** The FUNC_PROTO of the declaration, checked against the kernel's. */
  readonly protoId: number;
}

export type ExternSpec = KconfigExtern | KsymExtern | KfuncExtern;

export interface ObjectExterns {
  /** Every extern the programs refer to, by symbol name. */
  readonly externs: ReadonlyMap<string, ExternSpec>;
  /** Size in bytes of the .kconfig map's value; 0 when no program reads a kconfig extern. */
  readonly kconfigSize: number;
}

/** Where each .kconfig VAR goes in the map value, and the value's size. */
export interface KconfigLayout {
  readonly size: number;
  readonly offsets: ReadonlyMap<string, number>;
}

const NO_EXTERNS: ObjectExterns = { externs: new Map(), kconfigSize: 0 };

/**
 * The externs of an object: each symbol that an instruction of a program or subprogram
 * refers to, classified by its BTF. Throws SpecError for an extern the loader cannot fill
 * (no BTF, not declared __kconfig or __ksym, a kconfig type with no kconfig meaning).
 */
export function objectExterns(spec: ObjectSpec): ObjectExterns {
  const used = usedExterns(spec);
  if (used.size === 0) return NO_EXTERNS;
  const btf = spec.btf;
  if (btf === undefined) {
    const [name] = used.keys();
    throw new SpecError("the object uses externs but has no BTF to say what they are; compile with -g", { part: name });
  }
  const declared = declaredExterns(btf);
  const layout = kconfigLayout(btf);
  const externs = new Map<string, ExternSpec>();
  for (const [name, weak] of used) {
    const declaration = declared.get(name);
    if (declaration === undefined) {
      throw new SpecError(
        "is an undefined symbol that is neither a __kconfig nor a __ksym extern (a function or variable missing from this object?)",
        { part: name },
      );
    }
    externs.set(name, classify(btf, declaration, weak, layout));
  }
  const kconfigSize = [...externs.values()].some((e) => e.kind === "kconfig") ? layout.size : 0;
  return { externs, kconfigSize };
}

/** Symbol names of the externs the code refers to, and whether each is weak. */
function usedExterns(spec: ObjectSpec): Map<string, boolean> {
  const used = new Map<string, boolean>();
  for (const functions of [spec.programs, spec.subprograms]) {
    for (const fn of functions.values()) {
      for (const reference of fn.references) {
        if (reference.kind === "extern") used.set(reference.symbol, reference.weak === true);
      }
    }
  }
  return used;
}

interface Declaration {
  readonly section: typeof KCONFIG_SECTION | typeof KSYMS_SECTION;
  readonly type: BtfType;
}

/** The VARs and FUNCs listed in the .kconfig and .ksyms DATASECs, by name. */
function declaredExterns(btf: Btf): Map<string, Declaration> {
  const declared = new Map<string, Declaration>();
  for (const section of [KCONFIG_SECTION, KSYMS_SECTION] as const) {
    const datasec = externDatasec(btf, section);
    for (const secinfo of datasec?.vars ?? []) {
      const type = btf.type(secinfo.type);
      declared.set(type.name, { section, type });
    }
  }
  return declared;
}

/** The DATASEC named `.kconfig` or `.ksyms`, if the object has one. */
export function externDatasec(btf: Btf, name: typeof KCONFIG_SECTION | typeof KSYMS_SECTION): BtfDatasec | undefined {
  const type = btf.typeByName(name, "datasec");
  return type?.kind === "datasec" ? type : undefined;
}

function classify(btf: Btf, declaration: Declaration, weak: boolean, layout: KconfigLayout): ExternSpec {
  const { type, section } = declaration;
  const common = { name: type.name, weak, btfId: type.id };
  if (section === KCONFIG_SECTION) {
    if (type.kind !== "var") throw new SpecError(`a function cannot be a ${KCONFIG_SECTION} extern`, { part: type.name });
    const { kind, signed } = kconfigType(btf, type.type, type.name);
    return { ...common, kind: "kconfig", type: kind, signed, size: sizeOrZero(btf, type.type), offset: layout.offsets.get(type.name)! };
  }
  if (type.kind === "func") {
    const flavor = type.name.indexOf("___");
    return { ...common, kind: "kfunc", kernelName: flavor > 0 ? type.name.slice(0, flavor) : type.name, protoId: type.type };
  }
  // btf.resolve skips typedefs and qualifiers: `const void` becomes void, id 0 (typeless).
  if (type.kind === "var") return { ...common, kind: "ksym", typeId: btf.resolve(type.type).id };
  throw new SpecError(`a ${type.kind} in ${KSYMS_SECTION}: only variables and functions can be ksyms`, { part: type.name });
}

/** libbpf's find_kcfg_type: which C types a kconfig extern may have. */
function kconfigType(btf: Btf, typeId: number, name: string): { kind: KconfigType; signed: boolean } {
  const type = btf.resolve(typeId);
  const unsupported = (why: string) =>
    new SpecError(`kconfig extern of type ${type.kind} ${type.name || "(anon)"}: ${why}`, { part: name });
  switch (type.kind) {
    case "int":
      if (type.bool) {
        if (type.size !== 1) throw unsupported("a bool must be 1 byte");
        return { kind: "bool", signed: false };
      }
      if (type.size === 1) return { kind: "char", signed: type.signed };
      if (![2, 4, 8].includes(type.size)) throw unsupported("integers must be 1, 2, 4 or 8 bytes");
      return { kind: "int", signed: type.signed };
    case "enum":
    case "enum64":
      if (type.name !== "libbpf_tristate") throw unsupported("the only enum a kconfig value can have is enum libbpf_tristate");
      return { kind: "tristate", signed: false };
    case "array": {
      const element = btf.resolve(type.type);
      if (type.nelems === 0 || element.kind !== "int" || element.size !== 1 || element.bool) {
        throw unsupported("arrays must be non-empty char arrays (a string value)");
      }
      return { kind: "string", signed: false };
    }
    default:
      throw unsupported("use bool, char, an integer, enum libbpf_tristate or a char array");
  }
}

/**
 * The .kconfig map value as libbpf lays it out (bpf_object__collect_externs): externs
 * sorted by alignment, largest first, then by size, smallest first, then by name; each
 * at the next offset its alignment allows. Covers every VAR in the DATASEC, used or not.
 */
export function kconfigLayout(btf: Btf): KconfigLayout {
  const datasec = externDatasec(btf, KCONFIG_SECTION);
  if (datasec === undefined) return { size: 0, offsets: new Map() };
  const entries = datasec.vars.map((secinfo) => {
    const variable = btf.type(secinfo.type);
    const type = variable.kind === "var" ? variable.type : 0;
    return { name: variable.name, size: sizeOrZero(btf, type), align: Math.max(1, alignOf(btf, type)) };
  });
  entries.sort((a, b) => b.align - a.align || a.size - b.size || compareNames(a.name, b.name));
  const offsets = new Map<string, number>();
  let end = 0;
  for (const entry of entries) {
    const offset = Math.ceil(end / entry.align) * entry.align;
    offsets.set(entry.name, offset);
    end = offset + entry.size;
  }
  return { size: end, offsets };
}

/** strcmp order (byte values), not localeCompare. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
