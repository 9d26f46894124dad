// SPDX-License-Identifier: GPL-2.0
// externs_kfunc: kernel functions (kfuncs) called from XDP. Each call is a call instruction
// whose src_reg is BPF_PSEUDO_KFUNC_CALL and whose imm is the function's id in the kernel's
// BTF; the loader looks the id up by name (Linux 5.13 for kfuncs, 6.4 for these two).
//
//   bpf_dynptr_from_xdp          a dynptr over the XDP frame
//   bpf_dynptr_slice             a pointer to its first bytes (the Ethernet header)
//   bpf_tsbpf_no_such_kfunc      __weak, no kernel has it: its address loads as 0, the
//                                verifier sees the branch that calls it is dead and
//                                removes the call (which the loader left with imm 0)
//
// The program stores the EtherType in .bss `ethertype` and drops IPv6 frames.
// Program: section "xdp", function xdp_dynptr.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

extern int bpf_dynptr_from_xdp(struct xdp_md *xdp, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;
extern void *bpf_dynptr_slice(const struct bpf_dynptr *ptr, __u32 offset, void *buffer__opt, __u32 buffer__szk) __ksym;
extern int bpf_tsbpf_no_such_kfunc(struct xdp_md *ctx) __ksym __weak;

__u64 ethertype;
__u64 weak_kfunc_called;

SEC("xdp")
int xdp_dynptr(struct xdp_md *ctx)
{
	struct bpf_dynptr ptr;
	struct ethhdr buffer;
	const struct ethhdr *eth;

	if (bpf_dynptr_from_xdp(ctx, 0, &ptr))
		return XDP_ABORTED;
	eth = bpf_dynptr_slice(&ptr, 0, &buffer, sizeof(buffer));
	if (!eth)
		return XDP_ABORTED;
	ethertype = bpf_ntohs(eth->h_proto);
	if (bpf_tsbpf_no_such_kfunc) {
		weak_kfunc_called = 1;
		return bpf_tsbpf_no_such_kfunc(ctx);
	}
	return eth->h_proto == bpf_htons(ETH_P_IPV6) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
