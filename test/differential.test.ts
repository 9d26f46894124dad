// Differential test against libbpf: for every object libbpf loads, the instructions the
// kernel holds after tsbpf's load must equal those it holds after libbpf's.
//
// Objects: our fixtures (test/progs/build/*.o, compiled by vitest's globalSetup), the
// xdp-tools and xdp-tests objects libbpf loads (xdp_pass.o, xdp_drop.o, the ten xdpfilt_*.o,
// xdp-dispatcher.o, xdpdump_xdp.o, the xsk_def objects, test_long_func_name.o), two of
// cilium/ebpf's test objects, and one object compiled here whose call graph tells apart
// the orders in which a loader can lay out subprograms (LINK_ORDER_SOURCE below).
//
// libbpf's side: `bpftool prog loadall OBJ DIR` in a private mount namespace, then for each
// pinned program `bpftool prog show` (id, tag, map ids), `bpftool prog dump xlated ... file`
// (raw bytes) and `bpftool -j prog dump xlated` (text with source lines), all in
// helpers/xlated.ts. Our side: the same object through parseObject + load, then
// programInfo(fd, { xlated: true }) and the same bpftool commands on our program's id.
//
// Per program, three comparisons:
// 1. program type, GPL flag and the kernel's tag: the tag hashes the instructions as the
//    loader handed them over, map fds zeroed (kernel/bpf/core.c, bpf_prog_calc_tag), so
//    equal tags mean equal input, bpf-to-bpf call offsets and subprogram order included;
// 2. the xlated instructions, slot by slot, map ids replaced by map names on both sides
//    (the only normalization; helpers/xlated.ts says why nothing else needs one);
// 3. bpftool's annotated dump: function prototypes (func_info) and source lines
//    (line_info) where the kernel placed them, so BTF ext info is linked like libbpf's.
//
// Data maps (.data, .rodata, .bss) take part of their name from the object's name, which
// libbpf takes from the file name (up to the first dot): we parse with the same name, so
// that both sides call the map "xdp_coun.rodata", say.
//
// Objects that are not compared say why in EXPECTATIONS: libbpf refuses them (legacy map
// sections: then we only check that we load them), both refuse them, a loader feature of
// ours is still in progress (CO-RE: those fixtures join the comparison by themselves when
// the row is removed), or a known difference of ours, asserted exactly so that it cannot
// spread unnoticed and so that fixing it makes the test say "flip me".

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BpfError, RelocationError, VerifierError, load, parseObject, type LoadedObject } from "../index.js";
import { skipWithoutRoot } from "./helpers/netns.js";
import { CILIUM_ROOT, XDP_TOOLS_DIRS } from "./helpers/objects.js";
import { CLANG, REPO_ROOT, bpfCompileArgs, fixtureNames, progPath } from "./helpers/progs.js";
import {
  libbpfLoadAll,
  libbpfObjectName,
  normalizedDump,
  normalizedInstructions,
  ourKernelProgram,
  runDirName,
  type KernelProgram,
  type LibbpfLoad,
} from "./helpers/xlated.js";

// A program calling first() then second(), where first() calls leaf(). The functions sit in
// .text in the order first, second, leaf. libbpf appends a subprogram when it first meets a
// call to it and relocates that subprogram's own calls at once, before the caller's next
// call (bpf_object__reloc_code: depth first, calls in instruction order):
// xdp_order, first, leaf, second. tsbpf's link() (loader/link.ts) follows the same order,
// so the object is compared like any other: same instructions, same tag.
const LINK_ORDER_SOURCE = `
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static __attribute__((noinline)) int leaf(int x) { return x * 3 + 1; }
static __attribute__((noinline)) int first(int x) { return leaf(x) + 2; }
static __attribute__((noinline)) int second(int x) { return x ^ 5; }

SEC("xdp")
int xdp_order(struct xdp_md *ctx)
{
	int v = ctx->ingress_ifindex;
	return (first(v) + second(v)) & 1 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
`;

