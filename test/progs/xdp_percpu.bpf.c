// SPDX-License-Identifier: GPL-2.0
// xdp_percpu: the xdp_counter scheme with a per-CPU array, so that map reads return one
// value per possible CPU (tests sum them).
//
// Map `percpu_stats`: BPF_MAP_TYPE_PERCPU_ARRAY, key __u32, value __u64, 256 entries.
//   key   = IPv4 protocol number (IPPROTO_UDP = 17, ...);
//   value = IPv4 packets with that protocol seen on this CPU.
// Non-IPv4 frames are ignored: summed over CPUs, percpu_stats[17] == UDP datagrams sent.
// Each CPU owns its slot, so a plain increment is safe (no atomic needed).
// Returns XDP_PASS. Section "xdp", function xdp_count_percpu.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 256);
} percpu_stats SEC(".maps");

SEC("xdp")
int xdp_count_percpu(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);

	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;

	__u32 key = ip->protocol;
	__u64 *count = bpf_map_lookup_elem(&percpu_stats, &key);
	if (count)
		*count += 1;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
