// Programs: every function symbol in an executable section. Functions in program
// sections ("xdp", "kprobe/...") are entry points; functions in .text are subprograms
// that entry points call and that are linked in at load time.

import { SpecError } from "../common/errors.js";
import { ProgramType } from "../common/uapi.js";
import { SymbolBinding, SymbolType, isExecutable, type ElfFile, type ElfSymbol } from "../elf/index.js";
import { decodeInstructions, type Instruction } from "../insn/instruction.js";
import type { FunctionExtInfo } from "../btf/ext-info.js";
import { INSN_SIZE } from "../insn/opcodes.js";
import type { CodeSection, FunctionExtent, Reference } from "./references.js";
import { matchSection } from "./section-names.js";

export class ProgramSpec {
  /** The function's symbol name: what `program(name)` finds. */
  name: string;
  /** The ELF section it was found in ("xdp", "kprobe/do_sys_open", ".text"). */
  section: string;
  /** enum bpf_prog_type; ProgramType.UNSPEC when the section name says nothing (set it before load). */
  type: number;
  /** expected_attach_type for BPF_PROG_LOAD, when the section name implies one. */
  expectedAttachType: number | undefined;
  /** prog_flags: BPF_F_SLEEPABLE for ".s" sections, BPF_F_XDP_HAS_FRAGS for "xdp.frags"... */
  flags: number;
  /** What the section name says to attach to: "do_sys_open" in "kprobe/do_sys_open". */
  attachTarget: string;
  /** The section name was recognized only by an old loader's bare-prefix rule ("xdp_foo", "prog"). */
  legacySectionName: boolean;
  /** Subprograms live in .text and are not loaded on their own. */
  readonly isSubprogram: boolean;
  /** Global (visible to other objects) or static. */
  readonly linkage: "global" | "static";
  license: string;
  kernelVersion: number;
  /** The function's raw 8-byte instruction slots (a copy; the source of truth). */
  bytes: Uint8Array;
  readonly littleEndian: boolean;
  /** Byte offset of the function within its section. */
  readonly sectionOffset: number;
  /** Read on first use of `references` (the pass that finds same-section calls). */
  private readReferences: (() => Reference[]) | undefined;
  private referenceList: Reference[] | undefined;
  private decoded: Instruction[] | undefined;
  private readonly readExtInfo: (() => FunctionExtInfo | undefined) | undefined;
  private ext: FunctionExtInfo | undefined | null = null;
  /** The instructions the .BTF.ext records describe: replacing `bytes` makes them stale. */
  private readonly parsedBytes: Uint8Array;

  constructor(init: {
    name: string;
    section: string;
    isSubprogram: boolean;
    linkage: "global" | "static";
    license: string;
    kernelVersion: number;
    bytes: Uint8Array;
    littleEndian: boolean;
    sectionOffset: number;
    /** The references, or how to read them on first use. */
    references: Reference[] | (() => Reference[]);
    /** Reads this function's .BTF.ext records (func_info, line_info, CO-RE), on first use. */
    extInfo?: () => FunctionExtInfo | undefined;
  }) {
    this.name = init.name;
    this.section = init.section;
    this.isSubprogram = init.isSubprogram;
    this.linkage = init.linkage;
    this.license = init.license;
    this.kernelVersion = init.kernelVersion;
    this.bytes = init.bytes;
    this.littleEndian = init.littleEndian;
    this.sectionOffset = init.sectionOffset;
    if (typeof init.references === "function") this.readReferences = init.references;
    else this.referenceList = init.references;
    this.readExtInfo = init.extInfo;
    this.parsedBytes = init.bytes;
    const match = init.isSubprogram ? undefined : matchSection(init.section);
    this.type = match?.definition.programType ?? ProgramType.UNSPEC;
    this.expectedAttachType = match?.definition.attachType;
    this.flags = match?.definition.flags ?? 0;
    this.attachTarget = match?.target ?? "";
    this.legacySectionName = match?.legacy ?? false;
  }

  /**
   * Relocations and calls, symbolic; `insn` is a slot index relative to the function's start.
   * The relocations are read at parse time; calls within the section (which have none) on the
   * first read, from the instructions as they are then (editing `bytes` in place before that
   * changes which calls are found; assign `references` to keep them in step with new code).
   */
  get references(): Reference[] {
    if (this.referenceList === undefined) {
      this.referenceList = this.readReferences!();
      this.readReferences = undefined;
    }
    return this.referenceList;
  }

  set references(references: Reference[]) {
    this.referenceList = references;
    this.readReferences = undefined;
  }

