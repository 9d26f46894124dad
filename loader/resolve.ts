// Resolution: the last step before BPF_PROG_LOAD. The linked program's map and data
// references become ld_imm64 instructions the kernel understands:
//
//   map:  src = BPF_PSEUDO_MAP_FD,    imm = map fd,       second imm = 0
//   data: src = BPF_PSEUDO_MAP_VALUE, imm = data map fd,  second imm = offset into the value
//
// The kernel swaps the fd for the map's address while verifying (kernel/bpf/verifier.c,
// resolve_pseudo_ldimm64). Pure: the fds are passed in, the result is a new array.

import { RelocationError } from "../common/errors.js";
import { BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE, INSN_SIZE } from "../insn/opcodes.js";
import { assertNever, setSrcRegister, type LinkedProgram } from "./link.js";

export interface ResolvedObjects {
  /** The fd of a map by name, or undefined if the object has none by that name. */
  mapFd(name: string): number | undefined;
  /** The fd of the array map holding a global data section, or undefined. */
  dataFd(section: string): number | undefined;
}

export function resolveReferences(linked: LinkedProgram, objects: ResolvedObjects): Uint8Array {
  const bytes = linked.bytes.slice();
  const view = new DataView(bytes.buffer);
  const le = linked.program.littleEndian;
  for (const reference of linked.references) {
    const at = reference.insn * INSN_SIZE;
    const fail = (message: string, symbol: string) =>
      new RelocationError(message, { program: linked.program.name, instruction: reference.insn, symbol });
    switch (reference.kind) {
      case "map": {
        const fd = objects.mapFd(reference.map);
        if (fd === undefined) throw fail("refers to a map that was not created (removed from the spec?)", reference.map);
        setSrcRegister(bytes, reference.insn, BPF_PSEUDO_MAP_FD, le);
        view.setInt32(at + 4, fd, le);
        view.setInt32(at + INSN_SIZE + 4, 0, le);
        break;
      }
      case "data": {
        const fd = objects.dataFd(reference.section);
        if (fd === undefined) throw fail(`refers to global data in ${reference.section}, which has no map`, reference.symbol || reference.section);
        setSrcRegister(bytes, reference.insn, BPF_PSEUDO_MAP_VALUE, le);
        view.setInt32(at + 4, fd, le);
        view.setInt32(at + INSN_SIZE + 4, reference.offset, le);
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
