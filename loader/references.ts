// References: what a program's relocations mean, kept symbolic until load time.
//
// A relocation entry says "slot N of this section refers to symbol S". What that means
// depends on the instruction at N and on where S lives:
//
//   instruction      symbol's section             reference
//   ld_imm64         .maps / maps                 { kind: "map" }       the map's fd goes in imm
//   ld_imm64         .data .rodata .bss .data.*   { kind: "data" }      map value + offset
//   ld_imm64         executable (.text)           { kind: "function" }  callback address (BPF_PSEUDO_FUNC)
//   call (src=1)     executable                   { kind: "call" }      bpf-to-bpf call
//   ld_imm64 / call  undefined (SHN_UNDEF)        { kind: "extern" }    kconfig, ksym, kfunc
//
// Calls to a function in the same section need no relocation: clang writes the relative
// offset into imm directly. They become "call" references too, so that linking can move
// functions around without caring where the target came from.

import { RelocationError } from "../common/errors.js";
import { SHN_UNDEF, SymbolBinding, SymbolType, isExecutable, type ElfFile, type ElfRelocation, type ElfSection, type ElfSymbol } from "../elf/index.js";
import { BPF_LD_IMM64, BPF_PSEUDO_CALL, INSN_SIZE } from "../insn/opcodes.js";

export type Reference =
  | { readonly kind: "map"; readonly insn: number; readonly map: string }
  | { readonly kind: "data"; readonly insn: number; readonly section: string; readonly offset: number; readonly symbol: string }
  | { readonly kind: "call"; readonly insn: number; readonly target: string }
  | { readonly kind: "function"; readonly insn: number; readonly target: string }
  | {
      readonly kind: "extern";
      readonly insn: number;
      readonly symbol: string;
      readonly call: boolean;
      /** The symbol is STB_WEAK (`__weak`): unresolved, it becomes 0 instead of an error. Absent when strong. */
      readonly weak?: true;
    };

export type ReferenceKind = Reference["kind"];

const BPF_CALL_OPCODE = 0x85; // BPF_JMP | BPF_CALL

/** An executable section as the spec keeps it: its name, its index, and a private copy of its code. */
export interface CodeSection {
  readonly index: number;
  readonly name: string;
  /** The section's instructions, copied out of the file (the spec's programs are views of it). */
  readonly bytes: Uint8Array;
}

/** A function symbol's extent within its section, in bytes. */
export interface FunctionExtent {
  readonly name: string;
  readonly symbol: ElfSymbol;
  readonly section: CodeSection;
  readonly start: number;
  readonly end: number;
}

/**
 * What finding a call's target takes: every function, by section. The programs' references
 * read it after the parse (same-section calls are found then), so it holds nothing of the file.
 */
export interface CallTargets {
  readonly littleEndian: boolean;
  /** Function extents per executable section index, sorted by start. */
  readonly functions: ReadonlyMap<number, readonly FunctionExtent[]>;
  /** Per executable section: its functions by start offset (built on first use). */
  starts?: Map<number, Map<number, FunctionExtent>>;
}

/** Everything reference resolution needs to know about the object while it is parsed. */
export interface ReferenceContext {
  readonly elf: ElfFile;
  readonly calls: CallTargets;
  /** Sections whose symbols are map definitions (.maps, maps). */
  readonly mapSections: ReadonlySet<number>;
  /** Sections holding global data (.data, .rodata*, .bss, .data.*). */
  readonly dataSections: ReadonlySet<number>;
  /** Per map section: named map symbols by offset (built on first use). */
  mapSymbols?: Map<number, Map<number, ElfSymbol>>;
}

/**
 * The relocation references of every function of one executable section, in the order of
 * `functions` (its extents, sorted by start), each sorted by instruction. The section's
 * relocations are walked once, in offset order. Same-section calls carry no relocation:
 * withSameSectionCalls adds them, when a program's references are first read.
 */
export function collectReferences(ctx: ReferenceContext, section: ElfSection, functions: readonly FunctionExtent[]): Reference[][] {
  const relocations = sortedByOffset(ctx.elf.relocationsFor(section));
  const result: Reference[][] = new Array(functions.length);
  if (relocations.length === 0) {
    for (let f = 0; f < functions.length; f++) result[f] = [];
    return result;
  }
  let next = 0; // the first relocation not yet given to a function
  for (let f = 0; f < functions.length; f++) {
    const fn = functions[f];
    // Relocations between functions patch no function's code: nothing is loaded from there.
    while (next < relocations.length && relocations[next].offset < fn.start) next++;
    const references: Reference[] = [];
    for (; next < relocations.length && relocations[next].offset < fn.end; next++) {
      references.push(relocationReference(ctx, fn, relocations[next]));
    }
    result[f] = references;
  }
  return result;
}

