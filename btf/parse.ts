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
// One pass over the type section records where each record starts and its name_off, in two
// Uint32Arrays indexed by type id (indexTypes in btf/decode.ts); a record is decoded into a
// BtfType object only when asked for, so parsing a 5 MB vmlinux costs one scan, not 100,000
// objects. Looking a type up by name decodes no string either: it compares the name's UTF-8
// bytes with the bytes each name_off points at (NameLookup, btf/names.ts).
//
// Split BTF (kernel 5.11, the BTF of a kernel module in /sys/kernel/btf/<module>) extends a
// base BTF (vmlinux): its type ids continue after the base's last id and its string offsets
// after the end of the base's string section. Ids and offsets below those limits resolve in
// the base, so a module type can name a vmlinux type or reuse a vmlinux string.

import { isAscii } from "node:buffer";
import { ByteReader, type OutOfBoundsError } from "../common/reader.js";
import { BtfError } from "../common/errors.js";
import { BtfKind, KIND_NAMES } from "./kinds.js";
import { decodeType, indexTypes } from "./decode.js";
import { NameLookup } from "./names.js";
import type { BtfType } from "./types.js";

export const BTF_MAGIC = 0xeb9f;
const BTF_HEADER_MIN = 24;

const btfOutOfBounds: OutOfBoundsError = (message, offset) => new BtfError(`${message} (byte ${offset})`);

/** The kind number of each decoded kind name, for checks that need no decoding. */
const KIND_NUMBERS: Record<Exclude<BtfType["kind"], "void">, number> = {
  int: BtfKind.INT, ptr: BtfKind.PTR, array: BtfKind.ARRAY, struct: BtfKind.STRUCT, union: BtfKind.UNION,
  enum: BtfKind.ENUM, fwd: BtfKind.FWD, typedef: BtfKind.TYPEDEF, volatile: BtfKind.VOLATILE,
  const: BtfKind.CONST, restrict: BtfKind.RESTRICT, func: BtfKind.FUNC, func_proto: BtfKind.FUNC_PROTO,
  var: BtfKind.VAR, datasec: BtfKind.DATASEC, float: BtfKind.FLOAT, decl_tag: BtfKind.DECL_TAG,
  type_tag: BtfKind.TYPE_TAG, enum64: BtfKind.ENUM64,
};

export interface BtfOptions {
  /** The BTF this one is split from (vmlinux, for a module's BTF). */
  base?: Btf;
}

export class Btf {
  readonly littleEndian: boolean;
  /** Number of type ids, including id 0 (void) and, for split BTF, the base's ids. */
  readonly typeCount: number;
  /** The id of this BTF's first own type: 1, or base.typeCount for split BTF. */
  readonly firstTypeId: number;
  /** The offset of this BTF's first own string: 0, or the end of the base's strings. */
  readonly firstStringOffset: number;
  readonly base: Btf | undefined;
  /** Reader over the type records. */
  readonly types: ByteReader;
  /** The type records' DataView (types.view), held here: the hot readers use it directly. */
  readonly records: DataView;
  /** Reader over the string section. */
  readonly strings: ByteReader;
  /**
   * Byte offset of each own type record in `types`, indexed by `id - firstTypeId + 1`
   * (entry 0 unused): by type id itself unless the BTF is split.
   */
  readonly offsets: Uint32Array;
  /** name_off of each own type record, indexed like `offsets`. */
  readonly nameOffsets: Uint32Array;
  /**
   * Types decoded so far, by id. An array: V8 keeps the first ids of a small BTF in a flat
   * backing store and switches to a hash table by itself when ids are sparse (vmlinux).
   */
  private readonly decoded: (BtfType | undefined)[] = [];
  /** The string section as one string when it is small and pure ASCII; null when it is not. */
  private stringsText: string | null | undefined;
  /** Length of the own string section, read on every string() call. */
  private readonly stringsLength: number;
  private readonly names: NameLookup;

