// SPDX-License-Identifier: MIT
// The C column of bench/maps.ts: libbpf's map calls on a map the benchmark created.
//
//     map_ops warmup_ms batch_ms batches MAP_ID ENTRIES CHUNK
//
// The map is opened by id (bpf_map_get_fd_by_id), so C works on the very map the
// TypeScript sides use: u32 keys 0..ENTRIES-1, u64 values, full. Operations:
//   lookup, update       per op, key = run % ENTRIES (update: BPF_ANY, value = key)
//   delete               per op over one pass deleting every key; the map is refilled
//                        (untimed) after each pass. Hash maps only: arrays refuse delete.
//   iterate              per key, a pass of bpf_map_get_next_key over the whole map
//   lookup_batch         per element, a pass of bpf_map_lookup_batch, CHUNK at a time
//   update_batch         per element, bpf_map_update_batch of every key, CHUNK at a time
// Output: {"harness": "map_ops", "libbpf": "1.1", "results": {"lookup": {"iterations",
// "median_ns", "batches_ns"} or {"error"}, ...}}. A field is null when not applicable.
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include "bench.h"

struct map_state {
	int fd;
	__u32 entries;
	__u32 chunk;
	__u32 run;
	__u32 *keys;	// 0..entries-1
	__u64 *values;	// values[k] = k
	__u32 *out_keys;
	__u64 *out_values;
};

static int op_lookup(void *state)
{
	struct map_state *m = state;
	__u32 key = m->run++ % m->entries;
	__u64 value;
	return bpf_map_lookup_elem(m->fd, &key, &value);
}

static int op_update(void *state)
{
	struct map_state *m = state;
	__u32 key = m->run++ % m->entries;
	__u64 value = key;
	return bpf_map_update_elem(m->fd, &key, &value, BPF_ANY);
}

static long pass_update_batch(void *state)
{
	struct map_state *m = state;
	for (__u32 at = 0; at < m->entries; at += m->chunk) {
		__u32 count = m->entries - at < m->chunk ? m->entries - at : m->chunk;
		int err = bpf_map_update_batch(m->fd, m->keys + at, m->values + at, &count, NULL);
		if (err)
			return err;
	}
	return m->entries;
}

static int refill(void *state)
{
	long done = pass_update_batch(state);
	return done < 0 ? (int)done : 0;
}

static long pass_delete(void *state)
{
	struct map_state *m = state;
	for (__u32 key = 0; key < m->entries; key++) {
		int err = bpf_map_delete_elem(m->fd, &key);
		if (err)
			return err;
	}
	return m->entries;
}

static long pass_iterate(void *state)
{
	struct map_state *m = state;
	__u32 key, next;
	long count = 0;
	int err = bpf_map_get_next_key(m->fd, NULL, &next);
	while (!err) {
		count++;
		key = next;
		err = bpf_map_get_next_key(m->fd, &key, &next);
	}
	return err == -ENOENT ? count : err;
}

static long pass_lookup_batch(void *state)
{
	struct map_state *m = state;
	// The resume token: a bucket index for hash maps, the next key for arrays (u32 both).
	__u32 in_batch = 0, out_batch = 0;
	long total = 0;
	for (int first = 1;; first = 0) {
		__u32 count = m->chunk;
		int err = bpf_map_lookup_batch(m->fd, first ? NULL : &in_batch, &out_batch, m->out_keys, m->out_values, &count, NULL);
		total += count;
		if (err == -ENOENT)
			return total;
		if (err)
			return err;
		in_batch = out_batch;
	}
}

static void print_entry(const char *name, int applicable, struct bench_result r, int last)
{
	printf("\"%s\": ", name);
	if (!applicable)
		printf("null");
	else if (r.error)
		printf("{\"error\": \"%s\"}", strerror(-r.error));
	else {
		printf("{");
		print_result_fields(&r);
		printf("}");
	}
	printf(last ? "\n" : ",\n");
}

int main(int argc, char **argv)
{
	struct bench_plan plan;
	int at = parse_plan(argc, argv, &plan, "MAP_ID ENTRIES CHUNK");
	if (argc < at + 3) {
		fprintf(stderr, "usage: %s warmup_ms batch_ms batches MAP_ID ENTRIES CHUNK\n", argv[0]);
		return 2;
	}
	struct map_state m = { 0 };
	__u32 id = (__u32)strtoul(argv[at], NULL, 0);
	m.entries = (__u32)strtoul(argv[at + 1], NULL, 0);
	m.chunk = (__u32)strtoul(argv[at + 2], NULL, 0);
	m.fd = bpf_map_get_fd_by_id(id);
	if (m.fd < 0) {
		printf("{\"harness\": \"map_ops\", \"error\": \"bpf_map_get_fd_by_id(%u): %s\"}\n", id, strerror(-m.fd));
		return 1;
	}
	struct bpf_map_info info = { 0 };
	__u32 info_len = sizeof(info);
	if (bpf_obj_get_info_by_fd(m.fd, &info, &info_len) || info.key_size != 4 || info.value_size != 8) {
		printf("{\"harness\": \"map_ops\", \"error\": \"map %u is not a u32 -> u64 map\"}\n", id);
		return 1;
	}
	m.keys = calloc(m.entries, sizeof(*m.keys));
	m.values = calloc(m.entries, sizeof(*m.values));
	m.out_keys = calloc(m.chunk, sizeof(*m.out_keys));
	m.out_values = calloc(m.chunk, sizeof(*m.out_values));
	for (__u32 k = 0; k < m.entries; k++) {
		m.keys[k] = k;
		m.values[k] = k;
	}
	int is_hash = info.type == BPF_MAP_TYPE_HASH;

	printf("{\"harness\": \"map_ops\", \"libbpf\": \"%u.%u\", \"map_type\": %u, \"results\": {\n", libbpf_major_version(),
	       libbpf_minor_version(), info.type);
	print_entry("lookup", 1, bench_run(op_lookup, &m, plan), 0);
	print_entry("update", 1, bench_run(op_update, &m, plan), 0);
	struct bench_result none = { 0 };
	print_entry("delete", is_hash, is_hash ? bench_passes(pass_delete, refill, &m, plan) : none, 0);
	print_entry("iterate", 1, bench_passes(pass_iterate, NULL, &m, plan), 0);
	print_entry("lookup_batch", 1, bench_passes(pass_lookup_batch, NULL, &m, plan), 0);
	print_entry("update_batch", 1, bench_passes(pass_update_batch, NULL, &m, plan), 1);
	printf("}}\n");
	return 0;
}
