// The instruction model: raw 8-byte slots (the source of truth, what the kernel gets) and a
// logical view in which ld_imm64 is one instruction covering two slots.
//
// A slot is struct bpf_insn (linux/bpf.h):
//
//   struct bpf_insn {
//     __u8  code;          /* opcode */
//     __u8  dst_reg:4;     /* dest register */
//     __u8  src_reg:4;     /* source register */
//     __s16 off;           /* signed offset */
//     __s32 imm;           /* signed immediate constant */
//   };
//
// The bitfields follow the byte order of the object: in a little-endian object dst_reg is the
// low nibble of byte 1, in a big-endian one the high nibble. off and imm are in the object's
// byte order too. ld_imm64 (opcode 0x18) is followed by a slot whose imm is the upper half of
// the 64-bit constant; the kernel requires that slot's other fields to be zero, but we keep
// whatever is there so that encoding a decoded program gives back the same bytes.
//
// Slot indices are what relocations speak in (r_offset / 8), so every Instruction records the
// index of its first slot; the logical index (position in the decoded array) differs from it
// after the first ld_imm64.

import { ElfError, SpecError } from "../common/errors.js";
import {
  BPF_CALL,
  BPF_EXIT,
  BPF_HELPER_CALL,
  BPF_JA,
  BPF_JCOND,
  BPF_JMP,
  BPF_JMP32,
  BPF_LD_IMM64,
  BPF_PSEUDO_CALL,
  BPF_PSEUDO_FUNC,
  BPF_PSEUDO_KFUNC_CALL,
  INSN_SIZE,
  opClass,
  opCode,
} from "./opcodes.js";

/** The five raw fields of one slot. off and imm are signed, as in struct bpf_insn. */
export interface SlotFields {
  readonly opcode: number;
  readonly dst: number;
  readonly src: number;
  readonly off: number;
  readonly imm: number;
}

/** One logical instruction: a slot, or two slots for ld_imm64. */
export class Instruction implements SlotFields {
  constructor(
    readonly opcode: number,
    readonly dst: number,
    readonly src: number,
    /** Signed 16-bit offset. */
    readonly off: number,
    /** Signed 32-bit immediate; for ld_imm64 the low half of the constant. */
    readonly imm: number,
    /** Index of the first slot within the decoded bytes (byte offset / 8). */
    readonly slot = 0,
    /** ld_imm64 only: the raw fields of the second slot (its imm is the high half of the constant). */
    readonly second: SlotFields | undefined = undefined,
  ) {}

  /**
   * Builds an instruction from named fields; omitted fields are zero. `off` and `imm` may be
   * spelled unsigned (0xffff for -1), as the encoder accepts them: they are kept signed, as
   * decoding gives them, so that the text and jump targets agree with the bytes.
   */
  static of(fields: Partial<SlotFields> & { opcode: number; slot?: number; second?: SlotFields }): Instruction {
    const { opcode, dst = 0, src = 0, slot = 0 } = fields;
    const off = asSigned(fields.off ?? 0, 16);
    const imm = asSigned(fields.imm ?? 0, 32);
    const second = fields.second && { ...fields.second, off: asSigned(fields.second.off, 16), imm: asSigned(fields.second.imm, 32) };
    if (opcode === BPF_LD_IMM64 && second === undefined) {
      return new Instruction(opcode, dst, src, off, imm, slot, ZERO_SLOT);
    }
    return new Instruction(opcode, dst, src, off, imm, slot, second);
  }

  /** ld_imm64: dst = value, with `src` the pseudo source (0 for a plain constant, BPF_PSEUDO_MAP_FD, ...). */
  static ldImm64(dst: number, value: bigint, src = 0, slot = 0): Instruction {
    if (value < -(1n << 63n) || value >= 1n << 64n) {
      throw new SpecError(`64-bit immediate ${value} does not fit 64 bits`, { part: `instruction ${slot}` });
    }
    const bits = BigInt.asUintN(64, value);
    const low = Number(BigInt.asIntN(32, bits));
    const high = Number(BigInt.asIntN(32, bits >> 32n));
    return new Instruction(BPF_LD_IMM64, dst, src, 0, low, slot, { opcode: 0, dst: 0, src: 0, off: 0, imm: high });
  }

