// SPDX-License-Identifier: GPL-2.0
// large: the big object of the parse benchmark (bench/parse.ts). Its purpose is volume,
// not behaviour: many sections, functions, relocations and BTF records, so that parsing
// time is dominated by the per-program and per-relocation work rather than fixed costs.
//
//   40 programs in 8 sections (xdp, xdp.frags, xdp/devmap, xdp/cpumap, tc, classifier,
//      action, socket), each calling three subprograms and looking up a map
//   20 subprograms in .text: 10 static and 10 global, all noinline so every call stays a
//      real bpf-to-bpf call (R_BPF_64_32 relocation against the .text symbol)
//    5 BTF-defined maps (.maps), plus .rodata, .data and .bss global data
//
// The programs are stamped out by macros; clang -O2 -g -target bpf compiles it into
// bench/build/large.o when the benchmark runs.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1024);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 64);
} percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u64);
	__type(value, __u32);
	__uint(max_entries, 256);
} recent SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

const volatile __u32 sample_rate = 1;	// .rodata
__u64 generation = 1;			// .data
__u64 dropped;				// .bss

// Subprograms: bump a counter slot, or mix a value with a constant.
#define STATIC_SUBPROG(n)						\
	static __attribute__((noinline)) __u64 static_sub_##n(__u32 key)	\
	{								\
		__u32 slot = (key + n) & 63;				\
		__u64 *count = bpf_map_lookup_elem(&counters, &slot);	\
		if (!count)						\
			return 0;					\
		__sync_fetch_and_add(count, 1);				\
		return *count ^ generation;				\
	}

#define GLOBAL_SUBPROG(n)						\
	__attribute__((noinline)) __u64 global_sub_##n(__u32 value)	\
	{								\
		__u64 mixed = (__u64)value * (2654435761u + n);		\
		return (mixed >> 7) ^ (mixed << 3) ^ sample_rate;	\
	}

STATIC_SUBPROG(0) STATIC_SUBPROG(1) STATIC_SUBPROG(2) STATIC_SUBPROG(3) STATIC_SUBPROG(4)
STATIC_SUBPROG(5) STATIC_SUBPROG(6) STATIC_SUBPROG(7) STATIC_SUBPROG(8) STATIC_SUBPROG(9)
GLOBAL_SUBPROG(0) GLOBAL_SUBPROG(1) GLOBAL_SUBPROG(2) GLOBAL_SUBPROG(3) GLOBAL_SUBPROG(4)
GLOBAL_SUBPROG(5) GLOBAL_SUBPROG(6) GLOBAL_SUBPROG(7) GLOBAL_SUBPROG(8) GLOBAL_SUBPROG(9)

// The body every program shares: three subprogram calls (two static, one global) and a
// hash map update, so each program carries calls, map and global data references.
#define PROGRAM_BODY(n, len, verdict)					\
	__u32 key = (len) + n;						\
	__u64 value = static_sub_##n(key) + global_sub_##n(key)	\
		      + static_sub_##n(key + 1);				\
	if (bpf_map_update_elem(&flows, &key, &value, BPF_ANY))		\
		__sync_fetch_and_add(&dropped, 1);			\
	return verdict;

#define XDP_PROGRAM(section, name, n)					\
	SEC(section) int name(struct xdp_md *ctx)			\
	{ PROGRAM_BODY(n, ctx->data_end - ctx->data, XDP_PASS) }

#define SKB_PROGRAM(section, name, n, verdict)				\
	SEC(section) int name(struct __sk_buff *skb)			\
	{ PROGRAM_BODY(n, skb->len, verdict) }

XDP_PROGRAM("xdp", xdp_0, 0) XDP_PROGRAM("xdp", xdp_1, 1) XDP_PROGRAM("xdp", xdp_2, 2)
XDP_PROGRAM("xdp", xdp_3, 3) XDP_PROGRAM("xdp", xdp_4, 4) XDP_PROGRAM("xdp", xdp_5, 5)
XDP_PROGRAM("xdp", xdp_6, 6) XDP_PROGRAM("xdp", xdp_7, 7)
XDP_PROGRAM("xdp.frags", xdp_frags_0, 8) XDP_PROGRAM("xdp.frags", xdp_frags_1, 9)
XDP_PROGRAM("xdp.frags", xdp_frags_2, 0) XDP_PROGRAM("xdp.frags", xdp_frags_3, 1)
XDP_PROGRAM("xdp/devmap", xdp_devmap_0, 2) XDP_PROGRAM("xdp/devmap", xdp_devmap_1, 3)
XDP_PROGRAM("xdp/cpumap", xdp_cpumap_0, 4) XDP_PROGRAM("xdp/cpumap", xdp_cpumap_1, 5)

SKB_PROGRAM("tc", tc_0, 6, TC_ACT_OK) SKB_PROGRAM("tc", tc_1, 7, TC_ACT_OK)
SKB_PROGRAM("tc", tc_2, 8, TC_ACT_OK) SKB_PROGRAM("tc", tc_3, 9, TC_ACT_OK)
SKB_PROGRAM("tc", tc_4, 0, TC_ACT_OK) SKB_PROGRAM("tc", tc_5, 1, TC_ACT_OK)
SKB_PROGRAM("tc", tc_6, 2, TC_ACT_OK) SKB_PROGRAM("tc", tc_7, 3, TC_ACT_OK)
SKB_PROGRAM("classifier", cls_0, 4, TC_ACT_OK) SKB_PROGRAM("classifier", cls_1, 5, TC_ACT_OK)
SKB_PROGRAM("classifier", cls_2, 6, TC_ACT_OK) SKB_PROGRAM("classifier", cls_3, 7, TC_ACT_OK)
SKB_PROGRAM("action", act_0, 8, TC_ACT_OK) SKB_PROGRAM("action", act_1, 9, TC_ACT_OK)
SKB_PROGRAM("action", act_2, 0, TC_ACT_OK) SKB_PROGRAM("action", act_3, 1, TC_ACT_OK)

// Socket filters return the number of bytes to keep.
SKB_PROGRAM("socket", sock_0, 2, skb->len) SKB_PROGRAM("socket", sock_1, 3, skb->len)
SKB_PROGRAM("socket", sock_2, 4, skb->len) SKB_PROGRAM("socket", sock_3, 5, skb->len)
SKB_PROGRAM("socket", sock_4, 6, skb->len) SKB_PROGRAM("socket", sock_5, 7, skb->len)
SKB_PROGRAM("socket", sock_6, 8, skb->len) SKB_PROGRAM("socket", sock_7, 9, skb->len)

// Keeps the ring buffer map referenced by code, so clang emits it like the others.
SEC("xdp") int xdp_events(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	bpf_ringbuf_output(&events, &len, sizeof(len), 0);
	__u64 stamp = bpf_ktime_get_ns();
	__u32 slot = len & 63;
	bpf_map_update_elem(&recent, &stamp, &slot, BPF_ANY);
	__u64 *per_cpu = bpf_map_lookup_elem(&percpu, &slot);
	if (per_cpu)
		*per_cpu += 1;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
