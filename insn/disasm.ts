// A disassembler whose text is llvm-objdump's: for every instruction LLVM 14 knows,
// formatInstruction prints exactly what `llvm-objdump -d --no-show-raw-insn` prints after the
// "<index>:\t" column (test/disasm.test.ts compares the two on every object we can find).
// For instructions LLVM 14 cannot decode (it prints "<unknown>") we print the syntax of the
// later LLVM releases that can (BPFInstrInfo.td), keeping LLVM 14's decimal numbers:
//
//   r1 %= r2   w1 %= 5             modulo (LLVM 14 never emitted it)
//   r1 s/= r2   r1 s%= 5           signed division and modulo, off = 1         kernel 6.6
//   r1 = (s8)r2   w1 = (s16)w2     sign-extending move, off = 8, 16, 32         kernel 6.6
//   r1 = *(s32 *)(r2 + 4)          sign-extending load (BPF_MEMSX)             kernel 6.6
//   r1 = bswap16 r1                unconditional byte swap (ALU64 | BPF_END)    kernel 6.6
//   gotol +70000                   jump with a 32-bit distance (JMP32 | BPF_JA) kernel 6.6
//   *(u32 *)(r10 - 4) = 5          store of an immediate (BPF_ST | BPF_MEM)
//   if r1 & 4 goto +2              BPF_JSET
//   may_goto +3                    JMP | BPF_JCOND                              kernel 6.9
//   r1 = addr_space_cast(r2, 0, 1) ALU64 MOV | X with off = 1 (arena)           kernel 6.9
//   w1 = load_acquire((u8 *)(r2 + 0))   store_release((u64 *)(r1 + 0), r2)     kernel 6.15
//   gotox r1                       indirect jump (JMP | BPF_JA | BPF_X)
//
// 32-bit atomics other than add (and, or, xor, and every fetch, xchg and cmpxchg form) are
// decoded by LLVM 14 only with --mattr=+alu32; we print that text, with w registers:
//   lock *(u32 *)(r1 + 0) &= w2    w2 = atomic_fetch_or((u32 *)(r1 + 0), w2)
//   w2 = xchg32_32(r1 + 0, w2)     w0 = cmpxchg32_32(r1 + 0, w0, w2)
//
// Deliberate differences from LLVM 14: a 32-bit atomic add with BPF_FETCH set is printed as
// the fetch-add it is (LLVM 14 without +alu32 ignores the fetch bit: "lock ... += r2"); a
// legacy BPF_IND load with a non-zero imm shows it ("skb[r2 + 4]"; LLVM drops the imm); callx
// names the register in dst, as LLVM 19 and later do (LLVM 14 read it from imm).
//
// Jump targets: llvm-objdump appends " <SYMBOL>" or " <SYMBOL+0xHEX>" after a jump's target,
// naming the nearest symbol at or before it. disassemble() does the same when given the
// section's symbols; without them it prints the bare "+3".
//
// Symbolic mode (for the loader and the CLI): an annotation per instruction replaces raw
// immediates with names, and helper calls are named after their helper:
//
//   r1 = map[stats] ll             ld_imm64 of a map (BPF_PSEUDO_MAP_FD / _IDX or its relocation)
//   r1 = map_value[.rodata+8] ll   ld_imm64 of an address inside a map's value (global data)
//   r1 = ksym[bpf_prog_active] ll  ld_imm64 of a kernel variable (BPF_PSEUDO_BTF_ID)
//   r1 = func[callback] ll         ld_imm64 of a subprogram's address (BPF_PSEUDO_FUNC)
//   call parse_ip                  bpf-to-bpf call or kfunc call
//   call bpf_map_lookup_elem       helper call (symbolic mode only)
//   r1 = *(u32 *)(r2 + 4) ; task_struct.pid     an annotation's comment

