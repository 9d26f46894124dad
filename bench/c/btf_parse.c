// SPDX-License-Identifier: MIT
// The libbpf column of bench/btf.ts: how long libbpf takes to parse a kernel's BTF and find
// one type in it, the first step of every CO-RE load.
//
//     btf_parse warmup_ms batch_ms batches PATH NAME [OPERATION...]
//
// Four operations (all of them when none is named), each timed with bench.h's method (warm
// up, batches, median):
//   parse_file        btf__parse(PATH) + btf__find_by_name_kind(NAME, BTF_KIND_STRUCT) + btf__free:
//                     what a loader does with /sys/kernel/btf/vmlinux (libbpf reads the file
//                     itself: fopen, fread into a malloc-ed buffer, then btf__new's work);
//   new_buffer        btf__new(bytes read once beforehand) + find + btf__free: no file reading,
//                     but btf__new copies the bytes into its own buffer first;
//   parse_file_only   btf__parse + btf__free;
//   new_buffer_only   btf__new + btf__free.
// In libbpf 1.1, btf__new checks the header, checks that the string section ends in NUL and
// walks every type record once (kind, size, record bounds) to build its offset index; names
// are not looked at. btf__find_by_name_kind walks the ids from 1, skips other kinds and
// strcmp()s the name of each type of the wanted kind.
// bench/btf.ts runs one process per operation: glibc's malloc adapts its mmap threshold to
// the 5 MB blocks freed before, so an operation timed after another one in the same process
// can be four times slower (page faults of fresh mmap-ed memory on every run) than alone.
// Output: one JSON object on stdout,
//     {"harness": "btf_parse", "libbpf": "1.1", "file", "bytes", "name", "id", "size",
//      "parse_file": {"iterations", "median_ns", "batches_ns"}, "new_buffer": {...}, ...}
// or {"harness": "btf_parse", "ok": false, "error"} when the file cannot be parsed.
#include <errno.h>
#include <string.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "bench.h"

struct subject {
	const char *path;
	const char *name;
	void *data;
	size_t size;
};

static int find(struct btf *btf, const struct subject *s)
{
	int id = btf__find_by_name_kind(btf, s->name, BTF_KIND_STRUCT);
	btf__free(btf);
	return id < 0 ? id : 0;
}

static int parse_file(void *state)
{
	const struct subject *s = state;
	struct btf *btf = btf__parse(s->path, NULL);
	long err = libbpf_get_error(btf);
	return err ? (int)err : find(btf, s);
}

static int new_buffer(void *state)
{
	const struct subject *s = state;
	struct btf *btf = btf__new(s->data, s->size);
	long err = libbpf_get_error(btf);
	return err ? (int)err : find(btf, s);
}

static int parse_file_only(void *state)
{
	const struct subject *s = state;
	struct btf *btf = btf__parse(s->path, NULL);
	long err = libbpf_get_error(btf);
	if (err)
		return (int)err;
	btf__free(btf);
	return 0;
}

static int new_buffer_only(void *state)
{
	const struct subject *s = state;
	struct btf *btf = btf__new(s->data, s->size);
	long err = libbpf_get_error(btf);
	if (err)
		return (int)err;
	btf__free(btf);
	return 0;
}

static int read_file(struct subject *s)
{
	FILE *f = fopen(s->path, "rb");
	if (!f)
		return -errno;
	// sysfs reports the size of /sys/kernel/btf/* in st_size, but read to EOF to be safe.
	size_t capacity = 1 << 20, size = 0;
	char *data = malloc(capacity);
	for (;;) {
		if (size == capacity) {
			capacity *= 2;
			data = realloc(data, capacity);
		}
		size_t n = fread(data + size, 1, capacity - size, f);
		if (n == 0)
			break;
		size += n;
	}
	int err = ferror(f) ? -EIO : 0;
	fclose(f);
	s->data = data;
	s->size = size;
	return err;
}

static const struct {
	const char *key;
	bench_op op;
} operations[] = {
	{ "parse_file", parse_file },
	{ "new_buffer", new_buffer },
	{ "parse_file_only", parse_file_only },
	{ "new_buffer_only", new_buffer_only },
};

static void print_operation(const char *key, bench_op op, struct subject *s, struct bench_plan plan)
{
	struct bench_result r = bench_run(op, s, plan);
	printf(", \"%s\": {", key);
	if (r.error)
		printf("\"ok\": false, \"error\": %d", r.error);
	else
		print_result_fields(&r);
	printf("}");
}

int main(int argc, char **argv)
{
	struct bench_plan plan;
	int first = parse_plan(argc, argv, &plan, "PATH NAME [OPERATION...]");
	if (argc < first + 2) {
		fprintf(stderr, "usage: %s warmup_ms batch_ms batches PATH NAME [OPERATION...]\n", argv[0]);
		return 2;
	}
	struct subject s = { .path = argv[first], .name = argv[first + 1] };
	int err = read_file(&s);
	if (err) {
		printf("{\"harness\": \"btf_parse\", \"ok\": false, \"error\": \"cannot read %s: %s\"}\n", s.path, strerror(-err));
		return 1;
	}
	// One untimed run that keeps the result, to report what was found.
	struct btf *btf = btf__new(s.data, s.size);
	if (libbpf_get_error(btf)) {
		printf("{\"harness\": \"btf_parse\", \"ok\": false, \"error\": \"btf__new failed: %ld\"}\n", libbpf_get_error(btf));
		return 1;
	}
	int id = btf__find_by_name_kind(btf, s.name, BTF_KIND_STRUCT);
	const struct btf_type *t = id > 0 ? btf__type_by_id(btf, id) : NULL;
	printf("{\"harness\": \"btf_parse\", \"ok\": true, \"libbpf\": \"%u.%u\", \"file\": \"%s\", \"bytes\": %zu, \"types\": %u, "
	       "\"name\": \"%s\", \"id\": %d, \"size\": %u",
	       libbpf_major_version(), libbpf_minor_version(), s.path, s.size, btf__type_cnt(btf), s.name, id, t ? t->size : 0);
	btf__free(btf);
	for (size_t i = 0; i < sizeof(operations) / sizeof(operations[0]); i++) {
		int wanted = argc == first + 2;
		for (int a = first + 2; a < argc; a++)
			wanted |= strcmp(argv[a], operations[i].key) == 0;
		if (wanted)
			print_operation(operations[i].key, operations[i].op, &s, plan);
	}
	printf("}\n");
	free(s.data);
	return 0;
}
