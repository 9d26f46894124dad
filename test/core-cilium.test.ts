// CO-RE against cilium/ebpf's test objects (Debian's golang-github-cilium-ebpf-dev,
// btf/testdata), whose C sources say what every relocation must resolve to:
//
// - relocs.c: programs that check their own relocations at run time (return __LINE__ of
//   the first wrong one, 0 when all hold), relocated against the object's own BTF, as
//   cilium's TestCORERelocationLoad does. Against itself every relocation must leave the
//   instruction as the compiler wrote it; err_ambiguous* must fail (two candidates,
//   `ambiguous` and `ambiguous___flavour`, give different type ids).
// - relocs_read.c: reads through local types declared in another order than in
//   relocs_read_tgt.c, whose BTF is the target (cilium's TestCORERelocationRead); the
//   source's comment lists the target layout, from which the values below are derived.
//
// The little-endian objects are then loaded and run (BPF_PROG_TEST_RUN must return 0);
// the big-endian ones are relocated and must agree with them.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RelocationError } from "../common/errors.js";
import { ProgramType } from "../common/uapi.js";
import { CoreReloKind } from "../btf/ext.js";
import { parseBtf, type Btf } from "../btf/parse.js";
import { parseElf } from "../elf/index.js";
import { link } from "../loader/link.js";
import { relocateCore, type CoreResult } from "../loader/core.js";
import { parseObject } from "../loader/spec.js";
import { loadProgram } from "../syscall/prog-load.js";
import { testRun } from "../syscall/bpf-prog.js";
import { CILIUM_ROOT } from "./helpers/objects.js";
import { skipWithoutRoot } from "./helpers/netns.js";

const TESTDATA = join(CILIUM_ROOT, "btf/testdata");
const haveTestdata = existsSync(join(TESTDATA, "relocs-el.elf"));

function objectBtf(path: string): Btf {
  return parseBtf(parseElf(readFileSync(path)).section(".BTF")!.data);
}

/** Relocates every program of `object` against `target` (undefined: the object's own BTF). */
function relocateAll(object: string, target?: string) {
  const spec = parseObject(readFileSync(join(TESTDATA, object)));
  const targetBtf = target === undefined ? spec.btf! : objectBtf(join(TESTDATA, target));
  return [...spec.programs.values()].map((program) => {
    const linked = link(spec, program);
    try {
      const { bytes, results } = relocateCore(linked, spec.btf!, targetBtf, { targetName: target ?? "itself" });
      return { program, linked, bytes, results, error: undefined };
    } catch (error) {
      return { program, linked, bytes: undefined, results: [] as readonly CoreResult[], error };
    }
  });
}

const values = (results: readonly CoreResult[], kind?: number) => results.filter((r) => kind === undefined || r.kind === kind).map((r) => r.value);

describe.skipIf(!haveTestdata)("cilium's relocs.c against its own BTF", () => {
  const programs = relocateAll("relocs-el.elf");

  it("relocates every program but the err_ ones without changing an instruction", () => {
    expect(programs.map((p) => p.program.name).sort()).toEqual(["enums", "err_ambiguous", "err_ambiguous_flavour", "fields", "type_ids", "types"]);
    for (const { program, linked, bytes, results } of programs.filter((p) => !p.program.name.startsWith("err_"))) {
      expect(results.length, program.name).toBeGreaterThan(0);
      expect(results.every((r) => r.status === "patched"), program.name).toBe(true);
      expect(Buffer.from(bytes!).equals(Buffer.from(linked.bytes)), program.name).toBe(true);
    }
  });

  it("resolves what relocs.c asks: type ids, sizes, existence, enum values", () => {
    const by = (name: string) => programs.find((p) => p.program.name === name)!.results;
    // TYPE_ID_LOCAL and TYPE_ID_TARGET of the same type against itself: the type's own id.
    for (const r of by("type_ids")) expect(r.value, r.access).toBe(BigInt(r.localTypeId));
    expect(values(by("types"), CoreReloKind.TYPE_EXISTS)).toEqual(Array(6).fill(1n));
    // struct s { int; char; } and union u { int *; char *; } are 8 bytes, enum e 4.
    expect(by("types").filter((r) => r.kind === CoreReloKind.TYPE_SIZE).map((r) => [r.access, r.value])).toEqual([
      ["struct s", 8n], ["s_t", 8n], ["enum e", 4n], ["e_t", 4n], ["union u", 8n], ["u_t", 8n],
    ]);
    expect(by("enums").map((r) => [r.kindName, r.access, r.value])).toEqual([
      ["ENUMVAL_EXISTS", "e::ONE", 1n], ["ENUMVAL_EXISTS", "e_t::TWO", 1n], ["ENUMVAL_VALUE", "e::TWO", 2n], ["ENUMVAL_VALUE", "e_t::ONE", 1n],
    ]);
    // struct t { union { s_t s[10]; }; struct { union u u; }; }: s[2]._1 at 16, s[1]._2 at 12, u at 80.
    const offsets = by("fields").filter((r) => r.kind === CoreReloKind.FIELD_BYTE_OFFSET && r.localType === "struct t");
    expect(offsets.map((r) => [r.access, r.value])).toEqual([["t.s[2]._1", 16n], ["t.s[1]._2", 12n], ["t.u._1", 80n], ["t.u._2", 80n]]);
  });

  it("refuses the ambiguous programs: two candidates give two type ids", () => {
    for (const name of ["err_ambiguous", "err_ambiguous_flavour"]) {
      const { error } = programs.find((p) => p.program.name === name)!;
      expect(error, name).toBeInstanceOf(RelocationError);
      expect((error as Error).message).toMatch(/relocation decision ambiguity: struct ambiguous(___flavour)? \[\d+\] gives \d+, struct ambiguous(___flavour)? \[\d+\] gives \d+/);
    }
  });

  it("gives the big-endian object the same answers", () => {
    const be = relocateAll("relocs-eb.elf");
    for (const { program, results, error } of programs) {
      const other = be.find((p) => p.program.name === program.name)!;
      expect(other.error === undefined, program.name).toBe(error === undefined);
      expect(other.results.map((r) => [r.kindName, r.access, r.value]), program.name).toEqual(results.map((r) => [r.kindName, r.access, r.value]));
    }
  });

  it.skipIf(skipWithoutRoot)("loads and runs: every program's own checks pass (returns 0)", () => {
    for (const { program, bytes, error } of programs) {
      if (error !== undefined) continue;
      using fd = loadProgram({ type: ProgramType.SOCKET_FILTER, insns: bytes!, license: program.license || "GPL", name: program.name });
      expect(testRun(fd, { data: new Uint8Array(14) }).retval, `${program.name} failed the check on line`).toBe(0);
    }
  });
});

