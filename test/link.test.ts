// Linking and resolution are pure: they run without a kernel, on the fixtures' specs.
import { describe, expect, it } from "vitest";
import { parseObject } from "../loader/spec.js";
import { link } from "../loader/link.js";
import { resolveReferences } from "../loader/resolve.js";
import { decodeInstructions } from "../insn/instruction.js";
import { BPF_PSEUDO_CALL, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE } from "../insn/opcodes.js";
import { RelocationError } from "../common/errors.js";
import { readProg } from "./helpers/progs.js";

describe("link", () => {
  const spec = parseObject(readProg("subprog"));

  it("appends each called function once, after the entry program", () => {
    const linked = link(spec, spec.programs.get("tc_global_call")!);
    expect(linked.layout.map((f) => f.name)).toEqual(["tc_global_call", "classify_len", "bump"]);
    expect(linked.layout[0].start).toBe(0);
    const program = spec.programs.get("tc_global_call")!;
    expect(linked.layout[1].start).toBe(program.slotCount);
    expect(linked.bytes.byteLength / 8).toBe(program.slotCount + spec.subprograms.get("classify_len")!.slotCount + spec.subprograms.get("bump")!.slotCount);
  });

  it("points every bpf-to-bpf call at its target's new position", () => {
    for (const program of spec.programs.values()) {
      const linked = link(spec, program);
      const starts = new Map(linked.layout.map((f) => [f.start, f.name]));
      const calls = decodeInstructions(linked.bytes, true).filter((i) => i.isPseudoCall);
      expect(calls.length).toBeGreaterThan(0);
      for (const call of calls) {
        expect(call.src).toBe(BPF_PSEUDO_CALL);
        expect(starts.has(call.slot + call.imm + 1)).toBe(true);
      }
      // bump is called by both programs: each gets its own copy.
      expect(linked.layout.some((f) => f.name === "bump")).toBe(true);
    }
  });

  it("does not modify the spec", () => {
    const program = spec.programs.get("xdp_static_call")!;
    const before = program.bytes.slice();
    link(spec, program);
    expect(program.bytes).toEqual(before);
  });

  it("fails with RelocationError when a called function was removed from the spec", () => {
    const edited = parseObject(readProg("subprog"));
    edited.subprograms.delete("bump");
    expect(() => link(edited, edited.programs.get("xdp_static_call")!)).toThrow(RelocationError);
    expect(() => link(edited, edited.programs.get("xdp_static_call")!)).toThrow(/bump/);
  });
});

describe("resolveReferences", () => {
  it("writes map fds with BPF_PSEUDO_MAP_FD into every map load", () => {
    const spec = parseObject(readProg("xdp_counter"));
    const linked = link(spec, [...spec.programs.values()][0]);
    const bytes = resolveReferences(linked, { mapFd: (name) => (name === "stats" ? 42 : undefined), dataFd: () => undefined });
    const loads = decodeInstructions(bytes, true).filter((i) => i.isLdImm64);
    expect(loads.length).toBeGreaterThan(0);
    for (const load of loads) {
      expect(load.src).toBe(BPF_PSEUDO_MAP_FD);
      expect(load.imm).toBe(42);
    }
    expect(linked.bytes).not.toEqual(bytes); // a copy was patched, not the linked program
  });

  it("writes data map fd and offset with BPF_PSEUDO_MAP_VALUE", () => {
    const spec = parseObject(readProg("global_data"));
    const program = [...spec.programs.values()][0];
    const linked = link(spec, program);
    const fds: Record<string, number> = { ".data": 10, ".rodata": 11, ".bss": 12 };
    const bytes = resolveReferences(linked, { mapFd: () => undefined, dataFd: (s) => fds[s] });
    const insns = decodeInstructions(bytes, true);
    for (const reference of linked.references) {
      if (reference.kind !== "data") continue;
      const insn = insns.find((i) => i.slot === reference.insn)!;
      expect(insn.src).toBe(BPF_PSEUDO_MAP_VALUE);
      expect(insn.imm).toBe(fds[reference.section]);
      expect(insn.second!.imm).toBe(reference.offset);
    }
    expect(linked.references.filter((r) => r.kind === "data").length).toBeGreaterThan(0);
  });

  it("names the program, instruction and map when a map has no fd", () => {
    const spec = parseObject(readProg("xdp_counter"));
    const linked = link(spec, [...spec.programs.values()][0]);
    expect(() => resolveReferences(linked, { mapFd: () => undefined, dataFd: () => undefined })).toThrow(/xdp_count, instruction \d+, symbol "stats"/);
  });
});
