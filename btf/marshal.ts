// marshalBtf: BTF types back to the bytes the kernel (BPF_BTF_LOAD) and tools read.
//
//   struct btf_header {          (include/uapi/linux/btf.h), written in the chosen byte order
//     __u16 magic = 0xeB9F; __u8 version = 1; __u8 flags = 0;
//     __u32 hdr_len = 24;
//     __u32 type_off = 0, type_len;      offsets count from the end of the header
//     __u32 str_off = type_len, str_len;
//   };
//   type records: struct btf_type (12 bytes) + kind-specific data, ids 1, 2, ... in order
//   (layouts in btf/kinds.ts); then the string section (btf/string-table.ts).
//
// This is the layout clang, pahole and the kernel write, so a BTF read by parseBtf and
// marshalled again comes out byte for byte the same: every type is re-encoded from its
// decoded form and every name found at its old offset in the kept string section. (The
// format would also allow a string stored twice, or a name_off into the middle of a longer
// string; no writer does that, and such a name is written at the offset of its first whole
// occurrence: the same string, another offset.)
//
// A type record's `info` word packs: bits 0-15 vlen, bits 24-28 kind, bit 31 kind_flag.
// What kind_flag means depends on the kind: a struct/union with bitfield members (each
// member offset then packs size and offset), a signed enum/enum64, a union forward
// declaration, and (Linux 6.14) a type_tag/decl_tag that is a compiler attribute.

import { BtfError } from "../common/errors.js";
import { BtfIntEncoding, BtfKind, BTF_TYPE_SIZE, trailingSize } from "./kinds.js";
import { BTF_MAGIC, type Btf } from "./parse.js";
import { StringTable } from "./string-table.js";
import type { BtfDeclTag, BtfModifier, BtfType, BtfVoid } from "./types.js";

const BTF_VERSION = 1;
const BTF_HEADER_SIZE = 24;

type WithoutId<T> = T extends unknown ? Omit<T, "id"> & { readonly id?: number } : never;
/** type_tag and decl_tag records may be compiler attributes (kind_flag = 1, Linux 6.14). */
type Tag = { readonly attribute?: boolean };

/**
 * A type to encode: a BtfType without (or ignoring) its id, since a type's id is its
 * position. Decoded types from parseBtf fit as they are.
 */
export type BtfTypeSpec =
  | WithoutId<Exclude<BtfType, BtfVoid | BtfModifier | BtfDeclTag>>
  | (WithoutId<BtfModifier> & Tag)
  | (WithoutId<BtfDeclTag> & Tag);

/** Types given as a list: `types[0]` becomes id 1. */
export interface BtfTypeList {
  readonly types: readonly BtfTypeSpec[];
  /** A string section to keep as the prefix of the new one (e.g. the original .BTF strings). */
  readonly strings?: Uint8Array;
}

export interface MarshalOptions {
  /** Byte order of the output; defaults to the source BTF's (little-endian for a list). */
  readonly littleEndian?: boolean;
  /**
   * "keep": the source's string section stays byte for byte as the prefix of the output and
   * new names are appended (offsets held by .BTF.ext stay valid). "rebuild": a fresh,
   * deduplicated section with only the names the types use. Default "keep".
   */
  readonly strings?: "keep" | "rebuild";
}

/**
 * Serializes a parsed BTF, or a list of types, to a .BTF blob. A split BTF (parsed with a
 * base) gives a split blob again: its own types and strings, ids and offsets after the base's.
 */
export function marshalBtf(source: Btf | BtfTypeList, options: MarshalOptions = {}): Uint8Array {
  const keep = (options.strings ?? "keep") === "keep";
  if (isTypeList(source)) {
    source.types.forEach((type, i) => {
      if (type.id !== undefined && type.id !== i + 1) throw new BtfError(`types[${i}] has id ${type.id}, but its position makes it ${i + 1}`);
    });
    const strings = new StringTable(keep ? source.strings : undefined);
    return encodeBtf({ firstId: 1, count: source.types.length + 1 }, (id) => source.types[id - 1], strings, options.littleEndian ?? true);
  }
  const ids = { firstId: source.firstTypeId, count: source.typeCount };
  return encodeBtf(ids, (id) => typeSpecOf(source, id), stringTableOf(source, keep), options.littleEndian ?? source.littleEndian);
}

/**
 * A string table to write `btf`'s types with: its own section kept (or, with keep false, a
 * fresh one), on top of its base's kept section for split BTF.
 */
export function stringTableOf(btf: Btf, keep: boolean): StringTable {
  const base = btf.base === undefined ? undefined : stringTableOf(btf.base, true);
  return new StringTable(keep ? btf.strings.bytes : undefined, base);
}

