// SPDX-License-Identifier: GPL-2.0
// xdp_hash_saddr: counts IPv4 packets per source address in a hash map.
//
// Map `saddr_counts`: BPF_MAP_TYPE_HASH, key __be32, value __u64, 1024 entries.
//   key   = the IPv4 source address exactly as in the packet (network byte order: the
//           4 bytes 10.0.0.1 are 0a 00 00 01, i.e. the little-endian u32 0x0100000a);
//   value = IPv4 packets (any protocol) from that address.
// Non-IPv4 frames are ignored. Exercises hash map create/lookup/update from the program
// (BPF_NOEXIST) and key iteration from user space. Returns XDP_PASS.
// Section "xdp", function xdp_count_saddr.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __be32);
	__type(value, __u64);
	__uint(max_entries, 1024);
} saddr_counts SEC(".maps");

SEC("xdp")
int xdp_count_saddr(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);

	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;

	__be32 saddr = ip->saddr;
	__u64 *count = bpf_map_lookup_elem(&saddr_counts, &saddr);
	if (count) {
		__sync_fetch_and_add(count, 1);
	} else {
		__u64 first = 1;
		// Another CPU may insert the same key in between; losing that one count is
		// acceptable for a test that sends packets one at a time.
		bpf_map_update_elem(&saddr_counts, &saddr, &first, BPF_NOEXIST);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
