// Reading and patching instruction slots in place.
//
// The loader rewrites relocations on a copy of a program's bytes: it sets the imm of an
// ld_imm64 to a map fd and its src_reg to BPF_PSEUDO_MAP_FD, the imm of a call to the
// distance to its callee, the off of a load to a CO-RE field offset. SlotView does those
// edits without decoding the whole program, honouring the object's byte order (see the slot
// layout in opcodes.ts: big-endian objects keep dst_reg in the high nibble).

import { ElfError } from "../common/errors.js";
import { BPF_LD_IMM64, INSN_SIZE } from "./opcodes.js";
import type { ByteOrigin, SlotFields } from "./instruction.js";

export class SlotView {
  readonly bytes: Uint8Array;
  readonly littleEndian: boolean;
  private readonly view: DataView;
  private readonly origin: ByteOrigin;

  /** `bytes` must be a whole number of slots; it is edited in place, so pass a copy to keep the original. */
  constructor(bytes: Uint8Array, littleEndian: boolean, origin: ByteOrigin = {}) {
    if (bytes.byteLength % INSN_SIZE !== 0) {
      throw new ElfError(`instructions take ${bytes.byteLength} bytes, which is not a whole number of ${INSN_SIZE}-byte slots`, {
        offset: (origin.offset ?? 0) + bytes.byteLength - (bytes.byteLength % INSN_SIZE),
        section: origin.section,
      });
    }
    this.bytes = bytes;
    this.littleEndian = littleEndian;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.origin = origin;
  }

  /** Number of 8-byte slots. */
  get count(): number {
    return this.bytes.byteLength / INSN_SIZE;
  }

  opcode(slot: number): number {
    return this.bytes[this.at(slot)];
  }

  dst(slot: number): number {
    const regs = this.bytes[this.at(slot) + 1];
    return this.littleEndian ? regs & 0x0f : regs >>> 4;
  }

  src(slot: number): number {
    const regs = this.bytes[this.at(slot) + 1];
    return this.littleEndian ? regs >>> 4 : regs & 0x0f;
  }

  off(slot: number): number {
    return this.view.getInt16(this.at(slot) + 2, this.littleEndian);
  }

  imm(slot: number): number {
    return this.view.getInt32(this.at(slot) + 4, this.littleEndian);
  }

  fields(slot: number): SlotFields {
    return { opcode: this.opcode(slot), dst: this.dst(slot), src: this.src(slot), off: this.off(slot), imm: this.imm(slot) };
  }

  setOpcode(slot: number, opcode: number): void {
    this.bytes[this.at(slot)] = this.checked(opcode, 0, 0xff, "opcode", slot);
  }

  setDst(slot: number, reg: number): void {
    const at = this.at(slot) + 1;
    this.checked(reg, 0, 15, "dst register", slot);
    const regs = this.bytes[at];
    this.bytes[at] = this.littleEndian ? (regs & 0xf0) | reg : (regs & 0x0f) | (reg << 4);
  }

  setSrc(slot: number, reg: number): void {
    const at = this.at(slot) + 1;
    this.checked(reg, 0, 15, "src register", slot);
    const regs = this.bytes[at];
    this.bytes[at] = this.littleEndian ? (regs & 0x0f) | (reg << 4) : (regs & 0xf0) | reg;
  }

  /** Accepts the signed (-32768..32767) or unsigned (0..65535) spelling. */
  setOff(slot: number, off: number): void {
    this.view.setInt16(this.at(slot) + 2, this.checked(off, -0x8000, 0xffff, "off", slot), this.littleEndian);
  }

  /** Accepts the signed or the unsigned 32-bit spelling. */
  setImm(slot: number, imm: number): void {
    this.view.setInt32(this.at(slot) + 4, this.checked(imm, -0x80000000, 0xffffffff, "imm", slot), this.littleEndian);
  }

  /** The 64-bit constant of the ld_imm64 starting at `slot`, signed. */
  imm64(slot: number): bigint {
    this.requireLdImm64(slot);
    const low = BigInt(this.imm(slot) >>> 0);
    const high = BigInt(this.imm(slot + 1));
    return BigInt.asIntN(64, (high << 32n) | low);
  }

  /** Sets both halves of the ld_imm64 starting at `slot` (any value that fits 64 bits, signed or not). */
  setImm64(slot: number, value: bigint): void {
    this.requireLdImm64(slot);
    if (value < -(1n << 63n) || value >= 1n << 64n) {
      throw this.error(`64-bit immediate ${value} does not fit 64 bits`, slot);
    }
    const bits = BigInt.asUintN(64, value);
    this.setImm(slot, Number(bits & 0xffffffffn));
    this.setImm(slot + 1, Number(bits >> 32n));
  }

  private requireLdImm64(slot: number): void {
    if (this.opcode(slot) !== BPF_LD_IMM64) {
      throw this.error(`instruction ${slot} has opcode 0x${this.opcode(slot).toString(16)}, not ld_imm64 (0x18)`, slot);
    }
    if (slot + 1 >= this.count) throw this.error(`ld_imm64 at instruction ${slot} is cut off: its second slot is missing`, slot);
  }

  private at(slot: number): number {
    if (!(Number.isInteger(slot) && slot >= 0 && slot < this.count)) {
      throw this.error(`instruction ${slot} is outside the program's ${this.count} slots`, Number.isFinite(slot) ? Math.max(0, Math.min(slot, this.count)) : 0);
    }
    return slot * INSN_SIZE;
  }

  private checked(value: number, min: number, max: number, what: string, slot: number): number {
    if (!(Number.isInteger(value) && value >= min && value <= max)) {
      throw this.error(`${what} ${value} for instruction ${slot} does not fit its field (${min}..${max})`, slot);
    }
    return value;
  }

  private error(message: string, slot: number): ElfError {
    return new ElfError(message, { offset: (this.origin.offset ?? 0) + slot * INSN_SIZE, section: this.origin.section });
  }
}

