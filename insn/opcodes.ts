// BPF opcode constants, from linux/bpf_common.h and linux/bpf.h (UAPI). The few that are newer
// than the 6.1 headers installed here (MEMSX, JCOND, LOAD_ACQ, ...) follow the kernel's
// instruction set document (Documentation/bpf/standardization/instruction-set.rst).
//
// An instruction is one 8-byte slot (struct bpf_insn), or two for ld_imm64:
//
//   byte     0           1            2 .. 3          4 .. 7
//        +--------+-------------+-------------+-----------------+
//        | opcode | dst  | src  |  off (s16)  |    imm (s32)    |
//        +--------+-------------+-------------+-----------------+
//   bits      8      4      4         16               32
//
//   The register byte: in a little-endian object dst_reg is the LOW nibble and src_reg the
//   high one; a big-endian object swaps them (dst_reg is the HIGH nibble).
//   off and imm are stored in the object's byte order.
//
// The opcode byte has one of two layouts; the low 3 bits are always the class:
//
//   ALU, ALU64, JMP, JMP32 (arithmetic and jumps):
//     7   6   5   4   3        2   1   0
//   +---------------+--------+-----------+
//   |   operation   | source |   class   |     source: BPF_K (imm) or BPF_X (src_reg)
//   +---------------+--------+-----------+
//
//   LD, LDX, ST, STX (loads and stores):
//     7   6   5   4   3   2   1   0
//   +-----------+-------+-----------+
//   |   mode    | size  |   class   |         size: W, H, B, DW; mode: IMM, ABS, IND, MEM, MEMSX, ATOMIC
//   +-----------+-------+-----------+
//
// ld_imm64 (BPF_LD | BPF_IMM | BPF_DW = 0x18) is the only 16-byte instruction: the second slot
// has opcode 0, its imm holds the upper 32 bits of the constant, and the src_reg of the first
// slot says what the constant means (a plain number, a map fd, a map value address, ...).

// ---- classes (opcode & 0x07) ----
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
/** Jumps comparing the low 32 bits of the registers (kernel 5.1). */
export const BPF_JMP32 = 0x06;
export const BPF_ALU64 = 0x07;

// ---- sizes (opcode & 0x18), for loads and stores ----
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;
export const BPF_DW = 0x18;

// ---- modes (opcode & 0xe0), for loads and stores ----
export const BPF_IMM = 0x00;
/** Legacy packet access, classic-BPF style: r0 = *(size *)skb[imm]. */
export const BPF_ABS = 0x20;
/** Legacy packet access: r0 = *(size *)skb[src_reg + imm]. */
export const BPF_IND = 0x40;
export const BPF_MEM = 0x60;
/** Sign-extending load (LDX only, kernel 6.6). */
export const BPF_MEMSX = 0x80;
/** Atomic read-modify-write (STX only); the operation is in imm. Was BPF_XADD before 5.12. */
export const BPF_ATOMIC = 0xc0;

// ---- source (opcode & 0x08), for ALU and JMP classes ----
export const BPF_K = 0x00;
export const BPF_X = 0x08;

// ---- ALU operations (opcode & 0xf0) ----
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
/** Unsigned division; off = 1 makes it signed (sdiv, kernel 6.6). */
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
/** Unsigned modulo; off = 1 makes it signed (smod, kernel 6.6). */
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;
/** Move; with BPF_X, off = 8, 16 or 32 sign-extends (movsx, kernel 6.6). */
export const BPF_MOV = 0xb0;
export const BPF_ARSH = 0xc0;
/** Byte swap; imm is the width (16, 32 or 64). In ALU the source bit picks to-LE or to-BE; in ALU64 it is an unconditional bswap (kernel 6.6). */
export const BPF_END = 0xd0;

/** BPF_END in class ALU: convert to little-endian (source bit clear). */
export const BPF_TO_LE = 0x00;
/** BPF_END in class ALU: convert to big-endian (source bit set). */
export const BPF_TO_BE = 0x08;

/** off value that turns BPF_DIV / BPF_MOD into their signed forms. */
export const BPF_SIGNED_OFF = 1;
/** off value of ALU64 BPF_MOV | BPF_X that makes it an address space cast (arena, kernel 6.9). imm = dst_as << 16 | src_as. */
export const BPF_ADDR_SPACE_CAST = 1;