  /** Number of slots: 2 for ld_imm64, 1 otherwise. */
  get width(): 1 | 2 {
    return this.second === undefined ? 1 : 2;
  }

  get isLdImm64(): boolean {
    return this.opcode === BPF_LD_IMM64;
  }

  /** The 64-bit constant of an ld_imm64 as a signed bigint; for other instructions imm sign-extended. */
  get imm64(): bigint {
    if (this.second === undefined) return BigInt(this.imm);
    return BigInt.asIntN(64, (BigInt(this.second.imm) << 32n) | BigInt(this.imm >>> 0));
  }

  /** Any BPF_CALL: helper, bpf-to-bpf or kfunc. */
  get isCall(): boolean {
    return this.opcode === (BPF_JMP | BPF_CALL);
  }

  /** A call to a helper function; imm is its id (see helpers.ts). */
  get isHelperCall(): boolean {
    return this.isCall && this.src === BPF_HELPER_CALL;
  }

  /** A bpf-to-bpf call; imm is the distance in slots from the next slot to the callee. */
  get isPseudoCall(): boolean {
    return this.isCall && this.src === BPF_PSEUDO_CALL;
  }

  /** A call to a kernel function; imm is its BTF id. */
  get isKfuncCall(): boolean {
    return this.isCall && this.src === BPF_PSEUDO_KFUNC_CALL;
  }

  get isExit(): boolean {
    return this.opcode === (BPF_JMP | BPF_EXIT);
  }

  /** A jump with a relative target (conditional, goto, gotol, may_goto); not calls, exit or gotox. */
  get isJump(): boolean {
    const cls = opClass(this.opcode);
    if (cls !== BPF_JMP && cls !== BPF_JMP32) return false;
    const op = opCode(this.opcode);
    if (op === BPF_CALL || op === BPF_EXIT) return false;
    // gotox (JA with the register source) jumps to an address held in a register.
    return !(op === BPF_JA && (this.opcode & 0x08) !== 0);
  }

  /**
   * The slot this instruction points at, for jumps, bpf-to-bpf calls and ld_imm64 of a
   * function address (BPF_PSEUDO_FUNC); undefined for everything else. Distances count from
   * the slot after the instruction's first slot.
   */
  get target(): number | undefined {
    if (this.isJump) {
      // gotol (JMP32 | JA) carries its 32-bit distance in imm; may_goto and the others in off.
      const distance = this.opcode === (BPF_JMP32 | BPF_JA) ? this.imm : this.off;
      return this.slot + 1 + distance;
    }
    if (this.isPseudoCall) return this.slot + 1 + this.imm;
    if (this.isLdImm64 && this.src === BPF_PSEUDO_FUNC) return this.slot + 1 + this.imm;
    return undefined;
  }

  /** True for may_goto (JMP | JCOND): kept apart because its condition is the kernel's loop budget. */
  get isMayGoto(): boolean {
    return this.opcode === (BPF_JMP | BPF_JCOND);
  }
}

const ZERO_SLOT: SlotFields = Object.freeze({ opcode: 0, dst: 0, src: 0, off: 0, imm: 0 });

/** Where the bytes came from, so that errors name the section and the absolute file offset. */
export interface ByteOrigin {
  /** Section name, for error messages. */
  section?: string;
  /** Offset of the first byte within the file (or section), added to offsets in errors. */
  offset?: number;
}

/**
 * Decodes a program's bytes (a multiple of 8) into logical instructions. Throws ElfError when
 * the length is not a whole number of slots or the last ld_imm64 lacks its second slot.
 */
