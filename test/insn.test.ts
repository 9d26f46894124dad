// The instruction model on real objects: every executable section of every BPF object we can
// find decodes and encodes back to the same bytes, in both byte orders; plus the model's
// edges (ld_imm64 halves, truncated input, patching slots in place). The per-form table is
// test/insn-forms.test.ts; the text against llvm-objdump is test/disasm.test.ts.

import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ElfError, SpecError } from "../common/errors.js";
import { isExecutable, parseElf } from "../elf/index.js";
import {
  BPF_JMP,
  BPF_JMP32,
  BPF_JA,
  BPF_JEQ,
  BPF_K,
  BPF_LD_IMM64,
  BPF_PSEUDO_FUNC,
  BPF_PSEUDO_MAP_FD,
  Instruction,
  SlotView,
  decodeInstructions,
  encodeInstructions,
  formatInstruction,
} from "../insn/index.js";
import * as opcodes from "../insn/opcodes.js";
import { REPO_ROOT, PROGS_BUILD_DIR } from "./helpers/progs.js";

const CILIUM_DIR = "/usr/share/gocode/src/github.com/cilium/ebpf";
const OBJECT_SETS: { name: string; dir: string; match: RegExp; recursive?: boolean; install: string }[] = [
  { name: "xdp-tools objects", dir: "/usr/lib/x86_64-linux-gnu/bpf", match: /\.o$/, install: "apt-get install libxdp1 xdp-tools" },
  { name: "xdp-tools test objects", dir: "/usr/libexec/xdp-tools", match: /\.o$/, install: "apt-get install xdp-tests" },
  { name: "cilium testdata", dir: CILIUM_DIR, match: /\.elf$/, recursive: true, install: "apt-get install golang-github-cilium-ebpf-dev" },
  { name: "test/progs fixtures", dir: join(REPO_ROOT, PROGS_BUILD_DIR), match: /\.o$/, install: "run vitest (its globalSetup compiles them)" },
];

function filesOf(set: (typeof OBJECT_SETS)[number]): string[] {
  if (!existsSync(set.dir)) return [];
  const names = readdirSync(set.dir, { recursive: set.recursive === true, encoding: "utf8" });
  return names.filter((name) => set.match.test(name)).map((name) => join(set.dir, name)).sort();
}

describe.each(OBJECT_SETS)("$name: bytes -> instructions -> bytes", (set) => {
  const files = filesOf(set);
  if (files.length === 0) it.skip(`none found in ${set.dir} (${set.install})`, () => {});
  else it.each(files.map((f) => [f.slice(set.dir.length + 1), f]))("%s", (_name, file) => {
    const elf = parseElf(readFileSync(file));
    let sections = 0;
    for (const section of elf.sections.filter(isExecutable)) {
      const insns = decodeInstructions(section.data, elf.littleEndian, { section: section.name, offset: section.offset });
      const encoded = encodeInstructions(insns, elf.littleEndian);
      expect(Buffer.from(encoded).equals(Buffer.from(section.data)), section.name).toBe(true);
      // Slot indices run without gaps: each instruction starts where the previous one ended.
      let slot = 0;
      for (const insn of insns) {
        expect(insn.slot).toBe(slot);
        expect(insn.width).toBe(insn.opcode === BPF_LD_IMM64 ? 2 : 1);
        slot += insn.width;
      }
      expect(slot * 8).toBe(section.size);
      sections++;
    }
    expect(sections).toBeGreaterThan(0);
  });
});

describe("cilium's -el and -eb objects decode to the same instructions", () => {
  const littleEndian = filesOf(OBJECT_SETS[2]).filter((file) => file.endsWith("-el.elf"));
  if (littleEndian.length === 0) it.skip(`cilium testdata not installed (${OBJECT_SETS[2].install})`, () => {});
  else it.each(littleEndian.map((f) => [f.slice(CILIUM_DIR.length + 1), f]))("%s", (_name, file) => {
    const le = parseElf(readFileSync(file));
    const be = parseElf(readFileSync(file.replace(/-el\.elf$/, "-eb.elf")));
    expect(le.littleEndian).toBe(true);
    expect(be.littleEndian).toBe(false);
    for (const section of le.sections.filter(isExecutable)) {
      const other = be.section(section.name);
      expect(other, section.name).toBeDefined();
      const fromLe = decodeInstructions(section.data, true);
      const fromBe = decodeInstructions(other!.data, false);
      // relocs_read.c reads bitfields: its shift counts and constants depend on the byte order,
      // so only the shape (opcodes, registers, offsets) is the same there.
      if (file.includes("relocs_read-el")) {
        const shape = (i: Instruction) => [i.opcode, i.dst, i.src, i.off];
        expect(fromBe.map(shape), section.name).toEqual(fromLe.map(shape));
      } else {
        expect(fromBe, section.name).toEqual(fromLe);
      }
    }
  });
});

