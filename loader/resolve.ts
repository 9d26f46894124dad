// Resolution: the last step before BPF_PROG_LOAD. The linked program's map and data
// references become ld_imm64 instructions the kernel understands:
//
//   map:  src = BPF_PSEUDO_MAP_FD,    imm = map fd,       second imm = 0
//   data: src = BPF_PSEUDO_MAP_VALUE, imm = data map fd,  second imm = offset into the value
//
// The kernel swaps the fd for the map's address while verifying (kernel/bpf/verifier.c,
// resolve_pseudo_ldimm64). Pure: the fds are passed in, the result is a new array.

import { RelocationError } from "../common/errors.js";
import { BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE } from "../insn/opcodes.js";
import { SlotView } from "../insn/slots.js";
import { assertNever, type LinkedProgram } from "./link.js";

export interface ResolvedObjects {
  /** The fd of a map by name, or undefined if the object has none by that name. */
  mapFd(name: string): number | undefined;
  /** The fd of the array map holding a global data section, or undefined. */
  dataFd(section: string): number | undefined;
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
      case "extern":
        throw fail(
          reference.call
            ? "calls a kernel function (kfunc) or other extern function; tsbpf cannot resolve externs yet"
            : "uses an extern variable (__kconfig or __ksym); tsbpf cannot resolve externs yet",
          reference.symbol,
        );
      default:
        assertNever(reference);
    }
  }
  return bytes;
}