export function decodeInstructions(bytes: Uint8Array, littleEndian: boolean, origin: ByteOrigin = {}): Instruction[] {
  const length = bytes.byteLength;
  const base = origin.offset ?? 0;
  if (length % INSN_SIZE !== 0) {
    throw new ElfError(`instructions take ${length} bytes, which is not a whole number of ${INSN_SIZE}-byte slots`, {
      offset: base + length - (length % INSN_SIZE),
      section: origin.section,
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, length);
  const count = length / INSN_SIZE;
  const out: Instruction[] = [];
  for (let slot = 0; slot < count; slot++) {
    const at = slot * INSN_SIZE;
    const opcode = bytes[at];
    const regs = bytes[at + 1];
    const dst = littleEndian ? regs & 0x0f : regs >>> 4;
    const src = littleEndian ? regs >>> 4 : regs & 0x0f;
    const off = view.getInt16(at + 2, littleEndian);
    const imm = view.getInt32(at + 4, littleEndian);
    if (opcode !== BPF_LD_IMM64) {
      out.push(new Instruction(opcode, dst, src, off, imm, slot));
      continue;
    }
    if (slot + 1 >= count) {
      throw new ElfError(`ld_imm64 at instruction ${slot} is cut off: its second 8-byte slot is missing`, {
        offset: base + at,
        section: origin.section,
      });
    }
    out.push(new Instruction(opcode, dst, src, off, imm, slot, readSlot(bytes, view, slot + 1, littleEndian)));
    slot++;
  }
  return out;
}

/**
 * Encodes instructions back to bytes, slot after slot (each instruction's `slot` is not
 * consulted). Throws SpecError when a field does not fit (a register above 15, say).
 */
export function encodeInstructions(insns: readonly Instruction[], littleEndian: boolean): Uint8Array {
  let slots = 0;
  for (const insn of insns) slots += insn.width;
  const bytes = new Uint8Array(slots * INSN_SIZE);
  const view = new DataView(bytes.buffer);
  let slot = 0;
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i];
    writeSlot(bytes, view, slot++, insn, littleEndian, i);
    if (insn.second !== undefined) writeSlot(bytes, view, slot++, insn.second, littleEndian, i);
  }
  return bytes;
}

function readSlot(bytes: Uint8Array, view: DataView, slot: number, littleEndian: boolean): SlotFields {
  const at = slot * INSN_SIZE;
  const regs = bytes[at + 1];
  return {
    opcode: bytes[at],
    dst: littleEndian ? regs & 0x0f : regs >>> 4,
    src: littleEndian ? regs >>> 4 : regs & 0x0f,
    off: view.getInt16(at + 2, littleEndian),
    imm: view.getInt32(at + 4, littleEndian),
  };
}

function writeSlot(bytes: Uint8Array, view: DataView, slot: number, fields: SlotFields, littleEndian: boolean, index: number): void {
  checkField(fields.opcode, 0, 0xff, "opcode", index);
  checkField(fields.dst, 0, 15, "dst register", index);
  checkField(fields.src, 0, 15, "src register", index);
  checkField(fields.off, -0x8000, 0xffff, "off", index);
  checkField(fields.imm, -0x80000000, 0xffffffff, "imm", index);
  const at = slot * INSN_SIZE;
  bytes[at] = fields.opcode;
  bytes[at + 1] = littleEndian ? (fields.src << 4) | fields.dst : (fields.dst << 4) | fields.src;
  // setInt16/setInt32 wrap, so both the signed and the unsigned spelling of a value encode alike.
  view.setInt16(at + 2, fields.off, littleEndian);
  view.setInt32(at + 4, fields.imm, littleEndian);
}

/**
 * `value` as a signed integer of `bits` bits when it is that integer's unsigned spelling
 * (2^bits / 2 to 2^bits - 1); any other value as it is (the encoder refuses what does not fit).
 */
function asSigned(value: number, bits: 16 | 32): number {
  const range = 2 ** bits;
  return Number.isInteger(value) && value >= range / 2 && value < range ? value - range : value;
}

function checkField(value: number, min: number, max: number, what: string, index: number): void {
  if (!(Number.isInteger(value) && value >= min && value <= max)) {
    throw new SpecError(`${what} ${value} does not fit its field (${min}..${max})`, { part: `instruction ${index}` });
  }
}
