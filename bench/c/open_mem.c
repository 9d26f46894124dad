// SPDX-License-Identifier: MIT
// The libbpf column of bench/parse.ts: how long bpf_object__open_mem takes on each object.
//
//     open_mem warmup_ms batch_ms batches FILE...
//
// Each run is bpf_object__open_mem(bytes) + bpf_object__close on the file's bytes, read
// into memory once beforehand. In libbpf 1.1 opening makes no bpf(2) call (strace shows
// only mmap/munmap and uname) and does: ELF parsing through libelf (sections, symbols),
// .BTF parsing and validation (btf__new), .BTF.ext parsing (func_info, line_info, CO-RE
// records), extern collection, the DATASEC fixup (bpf_object__finalize_btf: sizes and
// variable offsets written into the parsed BTF in place), map definitions from .maps and
// the data sections (each internal map gets an mmap-ed copy of its initial bytes), the
// program list (one instruction copy per function, section name matched against its
// table) and the relocation records of every program. Output: one JSON object on stdout,
//     {"harness": "open_mem", "libbpf": "1.1", "objects": [{"file", "ok", "iterations",
//      "median_ns", "batches_ns"} or {"file", "ok": false, "error"}]}
//
// libbpf's log callback is turned off while timing, so no run pays for printing.
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "bench.h"

struct object_bytes {
	void *data;
	size_t size;
};

static int open_close(void *state)
{
	struct object_bytes *obj = state;
	struct bpf_object *bpf = bpf_object__open_mem(obj->data, obj->size, NULL);
	long err = libbpf_get_error(bpf);
	if (err)
		return (int)err;
	bpf_object__close(bpf);
	return 0;
}

static char last_warning[512];

static int keep_warning(enum libbpf_print_level level, const char *format, va_list args)
{
	if (level == LIBBPF_WARN)
		vsnprintf(last_warning, sizeof(last_warning), format, args);
	return 0;
}

static int read_file(const char *path, struct object_bytes *out)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	if (size < 0) {
		fclose(f);
		return -errno;
	}
	fseek(f, 0, SEEK_SET);
	out->data = malloc(size > 0 ? size : 1);
	out->size = fread(out->data, 1, size, f);
	fclose(f);
	return out->size == (size_t)size ? 0 : -EIO;
}

// Prints a string as a JSON string literal (the warning may hold quotes or a newline).
static void print_json_string(const char *text)
{
	putchar('"');
	for (const char *c = text; *c; c++) {
		if (*c == '"' || *c == '\\')
			printf("\\%c", *c);
		else if ((unsigned char)*c < 0x20)
			printf("\\u%04x", *c);
		else
			putchar(*c);
	}
	putchar('"');
}

int main(int argc, char **argv)
{
	struct bench_plan plan;
	int first = parse_plan(argc, argv, &plan, "FILE...");
	printf("{\"harness\": \"open_mem\", \"libbpf\": \"%u.%u\", \"objects\": [", libbpf_major_version(), libbpf_minor_version());
	for (int i = first; i < argc; i++) {
		struct object_bytes obj = { 0 };
		printf("%s\n{\"file\": ", i > first ? "," : "");
		print_json_string(argv[i]);
		int err = read_file(argv[i], &obj);
		if (err) {
			printf(", \"ok\": false, \"error\": \"cannot read: %s\"}", strerror(-err));
			continue;
		}
		// One open with warnings captured, so a refusal can be reported with libbpf's reason.
		last_warning[0] = 0;
		libbpf_set_print(keep_warning);
		err = open_close(&obj);
		libbpf_set_print(NULL);
		struct bench_result r = err ? (struct bench_result){ .error = err } : bench_run(open_close, &obj, plan);
		if (r.error) {
			char reason[80], message[600];
			libbpf_strerror(r.error, reason, sizeof(reason));
			snprintf(message, sizeof(message), "%s: %s", reason, last_warning);
			printf(", \"ok\": false, \"error\": ");
			print_json_string(message);
			printf("}");
		} else {
			printf(", \"ok\": true, ");
			print_result_fields(&r);
			printf("}");
		}
		free(obj.data);
	}
	printf("]}\n");
	return 0;
}