import {
  BPF_ABS,
  BPF_ADDR_SPACE_CAST,
  BPF_ALU,
  BPF_ALU64,
  BPF_ATOMIC,
  BPF_CALL,
  BPF_CMPXCHG,
  BPF_DIV,
  BPF_DW,
  BPF_END,
  BPF_EXIT,
  BPF_FETCH,
  BPF_IMM,
  BPF_IND,
  BPF_JA,
  BPF_JCOND,
  BPF_JMP,
  BPF_JMP32,
  BPF_LD,
  BPF_LDX,
  BPF_LOAD_ACQ,
  BPF_MAY_GOTO,
  BPF_MEM,
  BPF_MEMSX,
  BPF_MOD,
  BPF_MOV,
  BPF_NEG,
  BPF_SIGNED_OFF,
  BPF_ST,
  BPF_STORE_REL,
  BPF_W,
  BPF_X,
  BPF_XCHG,
  BPF_ADD,
  INSN_SIZE,
  opClass,
  opCode,
  opMode,
  opSize,
  opSource,
} from "./opcodes.js";
import { helperName } from "./helpers.js";
import type { Instruction } from "./instruction.js";

/** What an instruction refers to, as the loader knows it from relocations. */
export type SymbolRef =
  | { kind: "map"; name: string }
  | { kind: "map_value"; name: string; offset: number }
  | { kind: "ksym"; name: string }
  | { kind: "func"; name: string };

export interface Annotation {
  /**
   * Replaces the raw immediate of an ld_imm64 (any kind) or the number of a call ("func" or
   * "ksym"); ignored on other instructions.
   */
  ref?: SymbolRef;
  /** Appended as " ; comment". */
  comment?: string;
}

export interface FormatOptions {
  /** Name helper calls ("call bpf_map_lookup_elem" rather than "call 1"). */
  helperNames?: boolean;
  annotation?: Annotation;
  /** Names a jump target given as a byte offset (may be negative); see symbolLabels(). */
  label?: (targetOffset: number) => string | undefined;
}

export interface DisassembleOptions {
  /** Symbolic mode: helper calls by name ("call bpf_map_lookup_elem"). */
  symbolic?: boolean;
  /** What the loader knows about an instruction (map it loads, function it calls, ...); applied whenever given. */
  annotate?: (insn: Instruction) => Annotation | undefined;
  /**
   * Symbols of the section the instructions were decoded from (byte offsets relative to
   * slot 0), for llvm-objdump's " <LBB0_2>" after jump targets. Pass the functions and local
   * labels; llvm-objdump leaves out section and file symbols.
   */
  symbols?: readonly { name: string; offset: number }[];
}

/** One line of text per logical instruction. */
export function disassemble(insns: readonly Instruction[], options: DisassembleOptions = {}): string[] {
  const label = options.symbols === undefined ? undefined : symbolLabels(options.symbols);
  const helperNames = options.symbolic === true;
  const annotate = options.annotate;
  const lines: string[] = new Array(insns.length);
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i];
    lines[i] = formatInstruction(insn, { helperNames, label, annotation: annotate?.(insn) });
  }
  return lines;
}

/** An objdump-style listing: "  <slot>:\t<text>" per instruction, joined by newlines. */
export function listing(insns: readonly Instruction[], options: DisassembleOptions = {}): string {
  const lines = disassemble(insns, options);
  return lines.map((text, i) => `${String(insns[i].slot).padStart(8)}:\t${text}`).join("\n");
}

/**
 * llvm-objdump's rule for naming an address: the last symbol at or before it, with
 * "+0xHEX" when it is not exactly there. objdump sorts symbols by address and then name, so
 * of several symbols at one address the name that sorts last wins. A negative target wraps
 * to a huge unsigned address, as it does in objdump.
 */
export function symbolLabels(symbols: readonly { name: string; offset: number }[]): (targetOffset: number) => string | undefined {
  const sorted = [...symbols].sort((a, b) => a.offset - b.offset || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return (target) => {
    if (sorted.length === 0) return undefined;
    if (target < 0) {
      const last = sorted[sorted.length - 1];
      return `${last.name}+0x${(BigInt.asUintN(64, BigInt(target)) - BigInt(last.offset)).toString(16)}`;
    }
    let low = 0;
    let high = sorted.length; // first index whose offset is > target
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (sorted[mid].offset <= target) low = mid + 1;
      else high = mid;
    }
    if (low === 0) return undefined;
    const symbol = sorted[low - 1];
    return symbol.offset === target ? symbol.name : `${symbol.name}+0x${(target - symbol.offset).toString(16)}`;
  };
}

