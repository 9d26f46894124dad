// The composite half of BTF-typed codecs (maps/btf-codec.ts explains the whole): structs
// as plain objects, arrays as JS arrays, arrays of `char` as strings.
//
// A struct becomes a flat table of fields, each a byte offset and a Node (a bitfield's
// node knows its bit shift). Decoding a struct is then one pass over that table; the pass
// is generated once per struct type as straight-line JavaScript (struct header here):
//
//     const decode = (bytes, view, offset) => ({ "version": d0(bytes, view, offset + 0),
//       "flags": d1(bytes, view, offset + 2), "delta": d2(bytes, view, offset + 3) });
//
// where d0, d1, d2 are the members' decoders (a DataView read each). An object literal with
// fixed keys gets one hidden class and monomorphic stores: several times faster than
// `object[name] = ...` in a loop over varying names; encoding is unrolled the same way.
// Member names enter the source only through JSON.stringify, and offsets are integers we
// computed, so BTF from an untrusted object cannot inject code. Where code generation is
// disabled (node --disallow-code-generation-from-strings) the same table runs in loops.

import { copyRaw, describeValue, FieldError, type Node } from "./btf-codec-scalars.js";

export interface Field {
  readonly name: string;
  /** Byte offset of the field's node from the start of the struct. */
  readonly offset: number;
  readonly node: Node;
}

type Decode = Node["decode"];
type Encode = Node["encode"];

/** Structs up to this size are zeroed byte by byte: cheaper than a call to fill() for them. */
const SMALL_STRUCT = 64;

/** A struct: decodes to a plain object with one key per field, in declaration order. */
export function structNode(size: number, label: string, fields: readonly Field[], options: { generate: boolean }): Node {
  const names = new Set(fields.map((f) => f.name));
  const members = [...names].join(", ") || "(none)";
  const helpers: StructHelpers = {
    /** Anything but a plain object: a Uint8Array is the raw struct, the rest is an error. */
    notObject(value, bytes, at) {
      if (value instanceof Uint8Array) return copyRaw(value, bytes, at, size, label);
      throw new FieldError(`${label} takes an object with members ${members} (or a Uint8Array of ${size} bytes), got ${describeValue(value)}`);
    },
    /** Throws for the first key that is not a member (keys holding undefined are fine). */
    checkNames(value) {
      for (const key in value) {
        if (names.has(key)) continue;
        throw FieldError.within(new FieldError(`${label} has no member ${JSON.stringify(key)} (its members: ${members})`), `.${key}`);
      }
    },
    within: (error, field) => FieldError.within(error, `.${fields[field].name}`),
  };
  const generated = options.generate ? generateStruct(size, fields, helpers) : undefined;
  return { size, label, ...(generated ?? loopStruct(size, fields, helpers)) };
}

interface StructHelpers {
  notObject(value: unknown, bytes: Uint8Array, at: number): void;
  checkNames(value: object): void;
  within(error: unknown, field: number): unknown;
}

/**
 * A member named like something every object inherits ("constructor", "toString",
 * "__proto__") is read only when the value has it as its own property.
 */
const INHERITED = (name: string): boolean => name in Object.prototype;

/** Whether a value is a struct's object form (not null, not an array, not bytes). */
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);

/**
 * The field table unrolled into one decode and one encode function. Encode: check the
 * value, zero the struct, store each member given (counting them), then compare that
 * count with the number of keys: counting keys is cheaper than looking each one up, and
 * only a mismatch needs the names.
 */
function generateStruct(size: number, fields: readonly Field[], helpers: StructHelpers): { decode: Decode; encode: Encode } | undefined {
  const props = fields.map((f, i) => {
    // A quoted "__proto__" key in a literal would set the prototype; a computed one defines a property.
    const key = f.name === "__proto__" ? `[${JSON.stringify(f.name)}]` : JSON.stringify(f.name);
    return `${key}: d${i}(bytes, view, offset + ${f.offset})`;
  });
  const stores = fields.map((f, i) => {
    const key = JSON.stringify(f.name);
    const read = INHERITED(f.name) ? `(hasOwn(value, ${key}) ? value[${key}] : undefined)` : `value[${key}]`;
    return `    field = ${i}; v = ${read}; if (v !== undefined) { given++; e${i}(v, bytes, view, offset + ${f.offset}); }`;
  });
  const zero = size <= SMALL_STRUCT ? `for (let i = offset; i < offset + ${size}; i++) bytes[i] = 0;` : `bytes.fill(0, offset, offset + ${size});`;
  const source = `
const decode = (bytes, view, offset) => ({ ${props.join(", ")} });
const encode = (value, bytes, view, offset) => {
  if (!isObject(value)) return helpers.notObject(value, bytes, offset);
  ${zero}
  let given = 0, field = 0, v;
  try {
${stores.join("\n")}
  } catch (error) {
    throw helpers.within(error, field);
  }
  let keys = 0;
  for (const _ in value) keys++;
  if (keys !== given) helpers.checkNames(value);
};
return { decode, encode };`;
  const params = fields.flatMap((_, i) => [`d${i}`, `e${i}`]);
  let factory: (...args: unknown[]) => { decode: Decode; encode: Encode };
  try {
    factory = new Function("hasOwn", "isObject", "helpers", ...params, source) as typeof factory;
  } catch (error) {
    if (error instanceof EvalError) return undefined; // code generation is disabled: use the loops
    throw error;
  }
  return factory(Object.hasOwn, isObject, helpers, ...fields.flatMap((f) => [f.node.decode, f.node.encode]));
}

