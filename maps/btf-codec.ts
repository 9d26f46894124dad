// BTF-typed codecs: map keys and values as the C types the object's BTF declares them.
//
//     const spec = parseObject(bytes);
//     const map = BpfMap.fromId(id, codecsFor(spec.btf, spec.maps.get("records")!));
//     map.lookup(0);   // { hdr: { version: 3, flags: 129, delta: -5 }, counts: [1, 60, 120], mode: "MODE_COUNT", ... }
//
// A codec is built once per BTF type (and cached per Btf): walking the types happens then,
// never per value. What each C type becomes in JS, and back:
//
//   struct            a plain object, one key per member in declaration order; a nested
//                     struct is a nested object. Members of an anonymous struct or union
//                     are members of the enclosing object, as C spells them (`s.lo`, not
//                     `s.<anon>.lo`); all alternatives of an anonymous union are decoded,
//                     and on encoding the ones given are written in declaration order (so
//                     the last one wins for the bytes they share; decoded values agree, so
//                     decode-then-encode gives the same bytes back).
//   union (named)     a Uint8Array of its bytes (which member is live is not in the BTF).
//   array             a JS array; arrays of plain `char` are strings when they hold text
//                     (maps/btf-codec-compound.ts says exactly when), else the bytes.
//                     __u8/unsigned char/signed char arrays are numbers, never text.
//   int               number for 1, 2 and 4 bytes; bigint for 8 and 16; signed as BTF says.
//   _Bool             boolean.
//   enum, enum64      the enumerator's name when the value has one, else the number
//                     (bigint for 8-byte enums); encoding takes a name or a value.
//   bitfield          like its declared type (`__u64 x : 3` is a bigint); any offset and width.
//   pointer           bigint (the address).
//   float, double     number (other float sizes stay bytes).
//   typedef, const, volatile, restrict, type_tag: followed.
//
// Encoding is lenient in the way C designated initializers are, and strict elsewhere:
// members the object leaves out (or sets to undefined) and trailing array elements it
// leaves out are zero, as is all padding; a key that is not a member, a value of the wrong
// JS type, an integer that does not fit (either reading of the bits is accepted: -1 fits a
// __u32), an unknown enumerator or a string too long for its char array is a SpecError
// whose `part` names the map (or type) and the member path: `map "config" value.tag`,
// `value.history[1].flags`. Every composite also takes a Uint8Array of its exact size.
//
// Values are little-endian (the host's order on x86-64 and arm64); BTF of a big-endian
// object is refused.

import type { Btf, BtfMember, BtfStruct, BtfType } from "../btf/index.js";
import { SpecError } from "../common/errors.js";
import { arrayNode, charArrayNode, structNode, type Field } from "./btf-codec-compound.js";
import { bitfieldNode, type BitfieldMeaning } from "./btf-codec-bitfields.js";
import { boolNode, bytesNode, enumNames, enumNode, FieldError, floatNode, intNode, isBigIntSize, type Node } from "./btf-codec-scalars.js";
import type { Codec } from "./codec.js";
import type { MapSpec } from "./spec.js";

export interface BtfCodecOptions {
  /** Names the type in SpecErrors about its layout; default: its C spelling ("struct config"). */
  part?: string;
  /**
   * Generate JavaScript for struct decoding and encoding (default true). With false, the
   * same field tables run in loops: identical results, slower; also what happens by itself
   * when code generation is disabled.
   */
  generate?: boolean;
}

/** Codecs for a BpfMap (its `keyCodec` / `valueCodec` options); absent ones keep the defaults. */
export interface MapCodecs {
  keyCodec?: Codec<unknown>;
  valueCodec?: Codec<unknown>;
}

export interface CodecsForOptions {
  /**
   * Also decode integers, bools and pointers through BTF (signed integers negative, _Bool
   * as boolean). Default false: they keep maps/codec.ts's numbers and bigints, whose only
   * difference is that every integer reads as unsigned.
   */
  scalars?: boolean;
}

