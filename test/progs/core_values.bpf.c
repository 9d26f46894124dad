// SPDX-License-Identifier: GPL-2.0
// core_values: CO-RE relocations of every kind clang 14 emits, each program returning what
// its relocations computed, so BPF_PROG_TEST_RUN shows the values a loader patched in.
//
// The kernel types are declared here, partially and with preserve_access_index, instead of
// coming from a vmlinux.h: the object then does not depend on the machine that builds it,
// and the declarations differ from the kernel on purpose (fields that do not exist, a
// flavor with an older field name, enum values that are not the kernel's).
//
// Programs (section "socket", BPF_PROG_TYPE_SOCKET_FILTER, no maps), each returning:
//   offset_pid         FIELD_BYTE_OFFSET of task_struct.pid                      (ALU mov)
//   offset_comm_5      FIELD_BYTE_OFFSET of task_struct.comm[5]                  (array step)
//   size_comm          FIELD_BYTE_SIZE of task_struct.comm                       (16)
//   exists_mask        FIELD_EXISTS: bit 0 task_struct.__state, bit 1 task_struct___old.state
//                      (a flavor; the kernel renamed it in 5.14), bit 2 task_struct.tsbpf_missing,
//                      bit 3 task_struct.tgid
//   signed_mask        FIELD_SIGNED: bit 0 task_struct.pid (int), bit 1 task_struct.flags (unsigned)
//   bitfield_iowait    task_struct.in_iowait (1 bit): byte offset | size << 16 | lshift << 20 | rshift << 26
//   bitfield_pkt_type  sk_buff.pkt_type (3 bits), packed the same way
//   old_state_guarded  FIELD_BYTE_OFFSET of task_struct___old.state behind bpf_core_field_exists:
//                      poisoned in dead code; returns 7
//   type_size          TYPE_SIZE of struct task_struct
//   type_exists_mask   TYPE_EXISTS: bit 0 struct task_struct, bit 1 struct tsbpf_no_such_struct,
//                      bit 2 enum pid_type, bit 3 struct task_struct___old, bit 4 struct list_head
//   type_id_kernel     TYPE_ID_TARGET of struct task_struct                      (ld_imm64)
//   type_id_missing    TYPE_ID_TARGET of struct tsbpf_no_such_struct             (0)
//   type_id_local      TYPE_ID_LOCAL of struct task_struct
//   enum_values        ENUMVAL_VALUE pid_type::PIDTYPE_MAX | PIDTYPE_SID << 8, ENUMVAL_EXISTS
//                      TSBPF_NO_SUCH_PIDTYPE << 16 | PIDTYPE_MAX << 17
//   enum_guarded       ENUMVAL_VALUE of a missing enumerator behind bpf_core_enum_value_exists: 42
//   enum64_low/high    ENUMVAL_VALUE of perf_callchain_context::PERF_CONTEXT_KERNEL, an ENUM64 in
//                      the kernel ((u64)-128): its low and high 32 bits
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct {
	int pid;
	int tgid;
	char comm[16];
	unsigned int __state;
	unsigned int flags;
	unsigned int in_iowait: 1;
	int tsbpf_missing;
} __attribute__((preserve_access_index));

struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

struct sk_buff {
	__u8 pkt_type: 3;
} __attribute__((preserve_access_index));

struct list_head {
	struct list_head *next, *prev;
};

struct tsbpf_no_such_struct {
	int x;
};

/* The kernel's values are PIDTYPE_SID = 3, PIDTYPE_MAX = 4. */
enum pid_type { PIDTYPE_MAX = 1, PIDTYPE_SID = 7, TSBPF_NO_SUCH_PIDTYPE = 9 };

enum perf_callchain_context { PERF_CONTEXT_KERNEL = (__u64)-128 };

