// SPDX-License-Identifier: GPL-2.0
// xdp_pass: the smallest useful XDP program. Exercises the simplest path through the
// loader: one program in section "xdp", no maps, no relocations. Function: xdp_pass.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