  constructor(readonly bytes: Uint8Array, options: BtfOptions = {}) {
    if (bytes.byteLength < BTF_HEADER_MIN) throw new BtfError(`${bytes.byteLength} bytes is too short for a BTF header`);
    const magicLE = bytes[0] | (bytes[1] << 8);
    if (magicLE === BTF_MAGIC) this.littleEndian = true;
    else if (((bytes[0] << 8) | bytes[1]) === BTF_MAGIC) this.littleEndian = false;
    else throw new BtfError(`bad magic 0x${magicLE.toString(16)}, expected 0xeb9f`);
    if (bytes[2] !== 1) throw new BtfError(`unsupported BTF version ${bytes[2]}`);
    const le = this.littleEndian;
    const headerLength = headerWord(bytes, 4, le);
    if (headerLength < BTF_HEADER_MIN || headerLength > bytes.byteLength) throw new BtfError(`bad header length ${headerLength}`);
    const typeOff = headerWord(bytes, 8, le), typeLen = headerWord(bytes, 12, le);
    const strOff = headerWord(bytes, 16, le), strLen = headerWord(bytes, 20, le);
    // The reader checks that both parts lie inside the section.
    const header = new ByteReader(bytes, le, { region: ".BTF", outOfBounds: btfOutOfBounds });
    const strings = header.sub(headerLength + strOff, strLen, ".BTF strings");
    if (strLen > 0 && strings.bytes[strLen - 1] !== 0) throw new BtfError("string section does not end with NUL");

    const base = options.base;
    if (base !== undefined && base.littleEndian !== this.littleEndian) throw new BtfError("split BTF and its base differ in byte order");
    if (base === undefined && strLen > 0 && strings.bytes[0] !== 0) throw new BtfError("string section does not start with the empty string");
    this.base = base;
    this.firstTypeId = base === undefined ? 1 : base.typeCount;
    this.firstStringOffset = base === undefined ? 0 : base.stringsEnd;
    this.strings = strings;
    this.stringsLength = strLen;

    this.types = header.sub(headerLength + typeOff, typeLen, ".BTF types");
    this.records = this.types.view;
    const index = indexTypes(this.types, { firstTypeId: this.firstTypeId, stringsEnd: this.firstStringOffset + strLen });
    this.offsets = index.offsets;
    this.nameOffsets = index.nameOffsets;
    this.typeCount = this.firstTypeId + index.offsets.length - 1;
    this.names = new NameLookup(this, base?.names);
  }

  /** One past the last string offset this BTF resolves (its base's strings included). */
  get stringsEnd(): number {
    return this.firstStringOffset + this.strings.length;
  }

  /** The string at `offset` in the string section (the base's section below firstStringOffset). */
  string(offset: number): string {
    if (offset < this.firstStringOffset && this.base !== undefined) return this.base.string(offset);
    const local = offset - this.firstStringOffset;
    if (!(local >= 0 && local < this.stringsLength)) throw new BtfError(`string offset ${offset} is past the string section (${this.stringsEnd} bytes)`);
    if (this.stringsText === undefined) this.stringsText = wholeAscii(this.strings.bytes);
    if (this.stringsText === null) return this.strings.cstring(local);
    // The section ends with a NUL (checked at parse), so every string has its end.
    return this.stringsText.slice(local, this.stringsText.indexOf("\0", local));
  }

  /** The type with this id, decoded once and cached. */
  type(id: number): BtfType {
    if (this.inBase(id)) return this.base!.type(id);
    if (id !== 0) this.ownIndex(id);
    let type = this.decoded[id];
    if (type === undefined) {
      type = decodeType(this, id);
      this.decoded[id] = type;
    }
    return type;
  }

  /**
   * Forgets the decoded form of a type whose record was rewritten in `bytes` (btf/fixup.ts),
   * so that the next type(id) decodes it again. Only fields that do not move records or
   * change kinds may be rewritten: the index is not rebuilt.
   */
  reread(id: number): void {
    if (this.decoded[id] !== undefined) this.decoded[id] = undefined;
  }

  /** Byte offset of one of this BTF's own type records within `bytes` (for in-place fixups). */
  recordOffset(id: number): number {
    if (id < this.firstTypeId) throw new BtfError("the type lives in the base BTF", { typeId: id });
    return this.types.base + this.offsets[this.ownIndex(id)];
  }

  /** Kind number of a type without decoding it (0 for void). */
  kindOf(id: number): number {
    if (id === 0) return 0;
    if (this.inBase(id)) return this.base!.kindOf(id);
    return (this.records.getUint32(this.offsets[this.ownIndex(id)] + 4, this.littleEndian) >>> 24) & 0x1f;
  }

