// BTF kinds and the shape of each type record (include/uapi/linux/btf.h).
//
//   struct btf_type {            every record starts with these 12 bytes
//     __u32 name_off;            offset into the string section
//     __u32 info;                bits 0-15 vlen, bits 24-28 kind, bit 31 kind_flag
//     union { __u32 size; __u32 type; };
//   };
//
// followed by kind-specific data:
//   INT        u32: encoding (bits 24-27), offset (16-23), bits (0-7)
//   ARRAY      struct btf_array { u32 type, index_type, nelems }
//   STRUCT/UNION vlen x struct btf_member { u32 name_off, type, offset }
//              (with kind_flag: offset = bitfield_size << 24 | bit_offset)
//   ENUM       vlen x struct btf_enum { u32 name_off; s32 val }
//   FUNC_PROTO vlen x struct btf_param { u32 name_off, type }
//   VAR        struct btf_var { u32 linkage }
//   DATASEC    vlen x struct btf_var_secinfo { u32 type, offset, size }
//   DECL_TAG   struct btf_decl_tag { s32 component_idx }
//   ENUM64     vlen x struct btf_enum64 { u32 name_off, val_lo32, val_hi32 }

export const BtfKind = {
  UNKNOWN: 0,
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12, // kernel 5.0
  FUNC_PROTO: 13,
  VAR: 14, // kernel 5.2
  DATASEC: 15,
  FLOAT: 16, // kernel 5.13
  DECL_TAG: 17, // kernel 5.16
  TYPE_TAG: 18, // kernel 5.17
  ENUM64: 19, // kernel 6.0
} as const;

export const BTF_MAX_KIND = BtfKind.ENUM64;

export const KIND_NAMES = [
  "UNKNOWN", "INT", "PTR", "ARRAY", "STRUCT", "UNION", "ENUM", "FWD", "TYPEDEF", "VOLATILE",
  "CONST", "RESTRICT", "FUNC", "FUNC_PROTO", "VAR", "DATASEC", "FLOAT", "DECL_TAG", "TYPE_TAG", "ENUM64",
] as const;

export const BTF_TYPE_SIZE = 12;

/** Bytes that follow the 12-byte common header for a record of `kind` with `vlen` entries. */
export function trailingSize(kind: number, vlen: number): number {
  switch (kind) {
    case BtfKind.INT:
    case BtfKind.VAR:
    case BtfKind.DECL_TAG:
      return 4;
    case BtfKind.ARRAY:
      return 12;
    case BtfKind.STRUCT:
    case BtfKind.UNION:
    case BtfKind.DATASEC:
    case BtfKind.ENUM64:
      return vlen * 12;
    case BtfKind.ENUM:
    case BtfKind.FUNC_PROTO:
      return vlen * 8;
    default:
      return 0; // PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG
  }
}

/** INT encoding bits (BTF_INT_ENCODING). */
export const BtfIntEncoding = { SIGNED: 1, CHAR: 2, BOOL: 4 } as const;