/** Kinds that get a typed codec from codecsFor() by default. */
const TYPED_KINDS: ReadonlySet<BtfType["kind"]> = new Set(["struct", "union", "array", "enum", "enum64", "float"]);
const SCALAR_KINDS: ReadonlySet<BtfType["kind"]> = new Set(["int", "ptr"]);

/** Nesting deeper than this is malformed BTF (the kernel stops at 32). */
const MAX_DEPTH = 64;

/** A codec for values of BTF type `typeId`, built on first use and cached per `btf`. */
export function btfCodec(btf: Btf, typeId: number, options: BtfCodecOptions = {}): Codec<unknown> {
  return builderFor(btf, options.generate ?? true).codec(typeId, options.part);
}

/**
 * Codecs for a map's keys and values from their BTF types: typed ones for structs, unions,
 * arrays, enums and floats; integers and pointers keep BpfMap's defaults (so `lookup(17)`
 * works as before) unless `scalars` is set. Undefined when the map has no BTF types.
 */
export function codecsFor(btf: Btf | undefined, spec: MapSpec, options: CodecsForOptions = {}): MapCodecs | undefined {
  if (btf === undefined || (spec.keyTypeId === 0 && spec.valueTypeId === 0)) return undefined;
  const part = `map ${JSON.stringify(spec.name)}`;
  const codecs: MapCodecs = {};
  const keyCodec = mapCodec(btf, spec.keyTypeId, spec.keySize, `${part} key`, options);
  const valueCodec = mapCodec(btf, spec.valueTypeId, spec.valueSize, `${part} value`, options);
  if (keyCodec !== undefined) codecs.keyCodec = keyCodec;
  if (valueCodec !== undefined) codecs.valueCodec = valueCodec;
  return codecs;
}

function mapCodec(btf: Btf, typeId: number, size: number, part: string, options: CodecsForOptions): Codec<unknown> | undefined {
  if (typeId === 0) return undefined;
  const kind = btf.resolve(typeId).kind;
  if (!TYPED_KINDS.has(kind) && !(options.scalars === true && SCALAR_KINDS.has(kind))) return undefined;
  const codec = btfCodec(btf, typeId, { part });
  if (codec.size !== size) throw new SpecError(`its BTF type is ${codec.size} bytes, but the map says ${size}`, { part });
  return codec;
}

const builders = new WeakMap<Btf, { generated?: CodecBuilder; loops?: CodecBuilder }>();

function builderFor(btf: Btf, generate: boolean): CodecBuilder {
  let entry = builders.get(btf);
  if (entry === undefined) builders.set(btf, (entry = {}));
  const slot = generate ? "generated" : "loops";
  return (entry[slot] ??= new CodecBuilder(btf, generate));
}

/** Wraps a node: the one place a FieldError becomes a SpecError naming `part` and the path. */
function codecOf(node: Node): Codec<unknown> {
  const { decode, encode } = node;
  return {
    size: node.size,
    decode,
    encode(value, bytes, view, offset, part) {
      try {
        encode(value, bytes, view, offset);
      } catch (error) {
        throw error instanceof FieldError ? new SpecError(error.message, { part: part + error.path }) : error;
      }
    },
  };
}

/** Builds and caches the nodes of one Btf. */
class CodecBuilder {
  readonly #nodes = new Map<number, Node>();
  readonly #codecs = new Map<number, Codec<unknown>>();
  /** Types being built right now: meeting one again means a struct contains itself. */
  readonly #building = new Set<number>();

  constructor(readonly btf: Btf, readonly generate: boolean) {}

  codec(typeId: number, part: string | undefined): Codec<unknown> {
    const cached = this.#codecs.get(typeId);
    if (cached !== undefined) return cached;
    const name = part ?? this.#label(typeId);
    if (!this.btf.littleEndian) throw new SpecError("the BTF is big-endian; typed codecs read values in little-endian host order", { part: name });
    let node: Node;
    try {
      node = this.#node(typeId, 0);
    } catch (error) {
      throw error instanceof FieldError ? new SpecError(error.message, { part: name + error.path }) : error;
    }
    const codec = codecOf(node);
    this.#codecs.set(typeId, codec);
    return codec;
  }

