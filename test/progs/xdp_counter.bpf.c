// SPDX-License-Identifier: GPL-2.0
// xdp_counter: counts IPv4 packets per IP protocol in a BTF-defined array map.
//
// Exercises: a map in ".maps" described by BTF, a map-load relocation (ld_imm64 with
// BPF_PSEUDO_MAP_FD), helper calls, bounds-checked packet access, atomic add (BPF_XADD).
//
// Map `stats`: BPF_MAP_TYPE_ARRAY, key __u32, value __u64, 256 entries.
//   key   = the IPv4 header's protocol field (IPPROTO_ICMP = 1, IPPROTO_TCP = 6,
//           IPPROTO_UDP = 17, ...), so every possible protocol has a slot;
//   value = number of IPv4 packets seen with that protocol.
// Frames that are not IPv4 (ARP, IPv6 neighbour discovery, ...) are not counted, so
// after sending N UDP datagrams through a veth, stats[17] == N exactly.
// The program always returns XDP_PASS. Section "xdp", function xdp_count.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 256);
} stats SEC(".maps");

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);

	// The verifier insists on this check before any read of the headers.
	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;

	__u32 key = ip->protocol;
	__u64 *count = bpf_map_lookup_elem(&stats, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
