// BtfBuilder: new BTF made in code, from nothing or on top of an existing BTF.
//
//   const b = new BtfBuilder();
//   const int = b.addInt("int", 4, { signed: true });
//   const task = b.addStruct("task_struct", 8, [{ name: "pid", type: int, bitOffset: 0 }, ...]);
//   const bytes = b.build();                  // a .BTF blob: header, types, strings
//
// Ids are handed out in order from 1 (0 is void), so a type can refer to any id already
// returned, and to `nextId` for itself or a type still to come (a struct holding a pointer
// to itself). References are checked when `build()` writes the records.
//
// Started from an existing Btf, the builder keeps its types at their ids and its string
// section byte for byte, appends new types after them, and lets `replace` swap one type
// for another at the same id. That is what sanitizing BTF for an older kernel needs: a
// kind the kernel does not know is replaced by one it does, while the func_info and
// line_info records (type ids and string offsets) still point where they pointed.

import { BtfError } from "../common/errors.js";
import type { Btf } from "./parse.js";
import { encodeBtf, stringTableOf, typeSpecOf, type BtfTypeSpec } from "./marshal.js";
import { StringTable } from "./string-table.js";
import type { BtfParam, BtfVarSecinfo } from "./types.js";

/** Linkage of a FUNC (its vlen field): enum btf_func_linkage. */
export const BtfFuncLinkage = { STATIC: 0, GLOBAL: 1, EXTERN: 2 } as const;
/** Linkage of a VAR (struct btf_var.linkage): BTF_VAR_STATIC, BTF_VAR_GLOBAL_ALLOCATED, BTF_VAR_GLOBAL_EXTERN. */
export const BtfVarLinkage = { STATIC: 0, GLOBAL_ALLOCATED: 1, GLOBAL_EXTERN: 2 } as const;

export interface IntOptions {
  signed?: boolean;
  char?: boolean;
  bool?: boolean;
  /** Number of value bits; defaults to size * 8. */
  bits?: number;
  /** Bit offset of the value within the int (BTF_INT_OFFSET); 0 for every int clang writes. */
  bitOffset?: number;
}

export interface MemberSpec {
  name: string;
  type: number;
  /** Offset from the start of the struct, in bits. */
  bitOffset: number;
  /** Width of a bitfield member; 0 or absent for an ordinary member. */
  bitfieldSize?: number;
}

export interface BuildOptions {
  /** Byte order of the blob; defaults to the base BTF's, or the builder's `littleEndian`. */
  littleEndian?: boolean;
  /**
   * "keep" (default): the base's string section stays byte for byte and new names are
   * appended. "rebuild": a fresh deduplicated section with only the names in use (string
   * offsets held by a .BTF.ext would no longer match).
   */
  strings?: "keep" | "rebuild";
}

export class BtfBuilder {
  private readonly base: Btf | undefined;
  private readonly baseCount: number;
  /** Types added after the base, in id order: added[0] is id baseCount. */
  private readonly added: BtfTypeSpec[] = [];
  /** Base types replaced by `replace`. */
  private readonly replaced = new Map<number, BtfTypeSpec>();
  private readonly littleEndian: boolean;

  /**
   * @param options.base an existing BTF to start from (its types keep their ids).
   * @param options.littleEndian default byte order of `build()` (the base's, else little-endian).
   */
  constructor(options: { base?: Btf; littleEndian?: boolean } = {}) {
    this.base = options.base;
    this.baseCount = options.base?.typeCount ?? 1;
    this.littleEndian = options.littleEndian ?? options.base?.littleEndian ?? true;
  }

  /**
   * A builder that appends to (and may replace types of) `btf`. For a split BTF, `build()`
   * writes a split BTF again (the base is not part of the output).
   */
  static from(btf: Btf): BtfBuilder {
    return new BtfBuilder({ base: btf });
  }

  /** Number of type ids, including 0 (void). */
  get typeCount(): number {
    return this.baseCount + this.added.length;
  }

  /** The id the next added type will get. */
  get nextId(): number {
    return this.typeCount;
  }

  /** The first id `build()` writes: 1, or after the base of a split BTF. */
  get firstId(): number {
    return this.base?.firstTypeId ?? 1;
  }

  /** The type that `build()` will write at `id`. */
  type(id: number): BtfTypeSpec {
    if (!Number.isInteger(id) || id < this.firstId || id >= this.typeCount) {
      throw new BtfError(`no type with id ${id} (ids run from ${this.firstId} to ${this.typeCount - 1})`, { typeId: id });
    }
    if (id >= this.baseCount) return this.added[id - this.baseCount];
    return this.replaced.get(id) ?? typeSpecOf(this.base!, id);
  }

  /** Appends any type record; returns its id. */
  add(type: BtfTypeSpec): number {
    if (this.typeCount > 0x7fffffff) throw new BtfError("too many types");
    this.added.push(type);
    return this.typeCount - 1;
  }

  /** Puts `type` at `id` in place of what was there (a base type or an added one). */
  replace(id: number, type: BtfTypeSpec): void {
    this.type(id); // range check
    if (id >= this.baseCount) this.added[id - this.baseCount] = type;
    else this.replaced.set(id, type);
  }

