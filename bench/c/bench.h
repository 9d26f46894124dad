// SPDX-License-Identifier: MIT
// Timing helpers shared by the C harnesses of bench/ (open_mem.c, map_ops.c).
//
// The method is the one bench/measure.ts uses on the TypeScript side, so the two columns
// of every table are measured alike:
//   1. warm up: run the operation for warmup_ns, counting runs, to estimate its cost;
//   2. choose n so that one batch lasts about batch_ns (at least 1 run);
//   3. time `batches` batches of n runs with CLOCK_MONOTONIC and report, per batch, the
//      nanoseconds per run; the harness prints the median of the batches as well.
// bench_passes does the same with whole passes over a map (see below) and reports
// nanoseconds per element.
#ifndef TSBPF_BENCH_H
#define TSBPF_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct bench_plan {
	uint64_t warmup_ns;
	uint64_t batch_ns;
	int batches;
};

struct bench_result {
	uint64_t iterations;	// runs (or whole passes, for bench_passes) per batch
	double per_run_ns[64];	// one entry per batch: ns per run (or per element)
	int batches;
	double median_ns;
	int error;		// first non-zero return of the operation (a negative errno)
};

// The operation under test: returns 0 on success or a negative errno.
typedef int (*bench_op)(void *state);

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static inline double median_of(const double *values, int count)
{
	double sorted[64];
	for (int i = 0; i < count; i++)
		sorted[i] = values[i];
	qsort(sorted, count, sizeof(sorted[0]), compare_doubles);
	return count % 2 ? sorted[count / 2] : (sorted[count / 2 - 1] + sorted[count / 2]) / 2;
}

static inline struct bench_result bench_run(bench_op op, void *state, struct bench_plan plan)
{
	struct bench_result result = { 0 };
	uint64_t runs = 0, start = now_ns(), elapsed;
	do {
		int err = op(state);
		if (err) {
			result.error = err;
			return result;
		}
		runs++;
		elapsed = now_ns() - start;
	} while (elapsed < plan.warmup_ns);
	double estimate = (double)elapsed / (double)runs;
	result.iterations = (uint64_t)((double)plan.batch_ns / estimate);
	if (result.iterations < 1)
		result.iterations = 1;
	result.batches = plan.batches > 64 ? 64 : plan.batches;
	for (int b = 0; b < result.batches; b++) {
		uint64_t t0 = now_ns();
		for (uint64_t i = 0; i < result.iterations; i++) {
			int err = op(state);
			if (err) {
				result.error = err;
				return result;
			}
		}
		result.per_run_ns[b] = (double)(now_ns() - t0) / (double)result.iterations;
	}
	result.median_ns = median_of(result.per_run_ns, result.batches);
	return result;
}

// A pass over many elements (a whole-map walk, a batch of deletes): returns how many
// elements it handled, or a negative errno. `reset` (may be NULL) puts the map back in
// shape between passes and is not timed.
typedef long (*bench_pass)(void *state);
typedef int (*bench_reset)(void *state);

// Like bench_run, but a batch is a number of whole passes (at least one) and the figure is
// nanoseconds per element. Each pass is timed on its own, so resets cost nothing.
static inline struct bench_result bench_passes(bench_pass pass, bench_reset reset, void *state, struct bench_plan plan)
{
	struct bench_result result = { 0 };
	uint64_t passes = 0, elements = 0, timed = 0, start = now_ns();
	do {
		uint64_t t0 = now_ns();
		long done = pass(state);
		timed += now_ns() - t0;
		if (done < 0) {
			result.error = (int)done;
			return result;
		}
		elements += done;
		passes++;
		if (reset && (result.error = reset(state)))
			return result;
	} while (now_ns() - start < plan.warmup_ns);
	double pass_ns = (double)timed / (double)passes;
	result.iterations = (uint64_t)((double)plan.batch_ns / pass_ns);
	if (result.iterations < 1)
		result.iterations = 1;
	result.batches = plan.batches > 64 ? 64 : plan.batches;
	for (int b = 0; b < result.batches; b++) {
		uint64_t batch_ns = 0, batch_elements = 0;
		for (uint64_t i = 0; i < result.iterations; i++) {
			uint64_t t0 = now_ns();
			long done = pass(state);
			batch_ns += now_ns() - t0;
			if (done < 0) {
				result.error = (int)done;
				return result;
			}
			batch_elements += done;
			if (reset && (result.error = reset(state)))
				return result;
		}
		result.per_run_ns[b] = batch_elements ? (double)batch_ns / (double)batch_elements : 0;
	}
	result.median_ns = median_of(result.per_run_ns, result.batches);
	return result;
}

// Prints the fields of a result (no braces), for embedding in a JSON object.
static inline void print_result_fields(const struct bench_result *r)
{
	printf("\"iterations\": %llu, \"median_ns\": %.1f, \"batches_ns\": [", (unsigned long long)r->iterations, r->median_ns);
	for (int b = 0; b < r->batches; b++)
		printf("%s%.1f", b ? ", " : "", r->per_run_ns[b]);
	printf("]");
}

// argv[1..3] = warmup_ms batch_ms batches; returns the index of the first other argument.
static inline int parse_plan(int argc, char **argv, struct bench_plan *plan, const char *usage)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s warmup_ms batch_ms batches %s\n", argv[0], usage);
		exit(2);
	}
	plan->warmup_ns = (uint64_t)(atof(argv[1]) * 1e6);
	plan->batch_ns = (uint64_t)(atof(argv[2]) * 1e6);
	plan->batches = atoi(argv[3]);
	if (plan->batches < 1)
		plan->batches = 1;
	return 4;
}

#endif
