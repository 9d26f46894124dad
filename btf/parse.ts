// parseBtf: the .BTF section (or /sys/kernel/btf/vmlinux) as a lazily decoded type table.
//
//   struct btf_header {          (include/uapi/linux/btf.h)
//     __u16 magic;               0xeB9F, in the file's byte order
//     __u8  version;             1
//     __u8  flags;
//     __u32 hdr_len;             24 today; offsets below are relative to its end
//     __u32 type_off, type_len;  the type records, back to back, ids from 1
//     __u32 str_off,  str_len;   NUL-terminated strings; offset 0 is ""
//   };
//
// One pass over the type section records where each record starts (a Uint32Array indexed
// by type id); a record is decoded into a BtfType object only when asked for, so parsing a
// 5 MB vmlinux costs one scan, not 100,000 object allocations.

import { ByteReader, type OutOfBoundsError } from "../common/reader.js";
import { BtfError } from "../common/errors.js";
import { BTF_MAX_KIND, BTF_TYPE_SIZE, trailingSize } from "./kinds.js";
import { decodeType } from "./decode.js";
import type { BtfType } from "./types.js";

export const BTF_MAGIC = 0xeb9f;
const BTF_HEADER_MIN = 24;

const btfOutOfBounds: OutOfBoundsError = (message, offset) => new BtfError(`${message} (byte ${offset})`);

export class Btf {
  readonly littleEndian: boolean;
  /** Number of type ids, including id 0 (void). */
  readonly typeCount: number;
  /** Reader over the type records. */
  readonly types: ByteReader;
  /** Reader over the string section. */
  readonly strings: ByteReader;
  /** Byte offset of each type record in `types`, indexed by type id (entry 0 unused). */
  readonly offsets: Uint32Array;
  private readonly decoded: (BtfType | undefined)[];
  private nameIndex: Map<string, number[]> | undefined;

  constructor(readonly bytes: Uint8Array) {
    if (bytes.byteLength < BTF_HEADER_MIN) throw new BtfError(`${bytes.byteLength} bytes is too short for a BTF header`);
    const magicLE = bytes[0] | (bytes[1] << 8);
    if (magicLE === BTF_MAGIC) this.littleEndian = true;
    else if (((bytes[0] << 8) | bytes[1]) === BTF_MAGIC) this.littleEndian = false;
    else throw new BtfError(`bad magic 0x${magicLE.toString(16)}, expected 0xeb9f`);
    const header = new ByteReader(bytes, this.littleEndian, { region: ".BTF", outOfBounds: btfOutOfBounds });
    if (header.u8(2) !== 1) throw new BtfError(`unsupported BTF version ${header.u8(2)}`);
    const headerLength = header.u32(4);
    if (headerLength < BTF_HEADER_MIN || headerLength > bytes.byteLength) throw new BtfError(`bad header length ${headerLength}`);
    const typeOff = header.u32(8), typeLen = header.u32(12), strOff = header.u32(16), strLen = header.u32(20);
    this.types = header.sub(headerLength + typeOff, typeLen, ".BTF types");
    this.strings = header.sub(headerLength + strOff, strLen, ".BTF strings");
    if (strLen > 0 && this.strings.bytes[strLen - 1] !== 0) throw new BtfError("string section does not end with NUL");
    this.offsets = indexTypes(this.types);
    this.typeCount = this.offsets.length;
    this.decoded = new Array(this.typeCount);
  }

  /** The string at `offset` in the string section. */
  string(offset: number): string {
    if (offset >= this.strings.length) throw new BtfError(`string offset ${offset} is past the string section (${this.strings.length} bytes)`);
    return this.strings.cstring(offset);
  }

  /** The type with this id, decoded once and cached. */
  type(id: number): BtfType {
    if (!(id >= 0 && id < this.typeCount)) throw new BtfError(`no type with id ${id} (the object has ${this.typeCount - 1} types)`, { typeId: id });
    let type = this.decoded[id];
    if (type === undefined) {
      type = decodeType(this, id);
      this.decoded[id] = type;
    }
    return type;
  }

  /** Kind number of a type without decoding it. */
  kindOf(id: number): number {
    if (id === 0) return 0;
    return (this.types.u32(this.offsets[id] + 4) >>> 24) & 0x1f;
  }

  /** Ids of all types with this name (built on first use, one pass over name offsets). */
  idsByName(name: string): readonly number[] {
    if (this.nameIndex === undefined) {
      const index = new Map<string, number[]>();
      for (let id = 1; id < this.typeCount; id++) {
        const nameOff = this.types.u32(this.offsets[id]);
        if (nameOff === 0) continue;
        const typeName = this.string(nameOff);
        const ids = index.get(typeName);
        if (ids === undefined) index.set(typeName, [id]);
        else ids.push(id);
      }
      this.nameIndex = index;
    }
    return this.nameIndex.get(name) ?? [];
  }

  /** The first type with this name and, if given, this kind. */
  typeByName(name: string, kind?: BtfType["kind"]): BtfType | undefined {
    for (const id of this.idsByName(name)) {
      const type = this.type(id);
      if (kind === undefined || type.kind === kind) return type;
    }
    return undefined;
  }

  /** Follows typedefs and qualifiers (const, volatile, restrict, type tags) to the underlying type. */
  resolve(id: number): BtfType {
    let type = this.type(id);
    for (let depth = 0; depth < 32; depth++) {
      switch (type.kind) {
        case "typedef":
        case "volatile":
        case "const":
        case "restrict":
        case "type_tag":
          type = this.type(type.type);
          continue;
        default:
          return type;
      }
    }
    throw new BtfError("typedef or qualifier chain is longer than 32 (a loop?)", { typeId: id });
  }

  /** Size in bytes of a type, as the C compiler would compute it. */
  sizeof(id: number): number {
    let elements = 1;
    for (let depth = 0; depth < 32; depth++) {
      const type = this.resolve(id);
      switch (type.kind) {
        case "int":
        case "struct":
        case "union":
        case "enum":
        case "enum64":
        case "float":
        case "datasec":
          return elements * type.size;
        case "ptr":
          return elements * 8;
        case "array":
          elements *= type.nelems;
          id = type.type;
          continue;
        default:
          throw new BtfError(`a ${type.kind} has no size`, { typeId: type.id });
      }
    }
    throw new BtfError("array nesting is deeper than 32", { typeId: id });
  }
}

export function parseBtf(bytes: Uint8Array): Btf {
  return new Btf(bytes);
}

function indexTypes(types: ByteReader): Uint32Array {
  // A record is at least 12 bytes, which bounds the number of types.
  let offsets = new Uint32Array(Math.floor(types.length / BTF_TYPE_SIZE) + 1);
  let count = 1;
  let offset = 0;
  const view = types.view;
  const le = types.littleEndian;
  while (offset < types.length) {
    if (offset + BTF_TYPE_SIZE > types.length) throw new BtfError(`type record at byte ${offset} is truncated`, { typeId: count });
    const info = view.getUint32(offset + 4, le);
    const kind = (info >>> 24) & 0x1f;
    if (kind === 0 || kind > BTF_MAX_KIND) throw new BtfError(`unknown kind ${kind}`, { typeId: count });
    const size = BTF_TYPE_SIZE + trailingSize(kind, info & 0xffff);
    if (offset + size > types.length) throw new BtfError(`type record at byte ${offset} runs past the type section`, { typeId: count });
    offsets[count++] = offset;
    offset += size;
  }
  return offsets.subarray(0, count);
}