  /** name_off of a type without decoding it (0 for void and anonymous types). */
  nameOffsetOf(id: number): number {
    if (id === 0) return 0;
    if (this.inBase(id)) return this.base!.nameOffsetOf(id);
    return this.nameOffsets[this.ownIndex(id)];
  }

  /** Whether `id` is one of the base BTF's types (so the base answers for it). */
  private inBase(id: number): boolean {
    return this.base !== undefined && id > 0 && id < this.firstTypeId;
  }

  /** Where an own type's entries are in `offsets` and `nameOffsets`; a BtfError for any other id. */
  private ownIndex(id: number): number {
    if (!(Number.isInteger(id) && id >= this.firstTypeId && id < this.typeCount)) {
      throw new BtfError(`no type with id ${id} (the last id is ${this.typeCount - 1})`, { typeId: id });
    }
    return id - this.firstTypeId + 1;
  }

  /**
   * Ids of all types with this name, ascending (a split BTF's base first). Anonymous types
   * (name_off 0) have no name. Found without decoding strings (btf/names.ts), remembered.
   */
  idsByName(name: string): readonly number[] {
    return this.names.idsByName(name);
  }

  /**
   * The first type with this name and, if given, this kind. The scan stops at that type,
   * like libbpf's btf__find_by_name_kind.
   */
  typeByName(name: string, kind?: BtfType["kind"]): BtfType | undefined {
    if (kind === "void") return undefined;
    const id = this.names.first(name, kind === undefined ? undefined : KIND_NUMBERS[kind]);
    return id === 0 ? undefined : this.type(id);
  }

  /**
   * Every named type, by name (ids ascending). This decodes every type name once, so it is
   * for callers that want them all; idsByName and typeByName do not need it.
   */
  allNames(): ReadonlyMap<string, readonly number[]> {
    return this.names.all();
  }

  /** Follows typedefs and qualifiers (const, volatile, restrict, type tags) to the underlying type. */
  resolve(id: number): BtfType {
    // Only the type the chain ends at is decoded (the typedefs and qualifiers on the way are not).
    return this.type(this.resolveId(id));
  }

  /** resolve() without decoding: the id of the type a typedef and qualifier chain ends at. */
  resolveId(id: number): number {
    return this.resolveIdFrom(id, id, 0);
  }

  /** resolveId() continued `depth` links into a chain that began at `start` (perhaps in a split BTF). */
  private resolveIdFrom(id: number, start: number, depth: number): number {
    const view = this.records;
    for (; depth < 32; depth++) {
      if (id === 0) return 0;
      // A type of the base BTF: the base follows the rest of the chain.
      if (this.inBase(id)) return this.base!.resolveIdFrom(id, start, depth);
      const at = this.offsets[this.ownIndex(id)];
      const kind = (view.getUint32(at + 4, this.littleEndian) >>> 24) & 0x1f;
      if (!isModifierKind(kind)) return id;
      const next = view.getUint32(at + 8, this.littleEndian);
      if (next >= this.typeCount) throw new BtfError(`refers to type ${next}, but the last type is ${this.typeCount - 1}`, { typeId: id });
      id = next;
    }
    throw new BtfError("typedef or qualifier chain is longer than 32 (a loop?)", { typeId: start });
  }

  // Fields read from a record in place, for the paths that run on every parse of an object
  // (map definitions) and would otherwise decode whole types to read a word or two of them.
  //   struct btf_type { name_off; info (kind << 24 | vlen); size or type }, then per kind:
  //   struct btf_array { type; index_type; nelems }    struct btf_member { name_off; type; offset }

  /**
   * What the pointer `id` resolves to (through typedefs and qualifiers) points to; -1 when `id`
   * resolves to anything but a PTR. A map definition's `__type(key, T)` is `T *key`.
   */
  pointeeOf(id: number): number {
    const pointer = this.resolveId(id);
    if (this.inBase(pointer)) return this.base!.pointeeOf(pointer);
    const at = this.recordIfKind(pointer, BtfKind.PTR);
    return at < 0 ? -1 : this.referredId(pointer, this.records.getUint32(at + 8, this.littleEndian));
  }

