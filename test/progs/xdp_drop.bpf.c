// SPDX-License-Identifier: GPL-2.0
// xdp_drop: drops every frame. An attach test can tell it from xdp_pass by behaviour
// (pings across a veth stop), and a replace test can swap one for the other.
// Section "xdp", function xdp_drop, no maps.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
