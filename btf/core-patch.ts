// CO-RE patching: writing a relocation's target value into its instruction.
//
// The compiler emits the local value in one of these forms, and the value goes back there:
//
//   ALU / ALU64 with an immediate   r1 = 20, r1 += 20, r1 <<= 48      imm  (32 bits)
//   LDX / ST / STX                  r1 = *(u32 *)(r2 + 20)             off  (16 bits, signed)
//   ld_imm64                        r1 = 0x100000000 ll                both imm halves (64 bits)
//
// Before writing, the instruction must hold the local value (the compiler put it there;
// anything else means the record and the code disagree), unless the value is one that may
// legitimately differ: a type id, a bitfield's word offset.
//
// A load or store of a field whose size differs in the target is resized (a u32 that
// became a u64 is read with a 64-bit load) only when both are unsigned ints or pointers:
// zero extension keeps the value. A signed or other field would be read wrong: poisoned.
//
// Poisoning (when the target has no answer) replaces the instruction by a call to helper
// 0xbad2310 ("bad relo"), the same one libbpf writes, so a program guarded with
// bpf_core_field_exists() loads as long as the verifier sees the call is unreachable, and
// fails with "invalid func unknown#195896080" at that instruction if it is not. Both slots of
// an ld_imm64 get the call, so the verifier never sees an opcode-0 second half on its own.

import {
  BPF_CALL,
  BPF_JMP,
  BPF_K,
  BPF_LD,
  BPF_LD_IMM64,
  BPF_LDX,
  BPF_ALU,
  BPF_ALU64,
  BPF_ST,
  BPF_STX,
  BPF_B,
  BPF_H,
  BPF_W,
  BPF_DW,
  opClass,
  opMode,
  opSize,
  opSource,
  sizeBytes,
} from "../insn/opcodes.js";
import type { SlotView } from "../insn/slots.js";
import type { CoreDecision } from "./core-calc.js";

/** The helper id a poisoned instruction calls: 0xbad2310, "bad relo" (libbpf's choice, kept for its log messages). */
export const CORE_POISON_HELPER = 0xbad2310;

export type PatchOutcome =
  | { readonly status: "patched"; readonly note?: string }
  | { readonly status: "poisoned"; readonly reason: string }
  | { readonly status: "failed"; readonly reason: string };

/** Writes `decision` into the instruction at `slot` of `view` (edited in place). */
export function patchInstruction(view: SlotView, slot: number, decision: CoreDecision): PatchOutcome {
  if (decision.poison) {
    poison(view, slot);
    return { status: "poisoned", reason: decision.poisonReason ?? "the relocation has no value for the target" };
  }
  const opcode = view.opcode(slot);
  switch (opClass(opcode)) {
    case BPF_ALU:
    case BPF_ALU64:
      return patchImmediate(view, slot, decision);
    case BPF_LDX:
    case BPF_ST:
    case BPF_STX:
      return patchMemoryOffset(view, slot, decision);
    case BPF_LD:
      return patchLdImm64(view, slot, decision);
    default:
      return failed(`instruction ${slot} (opcode 0x${opcode.toString(16)}) is not a form CO-RE relocates (ALU immediate, load/store, ld_imm64)`);
  }
}

/** Replaces the instruction (both slots of an ld_imm64) with `call 0xbad2310`. */
export function poison(view: SlotView, slot: number): void {
  if (view.opcode(slot) === BPF_LD_IMM64 && slot + 1 < view.count) poisonSlot(view, slot + 1);
  poisonSlot(view, slot);
}

function poisonSlot(view: SlotView, slot: number): void {
  view.setOpcode(slot, BPF_JMP | BPF_CALL);
  view.setDst(slot, 0);
  view.setSrc(slot, 0);
  view.setOff(slot, 0);
  view.setImm(slot, CORE_POISON_HELPER);
}

const failed = (reason: string): PatchOutcome => ({ status: "failed", reason });

function unexpected(slot: number, what: string, found: bigint | number, expected: bigint): PatchOutcome {
  return failed(`instruction ${slot} holds ${what} ${found}, but the local BTF says the compiler wrote ${expected}: the CO-RE record does not describe this instruction`);
}