#define BITFIELD_FACTS(type, field)                                                   \
	(__builtin_preserve_field_info(((type *)0)->field, BPF_FIELD_BYTE_OFFSET) |     \
	 __builtin_preserve_field_info(((type *)0)->field, BPF_FIELD_BYTE_SIZE) << 16 | \
	 __builtin_preserve_field_info(((type *)0)->field, BPF_FIELD_LSHIFT_U64) << 20 | \
	 __builtin_preserve_field_info(((type *)0)->field, BPF_FIELD_RSHIFT_U64) << 26)

SEC("socket")
int offset_pid(void *ctx)
{
	return bpf_core_field_offset(struct task_struct, pid);
}

SEC("socket")
int offset_comm_5(void *ctx)
{
	return bpf_core_field_offset(struct task_struct, comm[5]);
}

SEC("socket")
int size_comm(void *ctx)
{
	return bpf_core_field_size(struct task_struct, comm);
}

SEC("socket")
int exists_mask(void *ctx)
{
	return bpf_core_field_exists(struct task_struct, __state) |
	       bpf_core_field_exists(struct task_struct___old, state) << 1 |
	       bpf_core_field_exists(struct task_struct, tsbpf_missing) << 2 |
	       bpf_core_field_exists(struct task_struct, tgid) << 3;
}

SEC("socket")
int signed_mask(void *ctx)
{
	return __builtin_preserve_field_info(((struct task_struct *)0)->pid, BPF_FIELD_SIGNED) |
	       __builtin_preserve_field_info(((struct task_struct *)0)->flags, BPF_FIELD_SIGNED) << 1;
}

SEC("socket")
int bitfield_iowait(void *ctx)
{
	return BITFIELD_FACTS(struct task_struct, in_iowait);
}

SEC("socket")
int bitfield_pkt_type(void *ctx)
{
	return BITFIELD_FACTS(struct sk_buff, pkt_type);
}

SEC("socket")
int old_state_guarded(void *ctx)
{
	if (bpf_core_field_exists(struct task_struct___old, state))
		return bpf_core_field_offset(struct task_struct___old, state);
	return 7;
}

SEC("socket")
int type_size(void *ctx)
{
	return bpf_core_type_size(struct task_struct);
}

SEC("socket")
int type_exists_mask(void *ctx)
{
	return bpf_core_type_exists(struct task_struct) |
	       bpf_core_type_exists(struct tsbpf_no_such_struct) << 1 |
	       bpf_core_type_exists(enum pid_type) << 2 |
	       bpf_core_type_exists(struct task_struct___old) << 3 |
	       bpf_core_type_exists(struct list_head) << 4;
}

SEC("socket")
int type_id_kernel(void *ctx)
{
	return bpf_core_type_id_kernel(struct task_struct);
}

SEC("socket")
int type_id_missing(void *ctx)
{
	return bpf_core_type_id_kernel(struct tsbpf_no_such_struct);
}

SEC("socket")
int type_id_local(void *ctx)
{
	return bpf_core_type_id_local(struct task_struct);
}

SEC("socket")
int enum_values(void *ctx)
{
	return bpf_core_enum_value(enum pid_type, PIDTYPE_MAX) |
	       bpf_core_enum_value(enum pid_type, PIDTYPE_SID) << 8 |
	       bpf_core_enum_value_exists(enum pid_type, TSBPF_NO_SUCH_PIDTYPE) << 16 |
	       bpf_core_enum_value_exists(enum pid_type, PIDTYPE_MAX) << 17;
}

SEC("socket")
int enum_guarded(void *ctx)
{
	if (bpf_core_enum_value_exists(enum pid_type, TSBPF_NO_SUCH_PIDTYPE))
		return bpf_core_enum_value(enum pid_type, TSBPF_NO_SUCH_PIDTYPE);
	return 42;
}

SEC("socket")
int enum64_low(void *ctx)
{
	return (__u32)bpf_core_enum_value(enum perf_callchain_context, PERF_CONTEXT_KERNEL);
}

SEC("socket")
int enum64_high(void *ctx)
{
	return (__u64)bpf_core_enum_value(enum perf_callchain_context, PERF_CONTEXT_KERNEL) >> 32;
}

char LICENSE[] SEC("license") = "GPL";
