// SPDX-License-Identifier: GPL-2.0
// core_read: CO-RE relocations (.BTF.ext core_relo records), against the running kernel's
// BTF (/sys/kernel/btf/vmlinux).
//
// `struct task_struct` below is a local, partial view marked preserve_access_index: clang
// records each field access as a relocation (type, access string "0:N", kind) instead of a
// fixed offset, and the loader patches the offset from the kernel's own task_struct.
//
// Map `core_results`: BPF_MAP_TYPE_ARRAY, key __u32, value __u64, 3 entries:
//   [0] tgid of the current task     (BPF_CORE_FIELD_BYTE_OFFSET relocation on tgid)
//   [1] 1: field `pid` exists        (BPF_CORE_FIELD_EXISTS, kernel has it)
//   [2] 0: field `tsbpf_missing`     (BPF_CORE_FIELD_EXISTS, no kernel has it)
// Program: section "kprobe/do_sys_openat2", function core_task.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct {
	int pid;
	int tgid;
	int tsbpf_missing;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 3);
} core_results SEC(".maps");

static void store(__u32 key, __u64 value)
{
	bpf_map_update_elem(&core_results, &key, &value, BPF_ANY);
}

SEC("kprobe/do_sys_openat2")
int core_task(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();

	store(0, BPF_CORE_READ(task, tgid));
	store(1, bpf_core_field_exists(task->pid));
	store(2, bpf_core_field_exists(task->tsbpf_missing));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
