// Golden disassembly: for every executable section of every BPF object we can find, our text
// for each instruction must equal llvm-objdump's (LLVM 14), jump labels included. Objects:
// Debian's xdp-tools, cilium's testdata (little- and big-endian), our own test/progs fixtures
// as the globalSetup compiles them, and the same fixtures compiled with -mcpu=v3 (ALU32,
// JMP32 and the atomics that come with them).
//
// llvm-objdump without --mattr=+alu32 cannot decode most 32-bit atomics ("<unknown>") and
// misreads a 32-bit fetch-add as a plain add; for those instructions the expected text is
// what it prints with --mattr=+alu32 (see insn/disasm.ts). For all others it is the default.

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isExecutable, parseElf, type ElfFile, type ElfSection } from "../elf/index.js";
import {
  BPF_ATOMIC,
  BPF_FETCH,
  BPF_STX,
  BPF_W,
  Instruction,
  decodeInstructions,
  disassemble,
  formatInstruction,
  listing,
  type Annotation,
} from "../insn/index.js";
import { CLANG, PROGS_BUILD_DIR, REPO_ROOT, bpfCompileArgs, fixtureNames, progSource } from "./helpers/progs.js";

const STT_SECTION = 3;
const STT_FILE = 4;
const STT_FUNC = 2;
const CILIUM_DIR = "/usr/share/gocode/src/github.com/cilium/ebpf";
const haveObjdump = spawnSync("llvm-objdump", ["--version"]).status === 0;

function objectsIn(dir: string, match: RegExp, recursive = false): string[] {
  if (!existsSync(dir)) return [];
  const names = readdirSync(dir, { recursive, encoding: "utf8" });
  return names.filter((name) => match.test(name)).map((name) => join(dir, name)).sort();
}

/** llvm-objdump's text per section (in file order) and slot, with `--mattr=+alu32` or without. */
function objdump(file: string, littleEndian: boolean, alu32: boolean): { name: string; bySlot: Map<number, string> }[] {
  const args = ["-d", "--no-show-raw-insn", `--triple=${littleEndian ? "bpfel" : "bpfeb"}`];
  if (alu32) args.push("--mattr=+alu32");
  const out = execFileSync("llvm-objdump", [...args, file], { encoding: "utf8", maxBuffer: 1 << 28 });
  const sections: { name: string; bySlot: Map<number, string> }[] = [];
  for (const line of out.split("\n")) {
    const header = /^Disassembly of section (.*):$/.exec(line);
    if (header) sections.push({ name: header[1], bySlot: new Map() });
    const insn = /^ *(\d+):\t(.*)$/.exec(line);
    if (insn && sections.length > 0) sections[sections.length - 1].bySlot.set(Number(insn[1]), insn[2]);
  }
  return sections;
}

/** The symbols llvm-objdump names jump targets after: those of the section, less section and file symbols. */
function labelSymbols(elf: ElfFile, section: ElfSection): { name: string; offset: number }[] {
  return elf.symbols
    .filter((s) => s.sectionIndex === section.index && s.type !== STT_SECTION && s.type !== STT_FILE && s.name !== "")
    .map((s) => ({ name: s.name, offset: s.value }));
}

/** 32-bit atomics are the instructions LLVM 14 decodes right only with +alu32 (see the top of the file). */
function needsAlu32(insn: Instruction, plainText: string | undefined): boolean {
  const atomic32 = insn.opcode === (BPF_STX | BPF_ATOMIC | BPF_W);
  return plainText === "<unknown>" || (atomic32 && (insn.imm & BPF_FETCH) !== 0);
}

const totals = { objects: 0, sections: 0, instructions: 0, viaAlu32: 0 };

/** Compares every executable section of one object with llvm-objdump; returns the mismatches. */
function compareWithObjdump(file: string): string[] {
  const elf = parseElf(readFileSync(file));
  const plain = objdump(file, elf.littleEndian, false);
  let alu32: ReturnType<typeof objdump> | undefined;
  const mismatches: string[] = [];
  const executable = elf.sections.filter((s) => isExecutable(s) && s.size > 0);
  expect(plain.map((s) => s.name)).toEqual(executable.map((s) => s.name));
  executable.forEach((section, n) => {
    const insns = decodeInstructions(section.data, elf.littleEndian);
    const ours = disassemble(insns, { symbols: labelSymbols(elf, section) });
    const theirs = plain[n].bySlot;
    expect([...theirs.keys()], section.name).toEqual(insns.map((i) => i.slot));
    insns.forEach((insn, i) => {
      let expected = theirs.get(insn.slot);
      if (needsAlu32(insn, expected)) {
        alu32 ??= objdump(file, elf.littleEndian, true);
        expected = alu32[n].bySlot.get(insn.slot);
        totals.viaAlu32++;
      }
      if (ours[i] !== expected) mismatches.push(`${section.name} slot ${insn.slot}: ours ${JSON.stringify(ours[i])}, llvm-objdump ${JSON.stringify(expected)}`);
      totals.instructions++;
    });
    totals.sections++;
  });
  totals.objects++;
  return mismatches;
}

