// bench/parse: how long parseObject takes, next to libbpf's bpf_object__open_mem on the
// same bytes. The goal (issue: "parse no slower than libbpf") is ratio = ours / libbpf <= 1.
//
// Objects: every Debian xdp-tools object (/usr/lib/x86_64-linux-gnu/bpf/*.o,
// /usr/libexec/xdp-tools/*.o) and bench/progs/large.bpf.c (41 programs, 20 subprograms,
// 5 BTF maps), compiled at bench time.
//
// What each side does per run (the JSON repeats it):
//   ours    parseObject(bytes) (which parses .BTF and fixes it up), `spec.btf`, then
//           parseBtfExt(spec.btfExt): libbpf parses .BTF.ext on every open, parseObject
//           only copies it.
//   libbpf  bpf_object__open_mem + bpf_object__close (bench/c/open_mem.c).
// `ours_spec_only_us` is parseObject alone, for the cost of the .BTF.ext step.

import { readFileSync, readdirSync, existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { basename, join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT } from "../test/helpers/progs.js";
import { buildBpfObject, buildHarness, buildLibrary } from "./build.js";
import { measureInterleaved, ratio, round1, type Plan } from "./measure.js";

type SpecModule = typeof import("../loader/spec.js");
type ExtModule = typeof import("../btf/ext.js");

/** The parsing code under test, from one build (tsc output or source). */
export interface Parser {
  parseObject: SpecModule["parseObject"];
  /** undefined when btf/ext could not be loaded; `extNote` says why. */
  parseBtfExt: ExtModule["parseBtfExt"] | undefined;
  extNote: string;
}

/** What the "ours" column times: everything libbpf's open does that tsbpf has code for. */
export function parseLikeOpen(parser: Parser, bytes: Uint8Array): unknown {
  const spec = parser.parseObject(bytes);
  const btf = spec.btf;
  const ext = spec.btfExt === undefined || parser.parseBtfExt === undefined ? undefined : parser.parseBtfExt(spec.btfExt);
  return ext ?? btf ?? spec;
}

export const DEBIAN_OBJECT_DIRS = ["/usr/lib/x86_64-linux-gnu/bpf", "/usr/libexec/xdp-tools"];

export interface ParseBenchOptions {
  plan?: Plan;
  /** "dist": tsc output (what users run, the default); "source": the .ts files through tsx. */
  code?: "dist" | "source";
  /** Object files to time; default: large.o and every Debian xdp-tools object. */
  objects?: string[];
}

export interface ParseObjectResult {
  path: string;
  bytes: number;
  programs: number;
  subprograms: number;
  maps: number;
  /** Microseconds per parseLikeOpen: parseObject + .BTF + .BTF.ext (median of batches). */
  ours_us: number | null;
  /** Microseconds per bpf_object__open_mem + close. */
  libbpf_us: number | null;
  /** ours_us / libbpf_us; the goal is <= 1. */
  ratio: number | null;
  /** Microseconds per parseObject alone (.BTF.ext copied, not parsed). */
  ours_spec_only_us: number | null;
  ours_iterations: number;
  libbpf_iterations: number;
  ours_error?: string;
  libbpf_error?: string;
}

export interface ParseBenchReport {
  benchmark: "parse";
  unit: "microseconds per parse, median of batches";
  goal: "ratio = ours_us / libbpf_us <= 1";
  environment: { node: string; libbpf: string; code: string };
  plan: Plan;
  sides: { ours: string; libbpf: string };
  objects: Record<string, ParseObjectResult>;
  summary: { objects: number; geomean_ratio: number | null; max_ratio: number | null; goal_met: boolean };
}

export const DEFAULT_PARSE_PLAN: Plan = { warmupMs: 150, batchMs: 20, batches: 9 };

export async function runParseBench(options: ParseBenchOptions = {}): Promise<ParseBenchReport> {
  const plan = options.plan ?? DEFAULT_PARSE_PLAN;
  const code = options.code ?? "dist";
  const objects = options.objects ?? [buildBpfObject("large"), ...debianObjects()];
  const harness = buildHarness("open_mem");
  const parser = await loadParser(code);

  // Object by object, libbpf then ours, so each pair is measured close together in time.
  let libbpfVersion = "";
  const results: Record<string, ParseObjectResult> = {};
  for (const path of objects) {
    const bytes = readFileSync(path);
    const libbpf = runOpenMem(harness, [path], plan);
    libbpfVersion = libbpf.libbpf;
    const theirs = libbpf.objects[0];
    const result: ParseObjectResult = {
      ...timeOurs(parser, bytes, plan),
      path: relative(REPO_ROOT, path).startsWith("..") ? path : relative(REPO_ROOT, path),
      bytes: bytes.byteLength,
      libbpf_us: theirs?.ok ? round1(theirs.median_ns / 1000) : null,
      libbpf_iterations: theirs?.ok ? theirs.iterations : 0,
      ...(theirs?.ok === false ? { libbpf_error: theirs.error } : {}),
      ratio: null,
    };
    result.ratio = ratio(result.ours_us, result.libbpf_us);
    results[basename(path)] = result;
  }
  return {
    benchmark: "parse",
    unit: "microseconds per parse, median of batches",
    goal: "ratio = ours_us / libbpf_us <= 1",
    environment: { node: process.version, libbpf: libbpfVersion, code: describeCode(code) },
    plan,
    sides: {
      ours:
        "parseObject(bytes), spec.btf, parseBtfExt(spec.btfExt): ELF header, sections, symbols, relocations, code, .BTF, " +
        ".BTF.ext and data sections copied, relocation " +
        "references of every function (bpf-to-bpf calls within a section, which have no relocation, are found on first read " +
        "of a program's references, as libbpf finds them at load), map specs (.maps through BTF, legacy maps), .BTF header checked, every type " +
        `record indexed and DATASECs fixed up, .BTF.ext func_info/line_info/CO-RE records read (${parser.extNote}). ` +
        "ours_spec_only_us: parseObject alone (.BTF.ext copied, not parsed).",
      libbpf:
        "bpf_object__open_mem + bpf_object__close (bench/c/open_mem.c, -O2, Debian libbpf): libelf ELF parse, btf__new (.BTF " +
        "validated and indexed), btf_ext__new (.BTF.ext func_info, line_info, CO-RE records), externs, DATASEC fixup in place " +
        "(bpf_object__finalize_btf), maps from .maps and data sections " +
        "(mmap-ed copies), programs (instructions copied, section names matched), relocation records collected. No bpf(2) call.",
    },
    objects: results,
    summary: summarize(Object.values(results)),
  };
}

function timeOurs(
  parser: Parser,
  bytes: Uint8Array,
  plan: Plan,
): Pick<ParseObjectResult, "ours_us" | "ours_spec_only_us" | "ours_iterations" | "programs" | "subprograms" | "maps" | "ours_error"> {
  let parsed;
  try {
    parsed = parser.parseObject(bytes);
    parseLikeOpen(parser, bytes);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ours_us: null, ours_spec_only_us: null, ours_iterations: 0, programs: 0, subprograms: 0, maps: 0, ours_error: message };
  }
  // Keep a result alive after each run so that no part of the work can be optimized away.
  let sink: unknown;
  // Interleaved, so that the difference between the two is the BTF steps, not the machine.
  const { full, specOnly } = measureInterleaved(
    {
      full: () => void (sink = parseLikeOpen(parser, bytes)),
      specOnly: () => void (sink = parser.parseObject(bytes)),
    },
    plan,
  );
  void sink;
  return {
    ours_us: round1(full.medianNs / 1000),
    ours_spec_only_us: round1(specOnly.medianNs / 1000),
    ours_iterations: full.iterations,
    programs: parsed.programs.size,
    subprograms: parsed.subprograms.size,
    maps: parsed.maps.size,
  };
}