/** The same two functions as loops over the table (what the generated code unrolls). */
function loopStruct(size: number, fields: readonly Field[], helpers: StructHelpers): { decode: Decode; encode: Encode } {
  return {
    decode: (bytes, view, offset) => {
      const object: Record<string, unknown> = {};
      for (const { name, offset: at, node } of fields) {
        const value = node.decode(bytes, view, offset + at);
        if (name === "__proto__") Object.defineProperty(object, name, { value, enumerable: true, writable: true, configurable: true });
        else object[name] = value;
      }
      return object;
    },
    encode: (value, bytes, view, offset) => {
      if (!isObject(value)) return helpers.notObject(value, bytes, offset);
      bytes.fill(0, offset, offset + size);
      let given = 0;
      for (let field = 0; field < fields.length; field++) {
        const { name, offset: at, node } = fields[field];
        const v = INHERITED(name) && !Object.hasOwn(value, name) ? undefined : value[name];
        if (v === undefined) continue;
        given++;
        try {
          node.encode(v, bytes, view, offset + at);
        } catch (error) {
          throw helpers.within(error, field);
        }
      }
      let keys = 0;
      for (const _ in value) keys++;
      if (keys !== given) helpers.checkNames(value);
    },
  };
}

/**
 * An array: a JS array of `count` elements. Encoding takes an array of at most `count`
 * elements (missing and undefined ones are zero, as in C's `int a[4] = { 1, 2 }`) or a
 * Uint8Array of the array's size in bytes.
 */
export function arrayNode(element: Node, count: number, label: string): Node {
  const stride = element.size;
  const size = stride * count;
  return {
    size, label,
    decode: (bytes, view, offset) => {
      const out = new Array<unknown>(count);
      for (let i = 0; i < count; i++) out[i] = element.decode(bytes, view, offset + i * stride);
      return out;
    },
    encode: (value, bytes, view, offset) => encodeElements(value, element, count, label, bytes, view, offset),
  };
}

function encodeElements(value: unknown, element: Node, count: number, label: string, bytes: Uint8Array, view: DataView, offset: number): void {
  const size = element.size * count;
  if (!Array.isArray(value)) {
    if (value instanceof Uint8Array) return copyRaw(value, bytes, offset, size, label);
    throw new FieldError(`${label} takes an array of up to ${count} elements (or a Uint8Array of ${size} bytes), got ${describeValue(value)}`);
  }
  if (value.length > count) throw new FieldError(`${label} holds ${count} elements, got an array of ${value.length}`);
  bytes.fill(0, offset, offset + size);
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    if (item === undefined) continue;
    try {
      element.encode(item, bytes, view, offset + i * element.size);
    } catch (error) {
      throw FieldError.within(error, `[${i}]`);
    }
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

/**
 * An array of plain `char`: a string when the bytes hold text, the bytes otherwise.
 * Text means: UTF-8 without control characters (tab, newline and carriage return
 * allowed), then a NUL, then only NULs, i.e. exactly the bytes that encoding the string
 * gives back, so decoding and encoding again never changes the bytes. Encoding takes a
 * string (its UTF-8 bytes and a NUL must fit), a Uint8Array of `count` bytes, or an array
 * of numbers.
 */
export function charArrayNode(element: Node, count: number, label: string): Node {
  return {
    size: count, label,
    decode: (bytes, _v, offset) => decodeText(bytes, offset, count),
    encode: (value, bytes, view, offset) => {
      if (typeof value !== "string") return encodeElements(value, element, count, label, bytes, view, offset);
      if (count === 0 && value === "") return; // a flexible array member: char name[]
      if (value.length < count && writeAscii(value, bytes, offset, count)) return;
      const target = bytes.subarray(offset, offset + count);
      target.fill(0);
      const { read, written } = utf8Encoder.encodeInto(value, target);
      if (read < value.length || written >= count) {
        const length = utf8Encoder.encode(value).byteLength;
        throw new FieldError(`${label} holds a string of at most ${count - 1} UTF-8 bytes and its NUL; ${describeValue(value)} is ${length} bytes`);
      }
      if (value.includes("\0")) throw new FieldError(`${label} holds a NUL-terminated string; ${describeValue(value)} contains a NUL`);
    },
  };
}

/** The common case without a TextEncoder: ASCII shorter than the array. False if not ASCII. */
function writeAscii(text: string, bytes: Uint8Array, offset: number, count: number): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0 || code >= 0x80) return false;
    bytes[offset + i] = code;
  }
  for (let i = text.length; i < count; i++) bytes[offset + i] = 0;
  return true;
}

function decodeText(bytes: Uint8Array, start: number, count: number): string | Uint8Array {
  if (count === 0) return "";
  const limit = start + count;
  let end = start;
  while (end < limit && bytes[end] !== 0) end++;
  const asBytes = () => bytes.slice(start, limit);
  if (end === limit) return asBytes(); // no NUL: not a C string
  for (let i = end + 1; i < limit; i++) if (bytes[i] !== 0) return asBytes();
  let ascii = true;
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    if (b >= 0x80) ascii = false;
    else if ((b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) || b === 0x7f) return asBytes();
  }
  if (ascii) {
    let text = "";
    for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]);
    return text;
  }
  let text: string;
  try {
    text = utf8.decode(bytes.subarray(start, end));
  } catch {
    return asBytes(); // not UTF-8
  }
  // C1 control characters (U+0080 to U+009F) are not text either.
  return /[\u0080-\u009f]/.test(text) ? asBytes() : text;
}
