// insn/: the BPF instruction model (raw slots and the logical view), opcodes, helper ids and
// the disassembler. Pure: no system calls, no file system.
export * from "./opcodes.js";
export { Instruction, decodeInstructions, encodeInstructions, type SlotFields, type ByteOrigin } from "./instruction.js";
export { SlotView } from "./slots.js";
export { HELPER_NAMES, helperName, helperId } from "./helpers.js";
export {
  disassemble,
  formatInstruction,
  listing,
  symbolLabels,
  type Annotation,
  type DisassembleOptions,
  type FormatOptions,
  type SymbolRef,
} from "./disasm.js";
