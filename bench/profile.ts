// bench/profile: where the parse benchmark's "ours" column (parseObject, then the .BTF and
// .BTF.ext parses; see parseLikeOpen in bench/parse.ts) spends its time, from V8's sampling CPU profiler
// (the one `node --cpu-prof` writes), started in process through node:inspector so no
// flag is needed:
//
//     npx tsx bench/run.ts profile [OBJECT] [--seconds=N] [--source]
//
// It parses OBJECT (default bench/build/large.o) in a loop for N seconds (default 3) and
// prints JSON: for each function, `self` (samples in the function itself) and `total`
// (samples with the function anywhere on the stack), as percentages of the samples taken
// while parsing, plus the matching microseconds per parse.

import { Session } from "node:inspector/promises";
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { REPO_ROOT } from "../test/helpers/progs.js";
import { loadParser, parseLikeOpen } from "./parse.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
  /** Samples per source line (1-based) of the function's own code. */
  positionTicks?: { line: number; ticks: number }[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
}

export interface FunctionCost {
  function: string;
  percent: number;
  us_per_parse: number;
  /** For `self`: the function's hottest lines, with the text of each line. */
  lines?: { line: number; percent: number; text: string }[];
}

export interface ProfileReport {
  benchmark: "profile";
  object: string;
  code: "dist" | "source";
  parses: number;
  us_per_parse: number;
  samples: number;
  self: FunctionCost[];
  total: FunctionCost[];
}

export async function runParseProfile(options: { object: string; seconds?: number; code?: "dist" | "source"; top?: number }): Promise<ProfileReport> {
  const code = options.code ?? "dist";
  const parser = await loadParser(code);
  const bytes = readFileSync(options.object);
  let sink: unknown;
  const parseOnce = () => {
    sink = parseLikeOpen(parser, bytes);
  };
  // Warm up before sampling so the profile shows optimized code, as the benchmark times it.
  for (const end = Date.now() + 300; Date.now() < end; ) parseOnce();

  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 50 });
  await session.post("Profiler.start");
  const start = process.hrtime.bigint();
  const durationNs = BigInt(Math.round((options.seconds ?? 3) * 1e9));
  let parses = 0;
  while (process.hrtime.bigint() - start < durationNs) {
    parseOnce();
    parses++;
  }
  const elapsedNs = Number(process.hrtime.bigint() - start);
  const { profile } = (await session.post("Profiler.stop")) as { profile: CpuProfile };
  session.disconnect();
  void sink;

  const usPerParse = elapsedNs / 1000 / parses;
  const { self, total, lines, samples } = attribute(profile);
  const top = options.top ?? 25;
  const percent = (count: number) => Math.round((1000 * count) / samples) / 10;
  const cost = (entries: Map<string, number>, withLines: boolean): FunctionCost[] =>
    [...entries]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, count]) => ({
        function: name,
        percent: percent(count),
        us_per_parse: Math.round((100 * usPerParse * count) / samples) / 100,
        ...(withLines && lines.has(name) ? { lines: hotLines(lines.get(name)!, percent) } : {}),
      }));
  return {
    benchmark: "profile",
    object: options.object,
    code,
    parses,
    us_per_parse: Math.round(usPerParse * 10) / 10,
    samples,
    self: cost(self, true),
    total: cost(total, false),
  };
}

interface Attribution {
  self: Map<string, number>;
  total: Map<string, number>;
  /** Per function: its file and the samples of each of its lines. */
  lines: Map<string, { file: string; ticks: Map<number, number> }>;
  samples: number;
}

/** Self and total sample counts per function (name + file:line), over the samples taken. */
function attribute(profile: CpuProfile): Attribution {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let samples = 0;
  for (const id of profile.samples) {
    const leaf = byId.get(id);
    if (leaf === undefined) continue;
    const leafName = label(leaf);
    if (leafName === "(idle)" || leafName === "(program)") continue;
    samples++;
    self.set(leafName, (self.get(leafName) ?? 0) + 1);
    // A recursive function counts once per sample in `total`.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const name = label(byId.get(at)!);
      if (seen.has(name) || name === "(root)") continue;
      seen.add(name);
      total.set(name, (total.get(name) ?? 0) + 1);
    }
  }
  const lines: Attribution["lines"] = new Map();
  for (const node of profile.nodes) {
    if (node.positionTicks === undefined || !node.callFrame.url.startsWith("file://")) continue;
    const name = label(node);
    let entry = lines.get(name);
    if (entry === undefined) lines.set(name, (entry = { file: new URL(node.callFrame.url).pathname, ticks: new Map() }));
    for (const { line, ticks } of node.positionTicks) entry.ticks.set(line, (entry.ticks.get(line) ?? 0) + ticks);
  }
  return { self, total, lines, samples };
}

/** The three lines of a function with the most samples, with their text from the file. */
function hotLines(entry: { file: string; ticks: Map<number, number> }, percent: (count: number) => number): FunctionCost["lines"] {
  let text: string[] = [];
  try {
    text = readFileSync(entry.file, "utf8").split("\n");
  } catch {
    // The file may be gone (a rebuilt dist): keep the line numbers without text.
  }
  return [...entry.ticks]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([line, ticks]) => ({ line, percent: percent(ticks), text: (text[line - 1] ?? "").trim() }));
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  if (url === "") return functionName || "(anonymous)";
  const path = url.startsWith("file://") ? relative(REPO_ROOT, new URL(url).pathname) : url;
  return `${functionName || "(anonymous)"} ${path}:${lineNumber + 1}`;
}
