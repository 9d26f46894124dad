// Ordering for the C dump: which definitions a type needs, dependencies first.
//
// C needs the full definition of a type before it is embedded (a struct member, an array
// element), but only a declaration before it is used through a pointer:
//
//   struct A { int x; };            struct B;                    must come first: strong
//   struct B { struct A a; };       struct C { struct B *b; };   a declaration will do: weak
//
// orderType walks the type graph depth first and returns whether the walk from the caller
// to `id` is strong (1) or weak (0). The link is weak if the path goes through a pointer
// and reaches a *named* struct, union or typedef of one: that name can be declared ahead.
// An anonymous struct behind a pointer is still defined inline, so what it embeds stays
// strongly needed:
//
//   struct A { int x; };
//   struct B { struct { struct A y; } *x; };   A must still precede B
//
// A named struct, union, enum, fwd or typedef is queued once its own needs are queued, so
// the queue is a valid definition order. A cycle of strong links cannot be written in C
// (and is reported); a cycle through a pointer is broken by a forward declaration when the
// definitions are written (CDumper.emitType).

import { BtfError } from "../common/errors.js";
import type { CDumper } from "./dump-c.js";

/**
 * How deep a walk of the type graph may go. Real BTF nests a few dozen levels (vmlinux
 * less than 100); malformed BTF can loop through qualifiers (const -> const -> ...), which
 * must end in a BtfError, not in a stack overflow.
 */
export const MAX_TYPE_DEPTH = 2000;

/** Throws when a walk is deeper than any real BTF needs. */
export function checkDepth(depth: number, id: number): void {
  if (depth > MAX_TYPE_DEPTH) throw new BtfError(`types nest more than ${MAX_TYPE_DEPTH} levels deep (a loop of references?)`, { typeId: id });
}

/** Order state per type: definitions are ORDERING while their dependencies are walked. */
export const OrderState = { NotOrdered: 0, Ordering: 1, Ordered: 2 } as const;

/** 1: `id` must be fully defined before its user; 0: a declaration suffices. */
export function orderType(d: CDumper, id: number, throughPointer: boolean, depth = 0): 0 | 1 {
  checkDepth(depth, id);
  const state = d.orderState[id];
  if (state === OrderState.Ordered) return 1;
  const type = d.btf.type(id);
  if (state === OrderState.Ordering) {
    // Back on a struct being ordered: fine through a pointer to a named one.
    if ((type.kind === "struct" || type.kind === "union") && throughPointer && type.name !== "") return 0;
    throw new BtfError("the types form a cycle that C cannot express (each embeds the next)", { typeId: id });
  }
  switch (type.kind) {
    case "int":
    case "float":
      d.orderState[id] = OrderState.Ordered;
      return 0;
    case "ptr": {
      const strong = orderType(d, type.type, true, depth + 1);
      d.orderState[id] = OrderState.Ordered;
      return strong;
    }
    case "array":
      return orderType(d, type.type, false, depth + 1);
    case "struct":
    case "union": {
      if (throughPointer && type.name !== "") return 0;
      d.orderState[id] = OrderState.Ordering;
      for (const m of type.members) orderType(d, m.type, false, depth + 1);
      // Anonymous ones are written inline where they are used, never on their own.
      if (type.name !== "") d.queue.push(id);
      d.orderState[id] = OrderState.Ordered;
      return 1;
    }
    case "enum":
    case "enum64":
    case "fwd":
      // A named enum is a definition of its own; so is an anonymous enum nothing refers to
      // (a block of constants: `enum { A = 1, B = 2 };`). A referenced anonymous one is
      // written inline by its user.
      if (type.name !== "" || d.referenced[id] === 0) d.queue.push(id);
      d.orderState[id] = OrderState.Ordered;
      return 1;
    case "typedef": {
      const strong = orderType(d, type.type, throughPointer, depth + 1);
      // Like a named struct, a typedef reached through a pointer can wait.
      if (throughPointer && strong === 0) return 0;
      d.queue.push(id);
      d.orderState[id] = OrderState.Ordered;
      return 1;
    }
    case "volatile":
    case "const":
    case "restrict":
    case "type_tag":
      return orderType(d, type.type, throughPointer, depth + 1);
    case "func_proto": {
      let strong: 0 | 1 = orderType(d, type.returnType, throughPointer, depth + 1);
      for (const p of type.params) {
        if (orderType(d, p.type, throughPointer, depth + 1) === 1) strong = 1;
      }
      return strong;
    }
    default:
      // void, func, var, datasec, decl_tag: no C definition in a header.
      d.orderState[id] = OrderState.Ordered;
      return 0;
  }
}