/** The text of one instruction. */
export function formatInstruction(insn: Instruction, options: FormatOptions = {}): string {
  let text: string;
  try {
    text = formatOperation(insn, options);
  } catch (error) {
    if (error !== NO_SUCH_REGISTER) throw error;
    text = UNKNOWN;
  }
  const comment = options.annotation?.comment;
  return comment === undefined ? text : `${text} ; ${comment}`;
}

/** The instruction's text without the annotation's comment. */
function formatOperation(insn: Instruction, options: FormatOptions): string {
  switch (opClass(insn.opcode)) {
    case BPF_ALU:
      return formatAlu(insn, false);
    case BPF_ALU64:
      return formatAlu(insn, true);
    case BPF_JMP:
    case BPF_JMP32:
      return formatJump(insn, options);
    case BPF_LD:
      return formatLd(insn, options.annotation?.ref);
    case BPF_LDX:
      return formatLdx(insn);
    case BPF_ST:
      return opMode(insn.opcode) === BPF_MEM ? `*(${unsignedType(insn.opcode)} *)(${address(insn.dst, insn.off)}) = ${insn.imm}` : UNKNOWN;
    default: // BPF_STX, the last of the eight classes
      return formatStx(insn);
  }
}

const UNKNOWN = "<unknown>";

/** The registers LLVM's BPF disassembler knows: r0 to r10, and r11 (its internal auxiliary register). */
const LAST_REGISTER = 11;

/** Thrown by register() for a field naming no register, caught by formatInstruction. */
const NO_SUCH_REGISTER = Symbol("no such register");

/**
 * The name of register `n`, "r3" or "w3". A register field of 12 to 15 names no register:
 * the whole instruction is then `<unknown>`, as llvm-objdump prints it (register() throws,
 * formatInstruction catches).
 */
function register(n: number, prefix: "r" | "w" = "r"): string {
  if (n > LAST_REGISTER) throw NO_SUCH_REGISTER;
  return `${prefix}${n}`;
}

// Indexed by opCode(opcode) >> 4. Empty strings are operations with their own syntax or none.
const ALU_OPERATORS = ["+=", "-=", "*=", "/=", "|=", "&=", "<<=", ">>=", "", "%=", "^=", "", "s>>=", "", "", ""];
const JUMP_OPERATORS = ["", "==", ">", ">=", "&", "!=", "s>", "s>=", "", "", "<", "<=", "s<", "s<=", "", ""];

function formatAlu(insn: Instruction, is64: boolean): string {
  const r = is64 ? "r" : "w";
  const dst = register(insn.dst, r);
  const usesReg = opSource(insn.opcode) === BPF_X;
  // Made where it is used: NEG and END read no source (END's register bit picks the byte order).
  const operand = () => (usesReg ? register(insn.src, r) : String(insn.imm));
  const op = opCode(insn.opcode);
  switch (op) {
    case BPF_NEG:
      // NEG takes no source: with the register bit set it is no instruction.
      return usesReg ? UNKNOWN : `${dst} = -${dst}`;
    case BPF_END:
      return formatByteSwap(insn, is64);
    case BPF_MOV:
      if (usesReg && is64 && insn.off === BPF_ADDR_SPACE_CAST) {
        return `${dst} = addr_space_cast(${register(insn.src)}, ${insn.imm >>> 16}, ${insn.imm & 0xffff})`;
      }
      if (usesReg && (insn.off === 8 || insn.off === 16 || (is64 && insn.off === 32))) {
        return `${dst} = (s${insn.off})${operand()}`;
      }
      return `${dst} = ${operand()}`;
    case BPF_DIV:
    case BPF_MOD:
      if (insn.off === BPF_SIGNED_OFF) return `${dst} s${ALU_OPERATORS[op >> 4]} ${operand()}`;
      return `${dst} ${ALU_OPERATORS[op >> 4]} ${operand()}`;
    default: {
      const operator = ALU_OPERATORS[op >> 4];
      return operator === "" ? UNKNOWN : `${dst} ${operator} ${operand()}`;
    }
  }
}

