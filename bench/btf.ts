// bench/btf: how long the first step of a CO-RE load takes, parsing the kernel's BTF and
// finding one type in it, next to libbpf doing the same in one run (issue: "parse plus
// finding task_struct no slower than libbpf"). The goal is ratio = ours / libbpf <= 1.
//
//     npx tsx bench/btf.ts [--quick] [--source] [PATH [NAME]]
//
// (--quick: a tiny plan and one round, numbers only good for checking that it runs;
// --source: time the TypeScript source through tsx instead of the tsc output users run.)
//
// PATH defaults to /sys/kernel/btf/vmlinux, NAME to task_struct (looked up as a struct).
// Pairs, ours against libbpf (bench/c/btf_parse.c, -O2, Debian's libbpf):
//   parse_find        parseBtf(bytes) + typeByName(NAME, "struct") and its size, the bytes
//                     read once beforehand   vs  btf__new(bytes) + btf__find_by_name_kind +
//                     btf__free (btf__new copies the bytes into its own buffer)
//   read_parse_find   the same plus readFileSync(PATH) in every run  vs  btf__parse(PATH)
//                     + find + free (libbpf reads the file itself, fopen + fread)
//   parse_only        parseBtf(bytes)  vs  btf__new + btf__free
//   read_parse_only   readFileSync + parseBtf  vs  btf__parse + btf__free
// and one of ours alone: parse_ids_by_name, parseBtf + idsByName(NAME), which looks at every
// type (typeByName stops at the first match, as btf__find_by_name_kind does).
// Every figure is the median of batches (bench/measure.ts); our operations run interleaved
// batch by batch in this process, each C operation in a process of its own (see
// bench/c/btf_parse.c for why). Both sides drop what they parsed after every run (libbpf:
// btf__free; ours: only a number is kept), so neither pays for keeping 100,000 types alive.
// The machine may drift between the two sides, so the whole comparison runs `rounds` times
// (C, then ours, then C again, ...) and each figure is the median over the rounds. Nothing
// but the JSON goes to stdout.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT } from "../test/helpers/progs.js";
import { BENCH_BUILD_DIR, buildLibrary } from "./build.js";
import { measureInterleaved, median, ratio, round1, type Measurement, type Plan } from "./measure.js";

type ParseModule = typeof import("../btf/parse.js");

export const DEFAULT_BTF_PLAN: Plan = { warmupMs: 300, batchMs: 50, batches: 9 };
const QUICK_PLAN: Plan = { warmupMs: 20, batchMs: 5, batches: 3 };

const PAIRS = {
  parse_find: "new_buffer",
  read_parse_find: "parse_file",
  parse_only: "new_buffer_only",
  read_parse_only: "parse_file_only",
} as const;
type Pair = keyof typeof PAIRS;
type COperation = (typeof PAIRS)[Pair];

export interface BtfBenchOptions {
  plan?: Plan;
  /** How many times both sides are measured, alternately (default 3). */
  rounds?: number;
  /** "dist": tsc output (what users run, the default); "source": the .ts files through tsx. */
  code?: "dist" | "source";
  path?: string;
  name?: string;
}

export interface PairResult {
  ours_us: number | null;
  libbpf_us: number | null;
  /** ours_us / libbpf_us; the goal is <= 1. */
  ratio: number | null;
  ours_iterations: number;
  libbpf_iterations: number;
  /** The median of each round, in order. */
  ours_rounds_us: number[];
  libbpf_rounds_us: number[];
  libbpf_error?: string;
}

export interface BtfBenchReport {
  benchmark: "btf";
  unit: "microseconds per run, median of batches";
  goal: "parse_find.ratio = ours_us / libbpf_us <= 1";
  environment: { node: string; libbpf: string; code: string };
  plan: Plan;
  rounds: number;
  file: { path: string; bytes: number; types: number };
  found: { name: string; kind: "struct"; ours: { id: number; size: number } | null; libbpf: { id: number; size: number }; agree: boolean };
  sides: { ours: string; libbpf: string };
  pairs: Record<Pair, PairResult>;
  ours_only: { parse_ids_by_name_us: number; ids: readonly number[] };
  summary: { ratio: number | null; read_ratio: number | null; goal_met: boolean };
}