/**
 * True when v fits a 32-bit immediate: read as unsigned 32 bits, or as signed 32 bits that
 * an ALU64 operation sign-extends (the u64 0xffffffffffffff80 is the imm -128).
 */
function fits32(v: bigint): boolean {
  const signed = BigInt.asIntN(64, v);
  return signed >= -(1n << 31n) && signed < 1n << 32n;
}

function patchImmediate(view: SlotView, slot: number, decision: CoreDecision): PatchOutcome {
  if (opSource(view.opcode(slot)) !== BPF_K) return failed(`instruction ${slot} is an ALU operation on a register, not an immediate`);
  const imm = view.imm(slot);
  // imm is 32 bits: compare those (a u32 value 0xffffffff and the s32 -1 are the same bits).
  if (decision.validate && !(fits32(decision.localValue) && BigInt.asUintN(32, decision.localValue) === BigInt(imm >>> 0))) {
    return unexpected(slot, "immediate", imm, decision.localValue);
  }
  if (!fits32(decision.targetValue)) return failed(`the value ${decision.targetValue} does not fit the 32-bit immediate of instruction ${slot}`);
  view.setImm(slot, Number(BigInt.asIntN(32, decision.targetValue)));
  return { status: "patched" };
}

function patchMemoryOffset(view: SlotView, slot: number, decision: CoreDecision): PatchOutcome {
  const off = view.off(slot);
  if (decision.validate && BigInt(off) !== decision.localValue) return unexpected(slot, "offset", off, decision.localValue);
  if (decision.targetValue > 0x7fffn || decision.targetValue < 0n) return failed(`offset ${decision.targetValue} does not fit the 16-bit offset of instruction ${slot}`);
  if (decision.sizeMismatch) {
    poison(view, slot);
    return {
      status: "poisoned",
      reason: `the field is ${decision.localSize} bytes locally but ${decision.targetSize} in the target, and only unsigned ints and pointers can be loaded or stored with another size`,
    };
  }
  const opcode = view.opcode(slot);
  let note: string | undefined;
  if (decision.targetSize !== decision.localSize) {
    const width = sizeBytes(opSize(opcode));
    if (width !== decision.localSize) return failed(`instruction ${slot} moves ${width} bytes, but the field it accesses is ${decision.localSize} bytes`);
    const size = SIZE_CODES.get(decision.targetSize);
    if (size === undefined) return failed(`the target field is ${decision.targetSize} bytes, which no load or store moves`);
    view.setOpcode(slot, opMode(opcode) | size | opClass(opcode));
    note = `access resized from ${width} to ${decision.targetSize} bytes`;
  }
  view.setOff(slot, Number(decision.targetValue));
  return note === undefined ? { status: "patched" } : { status: "patched", note };
}

const SIZE_CODES = new Map([
  [1, BPF_B],
  [2, BPF_H],
  [4, BPF_W],
  [8, BPF_DW],
]);

function patchLdImm64(view: SlotView, slot: number, decision: CoreDecision): PatchOutcome {
  // A plain constant: src_reg 0 (not a map fd or a BTF id), and a second slot that is all zero but imm.
  const plain =
    view.opcode(slot) === BPF_LD_IMM64 &&
    slot + 1 < view.count &&
    view.src(slot) === 0 &&
    view.off(slot) === 0 &&
    view.opcode(slot + 1) === 0 &&
    view.dst(slot + 1) === 0 &&
    view.src(slot + 1) === 0 &&
    view.off(slot + 1) === 0;
  if (!plain) return failed(`instruction ${slot} is not an ld_imm64 of a plain constant`);
  const current = view.imm64(slot);
  if (decision.validate && BigInt.asUintN(64, current) !== BigInt.asUintN(64, decision.localValue)) {
    return unexpected(slot, "constant", current, decision.localValue);
  }
  view.setImm64(slot, BigInt.asUintN(64, decision.targetValue));
  return { status: "patched" };
}