function isTypeList(source: Btf | BtfTypeList): source is BtfTypeList {
  return Array.isArray((source as BtfTypeList).types);
}

/**
 * Type `id` of a parsed BTF as a spec that encodes back to the same record. The decoded
 * view has no field for the attribute flag of type_tag/decl_tag, so it is read from the raw
 * info word here.
 */
export function typeSpecOf(btf: Btf, id: number): BtfTypeSpec {
  if (id > 0 && id < btf.firstTypeId) return typeSpecOf(btf.base!, id);
  const type = btf.type(id);
  if (type.kind === "void") throw new BtfError("void (type 0) has no record", { typeId: 0 });
  if (type.kind === "type_tag" || type.kind === "decl_tag") {
    const kindFlag = btf.types.u32(btf.offsets[id - btf.firstTypeId + 1] + 4) >>> 31 === 1;
    if (kindFlag) return { ...type, attribute: true };
  }
  return type;
}

/**
 * Writes the header, the records of types ids.firstId .. ids.count-1 (from `typeAt`) and the
 * string table. Names are added to `strings` as records are written. References may name any
 * id below ids.count (ids below firstId are a split BTF's base).
 */
export function encodeBtf(
  ids: { readonly firstId: number; readonly count: number },
  typeAt: (id: number) => BtfTypeSpec,
  strings: StringTable,
  littleEndian: boolean,
): Uint8Array {
  const { firstId, count } = ids;
  const records: BtfTypeSpec[] = [];
  let typeLength = 0;
  for (let id = firstId; id < count; id++) {
    const type = typeAt(id);
    records.push(type);
    typeLength += BTF_TYPE_SIZE + trailingSize(KIND_NUMBERS[type.kind], vlenOf(type));
  }
  const types = new Uint8Array(typeLength);
  const writer = new RecordWriter(types, littleEndian, strings, count);
  records.forEach((type, i) => writer.write(firstId + i, type));

  const stringBytes = strings.bytes();
  const out = new Uint8Array(BTF_HEADER_SIZE + typeLength + stringBytes.byteLength);
  const view = new DataView(out.buffer);
  view.setUint16(0, BTF_MAGIC, littleEndian);
  out[2] = BTF_VERSION;
  out[3] = 0;
  view.setUint32(4, BTF_HEADER_SIZE, littleEndian);
  view.setUint32(8, 0, littleEndian);
  view.setUint32(12, typeLength, littleEndian);
  view.setUint32(16, typeLength, littleEndian);
  view.setUint32(20, stringBytes.byteLength, littleEndian);
  out.set(types, BTF_HEADER_SIZE);
  out.set(stringBytes, BTF_HEADER_SIZE + typeLength);
  return out;
}

const KIND_NUMBERS: Record<BtfTypeSpec["kind"], number> = {
  int: BtfKind.INT,
  ptr: BtfKind.PTR,
  array: BtfKind.ARRAY,
  struct: BtfKind.STRUCT,
  union: BtfKind.UNION,
  enum: BtfKind.ENUM,
  fwd: BtfKind.FWD,
  typedef: BtfKind.TYPEDEF,
  volatile: BtfKind.VOLATILE,
  const: BtfKind.CONST,
  restrict: BtfKind.RESTRICT,
  func: BtfKind.FUNC,
  func_proto: BtfKind.FUNC_PROTO,
  var: BtfKind.VAR,
  datasec: BtfKind.DATASEC,
  float: BtfKind.FLOAT,
  decl_tag: BtfKind.DECL_TAG,
  type_tag: BtfKind.TYPE_TAG,
  enum64: BtfKind.ENUM64,
};

/** The vlen field: the number of trailing entries, or the linkage of a FUNC. */
function vlenOf(type: BtfTypeSpec): number {
  switch (type.kind) {
    case "struct":
    case "union":
      return type.members.length;
    case "enum":
    case "enum64":
      return type.values.length;
    case "func_proto":
      return type.params.length;
    case "datasec":
      return type.vars.length;
    case "func":
      return type.linkage;
    default:
      return 0;
  }
}

/** Encodes one record at a time into a buffer sized for all of them. */
class RecordWriter {
  private readonly view: DataView;
  private at = 0;
  private id = 0;