/** BPF_END: in ALU "le16"/"be16" by the source bit; in ALU64 (kernel 6.6) an unconditional "bswap16". */
function formatByteSwap(insn: Instruction, is64: boolean): string {
  if (insn.imm !== 16 && insn.imm !== 32 && insn.imm !== 64) return UNKNOWN;
  const reg = register(insn.dst);
  if (is64) return opSource(insn.opcode) === BPF_X ? UNKNOWN : `${reg} = bswap${insn.imm} ${reg}`;
  const order = opSource(insn.opcode) === BPF_X ? "be" : "le";
  return `${reg} = ${order}${insn.imm} ${reg}`;
}

function formatJump(insn: Instruction, options: FormatOptions): string {
  const is32 = opClass(insn.opcode) === BPF_JMP32;
  const op = opCode(insn.opcode);
  const usesReg = opSource(insn.opcode) === BPF_X;
  switch (op) {
    case BPF_JA:
      if (is32) return usesReg ? UNKNOWN : `gotol ${distance(insn.imm)}${targetLabel(insn, insn.imm, options)}`;
      if (usesReg) return `gotox ${register(insn.dst)}`;
      return `goto ${distance(insn.off)}${targetLabel(insn, insn.off, options)}`;
    case BPF_CALL:
      if (is32) return UNKNOWN;
      return usesReg ? `callx ${register(insn.dst)}` : formatCall(insn, options);
    case BPF_EXIT:
      // LLVM ignores dst, src and off of an exit, but not the register bit or an immediate.
      return is32 || usesReg || insn.imm !== 0 ? UNKNOWN : "exit";
    case BPF_JCOND:
      if (is32 || usesReg || insn.src !== BPF_MAY_GOTO) return UNKNOWN;
      return `may_goto ${distance(insn.off)}${targetLabel(insn, insn.off, options)}`;
    default: {
      const operator = JUMP_OPERATORS[op >> 4];
      if (operator === "") return UNKNOWN;
      const r = is32 ? "w" : "r";
      const right = usesReg ? register(insn.src, r) : String(insn.imm);
      return `if ${register(insn.dst, r)} ${operator} ${right} goto ${distance(insn.off)}${targetLabel(insn, insn.off, options)}`;
    }
  }
}

function formatCall(insn: Instruction, options: FormatOptions): string {
  const ref = options.annotation?.ref;
  if (ref !== undefined && (ref.kind === "func" || ref.kind === "ksym")) return `call ${ref.name}`;
  if (options.helperNames === true && insn.isHelperCall) {
    const name = helperName(insn.imm);
    if (name !== undefined) return `call ${name}`;
  }
  return `call ${insn.imm}`;
}

/** " <LABEL>" for the jump target, as llvm-objdump prints it, or "" without symbols. */
function targetLabel(insn: Instruction, jump: number, options: FormatOptions): string {
  if (options.label === undefined) return "";
  const name = options.label((insn.slot + 1 + jump) * INSN_SIZE);
  return name === undefined ? "" : ` <${name}>`;
}

function distance(n: number): string {
  return n >= 0 ? `+${n}` : String(n);
}

function formatLd(insn: Instruction, ref: SymbolRef | undefined): string {
  const mode = opMode(insn.opcode);
  const size = opSize(insn.opcode);
  if (mode === BPF_IMM && size === BPF_DW) return formatLdImm64(insn, ref);
  if (size === BPF_DW) return UNKNOWN;
  const type = unsignedType(insn.opcode);
  // Legacy packet loads (cBPF heritage): the result always lands in r0, r6 holds the skb.
  if (mode === BPF_ABS) return `r0 = *(${type} *)skb[${insn.imm}]`;
  if (mode === BPF_IND) return insn.imm === 0 ? `r0 = *(${type} *)skb[${register(insn.src)}]` : `r0 = *(${type} *)skb[${address(insn.src, insn.imm)}]`;
  return UNKNOWN;
}

