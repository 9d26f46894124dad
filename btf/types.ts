// The decoded view of BTF types. Records are decoded on demand (see btf/parse.ts); these are
// the shapes callers see. `id` is the type's BTF id, `name` "" for anonymous types.

export interface BtfMember {
  readonly name: string;
  readonly type: number;
  /** Offset of the member from the start of the struct, in bits. */
  readonly bitOffset: number;
  /** Width of a bitfield member in bits; 0 for an ordinary member. */
  readonly bitfieldSize: number;
}

export interface BtfEnumValue<V> {
  readonly name: string;
  readonly value: V;
}

export interface BtfParam {
  readonly name: string;
  readonly type: number;
}

export interface BtfVarSecinfo {
  readonly type: number;
  readonly offset: number;
  readonly size: number;
}

interface Base<K extends string> {
  readonly kind: K;
  readonly id: number;
  readonly name: string;
}

export type BtfInt = Base<"int"> & { size: number; signed: boolean; char: boolean; bool: boolean; bitOffset: number; bits: number };
export type BtfPtr = Base<"ptr"> & { type: number };
export type BtfArray = Base<"array"> & { type: number; indexType: number; nelems: number };
export type BtfStruct = Base<"struct" | "union"> & { size: number; members: readonly BtfMember[] };
export type BtfEnum = Base<"enum"> & { size: number; signed: boolean; values: readonly BtfEnumValue<number>[] };
export type BtfEnum64 = Base<"enum64"> & { size: number; signed: boolean; values: readonly BtfEnumValue<bigint>[] };
export type BtfFwd = Base<"fwd"> & { union: boolean };
/** typedef, volatile, const, restrict, type_tag: a name or qualifier around another type. */
export type BtfModifier = Base<"typedef" | "volatile" | "const" | "restrict" | "type_tag"> & { type: number };
export type BtfFunc = Base<"func"> & { type: number; linkage: number };
export type BtfFuncProto = Base<"func_proto"> & { returnType: number; params: readonly BtfParam[] };
export type BtfVar = Base<"var"> & { type: number; linkage: number };
export type BtfDatasec = Base<"datasec"> & { size: number; vars: readonly BtfVarSecinfo[] };
export type BtfFloat = Base<"float"> & { size: number };
export type BtfDeclTag = Base<"decl_tag"> & { type: number; componentIdx: number };
/** Type id 0: `void`. */
export type BtfVoid = Base<"void">;

export type BtfType =
  | BtfVoid
  | BtfInt
  | BtfPtr
  | BtfArray
  | BtfStruct
  | BtfEnum
  | BtfEnum64
  | BtfFwd
  | BtfModifier
  | BtfFunc
  | BtfFuncProto
  | BtfVar
  | BtfDatasec
  | BtfFloat
  | BtfDeclTag;
