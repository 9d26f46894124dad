// SPDX-License-Identifier: GPL-2.0
// core_tracing: CO-RE relocations in the instruction forms tracing programs use, on kernel
// types declared here with preserve_access_index (see core_values.bpf.c for why not vmlinux.h).
//
//   kprobe_reads     (kprobe/do_nanosleep) BPF_CORE_READ through bpf_probe_read_kernel: field
//                    offsets added to pointers (ALU add), a chain task->real_parent->tgid, a
//                    guarded read of a field no kernel has (poisoned, dead code), a bitfield
//                    read with BPF_CORE_READ_BITFIELD_PROBED
//   tracepoint_reads (tracepoint/sched/sched_switch) the flavor pattern: task_struct___old.state
//                    when the kernel has it, task_struct.__state otherwise
//   raw_tp_reads     (raw_tp/sched_switch) BPF_CORE_READ from a raw tracepoint argument
//   tp_btf_reads     (tp_btf/sched_switch) direct loads (LDX off relocated), a load resized from
//                    8 to 4 bytes (local u64 flags, kernel unsigned int), BPF_CORE_READ_BITFIELD
//                    (a load whose size comes from FIELD_BYTE_SIZE), a guarded flavored load
//   iter_task_pids   (iter/task) a relocated context access (struct bpf_iter__task.task) and
//                    a direct load from the task
// No maps: each program returns what it read, so the reads stay in the code.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct {
	int pid;
	int tgid;
	unsigned int __state;
	unsigned int in_iowait: 1;
	struct task_struct *real_parent;
	int tsbpf_missing;
} __attribute__((preserve_access_index));

struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

/* The kernel's flags is an unsigned int: a load of this u64 is resized to 4 bytes. */
struct task_struct___wide {
	unsigned long long flags;
} __attribute__((preserve_access_index));

struct bpf_iter_meta {
	__u64 seq_num;
} __attribute__((preserve_access_index));

struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
} __attribute__((preserve_access_index));

SEC("kprobe/do_nanosleep")
int kprobe_reads(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	int tgid = BPF_CORE_READ(task, tgid);
	int parent = BPF_CORE_READ(task, real_parent, tgid);

	if (bpf_core_field_exists(task->tsbpf_missing))
		tgid += BPF_CORE_READ(task, tsbpf_missing);
	return tgid + parent + BPF_CORE_READ_BITFIELD_PROBED(task, in_iowait);
}

SEC("tracepoint/sched/sched_switch")
int tracepoint_reads(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct task_struct___old *old = (void *)task;

	if (bpf_core_field_exists(old->state))
		return BPF_CORE_READ(old, state);
	return BPF_CORE_READ(task, __state);
}

SEC("raw_tp/sched_switch")
int raw_tp_reads(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *prev = (void *)ctx->args[1];

	return BPF_CORE_READ(prev, pid);
}

SEC("tp_btf/sched_switch")
int tp_btf_reads(__u64 *ctx)
{
	struct task_struct *prev = (void *)ctx[1];
	struct task_struct___old *old = (void *)prev;
	struct task_struct___wide *wide = (void *)prev;
	long sum = prev->pid + prev->tgid + wide->flags + BPF_CORE_READ_BITFIELD(prev, in_iowait);

	if (bpf_core_field_exists(old->state))
		sum += old->state;
	return sum != 0;
}

SEC("iter/task")
int iter_task_pids(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;

	if (task == (void *)0)
		return 0;
	return task->pid == 1;
}

char LICENSE[] SEC("license") = "GPL";
