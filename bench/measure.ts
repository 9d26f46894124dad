// How every TypeScript-side number in bench/ is measured. The C harnesses (bench/c/bench.h)
// use the same method, so the columns of a table compare like with like:
//
//   1. warm up: run the operation for `warmupMs`, counting runs. This lets V8 optimize the
//      code under test and gives an estimate of one run's cost;
//   2. choose n so that one batch lasts about `batchMs` (at least one run);
//   3. time `batches` batches of n runs with process.hrtime.bigint and report, per batch,
//      the nanoseconds per run. The median of the batches is the figure: it ignores the
//      batch a garbage collection or a preemption happened to land in.
//
// measureInterleaved runs several operations batch by batch in turn (A B C, C B A, ...),
// so a slow drift of the machine (frequency, another process) touches them all alike, and
// none always runs in the same place: that is what a ratio between two sides needs.

export interface Plan {
  warmupMs: number;
  batchMs: number;
  batches: number;
}

export interface Measurement {
  /** Runs per batch. */
  iterations: number;
  /** Median over the batches of the nanoseconds per run. */
  medianNs: number;
  /** Nanoseconds per run in each batch, in the order they ran. */
  batchesNs: number[];
}

/** The operation under test; `i` counts runs from 0, so it can pick a key or an object. */
export type Operation = (i: number) => void;

export function measure(op: Operation, plan: Plan): Measurement {
  return measureInterleaved({ op }, plan).op;
}

export function measureInterleaved<K extends string>(ops: Record<K, Operation>, plan: Plan): Record<K, Measurement> {
  const names = Object.keys(ops) as K[];
  const iterations = {} as Record<K, number>;
  for (const name of names) iterations[name] = calibrate(ops[name], plan);
  const batches = {} as Record<K, number[]>;
  for (const name of names) batches[name] = [];
  for (let b = 0; b < Math.max(1, plan.batches); b++) {
    for (const name of turn(names, b)) batches[name].push(timeBatch(ops[name], iterations[name]));
  }
  const result = {} as Record<K, Measurement>;
  for (const name of names) {
    result[name] = { iterations: iterations[name], medianNs: median(batches[name]), batchesNs: batches[name].map(round1) };
  }
  return result;
}

/**
 * A pass over many elements (a whole-map walk, a batch of deletes): `run` returns how many
 * elements it handled; `reset` (untimed) puts the map back in shape for the next pass.
 */
export interface Pass {
  run(): number;
  reset?(): void;
}

/**
 * Like measureInterleaved, for passes: a batch is a number of whole passes (at least one),
 * each timed on its own so that resets cost nothing, and the figure is ns per element.
 */
export function measurePassesInterleaved<K extends string>(passes: Record<K, Pass>, plan: Plan): Record<K, Measurement> {
  const names = Object.keys(passes) as K[];
  const perBatch = {} as Record<K, number>;
  for (const name of names) {
    const warmup = timePasses(passes[name], 1, plan.warmupMs * 1e6);
    perBatch[name] = Math.max(1, Math.floor((plan.batchMs * 1e6) / (warmup.ns / warmup.passes)));
  }
  const batches = {} as Record<K, number[]>;
  for (const name of names) batches[name] = [];
  for (let b = 0; b < Math.max(1, plan.batches); b++) {
    for (const name of turn(names, b)) {
      const { ns, elements } = timePasses(passes[name], perBatch[name], 0);
      batches[name].push(elements === 0 ? 0 : ns / elements);
    }
  }
  const result = {} as Record<K, Measurement>;
  for (const name of names) {
    result[name] = { iterations: perBatch[name], medianNs: median(batches[name]), batchesNs: batches[name].map(round1) };
  }
  return result;
}

/**
 * The order of the operations in batch `b`: forwards in even batches, backwards in odd ones
 * (A B, B A, A B...), so that no side always runs right after the other (measured here: the
 * side that ran second in every batch came out up to 7% slower on identical syscalls).
 */
function turn<K>(names: readonly K[], b: number): readonly K[] {
  return b % 2 === 0 ? names : [...names].reverse();
}

/** Runs at least `minPasses` passes, and more until `minNs` of wall time went by. */
function timePasses(pass: Pass, minPasses: number, minNs: number): { ns: number; elements: number; passes: number } {
  const start = process.hrtime.bigint();
  let ns = 0;
  let elements = 0;
  let passes = 0;
  while (passes < minPasses || Number(process.hrtime.bigint() - start) < minNs) {
    const t0 = process.hrtime.bigint();
    elements += pass.run();
    ns += Number(process.hrtime.bigint() - t0);
    passes++;
    pass.reset?.();
  }
  return { ns, elements, passes };
}

/** Warms `op` up for plan.warmupMs and returns how many runs make one batch. */
function calibrate(op: Operation, plan: Plan): number {
  const warmupNs = BigInt(Math.round(plan.warmupMs * 1e6));
  const start = process.hrtime.bigint();
  let runs = 0;
  let elapsed = 0n;
  do {
    op(runs++);
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < warmupNs);
  const perRun = Number(elapsed) / runs;
  return Math.max(1, Math.floor((plan.batchMs * 1e6) / perRun));
}

function timeBatch(op: Operation, iterations: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) op(i);
  return Number(process.hrtime.bigint() - start) / iterations;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Rounds to 0.1 (ns are reported with one decimal). */
export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

/** a / b rounded to three decimals; null when either side is missing. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || b === 0) return null;
  return Math.round((a / b) * 1000) / 1000;
}