/**
 * `relocated` (a function's relocation references) with the function's bpf-to-bpf calls
 * within its own section added, in instruction order. Those calls have no relocation: clang
 * writes the relative offset into imm. They are found by a pass over the instructions, made
 * when the references are first needed (linking, disassembly), as libbpf finds them at load.
 */
export function withSameSectionCalls(targets: CallTargets, fn: FunctionExtent, relocated: Reference[]): Reference[] {
  const bytes = fn.section.bytes;
  const le = targets.littleEndian;
  let calls: Reference[] | undefined;
  let nextRelocated = 0;
  for (let at = fn.start; at + INSN_SIZE <= fn.end; at += INSN_SIZE) {
    const opcode = bytes[at];
    if (opcode === BPF_LD_IMM64) {
      at += INSN_SIZE;
      continue;
    }
    if (opcode !== BPF_CALL_OPCODE || srcRegister(bytes[at + 1], le) !== BPF_PSEUDO_CALL) continue;
    const insn = (at - fn.start) / INSN_SIZE;
    // A call with a relocation (to another section) is among the relocated references.
    while (nextRelocated < relocated.length && relocated[nextRelocated].insn < insn) nextRelocated++;
    if (nextRelocated < relocated.length && relocated[nextRelocated].insn === insn) continue;
    const targetOffset = at + (immediateAt(bytes, at, le) + 1) * INSN_SIZE;
    const target = functionAt(targets, fn.section.index, targetOffset);
    if (target === undefined) {
      throw new RelocationError(`call jumps to byte ${targetOffset} of ${fn.section.name}, where no function starts`, {
        program: fn.name,
        instruction: insn,
        symbol: "",
      });
    }
    (calls ??= []).push({ kind: "call", insn, target: target.name });
  }
  return calls === undefined ? relocated : mergeByInstruction(relocated, calls);
}

function relocationReference(ctx: ReferenceContext, fn: FunctionExtent, relocation: ElfRelocation): Reference {
  const insn = (relocation.offset - fn.start) / INSN_SIZE;
  const symbol = ctx.elf.symbol(relocation.symbolIndex);
  if (!Number.isInteger(insn) || symbol === undefined) {
    throw new RelocationError(
      symbol === undefined ? `relocation names symbol ${relocation.symbolIndex}, which does not exist` : "relocation is not on an instruction boundary",
      { program: fn.name, instruction: Math.floor(insn), symbol: symbol?.name ?? `#${relocation.symbolIndex}` },
    );
  }
  return classify(ctx, fn, relocation, insn, symbol);
}

/** Relocations in offset order; compilers write them so, and then this copies nothing. */
function sortedByOffset(relocations: readonly ElfRelocation[]): readonly ElfRelocation[] {
  for (let i = 1; i < relocations.length; i++) {
    if (relocations[i].offset < relocations[i - 1].offset) return [...relocations].sort((a, b) => a.offset - b.offset);
  }
  return relocations;
}