type Expectation =
  | { readonly compare: true; readonly libbpfType?: string }
  /** libbpf refuses the object (its stderr matches); we load it, and there is nothing to compare. */
  | { readonly libbpfRefuses: RegExp }
  /** Both refuse it: libbpf with stderr matching `libbpf`, we with a BpfError matching `ours`. */
  | { readonly bothRefuse: { readonly libbpf: RegExp; readonly ours: RegExp } }
  /** We refuse it until a loader feature lands; then delete the row and it is compared. */
  | { readonly pending: "CO-RE" | "externs"; readonly ours: RegExp }
  /** A difference of ours, asserted exactly: the functions in each loader's order. */
  | { readonly linkOrder: { readonly program: string; readonly libbpf: readonly string[]; readonly ours: readonly string[] } };

const COMPARE: Expectation = { compare: true };
const LEGACY_MAPS = /legacy map definitions in 'maps' section are not supported by libbpf v1\.0\+/;

/** Rows for objects that are not simply compared; every other object is. */
const EXPECTATIONS: Readonly<Record<string, Expectation>> = {
  "fixture/legacy_maps.o": { libbpfRefuses: LEGACY_MAPS },
  "fixture/iproute2_elf_map.o": { libbpfRefuses: LEGACY_MAPS },
  "fixture/rejected.o": {
    bothRefuse: { libbpf: /R0 invalid mem access 'map_value_or_null'/, ours: /R0 invalid mem access 'map_value_or_null'/ },
  },
  "cilium/testdata/btf_map_init-el.elf": { compare: true, libbpfType: "socket" }, // "socket/tail" is not a libbpf 1.x section name
};

interface Case {
  readonly label: string;
  readonly path: () => string;
  /** Program names, read at collection time (inline objects: given). */
  readonly programs: readonly string[];
}

const DEBIAN_XDP = [
  "xdp_pass.o", "xdp_drop.o", "test_long_func_name.o",
  ...["alw", "dny"].flatMap((mode) => ["all", "eth", "ip", "tcp", "udp"].map((what) => `xdpfilt_${mode}_${what}.o`)),
  "xdp-dispatcher.o", "xdpdump_xdp.o", "xsk_def_xdp_prog.o", "xsk_def_xdp_prog_5.3.o",
];
const CILIUM = ["testdata/raw_tracepoint-el.elf", "testdata/btf_map_init-el.elf"];

function programsOf(path: string): string[] {
  return [...parseObject(readFileSync(path)).programs.keys()];
}

const installed = (path: string): boolean => existsSync(path);

/** Scratch directory of the objects compiled here, made in beforeAll. */
let inlineDir = "";
const linkOrderObject = (): string => join(inlineDir, "link_order.o");

const cases: Case[] = [
  ...fixtureNames().map((name) => ({ label: `fixture/${name}.o`, path: () => progPath(name), programs: programsOf(progPath(name)) })),
  ...DEBIAN_XDP.flatMap((file) => {
    const path = XDP_TOOLS_DIRS.map((dir) => join(dir, file)).find(installed);
    return path === undefined ? [] : [{ label: `xdp-tools/${file}`, path: () => path, programs: programsOf(path) }];
  }),
  ...CILIUM.map((file) => join(CILIUM_ROOT, file))
    .filter(installed)
    .map((path) => ({ label: `cilium/${path.slice(CILIUM_ROOT.length + 1)}`, path: () => path, programs: programsOf(path) })),
  { label: "inline/link_order.o", path: linkOrderObject, programs: ["xdp_order"] },
];

