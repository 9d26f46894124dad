// SPDX-License-Identifier: GPL-2.0
// iproute2_elf_map: maps in iproute2's own format, as `tc filter add ... bpf obj` and
// `ip link set ... xdp obj` read them (iproute2's include/bpf_elf.h).
//
// struct bpf_elf_map is nine __u32 (36 bytes per map) in section "maps". Besides the map
// shape it carries `pinning`: PIN_GLOBAL_NS (2) asks the loader to pin the map by name in
// the global namespace (iproute2: /sys/fs/bpf/tc/globals/NAME) and reuse it if it already
// exists there; PIN_NONE (0) gives a private map. `id`, `inner_id` and `inner_idx` are for
// map-in-map and are 0 here.
//
// Maps (section "maps", in this order):
//   pinned_counts  offset 0:  BPF_MAP_TYPE_ARRAY, key 4, value 8, 2 entries, id 1,
//                  pinning PIN_GLOBAL_NS. key 0 = frames seen by cls_count,
//                  key 1 = frames seen by xdp_count_iproute2.
//   private_counts offset 36: BPF_MAP_TYPE_HASH, key 4, value 8, 64 entries, id 2,
//                  pinning PIN_NONE. key = skb->protocol (network order as in the skb).
// Programs:
//   cls_count            section "classifier" (tc, BPF_PROG_TYPE_SCHED_CLS), returns TC_ACT_OK
//   xdp_count_iproute2   section "xdp", returns XDP_PASS
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct bpf_elf_map {
	__u32 type;
	__u32 size_key;
	__u32 size_value;
	__u32 max_elem;
	__u32 flags;
	__u32 id;
	__u32 pinning;
	__u32 inner_id;
	__u32 inner_idx;
};

#define PIN_NONE 0
#define PIN_OBJECT_NS 1
#define PIN_GLOBAL_NS 2

struct bpf_elf_map pinned_counts SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u64),
	.max_elem = 2,
	.id = 1,
	.pinning = PIN_GLOBAL_NS,
};

struct bpf_elf_map private_counts SEC("maps") = {
	.type = BPF_MAP_TYPE_HASH,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u64),
	.max_elem = 64,
	.id = 2,
	.pinning = PIN_NONE,
};

SEC("classifier")
int cls_count(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 *seen = bpf_map_lookup_elem(&pinned_counts, &key);
	if (seen)
		__sync_fetch_and_add(seen, 1);

	__u32 proto = skb->protocol;
	__u64 *per_proto = bpf_map_lookup_elem(&private_counts, &proto);
	if (per_proto) {
		__sync_fetch_and_add(per_proto, 1);
	} else {
		__u64 first = 1;
		bpf_map_update_elem(&private_counts, &proto, &first, BPF_NOEXIST);
	}
	return TC_ACT_OK;
}

SEC("xdp")
int xdp_count_iproute2(struct xdp_md *ctx)
{
	__u32 key = 1;
	__u64 *seen = bpf_map_lookup_elem(&pinned_counts, &key);
	if (seen)
		__sync_fetch_and_add(seen, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
