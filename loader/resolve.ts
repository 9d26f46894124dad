// Resolution: the last step before BPF_PROG_LOAD. The linked program's map, data and
// extern references become instructions the kernel understands:
//
//   map:  src = BPF_PSEUDO_MAP_FD,    imm = map fd,       second imm = 0
//   data: src = BPF_PSEUDO_MAP_VALUE, imm = data map fd,  second imm = offset into the value
//   extern (loader/externs.ts), ld_imm64:
//     kconfig         src = BPF_PSEUDO_MAP_VALUE, imm = .kconfig map fd, second imm = offset
//     typed ksym      src = BPF_PSEUDO_BTF_ID,    imm = kernel BTF id,   second imm = module BTF fd or 0
//     typeless ksym   src = 0, the 64-bit immediate = the address from /proc/kallsyms
//     absent __weak   src = 0, the 64-bit immediate = 0
//   extern, call (kfunc, Linux 5.13):
//     kfunc           src = BPF_PSEUDO_KFUNC_CALL, imm = kernel BTF id of the FUNC,
//                     off = fd_array index of the module's BTF, 0 for vmlinux
//     absent __weak   src = BPF_PSEUDO_KFUNC_CALL, imm = 0, off = 0: the verifier accepts
//                     such a call only where it proves it dead and removes it (5.18);
//                     reached, it fails with "invalid kernel function call not eliminated"
//
// The kernel swaps the fd for the map's address while verifying (kernel/bpf/verifier.c,
// resolve_pseudo_ldimm64). Pure: the fds are passed in, the result is a new array.

import { RelocationError } from "../common/errors.js";
import { BPF_PSEUDO_BTF_ID, BPF_PSEUDO_KFUNC_CALL, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE } from "../insn/opcodes.js";
import { SlotView } from "../insn/slots.js";
import { assertNever, type KernelReference, type LinkedProgram } from "./link.js";

/** What an extern symbol resolved to (loader/externs.ts decides, this file encodes it). */
export type ResolvedExtern =
  /** A kconfig value: the .kconfig map and the value's offset in it. */
  | { readonly kind: "map-value"; readonly fd: number; readonly offset: number }
  /**
   * A kernel VAR or FUNC: its BTF id, the fd of the module BTF that holds it (0 for
   * vmlinux) and, for a function, the index of that fd in fd_array (0 for vmlinux).
   */
  | { readonly kind: "btf-id"; readonly id: number; readonly func: boolean; readonly btfFd: number; readonly fdIndex: number }
  /** A typeless ksym's address. */
  | { readonly kind: "address"; readonly address: bigint }
  /** A __weak extern the kernel lacks: loads as 0; a call to it is left for the verifier to prove dead. */
  | { readonly kind: "absent" }
  /** A strong extern the kernel lacks; an instruction using it is an error with this reason. */
  | { readonly kind: "unresolved"; readonly reason: string };

export interface ResolvedObjects {
  /** The fd of a map by name, or undefined if the object has none by that name. */
  mapFd(name: string): number | undefined;
  /** The fd of the array map holding a global data section, or undefined. */
  dataFd(section: string): number | undefined;
  /** How an extern symbol resolved (loader/externs.ts); without it, extern references are errors. */
  extern?(symbol: string): ResolvedExtern | undefined;
}

export function resolveReferences(linked: LinkedProgram, objects: ResolvedObjects): Uint8Array {
  const bytes = linked.bytes.slice();
  const slots = new SlotView(bytes, linked.program.littleEndian);
  for (const reference of linked.references) {
    const slot = reference.insn;
    const fail = (message: string, symbol: string) =>
      new RelocationError(message, { program: linked.program.name, instruction: reference.insn, symbol });
    switch (reference.kind) {
      case "map": {
        const fd = objects.mapFd(reference.map);
        if (fd === undefined) throw fail("refers to a map that was not created (removed from the spec?)", reference.map);
        slots.setSrc(slot, BPF_PSEUDO_MAP_FD);
        slots.setImm(slot, fd);
        slots.setImm(slot + 1, 0);
        break;
      }
      case "data": {
        const fd = objects.dataFd(reference.section);
        if (fd === undefined) throw fail(`refers to global data in ${reference.section}, which has no map`, reference.symbol || reference.section);
        slots.setSrc(slot, BPF_PSEUDO_MAP_VALUE);
        slots.setImm(slot, fd);
        slots.setImm(slot + 1, reference.offset);
        break;
      }
      case "extern": {
        const problem = patchExtern(slots, reference, objects.extern?.(reference.symbol));
        if (problem !== undefined) throw fail(problem, reference.symbol);
        break;
      }
      default:
        assertNever(reference);
    }
  }
  return bytes;
}

/** Writes an extern's value into its instruction; returns what is wrong instead, if anything. */
function patchExtern(
  slots: SlotView,
  reference: Extract<KernelReference, { kind: "extern" }>,
  value: ResolvedExtern | undefined,
): string | undefined {
  const slot = reference.insn;
  if (value === undefined) return "is an extern the loader did not resolve (__kconfig, __ksym or a kfunc)";
  if (value.kind === "unresolved") return value.reason;
  if (reference.call) {
    if (value.kind === "absent") {
      slots.setSrc(slot, BPF_PSEUDO_KFUNC_CALL);
      slots.setImm(slot, 0);
      slots.setOff(slot, 0);
      return undefined;
    }
    if (value.kind !== "btf-id" || !value.func) return "is called, but it is a variable, not a kernel function";
    slots.setSrc(slot, BPF_PSEUDO_KFUNC_CALL);
    slots.setImm(slot, value.id);
    slots.setOff(slot, value.fdIndex);
    return undefined;
  }
  switch (value.kind) {
    case "map-value":
      slots.setSrc(slot, BPF_PSEUDO_MAP_VALUE);
      slots.setImm(slot, value.fd);
      slots.setImm(slot + 1, value.offset);
      break;
    case "btf-id":
      slots.setSrc(slot, BPF_PSEUDO_BTF_ID);
      slots.setImm(slot, value.id);
      slots.setImm(slot + 1, value.btfFd);
      break;
    case "address":
    case "absent":
      slots.setSrc(slot, 0);
      slots.setImm64(slot, value.kind === "address" ? value.address : 0n);
      break;
    default:
      assertNever(value);
  }
  return undefined;
}