  constructor(
    bytes: Uint8Array,
    private readonly littleEndian: boolean,
    private readonly strings: StringTable,
    private readonly typeCount: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  write(id: number, type: BtfTypeSpec): void {
    this.id = id;
    const vlen = vlenOf(type);
    if (!Number.isInteger(vlen) || vlen < 0 || vlen > 0xffff) throw this.error(`vlen ${vlen} does not fit in 16 bits`);
    const kindFlag = this.kindFlag(type);
    this.u32(this.name(type.name), "name offset");
    this.u32((((kindFlag ? 1 : 0) << 31) | (KIND_NUMBERS[type.kind] << 24) | vlen) >>> 0, "info");
    switch (type.kind) {
      case "int": {
        const encoding = (type.signed ? BtfIntEncoding.SIGNED : 0) | (type.char ? BtfIntEncoding.CHAR : 0) | (type.bool ? BtfIntEncoding.BOOL : 0);
        this.u32(type.size, "size");
        this.u32(((encoding << 24) | (this.bits(type.bitOffset, 8, "bit offset") << 16) | this.bits(type.bits, 8, "bits")) >>> 0, "int encoding");
        return;
      }
      case "ptr":
      case "typedef":
      case "volatile":
      case "const":
      case "restrict":
      case "type_tag":
      case "func":
        this.ref(type.type);
        return;
      case "array":
        this.u32(0, "size");
        this.ref(type.type);
        this.ref(type.indexType);
        this.u32(type.nelems, "nelems");
        return;
      case "struct":
      case "union":
        this.u32(type.size, "size");
        for (const m of type.members) {
          this.u32(this.name(m.name), "member name");
          this.ref(m.type);
          // struct btf_member.offset: with kind_flag, bitfield_size << 24 | bit_offset.
          if (kindFlag) this.u32(((this.bits(m.bitfieldSize, 8, "bitfield size") << 24) | this.bits(m.bitOffset, 24, "member bit offset")) >>> 0, "member offset");
          else this.u32(m.bitOffset, "member bit offset");
        }
        return;
      case "enum":
        this.u32(type.size, "size");
        for (const v of type.values) {
          this.u32(this.name(v.name), "enumerator name");
          if (!Number.isInteger(v.value) || v.value < -0x80000000 || v.value > 0xffffffff) throw this.error(`enumerator ${v.name} = ${v.value} does not fit in 32 bits`);
          this.u32(v.value >>> 0, "enumerator value");
        }
        return;
      case "enum64":
        this.u32(type.size, "size");
        for (const v of type.values) {
          this.u32(this.name(v.name), "enumerator name");
          const raw = BigInt.asUintN(64, v.value);
          if (v.value < -(1n << 63n) || v.value >= 1n << 64n) throw this.error(`enumerator ${v.name} = ${v.value} does not fit in 64 bits`);
          this.u32(Number(raw & 0xffffffffn), "enumerator value (low)");
          this.u32(Number(raw >> 32n), "enumerator value (high)");
        }
        return;
      case "fwd":
        this.u32(0, "size");
        return;
      case "func_proto":
        this.ref(type.returnType);
        for (const p of type.params) {
          this.u32(this.name(p.name), "parameter name");
          this.ref(p.type);
        }
        return;
      case "var":
        this.ref(type.type);
        this.u32(type.linkage, "linkage");
        return;
      case "datasec":
        this.u32(type.size, "size");
        for (const v of type.vars) {
          this.ref(v.type);
          this.u32(v.offset, "variable offset");
          this.u32(v.size, "variable size");
        }
        return;
      case "float":
        this.u32(type.size, "size");
        return;
      case "decl_tag":
        this.ref(type.type);
        if (!Number.isInteger(type.componentIdx) || type.componentIdx < -1 || type.componentIdx > 0x7fffffff) {
          throw this.error(`component index ${type.componentIdx} is not -1 or a member/parameter index`);
        }
        this.u32(type.componentIdx >>> 0, "component index");
        return;
      default: {
        const unknown: never = type;
        throw this.error(`cannot encode kind ${(unknown as { kind: string }).kind}`);
      }
    }
  }

  private kindFlag(type: BtfTypeSpec): boolean {
    switch (type.kind) {
      case "struct":
      case "union":
        return type.members.some((m) => m.bitfieldSize !== 0);
      case "enum":
      case "enum64":
        return type.signed;
      case "fwd":
        return type.union;
      case "type_tag":
      case "decl_tag":
        return type.attribute === true;
      default:
        return false;
    }
  }

  private name(text: string): number {
    return this.strings.add(text);
  }

  private ref(target: number): void {
    if (!Number.isInteger(target) || target < 0 || target >= this.typeCount) {
      throw this.error(`refers to type ${target}, but the last type is ${this.typeCount - 1}`);
    }
    this.u32(target, "type id");
  }

  private bits(value: number, width: number, what: string): number {
    if (!Number.isInteger(value) || value < 0 || value >= 2 ** width) throw this.error(`${what} ${value} does not fit in ${width} bits`);
    return value;
  }

  private u32(value: number, what: string): void {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw this.error(`${what} ${value} is not a 32-bit unsigned integer`);
    this.view.setUint32(this.at, value, this.littleEndian);
    this.at += 4;
  }

  private error(message: string): BtfError {
    return new BtfError(message, { typeId: this.id });
  }
}
