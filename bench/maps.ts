// bench/maps: the cost of map operations from JavaScript, three ways on the same kernel map.
//
//   library  tsbpf's BpfMap (maps/map.ts): lookup/update/delete/keys/lookupBatch/updateBatch
//   raw      bench/maps-raw.ts: one koffi syscall() binding and a preallocated attr, the floor
//   c        bench/c/map_ops.c: libbpf's bpf_map_* calls, compiled -O2
//
// Maps: BPF_MAP_TYPE_HASH and BPF_MAP_TYPE_ARRAY, u32 key -> u64 value, 100,000 entries,
// all present (keys 0..99,999). The raw side creates each map; the library opens it with
// BpfMap.fromId and the C harness with bpf_map_get_fd_by_id, so all three work on one map.
//
// Figures are nanoseconds per operation (per element for passes and batches):
//   lookup, update   one call per run, key = run % entries (update: BPF_ANY)
//   delete           passes deleting every key, the map refilled (untimed) after each; hash only
//   iterate          passes of BPF_MAP_GET_NEXT_KEY over the whole map, per key
//   lookup_batch     passes of BPF_MAP_LOOKUP_BATCH over the whole map, `chunk` per call
//   lookup_batch_chunks  the same through BpfMap.lookupBatchChunks (raw chunks, no decoding)
//   update_batch     BPF_MAP_UPDATE_BATCH of every entry, `chunk` per call
//   update_batch_bytes   the same through BpfMap.updateBatchBytes (keys and values as bytes, no encoding)
// The library and raw sides run interleaved batch by batch in one process; C runs after.
// Goals (issue): library within 5% of raw per operation; batches within 5% of C, applied
// like with like (see summarize below).

import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { MapType } from "../syscall/constants.js";
import { buildHarness, buildLibrary } from "./build.js";
import { closeRawFd, createRawMap, RawMap } from "./maps-raw.js";
import { measureInterleaved, measurePassesInterleaved, ratio, round1, type Measurement, type Pass, type Plan } from "./measure.js";

type MapModule = typeof import("../maps/map.js");
type LibraryMap = InstanceType<MapModule["BpfMap"]>;

export type MapKind = "hash" | "array";
const MAP_TYPES: Record<MapKind, number> = { hash: MapType.HASH, array: MapType.ARRAY };

export interface MapsBenchOptions {
  plan?: Plan;
  entries?: number;
  /** Elements per batch call, the same on every side. */
  chunk?: number;
  /** "dist": tsc output (what users run, the default); "source": the .ts files through tsx. */
  code?: "dist" | "source";
  kinds?: MapKind[];
}

export interface OpResult {
  library_ns: number | null;
  raw_ns: number | null;
  c_ns: number | null;
  library_vs_raw: number | null;
  raw_vs_c: number | null;
  library_vs_c: number | null;
}

export interface MapKindResult {
  map: { type: string; key_size: 4; value_size: 8; entries: number; chunk: number };
  per_op: Record<"lookup" | "update" | "delete" | "iterate", OpResult | null>;
  batch: Record<"lookup_batch" | "lookup_batch_chunks" | "update_batch" | "update_batch_bytes", OpResult | null>;
}

export interface MapsBenchReport {
  benchmark: "maps";
  unit: "nanoseconds per operation (per element for iterate, delete passes and batches), median of batches";
  goals: { per_op: "library_vs_raw <= 1.05"; batch: string };
  environment: { node: string; libbpf: string | null; code: string };
  plan: Plan;
  library_error?: string;
  maps: Partial<Record<MapKind, MapKindResult>>;
  summary: { per_op_goal_met: boolean | null; batch_goal_met: boolean | null; misses: string[] };
}

export const DEFAULT_MAPS_PLAN: Plan = { warmupMs: 200, batchMs: 50, batches: 7 };

export async function runMapsBench(options: MapsBenchOptions = {}): Promise<MapsBenchReport> {
  const plan = options.plan ?? DEFAULT_MAPS_PLAN;
  const entries = options.entries ?? 100_000;
  const chunk = options.chunk ?? 4096;
  const code = options.code ?? "dist";
  const harness = buildHarness("map_ops");
  let library: MapModule | undefined;
  let libraryError: string | undefined;
  try {
    library = await loadMapModule(code);
  } catch (error) {
    libraryError = error instanceof Error ? error.message : String(error);
  }
  const maps: MapsBenchReport["maps"] = {};
  let libbpf: string | null = null;
  for (const kind of options.kinds ?? (["hash", "array"] as const)) {
    const { result, libbpfVersion } = benchMap(kind, { library, harness, plan, entries, chunk });
    maps[kind] = result;
    libbpf ??= libbpfVersion;
  }
  return {
    benchmark: "maps",
    unit: "nanoseconds per operation (per element for iterate, delete passes and batches), median of batches",
    goals: {
      per_op: "library_vs_raw <= 1.05",
      batch: "byte-level calls (lookup_batch_chunks, update_batch_bytes): library_vs_c <= 1.05; decoding calls (lookup_batch, update_batch): library_vs_raw <= 1.05",
    },
    environment: {
      node: process.version,
      libbpf,
      code: code === "dist" ? "tsc output of the library (bench/build/dist), run by node" : "TypeScript source through tsx",
    },
    plan,
    ...(libraryError === undefined ? {} : { library_error: libraryError }),
    maps,
    summary: summarizeMaps(maps),
  };
}