/** The library's parsing code: tsc output (bench/build/dist) or the TypeScript source. */
export async function loadParser(code: "dist" | "source"): Promise<Parser> {
  const dist = code === "dist" ? buildLibrary() : undefined;
  const spec = (dist === undefined ? await import("../loader/spec.js") : await import(pathToFileURL(join(dist, "loader/spec.js")).href)) as SpecModule;
  try {
    const ext = (dist === undefined ? await import("../btf/ext.js") : await import(pathToFileURL(join(dist, "btf/ext.js")).href)) as ExtModule;
    return { parseObject: spec.parseObject, parseBtfExt: ext.parseBtfExt, extNote: "btf/ext.ts parseBtfExt" };
  } catch (error) {
    // btf/ext.ts is someone else's work in progress: time the rest rather than nothing.
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    return { parseObject: spec.parseObject, parseBtfExt: undefined, extNote: `NOT parsed, btf/ext could not be loaded: ${reason}` };
  }
}

function describeCode(code: "dist" | "source"): string {
  return code === "dist"
    ? "tsc output of the library (bench/build/dist, as published), run by node"
    : "TypeScript source through tsx (esbuild, keepNames on)";
}

export function debianObjects(): string[] {
  return DEBIAN_OBJECT_DIRS.filter((dir) => existsSync(dir)).flatMap((dir) =>
    readdirSync(dir)
      .filter((file) => file.endsWith(".o"))
      .sort()
      .map((file) => join(dir, file)),
  );
}

interface OpenMemOutput {
  harness: "open_mem";
  libbpf: string;
  objects: ({ file: string; ok: true; iterations: number; median_ns: number; batches_ns: number[] } | { file: string; ok: false; error: string })[];
}

function runOpenMem(harness: string, objects: readonly string[], plan: Plan): OpenMemOutput {
  const stdout = execFileSync(harness, [String(plan.warmupMs), String(plan.batchMs), String(plan.batches), ...objects], {
    encoding: "utf8",
    maxBuffer: 16 << 20,
  });
  return JSON.parse(stdout) as OpenMemOutput;
}

function summarize(results: readonly ParseObjectResult[]): ParseBenchReport["summary"] {
  const ratios = results.map((r) => r.ratio).filter((r): r is number => r !== null);
  const geomean = ratios.length === 0 ? null : Math.exp(ratios.reduce((sum, r) => sum + Math.log(r), 0) / ratios.length);
  const max = ratios.length === 0 ? null : Math.max(...ratios);
  return {
    objects: results.length,
    geomean_ratio: geomean === null ? null : Math.round(geomean * 1000) / 1000,
    max_ratio: max,
    goal_met: max !== null && max <= 1 && ratios.length === results.length,
  };
}