afterAll(() => {
  console.log(
    `disasm: compared ${totals.instructions} instructions with llvm-objdump ` +
      `(${totals.viaAlu32} of them with --mattr=+alu32) in ${totals.sections} sections of ${totals.objects} objects`,
  );
});

const sets = [
  { name: "xdp-tools objects", files: objectsIn("/usr/lib/x86_64-linux-gnu/bpf", /\.o$/), root: "/usr/lib/x86_64-linux-gnu/bpf" },
  { name: "xdp-tools test objects", files: objectsIn("/usr/libexec/xdp-tools", /\.o$/), root: "/usr/libexec/xdp-tools" },
  { name: "cilium testdata", files: objectsIn(CILIUM_DIR, /\.elf$/, true), root: CILIUM_DIR },
  { name: "test/progs fixtures", files: objectsIn(join(REPO_ROOT, PROGS_BUILD_DIR), /\.o$/), root: join(REPO_ROOT, PROGS_BUILD_DIR) },
];

describe.skipIf(!haveObjdump)("text equals llvm-objdump -d", () => {
  for (const set of sets) {
    describe(set.name, () => {
      if (set.files.length === 0) it.skip(`no objects found under ${set.root}`, () => {});
      else {
        it.each(set.files.map((f) => [f.slice(set.root.length + 1), f]))("%s", (_name, file) => {
          expect(compareWithObjdump(file)).toEqual([]);
        });
      }
    });
  }

  describe("test/progs fixtures compiled with -mcpu=v3", () => {
    const names = fixtureNames();
    let dir = "";
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "tsbpf-disasm-v3-"));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    it.each(names)("%s", (name) => {
      const output = join(dir, `${name}.o`);
      execFileSync(CLANG, [...bpfCompileArgs(progSource(name), output), "-mcpu=v3"], { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "pipe"] });
      expect(compareWithObjdump(output)).toEqual([]);
    });
  });
});

