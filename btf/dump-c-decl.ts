// The C spelling of BTF types for the C dump (btf/dump-c.ts): declarators, struct and
// union bodies with their padding, enums, typedefs and forward declarations.
//
// A BTF type is a chain read from the outside in; C writes it inside out. For
//
//   typedef const int * const * arr_t[10];
//   BTF: typedef -> array[10] -> ptr -> const -> ptr -> const -> int
//
// the chain is pushed on a stack down to its base type (int, struct, enum, typedef...),
// which is written first together with the qualifiers right above it ("const int"), then
// the stack is unwound: pointers add "*", qualifiers after a pointer bind to it ("* const"),
// arrays and function prototypes wrap what is left of the chain in parentheses
// ("(*f)(void)", "(*a)[10]") and put their suffix after it.
//
// Struct bodies reproduce the BTF offsets: members are written in order, and where the
// next member starts later than where C would put it, unnamed bitfields (`long: 64;`,
// `int: 0;`) fill the gap; a struct whose offsets need it is declared packed.

import { checkDepth } from "./dump-c-order.js";
import { alignOf, isStructPacked, POINTER_SIZE, sizeOrZero } from "./layout.js";
import type { CDumper } from "./dump-c.js";
import type { BtfEnum, BtfEnum64, BtfFwd, BtfModifier, BtfStruct } from "./types.js";

/** Tabs for nesting level `lvl` (anonymous structs nest their bodies). */
function indent(lvl: number): string {
  return "\t".repeat(lvl);
}

/** `struct NAME` / `union NAME`: a reference to (or declaration of) a named aggregate. */
export function emitStructFwd(d: CDumper, id: number, type: BtfStruct): void {
  const name = d.tagName(id);
  d.write(`${type.kind}${name === "" ? "" : " "}${name}`);
}

/** `struct fwd` / `union fwd` for a BTF FWD. */
export function emitFwd(d: CDumper, id: number, type: BtfFwd): void {
  d.write(`${type.union ? "union" : "struct"} ${d.tagName(id)}`);
}

/** `typedef <declarator of the target, named after the typedef>`. */
export function emitTypedefDef(d: CDumper, id: number, type: BtfModifier, lvl: number): void {
  const name = d.identName(id);
  // Old gcc describes __gnuc_va_list as a typedef of void; the compiler builtin is meant.
  if (type.type === 0 && name === "__gnuc_va_list") {
    d.write("typedef __builtin_va_list __gnuc_va_list");
    return;
  }
  d.write("typedef ");
  emitTypeDecl(d, type.type, name, lvl);
}

/** `enum NAME { A = 0, ... }` (the body only when there are enumerators). */
export function emitEnumDef(d: CDumper, id: number, type: BtfEnum | BtfEnum64, lvl: number): void {
  const name = d.tagName(id);
  d.write(`enum${name === "" ? "" : " "}${name}`);
  if (type.values.length === 0) return;
  d.write(" {");
  // 64-bit enumerators need C's suffix; the values are already signed or unsigned as BTF says.
  const suffix = type.kind === "enum" ? "" : type.signed ? "LL" : "ULL";
  for (const v of type.values) {
    // Enumerators share the ordinary identifier namespace with typedef names.
    const count = d.countName(d.identCounts, v.name);
    const label = count > 1 ? `${v.name}___${count}` : v.name;
    d.write(`\n${indent(lvl + 1)}${label} = ${v.value}${suffix},`);
  }
  d.write(`\n${indent(lvl)}}`);
  const mode = enumMode(type);
  if (mode !== "") d.write(` __attribute__((mode(${mode})))`);
}

/**
 * The machine mode that gives an enum its BTF size where C's default would not: C makes
 * an enum int-sized unless a value needs 64 bits, while BTF records 1-byte enums
 * (`__attribute__((packed))`, gcc's -fshort-enums) and 8-byte ones with small values.
 * bpftool 7.1 (libbpf 1.1) writes no mode, so its header gets such structs' layout wrong;
 * newer libbpf writes byte and word as here.
 */
function enumMode(type: BtfEnum | BtfEnum64): string {
  switch (type.size) {
    case 1:
      return "byte";
    case 2:
      return "HI";
    case 8: {
      // C widens an enum past 4 bytes only when its values fit neither int nor unsigned int.
      const values = type.values.map((v) => BigInt(v.value));
      const fitsInt = values.every((v) => v >= -0x80000000n && v <= 0x7fffffffn);
      const fitsUnsigned = values.every((v) => v >= 0n && v <= 0xffffffffn);
      return fitsInt || fitsUnsigned ? "word" : "";
    }
    default:
      return "";
  }
}