/** Function names in the order the kernel holds them: bpftool prints each one's prototype first. */
function functionOrder(program: KernelProgram): string[] {
  return normalizedDump(program)
    .filter((line) => line.startsWith("proto: "))
    .map((line) => /(\w+)\(/.exec(line)?.[1] ?? line);
}

/**
 * Each function's lines with bpf-to-bpf call distances taken out, and the callee's tag in
 * bpftool's call text (bpf_prog_<tag>_<name>: it hashes the callee's own call distances):
 * what stays equal when only the order differs.
 */
function functionBodies(program: KernelProgram): Map<string, string[]> {
  const bodies = new Map<string, string[]>();
  let current: string[] = [];
  for (const line of normalizedDump(program)) {
    if (line.startsWith("proto: ")) bodies.set(line, (current = []));
    current.push(line.replace(/call pc[+-]\d+#bpf_prog_[0-9a-f]+_/, "call pc?#bpf_prog_?_"));
  }
  return bodies;
}

/** Side by side, the first lines that differ (vitest's own diff of long arrays is hard to read). */
function firstDifferences(ours: readonly string[], theirs: readonly string[], count = 8): string {
  const out: string[] = [];
  for (let i = 0; i < Math.max(ours.length, theirs.length) && out.length < count * 3; i++) {
    if (ours[i] !== theirs[i]) out.push(`#${i}`, `  tsbpf:  ${ours[i] ?? "(end)"}`, `  libbpf: ${theirs[i] ?? "(end)"}`);
  }
  return out.join("\n");
}

describe.skipIf(skipWithoutRoot)("the kernel holds the same instructions after tsbpf's load as after libbpf's", () => {
  const pinRoot = `/sys/fs/bpf/${runDirName("tsbpf-differential")}`;

  beforeAll(() => {
    mkdirSync(pinRoot);
    inlineDir = mkdtempSync(join(tmpdir(), "tsbpf-differential-"));
    const source = join(inlineDir, "link_order.bpf.c");
    writeFileSync(source, LINK_ORDER_SOURCE);
    execFileSync(CLANG, bpfCompileArgs(source, linkOrderObject()), { cwd: REPO_ROOT, stdio: "pipe" });
  });
  afterAll(() => {
    rmSync(pinRoot, { recursive: true, force: true });
    if (inlineDir !== "") rmSync(inlineDir, { recursive: true, force: true });
  });

  for (const testCase of cases) {
    const expectation = EXPECTATIONS[testCase.label] ?? COMPARE;

    describe(testCase.label, () => {
      let libbpf: LibbpfLoad;
      let ours: LoadedObject | undefined;
      let ourError: unknown;

      beforeAll(() => {
        const path = testCase.path();
        libbpf = libbpfLoadAll(path, {
          pinDir: `/sys/fs/bpf/${runDirName("tsbpf-libbpf")}/${libbpfObjectName(path)}`,
          type: "compare" in expectation ? expectation.libbpfType : undefined,
        });
        try {
          ours = load(parseObject(readFileSync(path), { name: libbpfObjectName(path) }), { pinRoot, onWarning: () => {} });
        } catch (error) {
          ourError = error;
        }
      });
      afterAll(() => ours?.close());

      if ("libbpfRefuses" in expectation) {
        it("libbpf refuses it; tsbpf loads it (no oracle for the instructions)", () => {
          expect(libbpf.loaded).toBe(false);
          expect(libbpf.messages).toMatch(expectation.libbpfRefuses);
          expect(ourError).toBeUndefined();
          expect([...ours!.programs.keys()]).toEqual(testCase.programs);
        });
        return;
      }
      if ("bothRefuse" in expectation) {
        it("both refuse it", () => {
          expect(libbpf.loaded).toBe(false);
          expect(libbpf.messages).toMatch(expectation.bothRefuse.libbpf);
          expect(ourError).toBeInstanceOf(VerifierError);
          expect((ourError as VerifierError).log).toMatch(expectation.bothRefuse.ours);
        });
        return;
      }
      if ("pending" in expectation) {
        it(`libbpf loads it; tsbpf refuses it until ${expectation.pending} lands`, () => {
          expect(libbpf.loaded, libbpf.messages).toBe(true);
          expect(ourError, `${testCase.label} loads now: delete its EXPECTATIONS row so that it is compared`).toBeInstanceOf(BpfError);
          expect(ourError).toBeInstanceOf(RelocationError);
          expect((ourError as Error).message).toMatch(expectation.ours);
        });
        return;
      }
      if ("linkOrder" in expectation) {
        const { program, libbpf: libbpfOrder, ours: ourOrder } = expectation.linkOrder;
        it(`${program}: KNOWN DIFFERENCE, subprograms in another order (libbpf ${libbpfOrder.join(", ")}; tsbpf ${ourOrder.join(", ")})`, () => {
          expect(libbpf.loaded, libbpf.messages).toBe(true);
          expect(ourError).toBeUndefined();
          const theirs = libbpf.programs.get(program)!;
          const mine = ourKernelProgram(ours!.program(program));
          expect(functionOrder(theirs)).toEqual(libbpfOrder);
          expect(functionOrder(mine), "tsbpf now lays out subprograms like libbpf: delete this EXPECTATIONS row").toEqual(ourOrder);
          // Only the order: each function's instructions are the same but for call distances.
          expect(functionBodies(mine)).toEqual(functionBodies(theirs));
        });
        return;
      }

      it("both load it, with the same programs", () => {
        expect(libbpf.loaded, libbpf.messages).toBe(true);
        expect(ourError, String(ourError)).toBeUndefined();
        expect([...libbpf.programs.keys()].sort()).toEqual([...testCase.programs].sort());
        expect([...ours!.programs.keys()]).toEqual(testCase.programs);
      });

      for (const name of testCase.programs) {
        describe(name, () => {
          let mine: KernelProgram;
          let theirs: KernelProgram;
          beforeAll(() => {
            if (ours === undefined || !libbpf.programs.has(name)) return;
            mine = ourKernelProgram(ours.program(name));
            theirs = libbpf.programs.get(name)!;
          });

          it("same program type, GPL flag and tag", () => {
            expect(mine, "not loaded by both").toBeDefined();
            expect({ type: mine.type, gpl: mine.gplCompatible, tag: mine.tag }).toEqual({ type: theirs.type, gpl: theirs.gplCompatible, tag: theirs.tag });
          });

          it("same xlated instructions, map ids as map names", () => {
            expect(mine, "not loaded by both").toBeDefined();
            const a = normalizedInstructions(mine);
            const b = normalizedInstructions(theirs);
            expect(a.join("\n")).not.toContain("unknown map id");
            expect(b.join("\n")).not.toContain("unknown map id");
            expect(a.length, firstDifferences(a, b)).toBe(b.length);
            expect(a, firstDifferences(a, b)).toEqual(b);
          });

          it("same bpftool dump: function prototypes and source lines in the same places", () => {
            expect(mine, "not loaded by both").toBeDefined();
            const a = normalizedDump(mine);
            const b = normalizedDump(theirs);
            expect(a, firstDifferences(a, b)).toEqual(b);
          });
        });
      }
    });
  }

  describe("the comparison itself", () => {
    it("sees a difference: xdp_pass against xdp_drop", () => {
      const pass = libbpfLoadAll(progPath("xdp_pass"), { pinDir: `/sys/fs/bpf/${runDirName("tsbpf-libbpf")}/xdp_pass` });
      const spec = parseObject(readFileSync(progPath("xdp_drop")), { name: "xdp_drop" });
      const drop = load(spec, { pinRoot, onWarning: () => {} });
      try {
        const theirs = pass.programs.get("xdp_pass")!;
        const mine = ourKernelProgram(drop.program("xdp_drop"));
        expect(normalizedInstructions(mine)).not.toEqual(normalizedInstructions(theirs));
      } finally {
        drop.close();
      }
    });

    it("names the maps: a program's map references read map[<name>], the same name on both sides", () => {
      const path = progPath("xdp_counter");
      const theirs = libbpfLoadAll(path, { pinDir: `/sys/fs/bpf/${runDirName("tsbpf-libbpf")}/xdp_counter` }).programs.get("xdp_count")!;
      const loaded = load(parseObject(readFileSync(path), { name: basename(path, ".o") }), { pinRoot, onWarning: () => {} });
      try {
        const mine = ourKernelProgram(loaded.program("xdp_count"));
        expect(mine.mapNames.size).toBeGreaterThan(0);
        for (const program of [mine, theirs]) {
          const mapped = normalizedInstructions(program).filter((line) => line.includes("imm=map["));
          expect(mapped.length).toBeGreaterThan(0);
          for (const line of mapped) expect([...program.mapNames.values()].some((name) => line.includes(`map[${name}]`)), line).toBe(true);
        }
        // Different loads, different map ids: the raw bytes differ where the names do not.
        expect([...mine.mapNames.keys()]).not.toEqual([...theirs.mapNames.keys()]);
      } finally {
        loaded.close();
      }
    });
  });
});