interface BenchContext {
  library: MapModule | undefined;
  harness: string;
  plan: Plan;
  entries: number;
  chunk: number;
}

function benchMap(kind: MapKind, ctx: BenchContext): { result: MapKindResult; libbpfVersion: string | null } {
  const { entries, chunk, plan } = ctx;
  const keys = Array.from({ length: entries }, (_, i) => i);
  const values = keys.map((k) => BigInt(k));
  const pairs = keys.map((k, i) => [k, values[i]] as const);
  const created = createRawMap(MAP_TYPES[kind], entries);
  const raw = new RawMap(created.fd, chunk);
  let map: LibraryMap | undefined;
  try {
    raw.updateBatch(keys, values);
    map = ctx.library?.BpfMap.fromId(created.id, { name: `bench_${kind}` });
    const refill = () => void raw.updateBatch(keys, values);
    let sink: unknown;

    const lookup = perOp(map, {
      library: (m) => (i) => void (sink = m.lookup(i % entries)),
      raw: (i) => void (sink = raw.lookup(i % entries)),
    }, plan);
    const update = perOp(map, {
      library: (m) => (i) => m.update(i % entries, values[i % entries]),
      raw: (i) => raw.update(i % entries, values[i % entries]),
    }, plan);
    const deletes = kind === "hash"
      ? passes(map, {
          library: (m) => ({ run: () => eachKey(entries, (k) => m.delete(k)), reset: refill }),
          raw: { run: () => eachKey(entries, (k) => raw.delete(k)), reset: refill },
        }, plan)
      : undefined;
    const iterate = passes(map, {
      library: (m) => ({ run: () => countKeys(m) }),
      raw: { run: () => raw.iterate() },
    }, plan);
    const lookupBatch = passes(map, {
      library: (m) => ({ run: () => m.lookupBatch({ batchSize: chunk }).length }),
      raw: { run: () => raw.lookupBatch("pairs") },
    }, plan);
    // The same walk without decoding each element (BpfMap.lookupBatchChunks), as C reads it.
    const lookupBatchChunks = passes(map, {
      library: (m) => ({ run: () => countChunked(m, chunk) }),
      raw: { run: () => raw.lookupBatch("bytes") },
    }, plan);
    const updateBatch = passes(map, {
      library: (m) => ({ run: () => m.updateBatch(pairs, { batchSize: chunk }) }),
      raw: { run: () => raw.updateBatch(keys, values) },
    }, plan);
    // The same stores from keys and values already laid out in bytes (BpfMap.updateBatchBytes), as C has them.
    const keyBytes = new Uint8Array(Uint32Array.from(keys).buffer);
    const valueBytes = new Uint8Array(BigUint64Array.from(values).buffer);
    const updateBatchBytes = passes(map, {
      library: (m) => ({ run: () => m.updateBatchBytes(keyBytes, valueBytes, { batchSize: chunk }) }),
      raw: { run: () => raw.updateBatch(keys, values) },
    }, plan);
    void sink;

    const c = runMapOps(ctx.harness, plan, created.id, entries, chunk);
    const row = (ours: Partial<Record<"library" | "raw", Measurement>> | undefined, theirs: CResult | undefined | null): OpResult | null =>
      ours === undefined ? null : opResult(ours, theirs);
    return {
      libbpfVersion: c.libbpf ?? null,
      result: {
        map: { type: kind === "hash" ? "BPF_MAP_TYPE_HASH" : "BPF_MAP_TYPE_ARRAY", key_size: 4, value_size: 8, entries, chunk },
        per_op: {
          lookup: row(lookup, c.results?.lookup),
          update: row(update, c.results?.update),
          delete: row(deletes, c.results?.delete),
          iterate: row(iterate, c.results?.iterate),
        },
        batch: {
          lookup_batch: row(lookupBatch, c.results?.lookup_batch),
          lookup_batch_chunks: row(lookupBatchChunks, c.results?.lookup_batch),
          update_batch: row(updateBatch, c.results?.update_batch),
          update_batch_bytes: row(updateBatchBytes, c.results?.update_batch),
        },
      },
    };
  } finally {
    map?.close();
    raw.free();
    closeRawFd(created.fd);
  }
}

type Side<T> = { library: (map: LibraryMap) => T; raw: T };

