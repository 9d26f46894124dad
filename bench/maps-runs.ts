// Several runs of bench/maps, each in a fresh process, summarized by their medians.
//
// Why: a single-operation figure is a syscall of 0.6 to 0.9 us with a few ns of JavaScript
// around it, and within one process the figure moves by a few percent with where V8 puts the
// code and what ran before it. The kinds share their closures' source, so the second kind's
// closures start with the first kind's type feedback (the array map measured 1.03 of raw
// alone, 1.05 after the hash map). JMH forks a JVM per benchmark for the same reason. Each
// run here is `bench/run.ts maps --runs=1` in a new process; every figure reported is the
// median over the runs, and each ratio also lists its value in every run.

import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { MapKind, MapKindResult, MapsBenchReport, OpResult } from "./maps.js";
import { summarizeMaps } from "./maps.js";

export interface MapsRunsReport extends Omit<MapsBenchReport, "maps"> {
  runs: number;
  method: string;
  maps: Partial<Record<MapKind, RunsKindResult>>;
}

type RunsOpResult = OpResult & { library_vs_raw_runs: (number | null)[]; library_vs_c_runs: (number | null)[] };

interface RunsKindResult {
  map: MapKindResult["map"];
  per_op: Record<keyof MapKindResult["per_op"], RunsOpResult | null>;
  batch: Record<keyof MapKindResult["batch"], RunsOpResult | null>;
}

/** Runs the maps bench `runs` times, each in a child process with this process's loader (tsx). */
export function runMapsBenchRuns(runs: number, extraArgs: string[], progress: (message: string) => void): MapsRunsReport {
  const script = fileURLToPath(new URL("./run.ts", import.meta.url));
  const reports: MapsBenchReport[] = [];
  for (let run = 1; run <= runs; run++) {
    progress(`maps: run ${run} of ${runs} (fresh process)`);
    const stdout = execFileSync(process.execPath, [...process.execArgv, script, "maps", "--runs=1", ...extraArgs], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 1 << 26,
    });
    reports.push((JSON.parse(stdout) as { maps: MapsBenchReport }).maps);
  }
  const first = reports[0];
  const maps: MapsRunsReport["maps"] = {};
  for (const kind of Object.keys(first.maps) as MapKind[]) {
    const kindRuns = reports.map((r) => r.maps[kind]!);
    maps[kind] = {
      map: kindRuns[0].map,
      per_op: combineSection(kindRuns.map((k) => k.per_op)),
      batch: combineSection(kindRuns.map((k) => k.batch)),
    };
  }
  const { maps: _first, ...rest } = first;
  return {
    ...rest,
    runs,
    method: `${runs} runs, each in a fresh process; every figure is the median over the runs, and *_runs lists each run's ratio`,
    maps,
    summary: summarizeMaps(maps),
  };
}

function combineSection<K extends string>(sections: Record<K, OpResult | null>[]): Record<K, RunsOpResult | null> {
  const combined = {} as Record<K, RunsOpResult | null>;
  for (const op of Object.keys(sections[0]) as K[]) {
    const rows = sections.map((s) => s[op]);
    if (rows.every((row) => row === null)) {
      combined[op] = null;
      continue;
    }
    const medianOf = (field: keyof OpResult) => median(rows.map((row) => row?.[field] ?? null));
    combined[op] = {
      library_ns: medianOf("library_ns"),
      raw_ns: medianOf("raw_ns"),
      c_ns: medianOf("c_ns"),
      library_vs_raw: medianOf("library_vs_raw"),
      raw_vs_c: medianOf("raw_vs_c"),
      library_vs_c: medianOf("library_vs_c"),
      library_vs_raw_runs: rows.map((row) => row?.library_vs_raw ?? null),
      library_vs_c_runs: rows.map((row) => row?.library_vs_c ?? null),
    };
  }
  return combined;
}

/** Median of the non-null values; null when there are none. */
function median(values: (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  if (present.length === 0) return null;
  const middle = present.length >> 1;
  const value = present.length % 2 === 1 ? present[middle] : (present[middle - 1] + present[middle]) / 2;
  return Math.round(value * 1000) / 1000;
}