function formatLdImm64(insn: Instruction, ref: SymbolRef | undefined): string {
  if (insn.off !== 0) return UNKNOWN; // the first slot's offset field must be 0
  const dst = register(insn.dst);
  if (ref !== undefined) {
    switch (ref.kind) {
      case "map":
        return `${dst} = map[${ref.name}] ll`;
      case "map_value":
        return `${dst} = map_value[${ref.name}${ref.offset === 0 ? "" : `+${ref.offset}`}] ll`;
      case "ksym":
        return `${dst} = ksym[${ref.name}] ll`;
      case "func":
        return `${dst} = func[${ref.name}] ll`;
    }
  }
  // LLVM prints a pseudo source as "ld_pseudo dst, src, imm" with the low 32 bits unsigned.
  if (insn.src !== 0) return `ld_pseudo\t${dst}, ${insn.src}, ${insn.imm >>> 0}`;
  return `${dst} = ${insn.imm64} ll`;
}

function formatLdx(insn: Instruction): string {
  const mode = opMode(insn.opcode);
  if (mode === BPF_MEM) return `${register(insn.dst)} = *(${unsignedType(insn.opcode)} *)(${address(insn.src, insn.off)})`;
  if (mode === BPF_MEMSX && opSize(insn.opcode) !== BPF_DW) {
    return `${register(insn.dst)} = *(${signedType(insn.opcode)} *)(${address(insn.src, insn.off)})`;
  }
  return UNKNOWN;
}

function formatStx(insn: Instruction): string {
  const mode = opMode(insn.opcode);
  if (mode === BPF_MEM) return `*(${unsignedType(insn.opcode)} *)(${address(insn.dst, insn.off)}) = ${register(insn.src)}`;
  if (mode === BPF_ATOMIC) return formatAtomic(insn);
  return UNKNOWN;
}

const ATOMIC_NAMES = ["add", "", "", "", "or", "and", "", "", "", "", "xor", "", "", "", "", ""];
const ATOMIC_OPERATORS = ["+", "", "", "", "|", "&", "", "", "", "", "^", "", "", "", "", ""];

function formatAtomic(insn: Instruction): string {
  const size = opSize(insn.opcode);
  const type = unsignedType(insn.opcode);
  const wide = size === BPF_DW;
  const r = wide ? "r" : "w";
  const addr = address(insn.dst, insn.off);
  // Load-acquire and store-release exist for every size; B and H results are zero-extended.
  if (insn.imm === BPF_LOAD_ACQ) return `${register(insn.dst, r)} = load_acquire((${type} *)(${address(insn.src, insn.off)}))`;
  if (insn.imm === BPF_STORE_REL) return `store_release((${type} *)(${addr}), ${register(insn.src, r)})`;
  if (size !== BPF_W && size !== BPF_DW) return UNKNOWN;
  const value = register(insn.src, r);
  if (insn.imm === BPF_XCHG) {
    return wide ? `${value} = xchg_64(${addr}, ${value})` : `${value} = xchg32_32(${addr}, ${value})`;
  }
  if (insn.imm === BPF_CMPXCHG) {
    return wide ? `r0 = cmpxchg_64(${addr}, r0, ${value})` : `w0 = cmpxchg32_32(${addr}, w0, ${value})`;
  }
  if ((insn.imm & ~0xf1) !== 0) return UNKNOWN;
  const op = insn.imm & 0xf0;
  const name = ATOMIC_NAMES[op >> 4];
  if (name === "") return UNKNOWN;
  if ((insn.imm & BPF_FETCH) !== 0) return `${value} = atomic_fetch_${name}((${type} *)(${addr}), ${value})`;
  // LLVM 14 (without +alu32) knows only the 32-bit add, and prints it with an r register.
  const operandReg = !wide && op === BPF_ADD ? register(insn.src) : value;
  return `lock *(${type} *)(${addr}) ${ATOMIC_OPERATORS[op >> 4]}= ${operandReg}`;
}

/** "r10 - 4", "r1 + 0": a base register and a signed offset, as LLVM prints memory operands. */
function address(reg: number, off: number): string {
  return off < 0 ? `${register(reg)} - ${-off}` : `${register(reg)} + ${off}`;
}

const UNSIGNED_TYPES = ["u32", "u16", "u8", "u64"];
const SIGNED_TYPES = ["s32", "s16", "s8", "s64"];

function unsignedType(opcode: number): string {
  return UNSIGNED_TYPES[opSize(opcode) >> 3];
}

function signedType(opcode: number): string {
  return SIGNED_TYPES[opSize(opcode) >> 3];
}
