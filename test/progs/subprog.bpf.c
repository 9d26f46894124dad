// SPDX-License-Identifier: GPL-2.0
// subprog: bpf-to-bpf calls. Functions that are not in a program section land in ".text";
// a call to one is `call` with src_reg = BPF_PSEUDO_CALL and a relocation against the
// target (R_BPF_64_32). The loader appends the callee after the caller's instructions and
// fixes the call's immediate (relative offset, in instructions, minus one).
//
//   bump          .text, static (STB_LOCAL FUNC): calls[key] += 1. Called by both programs,
//                 so the loader must append a copy to each.
//   classify_len  .text, global (STB_GLOBAL FUNC): maps a packet length to a bucket
//                 (0: < 128 bytes, 1: < 1024, 2: larger). The kernel verifies global
//                 functions on their own, from their BTF prototype (BTF FUNC linkage global).
//   xdp_static_call  section "xdp": bump(0), returns XDP_PASS.
//   tc_global_call   section "tc":  bump(1 + classify_len(skb->len)), returns TC_ACT_OK.
// Map `calls`: BPF_MAP_TYPE_ARRAY, key __u32, value __u64, 4 entries.
// noinline keeps each call a real call; without it clang at -O2 would inline them.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} calls SEC(".maps");

static __attribute__((noinline)) int bump(__u32 key)
{
	__u64 *count = bpf_map_lookup_elem(&calls, &key);
	if (!count)
		return 0;
	__sync_fetch_and_add(count, 1);
	return 1;
}

__attribute__((noinline)) int classify_len(__u32 len)
{
	if (len < 128)
		return 0;
	if (len < 1024)
		return 1;
	return 2;
}

SEC("xdp")
int xdp_static_call(struct xdp_md *ctx)
{
	bump(0);
	return XDP_PASS;
}

SEC("tc")
int tc_global_call(struct __sk_buff *skb)
{
	bump(1 + classify_len(skb->len));
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