describe("opcode constants", () => {
  const headers = ["/usr/include/linux/bpf_common.h", "/usr/include/linux/bpf.h"].filter((file) => existsSync(file));
  it.runIf(headers.length === 2)("equal the UAPI headers' #defines of the same name", () => {
    const defined = new Map<string, number>();
    for (const file of headers) {
      for (const match of readFileSync(file, "utf8").matchAll(/^#define\s+(BPF_[A-Z0-9_]+)\s+(0x[0-9a-fA-F]+|\d+)\b/gm)) {
        defined.set(match[1], Number(match[2]));
      }
      for (const match of readFileSync(file, "utf8").matchAll(/^#define\s+(BPF_[A-Z0-9_]+)\s+\((0x[0-9a-f]+) \| BPF_FETCH\)/gm)) {
        defined.set(match[1], Number(match[2]) | 1);
      }
    }
    let compared = 0;
    for (const [name, value] of Object.entries(opcodes)) {
      if (typeof value !== "number" || !defined.has(name)) continue;
      expect(value, name).toBe(defined.get(name));
      compared++;
    }
    // Everything but the handful the 6.1 headers predate (MEMSX, JCOND, LOAD_ACQ, ...).
    expect(compared).toBeGreaterThan(55);
  });
});

describe("byte layout", () => {
  // r1 = r2 (ALU64 | MOV | X) with off 0x1234 and imm 0x56789abc, in both byte orders.
  const insn = Instruction.of({ opcode: 0xbf, dst: 1, src: 2, off: 0x1234, imm: 0x56789abc });

  it("puts dst in the low nibble of a little-endian object", () => {
    expect(Array.from(encodeInstructions([insn], true))).toEqual([0xbf, 0x21, 0x34, 0x12, 0xbc, 0x9a, 0x78, 0x56]);
  });

  it("puts dst in the high nibble of a big-endian object", () => {
    expect(Array.from(encodeInstructions([insn], false))).toEqual([0xbf, 0x12, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc]);
  });

  it("reads off and imm as signed", () => {
    const [decoded] = decodeInstructions(new Uint8Array([0x07, 0x01, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff]), true);
    expect(decoded.off).toBe(-1);
    expect(decoded.imm).toBe(-2);
    expect(decoded.imm64).toBe(-2n);
  });
});

describe("ld_imm64", () => {
  it("is one instruction of width 2 holding a 64-bit constant", () => {
    for (const value of [0n, 1n, -1n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, -(1n << 63n), (1n << 63n) - 1n]) {
      const insn = Instruction.ldImm64(3, value);
      const [decoded] = decodeInstructions(encodeInstructions([insn], true), true);
      expect(decoded.width).toBe(2);
      expect(decoded.isLdImm64).toBe(true);
      expect(decoded.imm64).toBe(value);
    }
    // An unsigned 64-bit value is kept bit for bit and read back signed.
    expect(Instruction.ldImm64(0, 0xffffffffffffffffn).imm64).toBe(-1n);
  });

  it("keeps non-zero reserved fields of the second slot, so encoding is byte-exact", () => {
    for (const littleEndian of [true, false]) {
      const bytes = new Uint8Array([
        ...[0x18, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04],
        ...[0xaa, 0x5c, 0x12, 0x34, 0x05, 0x06, 0x07, 0x08],
        ...[0x95, 0, 0, 0, 0, 0, 0, 0],
      ]);
      const insns = decodeInstructions(bytes, littleEndian);
      expect(insns.map((i) => i.slot)).toEqual([0, 2]);
      expect(insns[0].second).toEqual({
        opcode: 0xaa,
        dst: littleEndian ? 0xc : 0x5,
        src: littleEndian ? 0x5 : 0xc,
        off: littleEndian ? 0x3412 : 0x1234,
        imm: littleEndian ? 0x08070605 : 0x05060708,
      });
      expect(Array.from(encodeInstructions(insns, littleEndian))).toEqual(Array.from(bytes));
    }
  });

  it("refuses a program that ends in the middle of one", () => {
    const bytes = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x18, 0x01, 0, 0, 0, 0, 0, 0]);
    const error = captureError(() => decodeInstructions(bytes, true, { section: "xdp", offset: 0x40 }));
    expect(error).toBeInstanceOf(ElfError);
    expect((error as ElfError).offset).toBe(0x48);
    expect((error as ElfError).section).toBe("xdp");
    expect((error as ElfError).message).toMatch(/ld_imm64 at instruction 1 is cut off/);
  });
});