  addInt(name: string, size: number, options: IntOptions = {}): number {
    return this.add({
      kind: "int", name, size,
      signed: options.signed ?? false,
      char: options.char ?? false,
      bool: options.bool ?? false,
      bits: options.bits ?? size * 8,
      bitOffset: options.bitOffset ?? 0,
    });
  }

  addFloat(name: string, size: number): number {
    return this.add({ kind: "float", name, size });
  }

  addPtr(type: number): number {
    return this.add({ kind: "ptr", name: "", type });
  }

  /** `indexType` is an int type; clang uses a 4-byte unsigned int named __ARRAY_SIZE_TYPE__. */
  addArray(type: number, indexType: number, nelems: number): number {
    return this.add({ kind: "array", name: "", type, indexType, nelems });
  }

  addStruct(name: string, size: number, members: readonly MemberSpec[]): number {
    return this.add({ kind: "struct", name, size, members: members.map(member) });
  }

  addUnion(name: string, size: number, members: readonly MemberSpec[]): number {
    return this.add({ kind: "union", name, size, members: members.map(member) });
  }

  /** A 32-bit (or smaller, `size`) enum; `signed` marks the values as signed (kind_flag, Linux 6.0). */
  addEnum(name: string, values: readonly { name: string; value: number }[], options: { size?: number; signed?: boolean } = {}): number {
    const signed = options.signed ?? values.some((v) => v.value < 0);
    return this.add({ kind: "enum", name, size: options.size ?? 4, signed, values: values.map((v) => ({ ...v })) });
  }

  /** A 64-bit enum (BTF_KIND_ENUM64, Linux 6.0). */
  addEnum64(name: string, values: readonly { name: string; value: bigint }[], options: { size?: number; signed?: boolean } = {}): number {
    const signed = options.signed ?? values.some((v) => v.value < 0n);
    return this.add({ kind: "enum64", name, size: options.size ?? 8, signed, values: values.map((v) => ({ ...v })) });
  }

  /** A forward declaration: `struct name;` or `union name;`. */
  addFwd(name: string, flavor: "struct" | "union" = "struct"): number {
    return this.add({ kind: "fwd", name, union: flavor === "union" });
  }

  addTypedef(name: string, type: number): number {
    return this.add({ kind: "typedef", name, type });
  }

  addConst(type: number): number {
    return this.add({ kind: "const", name: "", type });
  }

  addVolatile(type: number): number {
    return this.add({ kind: "volatile", name: "", type });
  }

  addRestrict(type: number): number {
    return this.add({ kind: "restrict", name: "", type });
  }

  /** `__attribute__((btf_type_tag("value")))` on `type` (Linux 5.17); `attribute` sets kind_flag (Linux 6.14). */
  addTypeTag(value: string, type: number, options: { attribute?: boolean } = {}): number {
    return this.add(options.attribute ? { kind: "type_tag", name: value, type, attribute: true } : { kind: "type_tag", name: value, type });
  }

  /** A function: `proto` is its FUNC_PROTO; linkage from BtfFuncLinkage. */
  addFunc(name: string, proto: number, linkage: number = BtfFuncLinkage.STATIC): number {
    return this.add({ kind: "func", name, type: proto, linkage });
  }

  /** A function signature; a parameter of type 0 with no name marks varargs (`...`). */
  addFuncProto(returnType: number, params: readonly { name?: string; type: number }[]): number {
    const list: BtfParam[] = params.map((p) => ({ name: p.name ?? "", type: p.type }));
    return this.add({ kind: "func_proto", name: "", returnType, params: list });
  }

  /** A global variable; linkage from BtfVarLinkage. */
  addVar(name: string, type: number, linkage: number = BtfVarLinkage.GLOBAL_ALLOCATED): number {
    return this.add({ kind: "var", name, type, linkage });
  }

  /** A data section (".data", ".maps"...): the VARs in it with their offsets and sizes. */
  addDatasec(name: string, size: number, vars: readonly BtfVarSecinfo[]): number {
    return this.add({ kind: "datasec", name, size, vars: vars.map((v) => ({ ...v })) });
  }

  /**
   * `__attribute__((btf_decl_tag("value")))` on a declaration (Linux 5.16): on `type` itself
   * when `componentIdx` is -1, else on its member or parameter number `componentIdx`.
   */
  addDeclTag(value: string, type: number, componentIdx = -1, options: { attribute?: boolean } = {}): number {
    const tag = { kind: "decl_tag", name: value, type, componentIdx } as const;
    return this.add(options.attribute ? { ...tag, attribute: true } : tag);
  }

  /** The .BTF blob: header, every type from id 1 in order, strings. */
  build(options: BuildOptions = {}): Uint8Array {
    const keep = (options.strings ?? "keep") === "keep";
    const strings = this.base === undefined ? new StringTable() : stringTableOf(this.base, keep);
    const ids = { firstId: this.firstId, count: this.typeCount };
    return encodeBtf(ids, (id) => this.type(id), strings, options.littleEndian ?? this.littleEndian);
  }
}

function member(m: MemberSpec) {
  return { name: m.name, type: m.type, bitOffset: m.bitOffset, bitfieldSize: m.bitfieldSize ?? 0 };
}