interface HarnessOutput {
  ok: boolean;
  error?: string;
  libbpf: string;
  bytes: number;
  types: number;
  id: number;
  size: number;
  [operation: string]: unknown;
}

type HarnessMeasurement = { iterations: number; median_ns: number } | { ok: false; error: number };

export async function runBtfBench(options: BtfBenchOptions = {}): Promise<BtfBenchReport> {
  const plan = options.plan ?? DEFAULT_BTF_PLAN;
  const rounds = Math.max(1, options.rounds ?? 3);
  const code = options.code ?? "dist";
  const path = options.path ?? "/sys/kernel/btf/vmlinux";
  const name = options.name ?? "task_struct";
  const btf = await loadParseModule(code);
  const harness = buildBtfHarness();

  const bytes = readFileSync(path);
  const parsed = btf.parseBtf(bytes);
  const type = parsed.typeByName(name, "struct");
  const ours = type?.kind === "struct" ? { id: type.id, size: type.size } : null;

  // Each run keeps a number derived from its result, so that no part of the work can be
  // optimized away, and lets the parsed Btf go, as btf__free does on the C side.
  let sink = 0;
  const findSize = (bytes: Uint8Array): number => {
    const found = btf.parseBtf(bytes).typeByName(name, "struct");
    return found?.kind === "struct" ? found.size : -1;
  };
  // Two groups: the 5 MB buffer each read leaves behind would bring garbage collections into
  // the batches of the in-memory operations if they were interleaved with the reads.
  const inMemory = {
    parse_find: () => (sink += findSize(bytes)),
    parse_only: () => (sink += btf.parseBtf(bytes).typeCount),
    parse_ids_by_name: () => (sink += btf.parseBtf(bytes).idsByName(name).length),
  };
  const reading = {
    read_parse_find: () => (sink += findSize(readFileSync(path))),
    read_parse_only: () => (sink += btf.parseBtf(readFileSync(path)).typeCount),
  };
  const oursRounds: Record<keyof typeof inMemory | keyof typeof reading, Measurement>[] = [];
  const cRounds: Record<COperation, HarnessOutput>[] = [];
  for (let round = 0; round < rounds; round++) {
    cRounds.push(runHarnessOperations(harness, plan, path, name));
    oursRounds.push({ ...measureInterleaved(inMemory, plan), ...measureInterleaved(reading, plan) });
  }
  void sink;

  const first = cRounds[0]!.new_buffer;
  const pairs = {} as Record<Pair, PairResult>;
  for (const pair of Object.keys(PAIRS) as Pair[]) {
    const operation = PAIRS[pair];
    const theirs = cRounds.map((c) => c[operation][operation] as HarnessMeasurement | undefined);
    const failed = theirs.find((t) => t === undefined || !("median_ns" in t));
    const libbpfRounds = failed === undefined ? theirs.map((t) => round1((t as { median_ns: number }).median_ns / 1000)) : [];
    const oursRoundsUs = oursRounds.map((r) => round1(r[pair].medianNs / 1000));
    const libbpfUs = failed === undefined ? median(libbpfRounds) : null;
    const oursUs = median(oursRoundsUs);
    pairs[pair] = {
      ours_us: oursUs,
      libbpf_us: libbpfUs,
      ratio: ratio(oursUs, libbpfUs),
      ours_iterations: oursRounds[0]![pair].iterations,
      libbpf_iterations: failed === undefined ? (theirs[0] as { iterations: number }).iterations : 0,
      ours_rounds_us: oursRoundsUs,
      libbpf_rounds_us: libbpfRounds,
      ...(failed === undefined ? {} : { libbpf_error: String(cRounds[0]![operation].error ?? (failed as { error?: number } | undefined)?.error) }),
    };
  }
  const ratioMain = pairs.parse_find.ratio;
  return {
    benchmark: "btf",
    unit: "microseconds per run, median of batches",
    goal: "parse_find.ratio = ours_us / libbpf_us <= 1",
    environment: { node: process.version, libbpf: first.libbpf, code: describeCode(code) },
    plan,
    rounds,
    file: { path, bytes: bytes.byteLength, types: parsed.typeCount },
    found: {
      name,
      kind: "struct",
      ours,
      libbpf: { id: first.id, size: first.size },
      agree: ours !== null && ours.id === first.id && ours.size === first.size && parsed.typeCount === first.types,
    },
    sides: {
      ours:
        "parseBtf: header checked, one pass over every type record through a Uint32Array (kind, record bounds and name offset " +
        "checked, record offset and name offset stored per id), nothing decoded; typeByName compares the name's bytes with the " +
        "bytes at each type's name offset in id order, stops at the first struct of that name and decodes it (members included). " +
        "The bytes are used in place (no copy). read_*: readFileSync(PATH) in every run.",
      libbpf:
        "btf__new copies the bytes, checks the header and string section and walks every type record once (offset index, sizes); " +
        "btf__find_by_name_kind walks ids from 1, skips other kinds, strcmp()s names, stops at the first match; btf__parse also " +
        "reads the file (fopen, fread). bench/c/btf_parse.c, cc -O2, Debian libbpf, one process per operation.",
    },
    pairs,
    ours_only: { parse_ids_by_name_us: median(oursRounds.map((r) => round1(r.parse_ids_by_name.medianNs / 1000))), ids: parsed.idsByName(name) },
    summary: {
      ratio: ratioMain,
      read_ratio: pairs.read_parse_find.ratio,
      goal_met: ratioMain !== null && ratioMain <= 1 && ours !== null && ours.id === first.id,
    },
  };
}