  /**
   * nelems of the ARRAY `id` resolves to (through typedefs and qualifiers); -1 when it
   * resolves to anything else. A map definition's `__uint(max_entries, N)` is `int (*max_entries)[N]`.
   */
  resolvedArrayLengthOf(id: number): number {
    const array = this.resolveId(id);
    if (this.inBase(array)) return this.base!.resolvedArrayLengthOf(array);
    const at = this.recordIfKind(array, BtfKind.ARRAY);
    if (at < 0) return -1;
    // The element and index types must exist, as decoding checks.
    this.referredId(array, this.records.getUint32(at + 12, this.littleEndian));
    this.referredId(array, this.records.getUint32(at + 16, this.littleEndian));
    return this.records.getUint32(at + 20, this.littleEndian);
  }

  /** vlen, the low 16 bits of info: members, parameters, enumerators or variables. */
  vlenOf(id: number): number {
    if (this.inBase(id)) return this.base!.vlenOf(id);
    return this.records.getUint32(this.offsets[this.ownIndex(id)] + 4, this.littleEndian) & 0xffff;
  }

  /**
   * The type a PTR, TYPEDEF, qualifier, VAR, FUNC or DECL_TAG record refers to (the word
   * that is a size for other kinds, which this refuses).
   */
  referencedIdOf(id: number): number {
    if (this.inBase(id)) return this.base!.referencedIdOf(id);
    const at = this.recordOfKind(id, REFERRING_KINDS, "a type that refers to another");
    return this.referredId(id, this.records.getUint32(at + 8, this.littleEndian));
  }

  /** nelems of an ARRAY record (whose element and index types must exist, as decoding checks). */
  arrayLengthOf(id: number): number {
    if (this.inBase(id)) return this.base!.arrayLengthOf(id);
    const at = this.recordOfKind(id, ARRAY_KIND, "an array");
    this.referredId(id, this.records.getUint32(at + 12, this.littleEndian));
    this.referredId(id, this.records.getUint32(at + 16, this.littleEndian));
    return this.records.getUint32(at + 20, this.littleEndian);
  }

  /**
   * name_off and type of every member of a STRUCT or UNION record, in pairs: [name_off of
   * member 0, its type, name_off of member 1, ...]. One check of the record for all of them
   * (the index pass bounded it by its vlen); each type id is checked as decoding checks it.
   */
  membersOf(id: number): number[] {
    if (this.inBase(id)) return this.base!.membersOf(id);
    const at = this.recordOfKind(id, COMPOSITE_KINDS, "a struct or union");
    const view = this.records;
    const le = this.littleEndian;
    const count = view.getUint32(at + 4, le) & 0xffff;
    const pairs: number[] = [];
    // struct btf_member { name_off; type; offset }, 12 bytes each, after the 12-byte header.
    for (let member = at + 12, end = member + count * 12; member < end; member += 12) {
      pairs.push(view.getUint32(member, le), this.referredId(id, view.getUint32(member + 4, le)));
    }
    return pairs;
  }

  /** Where own record `id` is when its kind is `kind`; -1 for another kind or for void (0). */
  private recordIfKind(id: number, kind: number): number {
    if (id === 0) return -1;
    const at = this.offsets[this.ownIndex(id)];
    return ((this.records.getUint32(at + 4, this.littleEndian) >>> 24) & 0x1f) === kind ? at : -1;
  }

  /** Where an own record is, after checking that its kind is one of `kinds` (a bit per kind). */
  private recordOfKind(id: number, kinds: number, expected: string): number {
    const at = this.offsets[this.ownIndex(id)];
    const kind = (this.records.getUint32(at + 4, this.littleEndian) >>> 24) & 0x1f;
    if ((kinds & (1 << kind)) === 0) throw new BtfError(`is a ${KIND_NAMES[kind].toLowerCase()}, not ${expected}`, { typeId: id });
    return at;
  }

  /** A type id read from record `id`, checked to name a type, as decoding checks every id it reads. */
  private referredId(id: number, referred: number): number {
    if (referred >= this.typeCount) throw new BtfError(`refers to type ${referred}, but the last type is ${this.typeCount - 1}`, { typeId: id });
    return referred;
  }