/** Per-call operations, library and raw interleaved; the library side only when there is one. */
function perOp(map: LibraryMap | undefined, sides: Side<(i: number) => void>, plan: Plan) {
  return map === undefined ? measureInterleaved({ raw: sides.raw }, plan) : measureInterleaved({ library: sides.library(map), raw: sides.raw }, plan);
}

function passes(map: LibraryMap | undefined, sides: Side<Pass>, plan: Plan) {
  return map === undefined
    ? measurePassesInterleaved({ raw: sides.raw }, plan)
    : measurePassesInterleaved({ library: sides.library(map), raw: sides.raw }, plan);
}

function eachKey(entries: number, op: (key: number) => void): number {
  for (let key = 0; key < entries; key++) op(key);
  return entries;
}

function countKeys(map: LibraryMap): number {
  let count = 0;
  for (const _key of map.keys()) count++;
  return count;
}

function opResult(ours: Partial<Record<"library" | "raw", Measurement>>, theirs: CResult | undefined | null): OpResult {
  const library = ours.library === undefined ? null : round1(ours.library.medianNs);
  const raw = ours.raw === undefined ? null : round1(ours.raw.medianNs);
  const c = theirs === undefined || theirs === null || "error" in theirs ? null : round1(theirs.median_ns);
  return { library_ns: library, raw_ns: raw, c_ns: c, library_vs_raw: ratio(library, raw), raw_vs_c: ratio(raw, c), library_vs_c: ratio(library, c) };
}

/** BpfMap from tsc output (bench/build/dist) or from the TypeScript source. */
async function loadMapModule(code: "dist" | "source"): Promise<MapModule> {
  if (code === "source") return import("../maps/map.js");
  return (await import(pathToFileURL(join(buildLibrary(), "maps/map.js")).href)) as MapModule;
}

type CResult = { iterations: number; median_ns: number; batches_ns: number[] } | { error: string };

interface MapOpsOutput {
  harness: "map_ops";
  libbpf?: string;
  error?: string;
  results?: Record<"lookup" | "update" | "delete" | "iterate" | "lookup_batch" | "update_batch", CResult | null>;
}

function runMapOps(harness: string, plan: Plan, id: number, entries: number, chunk: number): MapOpsOutput {
  const args = [plan.warmupMs, plan.batchMs, plan.batches, id, entries, chunk].map(String);
  try {
    return JSON.parse(execFileSync(harness, args, { encoding: "utf8" })) as MapOpsOutput;
  } catch (error) {
    const stdout = (error as { stdout?: string }).stdout;
    if (stdout !== undefined && stdout.startsWith("{")) return JSON.parse(stdout) as MapOpsOutput;
    return { harness: "map_ops", error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * The goals, applied like with like. Per operation: the library within 5% of raw koffi.
 * Batches: the byte-level calls (lookupBatchChunks, updateBatchBytes), which do what the C
 * loop does (move bytes between the kernel and buffers), within 5% of C; the decoding calls
 * (lookupBatch builds a [key, value] pair per element, updateBatch encodes one), whose
 * raw-koffi side decodes the same way, within 5% of raw. Their ratio to C is reported too:
 * it is the price of turning bytes into JavaScript values, which C does not pay.
 */
const BYTE_LEVEL_BATCHES = new Set(["lookup_batch_chunks", "update_batch_bytes"]);

/** Goals checked on per-kind results shaped like MapKindResult (one run, or the medians of several). */
export function summarizeMaps(maps: Partial<Record<MapKind, Pick<MapKindResult, "per_op" | "batch">>>): MapsBenchReport["summary"] {
  const misses: string[] = [];
  let perOpSeen = false;
  let batchSeen = false;
  for (const [kind, result] of Object.entries(maps) as [MapKind, Pick<MapKindResult, "per_op" | "batch">][]) {
    for (const [op, row] of Object.entries(result.per_op)) {
      if (row?.library_vs_raw == null) continue;
      perOpSeen = true;
      if (row.library_vs_raw > 1.05) misses.push(`${kind}.${op}: library_vs_raw ${row.library_vs_raw}`);
    }
    for (const [op, row] of Object.entries(result.batch)) {
      const byteLevel = BYTE_LEVEL_BATCHES.has(op);
      const figure = byteLevel ? row?.library_vs_c : row?.library_vs_raw;
      if (figure == null) continue;
      batchSeen = true;
      if (figure > 1.05) misses.push(`${kind}.${op}: ${byteLevel ? "library_vs_c" : "library_vs_raw"} ${figure} (batch)`);
    }
  }
  return {
    per_op_goal_met: perOpSeen ? !misses.some((m) => !m.endsWith("(batch)")) : null,
    batch_goal_met: batchSeen ? !misses.some((m) => m.endsWith("(batch)")) : null,
    misses,
  };
}

/** Elements read by one pass of lookupBatchChunks. */
function countChunked(map: LibraryMap, chunk: number): number {
  let total = 0;
  for (const c of map.lookupBatchChunks({ batchSize: chunk })) total += c.count;
  return total;
}
