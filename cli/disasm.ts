// `tsbpf disasm OBJ [--sec S | --prog NAME]`: the object's programs as `llvm-objdump -d
// --no-show-raw-insn` prints them, but symbolic. The layout is objdump's:
//
//   <OBJ>:\tfile format elf64-bpf
//
//   Disassembly of section xdp:
//
//   0000000000000000 <xdp_count>:          function symbol: byte offset in the section
//          0:\tr2 = *(u32 *)(r1 + 4)        slot index in the section (ld_imm64 takes two)
//   ...
//   00000000000000a0 <LBB0_4>:             a local label clang left in the symbol table
//
// Where objdump prints what the relocation entry leaves in the instruction (`r1 = 0 ll`,
// `call -1`), we print what the ProgramSpec's references say (`r1 = map[stats] ll`,
// `call parse_ip`), and helper calls by name (`call bpf_map_lookup_elem`).

import { disassemble, parseElf, parseObject, type Annotation, type ElfFile, type ObjectSpec, type ProgramSpec, type Reference } from "../index.js";
import { CommandError, exclusive, parseCommand, readInputFile } from "./usage.js";

export const DISASM_HELP = `usage: tsbpf disasm OBJ [--sec SECTION | --prog NAME]

Disassembles the programs of a BPF ELF object, laid out like \`llvm-objdump -d\`, with map
names, global data, called functions and helpers shown by name.

  --sec SECTION   only the programs in this ELF section ("xdp", "tc"...) and the
                  subprograms they call
  --prog NAME     only this program and the subprograms it calls
`;

const COMMAND = "disasm";

// ELF symbol types (elf.h): llvm-objdump names code after any symbol but STT_SECTION and
// STT_FILE ones; global variables are STT_OBJECT.
const STT_OBJECT = 1;
const STT_SECTION = 3;
const STT_FILE = 4;

export function disasmCommand(args: string[]): void {
  const { values, positionals } = parseCommand(COMMAND, args, { sec: { type: "string" }, prog: { type: "string" } }, [1, 1], "OBJ");
  exclusive(COMMAND, values, "sec", "prog");
  const path = positionals[0];
  const bytes = readInputFile(path, "object");
  const spec = parseObject(bytes, { anyMachine: true });
  const functions = chooseFunctions(spec, values.sec, values.prog);
  process.stdout.write(formatObject(path, parseElf(bytes), functions));
}

/** The functions to print: entry programs picked by section or name, plus everything they call. */
function chooseFunctions(spec: ObjectSpec, section: string | undefined, name: string | undefined): ProgramSpec[] {
  const all = [...spec.programs.values(), ...spec.subprograms.values()];
  if (section === undefined && name === undefined) return all;
  const named = name === undefined ? undefined : (spec.programs.get(name) ?? spec.subprograms.get(name));
  const roots = name !== undefined ? (named === undefined ? [] : [named]) : all.filter((p) => p.section === section && !p.isSubprogram);
  if (roots.length === 0) {
    const known = name !== undefined ? [...spec.programs.keys()] : [...new Set(all.map((p) => p.section))];
    const what = name !== undefined ? `program named ${name} (programs` : `program in section ${section} (sections`;
    throw new CommandError(`the object has no ${what}: ${known.join(", ") || "none"})`);
  }
  // Subprograms reach further subprograms through calls and callback addresses.
  const chosen = new Set<ProgramSpec>();
  const visit = (fn: ProgramSpec) => {
    if (chosen.has(fn)) return;
    chosen.add(fn);
    for (const ref of fn.references) {
      if (ref.kind !== "call" && ref.kind !== "function") continue;
      const target = spec.subprograms.get(ref.target) ?? spec.programs.get(ref.target);
      if (target !== undefined) visit(target);
    }
  };
  for (const root of roots) visit(root);
  return [...chosen];
}