describe("jump labels", () => {
  // 0: if r1 == 0 goto +1; 1: r0 = 1; 2: exit; 3: goto -4; 4: goto +32767
  const insns = decodeInstructions(
    new Uint8Array([
      ...[0x15, 0x01, 0x01, 0x00, 0, 0, 0, 0],
      ...[0xb7, 0x00, 0x00, 0x00, 1, 0, 0, 0],
      ...[0x95, 0, 0, 0, 0, 0, 0, 0],
      ...[0x05, 0x00, 0xfc, 0xff, 0, 0, 0, 0],
      ...[0x05, 0x00, 0xff, 0x7f, 0, 0, 0, 0],
    ]),
    true,
  );

  it("names the target symbol, or the nearest one before it plus a hex offset, like llvm-objdump", () => {
    const lines = disassemble(insns, { symbols: [{ name: "prog", offset: 0 }, { name: "LBB0_2", offset: 16 }] });
    expect(lines).toEqual(["if r1 == 0 goto +1 <LBB0_2>", "r0 = 1", "exit", "goto -4 <prog>", "goto +32767 <LBB0_2+0x40010>"]);
  });

  it.skipIf(!haveObjdump)("picks among symbols at one address as llvm-objdump does (the name that sorts last)", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-disasm-labels-"));
    try {
      // Three labels at offset 16, defined in an order that is neither sorted nor reversed.
      const source = [".text", ".globl f", "f:", ".byte 0x15,0x01,0x01,0x00,0,0,0,0", ".byte 0xb7,0,0,0,1,0,0,0"];
      source.push("mid:", "zeta:", "alpha:", ".byte 0x95,0,0,0,0,0,0,0", ".byte 0x05,0,0xfc,0xff,0,0,0,0");
      writeFileSync(join(dir, "labels.s"), `${source.join("\n")}\n`);
      execFileSync(CLANG, ["-target", "bpfel", "-c", join(dir, "labels.s"), "-o", join(dir, "labels.o")]);
      expect(compareWithObjdump(join(dir, "labels.o"))).toEqual([]);
      const elf = parseElf(readFileSync(join(dir, "labels.o")));
      const text = elf.section(".text")!;
      expect(disassemble(decodeInstructions(text.data, true), { symbols: labelSymbols(elf, text) })[0]).toBe("if r1 == 0 goto +1 <zeta>");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("wraps a target before the section start the way llvm-objdump does", () => {
    const [line] = disassemble([Instruction.of({ opcode: 0x05, off: -3 })], { symbols: [{ name: "f", offset: 0 }] });
    expect(line).toBe("goto -3 <f+0xfffffffffffffff0>");
  });

  it("prints bare distances without symbols", () => {
    expect(disassemble(insns)).toEqual(["if r1 == 0 goto +1", "r0 = 1", "exit", "goto -4", "goto +32767"]);
    expect(listing(insns).split("\n")[3]).toBe("       3:\tgoto -4");
  });
});

describe("symbolic mode", () => {
  it("names helpers, maps, data, kernel symbols and functions from annotations", () => {
    const insns = [
      Instruction.ldImm64(1, 0n),
      Instruction.ldImm64(2, 8n),
      Instruction.ldImm64(3, 0n, 3),
      Instruction.ldImm64(4, 0n, 4),
      Instruction.of({ opcode: 0x85, imm: 1 }),
      Instruction.of({ opcode: 0x85, src: 1, imm: -1 }),
      Instruction.of({ opcode: 0x85, src: 2, imm: 12345 }),
      Instruction.of({ opcode: 0x61, dst: 1, src: 2, off: 4 }),
      Instruction.of({ opcode: 0x85, imm: 9999 }),
    ];
    const annotations = new Map<number, Annotation>([
      [0, { ref: { kind: "map", name: "stats" } }],
      [1, { ref: { kind: "map_value", name: ".rodata", offset: 8 } }],
      [2, { ref: { kind: "ksym", name: "bpf_prog_active" } }],
      [3, { ref: { kind: "func", name: "callback" } }],
      [5, { ref: { kind: "func", name: "parse_ip" } }],
      [6, { ref: { kind: "ksym", name: "bpf_obj_new_impl" } }],
      [7, { comment: "task_struct.pid" }],
    ]);
    const lines = disassemble(insns, { symbolic: true, annotate: (insn) => annotations.get(insns.indexOf(insn)) });
    expect(lines).toEqual([
      "r1 = map[stats] ll",
      "r2 = map_value[.rodata+8] ll",
      "r3 = ksym[bpf_prog_active] ll",
      "r4 = func[callback] ll",
      "call bpf_map_lookup_elem",
      "call parse_ip",
      "call bpf_obj_new_impl",
      "r1 = *(u32 *)(r2 + 4) ; task_struct.pid",
      "call 9999",
    ]);
    // Without symbolic mode helper calls keep their number, as llvm-objdump prints them.
    expect(formatInstruction(insns[4])).toBe("call 1");
    expect(formatInstruction(insns[1], { annotation: { ref: { kind: "map_value", name: ".bss", offset: 0 } } })).toBe("r2 = map_value[.bss] ll");
  });

  it("reads a fixture's relocations into annotations", () => {
    const file = join(REPO_ROOT, PROGS_BUILD_DIR, "subprog.o");
    const elf = parseElf(readFileSync(file));
    const text = (name: string) => {
      const section = elf.section(name)!;
      const insns = decodeInstructions(section.data, elf.littleEndian);
      return disassemble(insns, { symbolic: true, annotate: (insn) => annotateFromRelocation(elf, section, insn) });
    };
    expect(text(".text")).toContain("r1 = map[calls] ll");
    expect(text(".text")).toContain("call bpf_map_lookup_elem");
    expect(text("xdp")).toContain("call bump");
    expect(text("tc")).toEqual(expect.arrayContaining(["call classify_len", "call bump"]));
  });
});

/**
 * A small version of what the loader does with a relocation: the symbol it names is a map
 * (in .maps), a function (called by name, or through its section's symbol plus the call's
 * imm), or data.
 */
function annotateFromRelocation(elf: ElfFile, section: ElfSection, insn: Instruction): Annotation | undefined {
  const relocation = elf.relocationsFor(section).find((r) => r.offset === insn.slot * 8);
  if (relocation === undefined) return undefined;
  const symbol = elf.symbols[relocation.symbolIndex];
  const target = elf.sections[symbol.sectionIndex];
  if (target?.name === ".maps" || target?.name === "maps") return { ref: { kind: "map", name: symbol.name } };
  if (insn.isCall && symbol.type === STT_SECTION) {
    const offset = (insn.imm + 1) * 8;
    const callee = elf.symbols.find((s) => s.sectionIndex === symbol.sectionIndex && s.type === STT_FUNC && s.value === offset);
    return callee === undefined ? undefined : { ref: { kind: "func", name: callee.name } };
  }
  if (insn.isCall) return { ref: { kind: "func", name: symbol.name } };
  return { ref: { kind: "map_value", name: target?.name ?? symbol.name, offset: symbol.value } };
}