describe.skipIf(!haveTestdata)("cilium's relocs_read.c against relocs_read_tgt.c", () => {
  const [reads] = relocateAll("relocs_read-el.elf", "relocs_read_tgt-el.elf");

  it("links read_subprog into reads and relocates both", () => {
    expect(reads.program.name).toBe("reads");
    expect(reads.linked.layout.map((f) => f.name)).toEqual(["reads", "read_subprog"]);
    expect(reads.error).toBeUndefined();
    expect(reads.results.every((r) => r.status === "patched")).toBe(true);
  });

  it("finds the target's layout: s.a and s.b swapped, and each bitfield of struct bits", () => {
    const facts = new Map<string, Map<string, bigint | undefined>>();
    for (const r of reads.results) {
      if (!facts.has(r.access)) facts.set(r.access, new Map());
      facts.get(r.access)!.set(r.kindName, r.value);
    }
    const fact = (access: string) => Object.fromEntries(facts.get(access) ?? []);
    expect(fact("s.a")).toEqual({ FIELD_BYTE_OFFSET: 0n });
    expect(fact("s.b")).toEqual({ FIELD_BYTE_OFFSET: 1n });
    // Target (relocs_read.c's comment): b bits 0-1 and a bits 2-5 of a u8, d bits 6-7 of an
    // unsigned int, c bit 8 of a u16, e bit 9 of an enum, f a plain u16 at byte 2, g bits 32-61
    // of a u32. Each is read from the smallest aligned word of its type's size holding it,
    // shifted left to put its top bit at bit 63, then right to bring it down.
    const word = (offset: number, size: number, lshift: number, rshift: number) => ({
      FIELD_BYTE_OFFSET: BigInt(offset), FIELD_BYTE_SIZE: BigInt(size), FIELD_LSHIFT_U64: BigInt(lshift), FIELD_SIGNED: 0n, FIELD_RSHIFT_U64: BigInt(rshift),
    });
    expect(fact("bits.a")).toEqual(word(0, 1, 64 - 6, 64 - 4));
    expect(fact("bits.b")).toEqual(word(0, 1, 64 - 2, 64 - 2));
    expect(fact("bits.d")).toEqual(word(0, 4, 64 - 8, 64 - 2));
    expect(fact("bits.c")).toEqual(word(0, 2, 64 - 9, 64 - 1));
    expect(fact("bits.e")).toEqual(word(0, 4, 64 - 10, 64 - 1));
    expect(fact("bits.f")).toEqual(word(2, 2, 64 - 16, 64 - 16));
    expect(fact("bits.g")).toEqual(word(4, 4, 64 - 30, 64 - 30));
    expect(fact("struct nonexist")).toEqual({ TYPE_EXISTS: 0n });
    expect(fact("nonexist.non_exist")).toEqual({ FIELD_EXISTS: 0n });
    expect(fact("nonexist_enum::NON_EXIST")).toEqual({ ENUMVAL_EXISTS: 0n });
  });

  it("gives the big-endian object the same offsets, sizes and right shifts", () => {
    const [be] = relocateAll("relocs_read-eb.elf", "relocs_read_tgt-eb.elf");
    expect(be.error).toBeUndefined();
    const notLeft = (results: readonly CoreResult[]) => results.filter((r) => r.kind !== CoreReloKind.FIELD_LSHIFT_U64).map((r) => [r.kindName, r.access, r.value]);
    expect(notLeft(be.results)).toEqual(notLeft(reads.results));
  });

  it.skipIf(skipWithoutRoot)("loads and runs: the reads through the relocated offsets see what was written (returns 0)", () => {
    using fd = loadProgram({ type: ProgramType.SOCKET_FILTER, insns: reads.bytes!, license: "GPL", name: "reads" });
    expect(testRun(fd, { data: new Uint8Array(14) }).retval, "failed the check on line").toBe(0);
  });
});