/** The library's btf/parse module: tsc output (bench/build/dist) or the TypeScript source. */
async function loadParseModule(code: "dist" | "source"): Promise<ParseModule> {
  if (code === "source") return import("../btf/parse.js");
  const dist = buildLibrary();
  return (await import(pathToFileURL(join(dist, "btf/parse.js")).href)) as ParseModule;
}

function describeCode(code: "dist" | "source"): string {
  return code === "dist"
    ? "tsc output of the library (bench/build/dist, as published), run by node"
    : "TypeScript source through tsx (esbuild, keepNames on)";
}

/** cc -O2 bench/c/btf_parse.c -lbpf -o bench/build/btf_parse, unless the binary is newer than its sources. */
function buildBtfHarness(): string {
  const sources = [join(REPO_ROOT, "bench/c/btf_parse.c"), join(REPO_ROOT, "bench/c/bench.h")];
  const output = join(BENCH_BUILD_DIR, "btf_parse");
  if (existsSync(output) && sources.every((source) => statSync(source).mtimeMs <= statSync(output).mtimeMs)) return output;
  mkdirSync(BENCH_BUILD_DIR, { recursive: true });
  const temporary = `${output}.${process.pid}.tmp`;
  execFileSync(process.env.CC ?? "cc", ["-O2", "-Wall", "-Wextra", sources[0], "-lbpf", "-o", temporary], { stdio: ["ignore", "pipe", "inherit"] });
  renameSync(temporary, output);
  return output;
}

/** Every C operation, each in a process of its own. */
function runHarnessOperations(harness: string, plan: Plan, path: string, name: string): Record<COperation, HarnessOutput> {
  const run = (operation: COperation) => {
    const stdout = execFileSync(harness, [String(plan.warmupMs), String(plan.batchMs), String(plan.batches), path, name, operation], {
      encoding: "utf8",
    });
    return [operation, JSON.parse(stdout) as HarnessOutput] as const;
  };
  return Object.fromEntries((Object.values(PAIRS) as COperation[]).map(run)) as Record<COperation, HarnessOutput>;
}

async function main(argv: string[]): Promise<void> {
  const flags = new Set(argv.filter((arg) => arg.startsWith("--")));
  const [path, name] = argv.filter((arg) => !arg.startsWith("--"));
  const report = await runBtfBench({
    plan: flags.has("--quick") ? QUICK_PLAN : undefined,
    rounds: flags.has("--quick") ? 1 : undefined,
    code: flags.has("--source") ? "source" : "dist",
    path,
    name,
  });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv.slice(2));
