// SPDX-License-Identifier: GPL-2.0
// xdp_stats: the demo's XDP program. It looks at every frame arriving on an interface,
// counts IPv4 packets and bytes per IP protocol, and UDP/TCP packets and bytes per
// destination port, then lets the frame through (XDP_PASS): it only observes.
//
// Maps (BTF-defined, section ".maps"); both values are struct counter { packets, bytes }:
//   proto_counts  BPF_MAP_TYPE_ARRAY, key __u32 = IPv4 protocol number (IPPROTO_ICMP 1,
//                 IPPROTO_TCP 6, IPPROTO_UDP 17, ...), 256 entries: one per protocol.
//   port_counts   BPF_MAP_TYPE_HASH, key __u16 = TCP or UDP destination port in host byte
//                 order (so user space reads 53, not 0x3500), 4096 entries.
// Bytes are whole frames, Ethernet header included. Frames that are not IPv4 are not
// counted; neither are the ports of IP fragments after the first (they carry no L4 header).
//
// Build: demo/build.sh (writes demo/xdp_stats.bpf.o, committed; the build is reproducible
// byte for byte and test/fixtures.test.ts checks that the committed object matches).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

// Fragment offset bits of iphdr.frag_off (the kernel's IP_OFFSET, not in the UAPI headers).
#define IP_FRAGMENT_OFFSET 0x1fff

struct counter {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct counter);
	__uint(max_entries, 256);
} proto_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u16);
	__type(value, struct counter);
	__uint(max_entries, 4096);
} port_counts SEC(".maps");

static __always_inline void add(struct counter *counter, __u64 bytes)
{
	// Several CPUs may update the same entry at once: atomic adds keep the sums exact.
	__sync_fetch_and_add(&counter->packets, 1);
	__sync_fetch_and_add(&counter->bytes, bytes);
}

static __always_inline void count_port(__u16 port, __u64 bytes)
{
	struct counter *counter = bpf_map_lookup_elem(&port_counts, &port);
	if (counter) {
		add(counter, bytes);
		return;
	}
	struct counter first = { .packets = 1, .bytes = bytes };
	// BPF_NOEXIST: if another CPU inserted the port meanwhile, add to its entry instead.
	if (bpf_map_update_elem(&port_counts, &port, &first, BPF_NOEXIST) != 0) {
		counter = bpf_map_lookup_elem(&port_counts, &port);
		if (counter)
			add(counter, bytes);
	}
}

// Destination port of the TCP or UDP header at l4, or 0 when there is none to read.
static __always_inline __u16 destination_port(void *l4, void *data_end, __u8 protocol)
{
	if (protocol == IPPROTO_UDP) {
		struct udphdr *udp = l4;
		if ((void *)(udp + 1) > data_end)
			return 0;
		return bpf_ntohs(udp->dest);
	}
	if (protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;
		if ((void *)(tcp + 1) > data_end)
			return 0;
		return bpf_ntohs(tcp->dest);
	}
	return 0;
}

SEC("xdp")
int xdp_stats(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 bytes = data_end - data;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);

	// Every packet read must be preceded by a check against data_end: the verifier
	// rejects the program otherwise.
	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;

	__u32 protocol = ip->protocol;
	struct counter *counter = bpf_map_lookup_elem(&proto_counts, &protocol);
	if (counter)
		add(counter, bytes);

	// ihl counts 32-bit words; 5 is the minimum header, 15 the maximum (60 bytes).
	if (ip->ihl < 5 || (ip->frag_off & bpf_htons(IP_FRAGMENT_OFFSET)) != 0)
		return XDP_PASS;
	void *l4 = (void *)ip + ip->ihl * 4;
	__u16 port = destination_port(l4, data_end, protocol);
	if (port != 0)
		count_port(port, bytes);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
