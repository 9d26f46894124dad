// dumpBtfC: BTF as a C header, the vmlinux.h that `bpftool btf dump file X format c` writes.
//
// The output is the named types of the BTF (structs, unions, enums, typedefs) as C
// definitions a compiler accepts, in an order where everything a definition needs is
// defined or declared before it:
//
//   #ifndef __VMLINUX_H__ ... #pragma clang attribute push (preserve_access_index)
//   typedef unsigned int __u32;                        each definition ends in ";\n\n"
//   struct task_struct;                                forward declaration (used by pointer first)
//   struct list_head { struct list_head *next; ... };  full definition
//   #pragma clang attribute pop ... #endif
//
// Two passes per root type (btf/dump-c-order.ts and here):
//  1. order: a depth-first walk queues the definitions the root needs, dependencies first.
//     A type is "strongly" needed when its size must be known (embedded member, array
//     element, typedef of it) and "weakly" when a pointer to it suffices; a weak need
//     leaves room for a cycle, broken later by a forward declaration.
//  2. emit: each queued definition is written; on the way, a named struct that is still
//     being written when it is referenced again (only possible through a pointer) gets a
//     forward declaration first.
// The C spelling of declarators, struct bodies and enums is in btf/dump-c-decl.ts.
//
// The text is byte for byte what bpftool 7.1 (libbpf 1.1) writes, except where that header
// would give a type another size than the BTF: 1-, 2- and 8-byte enums get a
// __attribute__((mode(...))), and a union larger than its members gets padding.
//
// Type names that occur more than once (two `struct foo` from different compilation units
// of the kernel) are renamed `foo___2`, `foo___3` in the order they are written, the
// convention CO-RE relies on: the suffix after "___" is ignored when matching names.

import { emitEnumDef, emitFwd, emitStructDef, emitStructFwd, emitTypedefDef } from "./dump-c-decl.js";
import { checkDepth, orderType, OrderState } from "./dump-c-order.js";
import type { Btf } from "./parse.js";
import type { BtfType } from "./types.js";

export interface DumpCOptions {
  /**
   * Dump only these types and the definitions they need (like `bpftool btf dump map`).
   * Default: every type, in id order.
   */
  readonly roots?: Iterable<number>;
  /**
   * Surround the definitions with bpftool's include guard (__VMLINUX_H__) and the
   * `#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)`
   * that makes every struct access a CO-RE relocation. Default true.
   */
  readonly header?: boolean;
}

const HEADER_START = `#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

`;

const HEADER_END = `#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
`;

/** The BTF's types as C source text. */
export function dumpBtfC(btf: Btf, options: DumpCOptions = {}): string {
  const dumper = new CDumper(btf);
  if (options.header !== false) dumper.write(HEADER_START);
  if (options.roots === undefined) {
    for (let id = 1; id < btf.typeCount; id++) dumper.dumpType(id);
  } else {
    for (const id of options.roots) dumper.dumpType(id);
  }
  if (options.header !== false) dumper.write(HEADER_END);
  return dumper.text();
}

/** Emit state of a type: a definition being written can still be referenced (via pointers). */
const EmitState = { NotEmitted: 0, Emitting: 1, Emitted: 2 } as const;

/** The state of one C dump: what has been ordered, written and forward-declared, and the names given. */
export class CDumper {
  /** OrderState per type id (btf/dump-c-order.ts). */
  readonly orderState: Uint8Array;
  /** EmitState per type id. */
  private readonly emitState: Uint8Array;
  /** 1 once a forward declaration (or, for a typedef, its definition) was written. */
  private readonly fwdEmitted: Uint8Array;
  /** 1 if some other type refers to this one (so an anonymous enum is not top-level). */
  readonly referenced: Uint8Array;
  /** The C name chosen for each type on first use (with a ___N suffix if it repeats). */
  private readonly names: (string | undefined)[];
  /** How often each struct/union/enum tag has been named so far. */
  private readonly tagCounts = new Map<string, number>();
  /** How often each ordinary identifier (typedef names, enumerators) has been named so far. */
  readonly identCounts = new Map<string, number>();
  /** Definitions the current root needs, in the order to write them. */
  readonly queue: number[] = [];
  private readonly parts: string[] = [];

  constructor(readonly btf: Btf) {
    const count = btf.typeCount;
    this.orderState = new Uint8Array(count);
    this.emitState = new Uint8Array(count);
    this.fwdEmitted = new Uint8Array(count);
    this.referenced = new Uint8Array(count);
    this.names = new Array(count);
    // void needs no definition.
    this.orderState[0] = OrderState.Ordered;
    this.emitState[0] = EmitState.Emitted;
    for (let id = 1; id < count; id++) markReferenced(this.referenced, btf.type(id));
  }

  write(text: string): void {
    this.parts.push(text);
  }

  text(): string {
    return this.parts.join("");
  }

  /** Writes `id` and every definition it needs that is not written yet. */
  dumpType(id: number): void {
    this.queue.length = 0;
    orderType(this, id, false);
    for (const queued of this.queue) this.emitType(queued, 0);
  }

  /** Name of a struct, union, enum or fwd (the tag namespace); "" when anonymous. */
  tagName(id: number): string {
    return this.resolveName(id, this.tagCounts);
  }

  /** Name of a typedef (the ordinary identifier namespace, shared with enumerators). */
  identName(id: number): string {
    return this.resolveName(id, this.identCounts);
  }