// ---- jump operations (opcode & 0xf0) ----
/** Unconditional jump. In JMP, off is the distance; in JMP32 ("gotol", kernel 6.6) imm is. */
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;
export const BPF_JNE = 0x50;
export const BPF_JSGT = 0x60;
export const BPF_JSGE = 0x70;
export const BPF_CALL = 0x80;
export const BPF_EXIT = 0x90;
export const BPF_JLT = 0xa0;
export const BPF_JLE = 0xb0;
export const BPF_JSLT = 0xc0;
export const BPF_JSLE = 0xd0;
/** Conditional pseudo-jump; src_reg = BPF_MAY_GOTO is the only kind (kernel 6.9). */
export const BPF_JCOND = 0xe0;
/** src_reg of a BPF_JCOND: "may_goto", a jump the kernel takes once a loop budget runs out. */
export const BPF_MAY_GOTO = 0;

// ---- atomic operations (imm of BPF_STX | BPF_ATOMIC) ----
// The low nibble carries BPF_FETCH; bits 4-7 pick the operation (the ALU op codes for add,
// and, or, xor). Load-acquire and store-release (kernel 6.15) use bit 8.
export const BPF_FETCH = 0x01;
/** Atomic exchange: src_reg = xchg(*(dst_reg + off), src_reg). */
export const BPF_XCHG = 0xe0 | BPF_FETCH;
/** Compare and exchange: r0 = cmpxchg(*(dst_reg + off), r0, src_reg). */
export const BPF_CMPXCHG = 0xf0 | BPF_FETCH;
/** dst_reg = load_acquire(*(src_reg + off)) (kernel 6.15). */
export const BPF_LOAD_ACQ = 0x100;
/** store_release(*(dst_reg + off), src_reg) (kernel 6.15). */
export const BPF_STORE_REL = 0x110;

// ---- ld_imm64 src_reg: what the 64-bit constant means ----
/** imm is a map file descriptor. */
export const BPF_PSEUDO_MAP_FD = 1;
/** imm is a map fd, the second slot's imm an offset into its value (global data, kernel 5.2). */
export const BPF_PSEUDO_MAP_VALUE = 2;
/** imm is a BTF id of a kernel variable (ksym, kernel 5.10). */
export const BPF_PSEUDO_BTF_ID = 3;
/** imm is the instruction distance to a subprogram; the register gets its address (kernel 5.13). */
export const BPF_PSEUDO_FUNC = 4;
/** imm is an index into the fd_array passed at load time (kernel 5.14). */
export const BPF_PSEUDO_MAP_IDX = 5;
/** Like BPF_PSEUDO_MAP_VALUE, with the map given by its fd_array index (kernel 5.14). */
export const BPF_PSEUDO_MAP_IDX_VALUE = 6;

// ---- call src_reg: what imm of a BPF_CALL names ----
/** imm is a helper function id (bpf_func_id). */
export const BPF_HELPER_CALL = 0;
/** imm is the instruction distance to a BPF subprogram (bpf-to-bpf call, kernel 4.16). */
export const BPF_PSEUDO_CALL = 1;
/** imm is the BTF id of a kernel function (kfunc, kernel 5.13); off selects a module BTF. */
export const BPF_PSEUDO_KFUNC_CALL = 2;

/** The ld_imm64 opcode: BPF_LD | BPF_IMM | BPF_DW. */
export const BPF_LD_IMM64 = BPF_LD | BPF_IMM | BPF_DW;

/** Bytes per instruction slot. */
export const INSN_SIZE = 8;

// ---- field extraction from an opcode byte ----
export const opClass = (opcode: number): number => opcode & 0x07;
export const opSize = (opcode: number): number => opcode & 0x18;
export const opMode = (opcode: number): number => opcode & 0xe0;
export const opSource = (opcode: number): number => opcode & 0x08;
/** The ALU or JMP operation (high nibble). */
export const opCode = (opcode: number): number => opcode & 0xf0;

/** Access width in bytes for a BPF_W / BPF_H / BPF_B / BPF_DW size. */
export function sizeBytes(size: number): number {
  switch (size) {
    case BPF_W:
      return 4;
    case BPF_H:
      return 2;
    case BPF_B:
      return 1;
    default:
      return 8;
  }
}