  /** Number of 8-byte slots (ld_imm64 takes two). */
  get slotCount(): number {
    return this.bytes.byteLength / INSN_SIZE;
  }

  /**
   * The function's BTF records from .BTF.ext, instruction indexes relative to its start:
   * func_info (its BTF FUNC), line_info (source lines) and CO-RE relocations. Undefined
   * when the object has no .BTF.ext, or when `bytes` was replaced by other instructions,
   * which the records do not describe.
   */
  get extInfo(): FunctionExtInfo | undefined {
    if (this.bytes !== this.parsedBytes) return undefined;
    if (this.ext === null) this.ext = this.readExtInfo?.();
    return this.ext;
  }

  /** The decoded instructions (ld_imm64 as one instruction), decoded on first use. */
  get instructions(): readonly Instruction[] {
    this.decoded ??= decodeInstructions(this.bytes, this.littleEndian, { section: this.section, offset: this.sectionOffset });
    return this.decoded;
  }
}

/**
 * The functions of each executable section, sorted by offset. A function ends where its
 * symbol's st_size says, or (when the compiler left st_size at 0) where the next begins.
 * `code` has the CodeSection (with the private copy of its bytes) of every executable section,
 * by section index.
 */
export function findFunctions(elf: ElfFile, code: readonly (CodeSection | undefined)[]): Map<number, FunctionExtent[]> {
  const bySection = new Map<number, FunctionExtent[]>();
  // Functions are STT_FUNC symbols. Clang before 9 typed no symbol at all: in a code section
  // with no STT_FUNC symbol, every named untyped symbol is a function, except the assembler's
  // jump labels (LBB0_3, .Ltmp1) that share that type. (Only such sections pay for telling
  // labels apart: modern code sections hold dozens of them.)
  const symbolsBySection = functionSymbols(elf, undefined);
  let untyped: Set<number> | undefined;
  for (const section of elf.sections) {
    if (isExecutable(section) && section.size > 0 && !symbolsBySection.has(section.index)) (untyped ??= new Set()).add(section.index);
  }
  if (untyped !== undefined) for (const [index, symbols] of functionSymbols(elf, untyped)) symbolsBySection.set(index, symbols);
  for (const [index, symbols] of symbolsBySection) {
    const section = elf.sections[index];
    if (!isSortedByValue(symbols)) symbols.sort((a, b) => a.value - b.value);
    const extents: FunctionExtent[] = [];
    for (let i = 0; i < symbols.length; i++) {
      const symbol = symbols[i];
      const next = i + 1 < symbols.length ? symbols[i + 1].value : section.size;
      const end = symbol.size > 0 ? symbol.value + symbol.size : next;
      if (symbol.value % INSN_SIZE !== 0 || end % INSN_SIZE !== 0 || end > section.size || end <= symbol.value) {
        throw new SpecError(`function spans bytes ${symbol.value}..${end} of ${section.name}, which is not a whole run of instructions`, {
          part: symbol.name,
        });
      }
      extents.push({ name: symbol.name, symbol, section: code[index]!, start: symbol.value, end });
    }
    bySection.set(index, extents);
  }
  return bySection;
}

/**
 * Function symbols by executable section: the STT_FUNC ones, or, given `untypedIn`, the named
 * STT_NOTYPE ones that are not labels in those sections.
 */
function functionSymbols(elf: ElfFile, untypedIn: ReadonlySet<number> | undefined): Map<number, ElfSymbol[]> {
  const symbolsBySection = new Map<number, ElfSymbol[]>();
  // A scan of the table in place: only the function symbols become objects.
  const table = elf.symbolTable;
  const wanted = untypedIn === undefined ? SymbolType.FUNC : SymbolType.NOTYPE;
  for (let index = 1; index < table.count; index++) {
    if (table.type(index) !== wanted) continue;
    const sectionIndex = table.sectionIndex(index);
    const section = elf.sections[sectionIndex];
    if (section === undefined || !isExecutable(section)) continue;
    if (untypedIn !== undefined) {
      if (!untypedIn.has(sectionIndex)) continue;
      if (table.binding(index) === SymbolBinding.LOCAL && table.isAssemblerLabel(index)) continue;
    }
    if (table.name(index) === "") continue;
    const symbol = table.symbol(index)!;
    let list = symbolsBySection.get(section.index);
    if (list === undefined) symbolsBySection.set(section.index, (list = []));
    list.push(symbol);
  }
  return symbolsBySection;
}

function isSortedByValue(symbols: readonly ElfSymbol[]): boolean {
  for (let i = 1; i < symbols.length; i++) if (symbols[i].value < symbols[i - 1].value) return false;
  return true;
}