describe("malformed input", () => {
  it("refuses a length that is not a multiple of 8, naming where the partial slot starts", () => {
    const error = captureError(() => decodeInstructions(new Uint8Array(20), true, { section: "tc", offset: 100 }));
    expect(error).toBeInstanceOf(ElfError);
    expect((error as ElfError).offset).toBe(116);
    expect((error as ElfError).message).toMatch(/20 bytes, which is not a whole number of 8-byte slots/);
  });

  it("decodes nothing from nothing", () => {
    expect(decodeInstructions(new Uint8Array(0), true)).toEqual([]);
    expect(encodeInstructions([], false).byteLength).toBe(0);
  });

  it("refuses to encode a field that does not fit", () => {
    for (const fields of [{ dst: 16 }, { src: -1 }, { off: 0x10000 }, { imm: 2 ** 32 }, { imm: 1.5 }]) {
      const insn = Instruction.of({ opcode: 0xbf, ...fields });
      expect(() => encodeInstructions([Instruction.of({ opcode: 0x95 }), insn], true)).toThrow(SpecError);
    }
    // Unsigned spellings of negative values are accepted and encode alike.
    const a = encodeInstructions([Instruction.of({ opcode: 0x07, off: 0xffff, imm: 0xffffffff })], true);
    const b = encodeInstructions([Instruction.of({ opcode: 0x07, off: -1, imm: -1 })], true);
    expect(a).toEqual(b);
  });
});

describe("Instruction accessors", () => {
  it("classifies calls by src_reg", () => {
    const helper = Instruction.of({ opcode: 0x85, imm: 1 });
    const local = Instruction.of({ opcode: 0x85, src: 1, imm: 4, slot: 10 });
    const kfunc = Instruction.of({ opcode: 0x85, src: 2, imm: 777 });
    expect([helper.isHelperCall, helper.isPseudoCall, helper.isKfuncCall]).toEqual([true, false, false]);
    expect([local.isHelperCall, local.isPseudoCall, local.isKfuncCall]).toEqual([false, true, false]);
    expect([kfunc.isHelperCall, kfunc.isPseudoCall, kfunc.isKfuncCall]).toEqual([false, false, true]);
    expect(local.target).toBe(15);
    expect(helper.target).toBeUndefined();
  });

  it("computes jump targets from off, and from imm for gotol", () => {
    expect(Instruction.of({ opcode: BPF_JMP | BPF_JEQ | BPF_K, off: -3, slot: 7 }).target).toBe(5);
    expect(Instruction.of({ opcode: BPF_JMP32 | BPF_JA, off: 5, imm: 70000, slot: 1 }).target).toBe(70002);
    expect(Instruction.of({ opcode: 0xe5, off: 2, slot: 4 }).isMayGoto).toBe(true);
    expect(Instruction.ldImm64(1, 6n, BPF_PSEUDO_FUNC, 3).target).toBe(10);
    expect(Instruction.of({ opcode: 0x95 }).isExit).toBe(true);
    expect(Instruction.of({ opcode: 0x95 }).isJump).toBe(false);
  });

  it("keeps off and imm spelled unsigned as the signed values the bytes hold, so text and targets agree with them", () => {
    const cases = [
      Instruction.of({ opcode: 0x05, off: 0xffff, slot: 1 }), // goto -1
      Instruction.of({ opcode: 0xb7, dst: 1, imm: 0xffffffff }), // r1 = -1
      Instruction.of({ opcode: BPF_JMP32 | BPF_JA, imm: 0xfffffffe, slot: 3 }), // gotol -2
    ];
    expect(cases.map((insn) => [insn.off, insn.imm])).toEqual([[-1, 0], [0, -1], [0, -2]]);
    expect(cases.map((insn) => formatInstruction(insn))).toEqual(["goto -1", "r1 = -1", "gotol -2"]);
    expect([cases[0].target, cases[2].target]).toEqual([1, 2]);
    const fields = (insn: Instruction) => [insn.opcode, insn.dst, insn.src, insn.off, insn.imm];
    for (const insn of cases) expect(fields(decodeInstructions(encodeInstructions([insn], true), true)[0])).toEqual(fields(insn));
    // The second slot of an ld_imm64 too.
    const wide = Instruction.of({ opcode: BPF_LD_IMM64, dst: 1, imm: 0xffffffff, second: { opcode: 0, dst: 0, src: 0, off: 0, imm: 0xffffffff } });
    expect(wide.imm64).toBe(-1n);
    expect(fields(decodeInstructions(encodeInstructions([wide], false), false)[0])).toEqual(fields(wide));
    expect(decodeInstructions(encodeInstructions([wide], false), false)[0].second).toEqual(wide.second);
    // Out of any spelling's range: left as given, for the encoder to refuse.
    expect(Instruction.of({ opcode: 0x05, off: 0x10000 }).off).toBe(0x10000);
    expect(() => encodeInstructions([Instruction.of({ opcode: 0x05, off: 0x10000 })], true)).toThrow(SpecError);
  });

  it("ldImm64 refuses a constant that fits no 64 bits, as SlotView.setImm64 does", () => {
    expect(Instruction.ldImm64(1, (1n << 64n) - 1n).imm64).toBe(-1n);
    expect(Instruction.ldImm64(1, -(1n << 63n)).imm64).toBe(-(1n << 63n));
    expect(() => Instruction.ldImm64(1, 1n << 64n)).toThrow(/does not fit 64 bits/);
    expect(() => Instruction.ldImm64(1, -(1n << 63n) - 1n)).toThrow(SpecError);
  });
});