  /** Counts one more use of `name` in `counts` and returns the count (1 for the first). */
  countName(counts: Map<string, number>, name: string): number {
    const count = (counts.get(name) ?? 0) + 1;
    counts.set(name, count);
    return count;
  }

  private resolveName(id: number, counts: Map<string, number>): string {
    const type = this.btf.type(id);
    if (type.name === "") return "";
    let name = this.names[id];
    if (name === undefined) {
      const count = this.countName(counts, type.name);
      name = count > 1 ? `${type.name}___${count}` : type.name;
      this.names[id] = name;
    }
    return name;
  }

  /**
   * Writes the definition of `id` if it is top-level (`container` 0), after making sure the
   * types its body uses are declared. `container` is the named struct being written when
   * this type is reached through one of its members.
   */
  emitType(id: number, container: number, depth = 0): void {
    checkDepth(depth, id);
    const state = this.emitState[id];
    if (state === EmitState.Emitted) return;
    const type = this.btf.type(id);
    if (state === EmitState.Emitting) {
      this.emitForwardInCycle(id, type, container);
      return;
    }
    const topLevel = container === 0;
    switch (type.kind) {
      case "int":
        this.emitState[id] = EmitState.Emitted;
        break;
      case "enum":
      case "enum64":
        if (topLevel) {
          emitEnumDef(this, id, type, 0);
          this.write(";\n\n");
        }
        this.emitState[id] = EmitState.Emitted;
        break;
      case "ptr":
      case "volatile":
      case "const":
      case "restrict":
      case "type_tag":
      case "array":
        this.emitType(type.type, container, depth + 1);
        break;
      case "fwd":
        emitFwd(this, id, type);
        this.write(";\n\n");
        this.emitState[id] = EmitState.Emitted;
        break;
      case "typedef":
        this.emitState[id] = EmitState.Emitting;
        this.emitType(type.type, id, depth + 1);
        // Unless a pointer cycle already made us write it, the typedef is written now.
        if (this.fwdEmitted[id] === 0 && !isBuiltinTypedef(type)) {
          emitTypedefDef(this, id, type, 0);
          this.write(";\n\n");
        }
        this.emitState[id] = EmitState.Emitted;
        break;
      case "struct":
      case "union":
        this.emitStruct(id, type, container, depth);
        break;
      case "func_proto":
        this.emitType(type.returnType, container, depth + 1);
        for (const p of type.params) this.emitType(p.type, container, depth + 1);
        break;
      default:
        // func, var, datasec, decl_tag, float, void: nothing to declare in a header.
        break;
    }
  }

  private emitStruct(id: number, type: Extract<BtfType, { kind: "struct" | "union" }>, container: number, depth: number): void {
    const topLevel = container === 0;
    this.emitState[id] = EmitState.Emitting;
    // A body is written for a top-level definition and for an anonymous struct (inline in
    // its user): the member types it names must be declared first.
    if (topLevel || type.name === "") {
      const memberContainer = type.name === "" ? container : id;
      for (const m of type.members) this.emitType(m.type, memberContainer, depth + 1);
    } else if (this.fwdEmitted[id] === 0 && id !== container) {
      emitStructFwd(this, id, type);
      this.write(";\n\n");
      this.fwdEmitted[id] = 1;
    }
    if (topLevel) {
      emitStructDef(this, id, type, 0);
      this.write(";\n\n");
      this.emitState[id] = EmitState.Emitted;
    } else {
      this.emitState[id] = EmitState.NotEmitted;
    }
  }

  /** `id` is referenced while its own definition is being written: declare it ahead. */
  private emitForwardInCycle(id: number, type: BtfType, container: number): void {
    if (this.fwdEmitted[id] !== 0) return;
    if (type.kind === "struct" || type.kind === "union") {
      // A struct referring to itself needs no declaration; an anonymous one cannot have one.
      if (id === container || type.name === "") return;
      emitStructFwd(this, id, type);
      this.write(";\n\n");
      this.fwdEmitted[id] = 1;
    } else if (type.kind === "typedef") {
      // A typedef of a struct being written can be defined early: it only names the tag.
      if (!isBuiltinTypedef(type)) {
        emitTypedefDef(this, id, type, 0);
        this.write(";\n\n");
      }
      this.fwdEmitted[id] = 1;
    }
  }
}

/** __builtin_va_list is the compiler's own; redefining it (gcc's BTF has it) breaks clang. */
function isBuiltinTypedef(type: BtfType): boolean {
  return type.name === "__builtin_va_list";
}

/** Marks every type that `type` refers to. */
function markReferenced(referenced: Uint8Array, type: BtfType): void {
  switch (type.kind) {
    case "ptr":
    case "typedef":
    case "volatile":
    case "const":
    case "restrict":
    case "type_tag":
    case "func":
    case "var":
    case "decl_tag":
      referenced[type.type] = 1;
      break;
    case "array":
      referenced[type.indexType] = 1;
      referenced[type.type] = 1;
      break;
    case "struct":
    case "union":
      for (const m of type.members) referenced[m.type] = 1;
      break;
    case "func_proto":
      for (const p of type.params) referenced[p.type] = 1;
      break;
    case "datasec":
      for (const v of type.vars) referenced[v.type] = 1;
      break;
    default:
      break;
  }
}