  #node(id: number, depth: number): Node {
    const cached = this.#nodes.get(id);
    if (cached !== undefined) return cached;
    if (depth > MAX_DEPTH) throw new FieldError(`types nest deeper than ${MAX_DEPTH} levels`);
    if (this.#building.has(id)) throw new FieldError(`${this.#label(id)} contains itself`);
    this.#building.add(id);
    try {
      const node = this.#build(id, depth);
      this.#nodes.set(id, node);
      return node;
    } finally {
      this.#building.delete(id);
    }
  }

  #build(id: number, depth: number): Node {
    const type = this.btf.resolve(id);
    const label = this.#label(id);
    switch (type.kind) {
      case "int":
        if (type.bitOffset !== 0 || type.bits !== type.size * 8) return this.#partialInt(type, label);
        return type.bool ? boolNode(type.size, label) : intNode(type.size, type.signed, label);
      case "ptr":
        return intNode(8, false, label);
      case "float":
        return floatNode(type.size, label);
      case "enum":
      case "enum64":
        return enumNode(intNode(type.size, type.signed, label), enumNames(type.values, type.size * 8, type.signed, isBigIntSize(type.size)));
      case "array": {
        const element = this.#node(type.type, depth + 1);
        if (element.size * type.nelems > 0x7fffffff) throw new FieldError(`${label} is larger than 2 GiB`);
        return this.#isPlainChar(type.type) ? charArrayNode(element, type.nelems, label) : arrayNode(element, type.nelems, label);
      }
      case "struct":
        return structNode(type.size, label, this.#fields(type, depth), { generate: this.generate });
      case "union":
        return bytesNode(type.size, label);
      case "fwd":
        throw new FieldError(`${label} is only declared (a forward declaration), so its layout is unknown`);
      default:
        throw new FieldError(`${label} is a BTF ${type.kind}, which has no value layout`);
    }
  }