  /**
   * Size in bytes of a type, as the C compiler would compute it. Read from the records
   * without decoding them: map definitions ask for the size of every key and value type,
   * mostly structs whose members nothing reads at parse time.
   */
  sizeof(id: number): number {
    let elements = 1;
    // As many typedefs and qualifiers in a row as resolve() follows (31), and 31 array levels.
    let hops = 0;
    let levels = 0;
    for (;;) {
      if (this.inBase(id)) return elements * this.base!.sizeof(id);
      if (id === 0) throw new BtfError("a void has no size", { typeId: 0 });
      const at = this.offsets[this.ownIndex(id)];
      const view = this.records;
      const le = this.littleEndian;
      const kind = (view.getUint32(at + 4, le) >>> 24) & 0x1f;
      switch (kind) {
        case BtfKind.INT:
        case BtfKind.STRUCT:
        case BtfKind.UNION:
        case BtfKind.ENUM:
        case BtfKind.ENUM64:
        case BtfKind.FLOAT:
        case BtfKind.DATASEC:
          return elements * view.getUint32(at + 8, le);
        case BtfKind.PTR:
          return elements * 8;
        case BtfKind.ARRAY:
          if (++levels >= 32) throw new BtfError("array nesting is deeper than 32", { typeId: id });
          hops = 0;
          // struct btf_array { type, index_type, nelems } after the 12-byte header.
          elements *= view.getUint32(at + 20, le);
          id = view.getUint32(at + 12, le);
          continue;
        case BtfKind.TYPEDEF:
        case BtfKind.VOLATILE:
        case BtfKind.CONST:
        case BtfKind.RESTRICT:
        case BtfKind.TYPE_TAG:
          if (++hops >= 32) throw new BtfError("typedef or qualifier chain is longer than 32 (a loop?)", { typeId: id });
          id = view.getUint32(at + 8, le);
          continue;
        default:
          throw new BtfError(`a ${KIND_NAMES[kind].toLowerCase()} has no size`, { typeId: id });
      }
    }
  }
}

/**
 * A u32 of the BTF header, assembled from its bytes in the section's byte order (the header's
 * five words do not pay for a DataView; the caller has checked that the header is there).
 */
function headerWord(bytes: Uint8Array, at: number, littleEndian: boolean): number {
  return littleEndian
    ? (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0
    : ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

/**
 * A small string section as one string, decoded once, when it is pure ASCII (byte offsets
 * are then string indexes): an object's BTF names cost a slice each instead of a decode.
 * null for a large section (vmlinux: 2 MB, of which a loader reads a few names) or non-ASCII.
 */
function wholeAscii(bytes: Uint8Array): string | null {
  if (bytes.length > WHOLE_STRINGS_LIMIT) return null;
  return isAscii(bytes) ? asciiDecoder.decode(bytes) : null;
}

const WHOLE_STRINGS_LIMIT = 64 * 1024;
const asciiDecoder = new TextDecoder("utf-8");

/** Parses BTF bytes (a .BTF section, vmlinux BTF, or with `base` a module's split BTF). */
export function parseBtf(bytes: Uint8Array, options: BtfOptions = {}): Btf {
  return new Btf(bytes, options);
}

/** Kinds resolve() looks through: typedefs and qualifiers (and type tags). */
/** Kind sets for the in-place readers, a bit per kind number. */
const COMPOSITE_KINDS = (1 << BtfKind.STRUCT) | (1 << BtfKind.UNION);
const ARRAY_KIND = 1 << BtfKind.ARRAY;
const REFERRING_KINDS =
  (1 << BtfKind.PTR) | (1 << BtfKind.TYPEDEF) | (1 << BtfKind.VOLATILE) | (1 << BtfKind.CONST) | (1 << BtfKind.RESTRICT) |
  (1 << BtfKind.FUNC) | (1 << BtfKind.VAR) | (1 << BtfKind.DECL_TAG) | (1 << BtfKind.TYPE_TAG);

function isModifierKind(kind: number): boolean {
  return (
    kind === BtfKind.TYPEDEF || kind === BtfKind.VOLATILE || kind === BtfKind.CONST || kind === BtfKind.RESTRICT || kind === BtfKind.TYPE_TAG
  );
}
