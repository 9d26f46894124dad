// Decoding one BTF type record into its BtfType object (layouts in btf/kinds.ts).

import { BtfError } from "../common/errors.js";
import { BtfIntEncoding, BtfKind, BTF_TYPE_SIZE } from "./kinds.js";
import type { Btf } from "./parse.js";
import type { BtfEnumValue, BtfMember, BtfParam, BtfType, BtfVarSecinfo } from "./types.js";

const MODIFIERS = {
  [BtfKind.TYPEDEF]: "typedef",
  [BtfKind.VOLATILE]: "volatile",
  [BtfKind.CONST]: "const",
  [BtfKind.RESTRICT]: "restrict",
  [BtfKind.TYPE_TAG]: "type_tag",
} as const;

export function decodeType(btf: Btf, id: number): BtfType {
  if (id === 0) return { kind: "void", id: 0, name: "void" };
  const r = btf.types;
  const at = btf.offsets[id];
  const name = btf.string(r.u32(at));
  const info = r.u32(at + 4);
  const kind = (info >>> 24) & 0x1f;
  const vlen = info & 0xffff;
  const kindFlag = info >>> 31 === 1;
  const sizeOrType = r.u32(at + 8);
  const data = at + BTF_TYPE_SIZE;

  switch (kind) {
    case BtfKind.INT: {
      const encoding = r.u32(data);
      const enc = (encoding >>> 24) & 0xf;
      return {
        kind: "int", id, name, size: sizeOrType,
        signed: (enc & BtfIntEncoding.SIGNED) !== 0,
        char: (enc & BtfIntEncoding.CHAR) !== 0,
        bool: (enc & BtfIntEncoding.BOOL) !== 0,
        bitOffset: (encoding >>> 16) & 0xff,
        bits: encoding & 0xff,
      };
    }
    case BtfKind.PTR:
      return { kind: "ptr", id, name, type: checkedId(btf, sizeOrType, id) };
    case BtfKind.ARRAY:
      return {
        kind: "array", id, name,
        type: checkedId(btf, r.u32(data), id),
        indexType: checkedId(btf, r.u32(data + 4), id),
        nelems: r.u32(data + 8),
      };
    case BtfKind.STRUCT:
    case BtfKind.UNION: {
      const members: BtfMember[] = new Array(vlen);
      for (let i = 0; i < vlen; i++) {
        const m = data + i * 12;
        const offset = r.u32(m + 8);
        // With kind_flag set, the offset packs bitfield_size (high 8 bits) and bit_offset (low 24).
        members[i] = {
          name: btf.string(r.u32(m)),
          type: checkedId(btf, r.u32(m + 4), id),
          bitOffset: kindFlag ? offset & 0xffffff : offset,
          bitfieldSize: kindFlag ? offset >>> 24 : 0,
        };
      }
      return { kind: kind === BtfKind.STRUCT ? "struct" : "union", id, name, size: sizeOrType, members };
    }
    case BtfKind.ENUM: {
      const values: BtfEnumValue<number>[] = new Array(vlen);
      for (let i = 0; i < vlen; i++) {
        const e = data + i * 8;
        // kind_flag marks a signed enum; otherwise the 32 bits are unsigned.
        values[i] = { name: btf.string(r.u32(e)), value: kindFlag ? r.i32(e + 4) : r.u32(e + 4) };
      }
      return { kind: "enum", id, name, size: sizeOrType, signed: kindFlag, values };
    }
    case BtfKind.ENUM64: {
      const values: BtfEnumValue<bigint>[] = new Array(vlen);
      for (let i = 0; i < vlen; i++) {
        const e = data + i * 12;
        const raw = (BigInt(r.u32(e + 8)) << 32n) | BigInt(r.u32(e + 4));
        values[i] = { name: btf.string(r.u32(e)), value: kindFlag ? BigInt.asIntN(64, raw) : raw };
      }
      return { kind: "enum64", id, name, size: sizeOrType, signed: kindFlag, values };
    }
    case BtfKind.FWD:
      return { kind: "fwd", id, name, union: kindFlag };
    case BtfKind.TYPEDEF:
    case BtfKind.VOLATILE:
    case BtfKind.CONST:
    case BtfKind.RESTRICT:
    case BtfKind.TYPE_TAG:
      return { kind: MODIFIERS[kind], id, name, type: checkedId(btf, sizeOrType, id) };
    case BtfKind.FUNC:
      return { kind: "func", id, name, type: checkedId(btf, sizeOrType, id), linkage: vlen };
    case BtfKind.FUNC_PROTO: {
      const params: BtfParam[] = new Array(vlen);
      for (let i = 0; i < vlen; i++) {
        const p = data + i * 8;
        params[i] = { name: btf.string(r.u32(p)), type: checkedId(btf, r.u32(p + 4), id) };
      }
      return { kind: "func_proto", id, name, returnType: checkedId(btf, sizeOrType, id), params };
    }
    case BtfKind.VAR:
      return { kind: "var", id, name, type: checkedId(btf, sizeOrType, id), linkage: r.u32(data) };
    case BtfKind.DATASEC: {
      const vars: BtfVarSecinfo[] = new Array(vlen);
      for (let i = 0; i < vlen; i++) {
        const v = data + i * 12;
        vars[i] = { type: checkedId(btf, r.u32(v), id), offset: r.u32(v + 4), size: r.u32(v + 8) };
      }
      return { kind: "datasec", id, name, size: sizeOrType, vars };
    }
    case BtfKind.FLOAT:
      return { kind: "float", id, name, size: sizeOrType };
    case BtfKind.DECL_TAG:
      return { kind: "decl_tag", id, name, type: checkedId(btf, sizeOrType, id), componentIdx: r.i32(data) };
    default:
      throw new BtfError(`unknown kind ${kind}`, { typeId: id });
  }
}

function checkedId(btf: Btf, target: number, from: number): number {
  if (target >= btf.typeCount) throw new BtfError(`refers to type ${target}, but the last type is ${btf.typeCount - 1}`, { typeId: from });
  return target;
}
