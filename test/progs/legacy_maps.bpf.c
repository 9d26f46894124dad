// SPDX-License-Identifier: GPL-2.0
// legacy_maps: maps declared the pre-BTF way, as structs in a section named "maps".
//
// The loader learns a legacy map's shape from the bytes of its struct, and its name from
// the symbol that points at it (symbol value = byte offset in "maps"). libbpf 1.x dropped
// this format and its header no longer defines struct bpf_map_def, so we declare it; its
// layout is the one old samples/bpf and libbpf 0.x used: five __u32, 20 bytes per map.
//
// Maps (section "maps", in this order):
//   legacy_array  offset 0:  BPF_MAP_TYPE_ARRAY, key 4, value 8, 4 entries.
//                 key = XDP action returned (XDP_PASS = 2), value = frames seen.
//   legacy_hash   offset 20: BPF_MAP_TYPE_HASH, key 4, value 8, 16 entries,
//                 map_flags BPF_F_NO_PREALLOC. key = ctx->ingress_ifindex, value = frames.
// Program: section "xdp", function xdp_legacy, returns XDP_PASS.
//
// This is also the fixture with a "version" section: a __u32 that old loaders passed as
// kern_version (required for kprobes before Linux 5.0, ignored for XDP).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def legacy_array SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 4,
};

struct bpf_map_def legacy_hash SEC("maps") = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 16,
	.map_flags = BPF_F_NO_PREALLOC,
};

SEC("xdp")
int xdp_legacy(struct xdp_md *ctx)
{
	__u32 action = XDP_PASS;
	__u64 *frames = bpf_map_lookup_elem(&legacy_array, &action);
	if (frames)
		__sync_fetch_and_add(frames, 1);

	__u32 ifindex = ctx->ingress_ifindex;
	__u64 *per_if = bpf_map_lookup_elem(&legacy_hash, &ifindex);
	if (per_if) {
		__sync_fetch_and_add(per_if, 1);
	} else {
		__u64 first = 1;
		bpf_map_update_elem(&legacy_hash, &ifindex, &first, BPF_NOEXIST);
	}
	return action;
}

char LICENSE[] SEC("license") = "GPL";
// KERNEL_VERSION(6, 1, 0) = (6 << 16) + (1 << 8) + 0
__u32 _version SEC("version") = 0x060100;