describe("SlotView patches slots in place", () => {
  // r1 = 0 ll (a map reference before relocation); call 1; *(u32 *)(r10 - 4) = r1; exit
  const program = [Instruction.ldImm64(1, 0n), Instruction.of({ opcode: 0x85, imm: 1 }), Instruction.of({ opcode: 0x63, dst: 10, src: 1, off: -4 }), Instruction.of({ opcode: 0x95 })];

  for (const littleEndian of [true, false]) {
    it(`rewrites fields the way the loader does (${littleEndian ? "little" : "big"}-endian)`, () => {
      const bytes = encodeInstructions(program, littleEndian);
      const slots = new SlotView(bytes, littleEndian);
      expect(slots.count).toBe(5);
      slots.setSrc(0, BPF_PSEUDO_MAP_FD);
      slots.setImm64(0, 0x1_0000_0007n);
      slots.setImm(2, 0xdeadbeef);
      slots.setOff(3, -8);
      slots.setDst(3, 9);
      const decoded = decodeInstructions(bytes, littleEndian);
      expect(decoded[0].src).toBe(BPF_PSEUDO_MAP_FD);
      expect(decoded[0].dst).toBe(1);
      expect(decoded[0].imm64).toBe(0x1_0000_0007n);
      expect(slots.imm64(0)).toBe(0x1_0000_0007n);
      expect(decoded[1].imm).toBe(0xdeadbeef | 0);
      expect([decoded[2].dst, decoded[2].src, decoded[2].off]).toEqual([9, 1, -8]);
      expect(slots.fields(3)).toEqual({ opcode: 0x63, dst: 9, src: 1, off: -8, imm: 0 });
    });
  }

  it("refuses slots outside the program and ld_imm64 edits on other opcodes", () => {
    const slots = new SlotView(encodeInstructions(program, true), true, { section: "xdp", offset: 64 });
    expect(() => slots.imm(5)).toThrow(ElfError);
    expect(() => slots.setImm64(2, 1n)).toThrow(/not ld_imm64/);
    expect(() => slots.setDst(0, 11 + 5)).toThrow(/does not fit/);
    const error = captureError(() => slots.opcode(-1));
    expect((error as ElfError).offset).toBe(64);
    expect(() => new SlotView(new Uint8Array(12), true)).toThrow(ElfError);
  });
});

describe("decoding speed", () => {
  it("decodes 100,000 instructions in well under a second", () => {
    const bytes = new Uint8Array(100_000 * 8);
    for (let at = 0; at < bytes.length; at += 8) bytes[at] = 0xbf;
    decodeInstructions(bytes, true); // warm up
    const start = performance.now();
    const insns = decodeInstructions(bytes, true);
    const elapsed = performance.now() - start;
    expect(insns.length).toBe(100_000);
    // About 5 ms here; the bound leaves room for a slow CI machine.
    expect(elapsed).toBeLessThan(250);
  });
});

function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}