/** A struct or union with its body, padding members included, at nesting level `lvl`. */
export function emitStructDef(d: CDumper, id: number, type: BtfStruct, lvl: number): void {
  const isStruct = type.kind === "struct";
  const align = alignOf(d.btf, id);
  // Members of a union all start at 0, so a union needs packing only when its size is not
  // a multiple of its members' alignment (bpftool 7.1 never packs unions).
  const packed = isStructPacked(d.btf, type);
  emitStructFwd(d, id, type);
  d.write(" {");
  let offset = 0; // in bits: where the previous member ended
  let end = 0; // in bits: where the furthest member ends
  let previousBitfield = false;
  for (const m of type.members) {
    const memberAlign = packed ? 1 : alignOf(d.btf, m.type);
    const inBitfield = previousBitfield && m.bitfieldSize !== 0;
    emitBitPadding(d, offset, m.bitOffset, memberAlign, inBitfield, lvl + 1);
    d.write(`\n${indent(lvl + 1)}`);
    emitTypeDecl(d, m.type, m.name, lvl + 1);
    if (m.bitfieldSize !== 0) {
      d.write(`: ${m.bitfieldSize}`);
      offset = m.bitOffset + m.bitfieldSize;
      previousBitfield = true;
    } else {
      offset = m.bitOffset + sizeOrZero(d.btf, m.type) * 8;
      previousBitfield = false;
    }
    end = Math.max(end, offset);
    d.write(";");
  }
  // Trailing padding: a struct may be larger than its last member plus C's rounding.
  if (isStruct) emitBitPadding(d, offset, type.size * 8, align, false, lvl + 1);
  else if (roundUp(end, 8 * Math.max(align, 1)) < type.size * 8) emitUnionPadding(d, type.size * 8, lvl + 1);
  // `struct empty {}` stays on one line.
  if (type.members.length > 0 || type.size > 0) d.write(`\n${indent(lvl)}}`);
  else d.write("}");
  if (packed) d.write(" __attribute__((packed))");
}

/**
 * Makes a union `bits` long when its members are shorter (BTF of the kernel has unions
 * whose members were dropped). Every union member starts at 0, so one unnamed bitfield
 * covers up to 64 bits; beyond that, an anonymous struct of padding does. Unnamed
 * bitfields add size but no alignment. bpftool 7.1 pads structs only.
 */
function emitUnionPadding(d: CDumper, bits: number, lvl: number): void {
  if (bits <= POINTER_SIZE * 8) {
    d.write(`\n${indent(lvl)}long: ${bits};`);
    return;
  }
  d.write(`\n${indent(lvl)}struct {`);
  emitBitPadding(d, 0, bits, 1, false, lvl + 1);
  d.write(`\n${indent(lvl)}};`);
}

const PADDING_TYPES = [
  { name: "long", bits: POINTER_SIZE * 8 },
  { name: "int", bits: 32 },
  { name: "short", bits: 16 },
  { name: "char", bits: 8 },
] as const;

/**
 * Unnamed bitfields that move the next member from bit `from` to bit `to`. C puts a member
 * at the next multiple of its alignment (`nextAlign` bytes), and an unnamed `T: 0`
 * bitfield moves to the next multiple of T's alignment; `T: N` takes N bits.
 */
function emitBitPadding(d: CDumper, from: number, to: number, nextAlign: number, inBitfield: boolean, lvl: number): void {
  if (from >= to) return;
  // The widest padding type whose next boundary does not pass the target.
  let chosen: (typeof PADDING_TYPES)[number] = PADDING_TYPES[0];
  let boundary = 0;
  for (const pad of PADDING_TYPES) {
    chosen = pad;
    boundary = roundUp(from, pad.bits);
    if (boundary <= to) break;
  }
  let at = from;
  if (boundary > at && boundary <= to) {
    // The compiler reaches that boundary by itself unless the member follows a bitfield
    // (it would share the storage unit), the member's own alignment stops short of the
    // boundary, or the padding after the boundary would fit in the gap before it.
    const needMark =
      inBitfield ||
      (boundary === to && roundUp(from, nextAlign * 8) !== boundary) ||
      (boundary !== to && to - boundary <= boundary - from);
    if (needMark) d.write(`\n${indent(lvl)}${chosen.name}: ${inBitfield ? boundary - from : 0};`);
    at = boundary;
  }
  // From an aligned boundary: whole padding units, then the smallest type for the rest.
  while (at !== to) {
    const bits = Math.min(to - at, chosen.bits);
    if (bits === chosen.bits) {
      d.write(`\n${indent(lvl)}${chosen.name}: ${bits};`);
      at += bits;
      continue;
    }
    const rest = [...PADDING_TYPES].reverse().find((pad) => pad.bits >= bits) ?? PADDING_TYPES[0];
    d.write(`\n${indent(lvl)}${rest.name}: ${bits};`);
    at += bits;
  }
}

/** `value` rounded up to a multiple of `multiple` (unchanged for a type without alignment). */
function roundUp(value: number, multiple: number): number {
  return multiple > 0 ? Math.ceil(value / multiple) * multiple : value;
}