  /** An INT whose value is `bits` bits at bit `bitOffset` of its bytes (BTF allows it; clang never emits it). */
  #partialInt(type: Extract<BtfType, { kind: "int" }>, label: string): Node {
    if (type.bitOffset + type.bits > type.size * 8) throw new FieldError(`${label}: ${type.bits} bits at bit ${type.bitOffset} do not fit ${type.size} bytes`);
    const bits = bitfieldNode(type.bitOffset % 8, type.bits, intMeaning(type), label);
    const skip = type.bitOffset >> 3;
    const size = type.size;
    return {
      size, label,
      decode: (bytes, view, at) => bits.decode(bytes, view, at + skip),
      encode: (value, bytes, view, at) => {
        bytes.fill(0, at, at + size);
        bits.encode(value, bytes, view, at + skip);
      },
    };
  }

  /** Arrays of plain `char` (or BTF_INT_CHAR) hold text; signed/unsigned char (__s8, __u8) do not. */
  #isPlainChar(id: number): boolean {
    const type = this.btf.resolve(id);
    return type.kind === "int" && type.size === 1 && !type.bool && (type.char || type.name === "char");
  }

  /** The struct's members as a flat field table, anonymous members flattened. */
  #fields(struct: BtfStruct, depth: number): Field[] {
    const fields: Field[] = [];
    this.#addMembers(struct, 0, struct.size, fields, new Set(), depth);
    return fields;
  }

  #addMembers(struct: BtfStruct, baseBit: number, rootSize: number, fields: Field[], seen: Set<string>, depth: number): void {
    for (const member of struct.members) {
      const bit = baseBit + member.bitOffset;
      if (member.name === "") {
        const inner = this.btf.resolve(member.type);
        // An unnamed member that is not a struct or union is an unnamed bitfield: padding.
        if (member.bitfieldSize !== 0 || (inner.kind !== "struct" && inner.kind !== "union")) continue;
        if (bit % 8 !== 0 || bit / 8 + inner.size > rootSize) {
          throw new FieldError(`the anonymous ${inner.kind} at bit ${bit} does not lie within the ${rootSize} bytes of ${this.#label(struct.id)}`);
        }
        if (depth + 1 > MAX_DEPTH) throw new FieldError(`types nest deeper than ${MAX_DEPTH} levels`);
        this.#addMembers(inner, bit, rootSize, fields, seen, depth + 1);
        continue;
      }
      if (seen.has(member.name)) throw FieldError.within(new FieldError("the name is used twice (after flattening anonymous members)"), `.${member.name}`);
      seen.add(member.name);
      try {
        fields.push(this.#member(member, bit, rootSize, depth));
      } catch (error) {
        throw FieldError.within(error, `.${member.name}`);
      }
    }
  }

  #member(member: BtfMember, bit: number, rootSize: number, depth: number): Field {
    const type = this.btf.resolve(member.type);
    // Bitfields: with kind_flag the member says its width; without it (older BTF) the
    // member's INT type does, with bits and a bit offset of its own.
    const partialInt = type.kind === "int" && (type.bitOffset !== 0 || type.bits !== type.size * 8);
    if (member.bitfieldSize !== 0 || partialInt) {
      const width = member.bitfieldSize !== 0 ? member.bitfieldSize : (type as { bits: number }).bits;
      const start = member.bitfieldSize !== 0 ? bit : bit + (type as { bitOffset: number }).bitOffset;
      if (start + width > rootSize * 8) throw new FieldError(`bits ${start} to ${start + width - 1} lie past the end of the struct (${rootSize} bytes)`);
      const node = bitfieldNode(start % 8, width, this.#bitfieldMeaning(member.type, width), this.#label(member.type));
      return { name: member.name, offset: start >> 3, node };
    }
    if (bit % 8 !== 0) throw new FieldError(`starts at bit ${bit}, which is neither a byte boundary nor a bitfield`);
    const node = this.#node(member.type, depth + 1);
    if (bit / 8 + node.size > rootSize) throw new FieldError(`bytes ${bit / 8} to ${bit / 8 + node.size - 1} lie past the end of the struct (${rootSize} bytes)`);
    return { name: member.name, offset: bit / 8, node };
  }

  #bitfieldMeaning(typeId: number, width: number): BitfieldMeaning {
    const type = this.btf.resolve(typeId);
    const label = this.#label(typeId);
    if (type.kind === "int") {
      if (width > type.size * 8) throw new FieldError(`a ${width}-bit bitfield does not fit its type ${label}`);
      return intMeaning(type);
    }
    if (type.kind === "enum" || type.kind === "enum64") {
      if (width > type.size * 8) throw new FieldError(`a ${width}-bit bitfield does not fit its type ${label}`);
      const bigint = isBigIntSize(type.size);
      return { kind: "enum", signed: type.signed, bigint, names: enumNames(type.values, width, type.signed, bigint) };
    }
    throw new FieldError(`a bitfield of ${label} (a ${type.kind}) is not an integer or enum`);
  }

  /** The C spelling of a type for messages: typedef names win, arrays get their dimensions. */
  #label(id: number): string {
    const dims: string[] = [];
    for (let depth = 0; depth < MAX_DEPTH; depth++) {
      const type = this.btf.type(id);
      const suffix = dims.join("");
      switch (type.kind) {
        case "array":
          dims.push(`[${type.nelems}]`);
          id = type.type;
          continue;
        case "const":
        case "volatile":
        case "restrict":
        case "type_tag":
          id = type.type;
          continue;
        case "struct":
        case "union":
        case "enum":
          return `${type.kind} ${type.name || "(anonymous)"}${suffix}`;
        case "enum64":
          return `enum ${type.name || "(anonymous)"}${suffix}`;
        case "ptr":
          return `pointer${suffix}`;
        case "fwd":
          return `${type.union ? "union" : "struct"} ${type.name}${suffix}`;
        default:
          return `${type.name || type.kind}${suffix}`;
      }
    }
    return `type [${id}]`;
  }
}

function intMeaning(type: Extract<BtfType, { kind: "int" }>): BitfieldMeaning {
  return type.bool ? { kind: "bool" } : { kind: "int", signed: type.signed, bigint: isBigIntSize(type.size) };
}