/** The whole listing: sections in file order, functions by offset, as llvm-objdump orders them. */
export function formatObject(path: string, elf: ElfFile, functions: readonly ProgramSpec[]): string {
  const out: string[] = ["", `${path}:\tfile format elf64-bpf`];
  const sectionIndex = new Map(elf.sections.map((s) => [s.name, s.index]));
  const bySection = new Map<string, ProgramSpec[]>();
  for (const fn of functions) {
    if (!bySection.has(fn.section)) bySection.set(fn.section, []);
    bySection.get(fn.section)!.push(fn);
  }
  const variable = variableNamer(elf, sectionIndex);
  const sections = [...bySection.keys()].sort((a, b) => (sectionIndex.get(a) ?? 0) - (sectionIndex.get(b) ?? 0));
  for (const section of sections) {
    out.push("", `Disassembly of section ${section}:`);
    const symbols = labelSymbols(elf, sectionIndex.get(section));
    for (const fn of bySection.get(section)!.sort((a, b) => a.sectionOffset - b.sectionOffset)) {
      out.push(...formatFunction(fn, symbols, variable));
    }
  }
  return out.join("\n") + "\n";
}

/**
 * One function: a header per symbol inside it (its own name, then clang's local labels),
 * each instruction as "<slot>:\t<text>" with the slot counted from the section's start.
 */
function formatFunction(fn: ProgramSpec, sectionSymbols: readonly { name: string; offset: number }[], variable: VariableNamer): string[] {
  const start = fn.sectionOffset;
  const end = start + fn.bytes.byteLength;
  const firstSlot = start / 8;
  // Offsets relative to the function's first slot, as disassemble() measures jump targets.
  const symbols = sectionSymbols.map((s) => ({ name: s.name, offset: s.offset - start }));
  const headers = new Map<number, string[]>();
  headers.set(0, [fn.name]);
  for (const s of sectionSymbols) {
    if (s.offset <= start || s.offset >= end) continue;
    headers.set(s.offset - start, [...(headers.get(s.offset - start) ?? []), s.name]);
  }
  const annotations = annotationsOf(fn.references, variable);
  const insns = fn.instructions;
  const texts = disassemble(insns, { symbolic: true, symbols, annotate: (insn) => annotations.get(insn.slot) });
  const out: string[] = [];
  insns.forEach((insn, i) => {
    for (const name of headers.get(insn.slot * 8) ?? []) out.push("", `${hex16(start + insn.slot * 8)} <${name}>:`);
    out.push(`${String(firstSlot + insn.slot).padStart(8)}:\t${texts[i]}`);
  });
  return out;
}

/** What each referencing instruction (by slot) shows instead of its raw immediate. */
function annotationsOf(references: readonly Reference[], variable: VariableNamer): Map<number, Annotation> {
  const annotations = new Map<number, Annotation>();
  for (const ref of references) annotations.set(ref.insn, annotationOf(ref, variable));
  return annotations;
}

function annotationOf(ref: Reference, variable: VariableNamer): Annotation {
  switch (ref.kind) {
    case "map":
      return { ref: { kind: "map", name: ref.map } };
    case "data": {
      // The variable's name: from the relocation, or (relocations against the section) the symbol at that offset.
      const name = ref.symbol !== "" ? ref.symbol : variable(ref.section, ref.offset);
      return { ref: { kind: "map_value", name: ref.section, offset: ref.offset }, ...(name === undefined ? {} : { comment: name }) };
    }
    case "call":
    case "function":
      return { ref: { kind: "func", name: ref.target } };
    case "extern":
      return { ref: { kind: "ksym", name: ref.symbol } };
    default: {
      const never: never = ref;
      return never;
    }
  }
}

/** The symbols llvm-objdump prints headers for and names jump targets after. */
function labelSymbols(elf: ElfFile, sectionIndex: number | undefined): { name: string; offset: number }[] {
  return elf.symbols
    .filter((s) => s.sectionIndex === sectionIndex && s.name !== "" && s.type !== STT_SECTION && s.type !== STT_FILE)
    .map((s) => ({ name: s.name, offset: s.value }));
}

type VariableNamer = (section: string, offset: number) => string | undefined;

/** Names a global variable by its data section and offset (STT_OBJECT symbols; static ones too). */
function variableNamer(elf: ElfFile, sectionIndex: ReadonlyMap<string, number>): VariableNamer {
  return (section, offset) =>
    elf.symbols.find((s) => s.type === STT_OBJECT && s.sectionIndex === sectionIndex.get(section) && s.value === offset && s.name !== "")?.name;
}

function hex16(n: number): string {
  return n.toString(16).padStart(16, "0");
}