/** Two lists sorted by instruction, as one (no instruction is in both). */
function mergeByInstruction(a: Reference[], b: Reference[]): Reference[] {
  if (a.length === 0) return b;
  const merged: Reference[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  for (let k = 0; k < merged.length; k++) merged[k] = j >= b.length || (i < a.length && a[i].insn < b[j].insn) ? a[i++] : b[j++];
  return merged;
}

function classify(
  ctx: ReferenceContext,
  fn: FunctionExtent,
  relocation: ElfRelocation,
  insn: number,
  symbol: ElfSymbol,
): Reference {
  // The instruction: relocation.offset lies inside fn, whose extent findFunctions checked to
  // be whole instructions inside the section.
  const code = fn.section.bytes;
  const at = relocation.offset;
  const opcode = code[at];
  const isLoad = opcode === BPF_LD_IMM64;
  const isCall = opcode === BPF_CALL_OPCODE;
  if (!isLoad && !isCall) {
    throw relocationFailure(fn, insn, symbol, `relocation on an instruction with opcode 0x${opcode.toString(16)}; only ld_imm64 and call can be relocated`);
  }
  // REL relocations keep their addend in the instruction's immediate (in bytes for ld_imm64).
  const imm = immediateAt(code, at, ctx.elf.littleEndian);

  if (symbol.sectionIndex === SHN_UNDEF) {
    if (symbol.name === "") throw relocationFailure(fn, insn, symbol, "relocation against an unnamed undefined symbol");
    const extern = { kind: "extern", insn, symbol: symbol.name, call: isCall } as const;
    return symbol.binding === SymbolBinding.WEAK ? { ...extern, weak: true } : extern;
  }
  const section = ctx.elf.sections[symbol.sectionIndex];
  if (section === undefined) throw relocationFailure(fn, insn, symbol, `symbol is defined in section ${symbol.sectionIndex}, which does not exist`);

  if (ctx.mapSections.has(section.index)) {
    if (!isLoad) throw relocationFailure(fn, insn, symbol, `a call cannot target map section ${section.name}`);
    const map = symbol.type === SymbolType.SECTION ? mapSymbolAt(ctx, section, symbol.value + imm) : symbol;
    if (map === undefined) throw relocationFailure(fn, insn, symbol, `no map is defined at offset ${symbol.value + imm} of ${section.name}`);
    return { kind: "map", insn, map: map.name };
  }
  if (isExecutable(section)) {
    // Calls: target slot = symbol slot + imm + 1. ld_imm64 of a function: imm is a byte offset.
    const targetOffset = isCall ? symbol.value + (imm + 1) * INSN_SIZE : symbol.value + imm;
    const target = functionAt(ctx.calls, section.index, targetOffset);
    if (target === undefined) throw relocationFailure(fn, insn, symbol, `no function starts at byte ${targetOffset} of ${section.name}`);
    return { kind: isCall ? "call" : "function", insn, target: target.name };
  }
  if (ctx.dataSections.has(section.index)) {
    if (!isLoad) throw relocationFailure(fn, insn, symbol, `a call cannot target data section ${section.name}`);
    const offset = symbol.value + imm;
    if (offset < 0 || offset > section.size) throw relocationFailure(fn, insn, symbol, `offset ${offset} is outside ${section.name} (${section.size} bytes)`);
    return { kind: "data", insn, section: section.name, offset, symbol: symbol.type === SymbolType.SECTION ? "" : symbol.name };
  }
  throw relocationFailure(fn, insn, symbol, `symbol lives in section ${section.name}, which is neither code, maps nor global data`);
}

/** The error for a relocation of `fn`'s instruction `insn` against `symbol` (a function, not a closure made per relocation). */
function relocationFailure(fn: FunctionExtent, insn: number, symbol: ElfSymbol, message: string): RelocationError {
  return new RelocationError(message, { program: fn.name, instruction: insn, symbol: symbol.name });
}

function srcRegister(regs: number, littleEndian: boolean): number {
  return littleEndian ? regs >>> 4 : regs & 0x0f;
}

/** The imm field (bytes 4-7) of the instruction at byte `at`, a signed 32-bit integer. */
function immediateAt(code: Uint8Array, at: number, littleEndian: boolean): number {
  return littleEndian
    ? code[at + 4] | (code[at + 5] << 8) | (code[at + 6] << 16) | (code[at + 7] << 24)
    : (code[at + 4] << 24) | (code[at + 5] << 16) | (code[at + 6] << 8) | code[at + 7];
}

function functionAt(targets: CallTargets, sectionIndex: number, offset: number): FunctionExtent | undefined {
  if (targets.starts === undefined) {
    targets.starts = new Map();
    for (const [index, extents] of targets.functions) targets.starts.set(index, new Map(extents.map((f) => [f.start, f])));
  }
  return targets.starts.get(sectionIndex)?.get(offset);
}

function mapSymbolAt(ctx: ReferenceContext, section: ElfSection, offset: number): ElfSymbol | undefined {
  if (ctx.mapSymbols === undefined) {
    ctx.mapSymbols = new Map();
    for (const index of ctx.mapSections) {
      const byOffset = new Map<number, ElfSymbol>();
      for (const symbol of ctx.elf.symbolsIn(index)) {
        if (symbol.name === "" || symbol.type === SymbolType.SECTION || byOffset.has(symbol.value)) continue;
        byOffset.set(symbol.value, symbol);
      }
      ctx.mapSymbols.set(index, byOffset);
    }
  }
  return ctx.mapSymbols.get(section.index)?.get(offset);
}