/** A declaration of `name` (possibly "") with the type `id`: `int x`, `char *(*f)(void)`, `int a[4]`. */
export function emitTypeDecl(d: CDumper, id: number, name: string, lvl: number): void {
  const stack: number[] = [];
  for (;;) {
    stack.push(id);
    if (id === 0) break;
    checkDepth(stack.length, id);
    const type = d.btf.type(id);
    if (type.kind === "ptr" || type.kind === "volatile" || type.kind === "const" || type.kind === "restrict" || type.kind === "type_tag") {
      id = type.type;
    } else if (type.kind === "func_proto") {
      id = type.returnType;
    } else if (type.kind === "array") {
      id = type.type;
    } else {
      break; // int, float, enum, fwd, struct, union, typedef: the base of the declarator
    }
  }
  emitTypeChain(d, stack, name, lvl);
}

/** Qualifiers just above the base type, written before it: `const volatile int`. */
function emitQualifiersBefore(d: CDumper, stack: number[]): void {
  while (stack.length > 0) {
    const type = d.btf.type(stack[stack.length - 1]);
    if (type.kind === "volatile" || type.kind === "const" || type.kind === "restrict") {
      d.write(`${type.kind} `);
      stack.pop();
    } else {
      return;
    }
  }
}

/** Drops qualifiers on an array or function (gcc emits them; they mean nothing there). */
function dropQualifiers(d: CDumper, stack: number[]): void {
  while (stack.length > 0) {
    const kind = d.btf.type(stack[stack.length - 1]).kind;
    if (kind !== "volatile" && kind !== "const" && kind !== "restrict" && kind !== "type_tag") return;
    stack.pop();
  }
}

/** ` name`, or `name` right after a `*`. */
function emitName(d: CDumper, name: string, lastWasPointer: boolean): void {
  d.write(name !== "" && !lastWasPointer ? ` ${name}` : name);
}

/** Unwinds a declarator stack (base type on top) into C. */
function emitTypeChain(d: CDumper, stack: number[], name: string, lvl: number): void {
  // Starts true so a lone pointer inside a function pointer prints "(*)", not "( *)".
  let lastWasPointer = true;
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (id === 0) {
      emitQualifiersBefore(d, stack);
      d.write("void");
      lastWasPointer = false;
      continue;
    }
    const type = d.btf.type(id);
    switch (type.kind) {
      case "int":
      case "float":
        emitQualifiersBefore(d, stack);
        d.write(type.name);
        break;
      case "struct":
      case "union":
        emitQualifiersBefore(d, stack);
        // Anonymous aggregates are defined inline.
        if (type.name === "") emitStructDef(d, id, type, lvl);
        else emitStructFwd(d, id, type);
        break;
      case "enum":
      case "enum64":
        emitQualifiersBefore(d, stack);
        if (type.name === "") emitEnumDef(d, id, type, lvl);
        else d.write(`enum ${d.tagName(id)}`);
        break;
      case "fwd":
        emitQualifiersBefore(d, stack);
        emitFwd(d, id, type);
        break;
      case "typedef":
        emitQualifiersBefore(d, stack);
        d.write(d.identName(id));
        break;
      case "ptr":
        d.write(lastWasPointer ? "*" : " *");
        break;
      case "volatile":
      case "const":
      case "restrict":
        d.write(` ${type.kind}`);
        break;
      case "type_tag":
        emitQualifiersBefore(d, stack);
        d.write(` __attribute__((btf_type_tag("${type.name}")))`);
        break;
      case "array": {
        dropQualifiers(d, stack);
        if (stack.length === 0) {
          emitName(d, name, lastWasPointer);
          d.write(`[${type.nelems}]`);
          return;
        }
        // `(*name)[N]`; a multi-dimensional array writes `name[N][M]` without parentheses.
        const multiDimensional = d.btf.type(stack[stack.length - 1]).kind === "array";
        if (name !== "" && !lastWasPointer) d.write(" ");
        if (!multiDimensional) d.write("(");
        emitTypeChain(d, stack, name, lvl);
        if (!multiDimensional) d.write(")");
        d.write(`[${type.nelems}]`);
        return;
      }
      case "func_proto": {
        dropQualifiers(d, stack);
        if (stack.length > 0) {
          d.write(" (");
          emitTypeChain(d, stack, name, lvl);
          d.write(")");
        } else {
          emitName(d, name, lastWasPointer);
        }
        d.write("(");
        const params = type.params;
        // No parameters, or clang's single void parameter: `(void)`.
        if (params.length === 0 || (params.length === 1 && params[0].type === 0)) {
          d.write("void)");
          return;
        }
        params.forEach((p, i) => {
          if (i > 0) d.write(", ");
          // A trailing void parameter marks a variadic function.
          if (i === params.length - 1 && p.type === 0) d.write("...");
          else emitTypeDecl(d, p.type, p.name, lvl);
        });
        d.write(")");
        return;
      }
      default:
        // var, func, datasec, decl_tag cannot appear inside a declarator.
        return;
    }
    lastWasPointer = type.kind === "ptr";
  }
  emitName(d, name, lastWasPointer);
}
