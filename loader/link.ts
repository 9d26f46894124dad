// Linking: one entry program plus every function it reaches, laid out back to back, with
// bpf-to-bpf calls and callback addresses pointing at their targets' new positions.
//
// The kernel loads a program as one array of instructions; subprograms are found by the
// verifier through the call instructions' relative offsets (BPF_PSEUDO_CALL: target =
// call slot + imm + 1) and the ld_imm64 of callbacks (BPF_PSEUDO_FUNC, same rule). In the
// object those functions live in .text or elsewhere in the section, so the loader appends
// each one used after the entry program and rewrites the offsets.
//
// Compute first, patch second: link() is pure and returns a copy with every call resolved
// and the references that need kernel objects (maps, data, externs) moved to absolute slots.

import { RelocationError } from "../common/errors.js";
import { BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, INSN_SIZE } from "../insn/opcodes.js";
import { SlotView } from "../insn/slots.js";
import { concatExtInfo, type FunctionExtInfo } from "../btf/ext-info.js";
import type { ObjectSpec } from "./spec.js";
import type { ProgramSpec } from "./programs.js";
import type { Reference } from "./references.js";

/** A reference that resolution turns into an fd or a value, at an absolute slot of the linked program. */
export type KernelReference = Extract<Reference, { kind: "map" | "data" | "extern" }> & { readonly function: string };

export interface LinkedProgram {
  readonly program: ProgramSpec;
  /** All instruction slots: the entry program followed by the functions it uses. */
  readonly bytes: Uint8Array;
  /** Where each function starts, in slots, in link order (the entry program first, at 0). */
  readonly layout: readonly { readonly name: string; readonly start: number }[];
  readonly references: readonly KernelReference[];
  /** The BTF records of every linked function, shifted to where it now starts; undefined without BTF. */
  readonly extInfo: FunctionExtInfo | undefined;
}

export function link(spec: ObjectSpec, entry: ProgramSpec): LinkedProgram {
  const order = linkOrder(spec, entry);
  const start = new Map<ProgramSpec, number>();
  let slots = 0;
  for (const fn of order) {
    start.set(fn, slots);
    slots += fn.slotCount;
  }

  const bytes = new Uint8Array(slots * INSN_SIZE);
  const view = new SlotView(bytes, entry.littleEndian);
  const references: KernelReference[] = [];
  for (const fn of order) {
    const base = start.get(fn)!;
    bytes.set(fn.bytes, base * INSN_SIZE);
    for (const reference of fn.references) {
      const slot = base + reference.insn;
      switch (reference.kind) {
        case "call":
        case "function": {
          const target = start.get(findFunction(spec, fn, reference))!;
          view.setImm(slot, target - (slot + 1));
          view.setSrc(slot, reference.kind === "call" ? BPF_PSEUDO_CALL : BPF_PSEUDO_FUNC);
          break;
        }
        case "map":
        case "data":
        case "extern":
          references.push({ ...reference, insn: slot, function: fn.name });
          break;
        default:
          assertNever(reference);
      }
    }
  }
  return {
    program: entry,
    bytes,
    layout: order.map((fn) => ({ name: fn.name, start: start.get(fn)! })),
    references,
    extInfo: linkExtInfo(order, start),
  };
}

/**
 * The functions of a linked program in libbpf's order, so that both loaders hand the kernel
 * the same instructions (and the program gets the same tag): depth first, each function's
 * calls and callback references in instruction order, a function appended when first met
 * and its own callees before the caller's next one (libbpf's bpf_object__reloc_code). An
 * explicit stack: the call graph comes from the object, and its depth is not bounded.
 */
function linkOrder(spec: ObjectSpec, entry: ProgramSpec): ProgramSpec[] {
  const order: ProgramSpec[] = [entry];
  const placed = new Set<ProgramSpec>([entry]);
  // Each frame: a function and the index of the next of its references to look at.
  const stack: { fn: ProgramSpec; next: number }[] = [{ fn: entry, next: 0 }];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1];
    if (frame.next === frame.fn.references.length) {
      stack.pop();
      continue;
    }
    const reference = frame.fn.references[frame.next++];
    if (reference.kind !== "call" && reference.kind !== "function") continue;
    const target = findFunction(spec, frame.fn, reference);
    if (placed.has(target)) continue;
    placed.add(target);
    order.push(target);
    stack.push({ fn: target, next: 0 });
  }
  return order;
}

/** func_info and line_info must cover every function the kernel gets, or none of them. */
function linkExtInfo(order: readonly ProgramSpec[], start: ReadonlyMap<ProgramSpec, number>): FunctionExtInfo | undefined {
  const parts: { info: FunctionExtInfo; startSlot: number }[] = [];
  for (const fn of order) {
    const info = fn.extInfo;
    if (info === undefined) return undefined;
    parts.push({ info, startSlot: start.get(fn)! });
  }
  return concatExtInfo(parts);
}

/** Subprograms in .text first, then functions of program sections (a call into another section's function). */
function findFunction(spec: ObjectSpec, caller: ProgramSpec, reference: Extract<Reference, { kind: "call" | "function" }>): ProgramSpec {
  const target = spec.subprograms.get(reference.target) ?? spec.programs.get(reference.target);
  if (target === undefined) {
    throw new RelocationError("calls a function the object does not define (was it removed from the spec?)", {
      program: caller.name,
      instruction: reference.insn,
      symbol: reference.target,
    });
  }
  return target;
}

export function assertNever(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
