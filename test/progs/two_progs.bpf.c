// SPDX-License-Identifier: GPL-2.0
// two_progs: two programs in one ELF section. clang places both functions one after the
// other in section "xdp"; the loader must split the section at the FUNC symbols
// (st_value = start, st_size = length) and keep relocation offsets relative to each
// program, not to the section.
//
// Section "xdp":
//   xdp_first   (offset 0)  hits[0] += 1, returns XDP_PASS
//   xdp_second  (after it)  hits[1] += 1, returns XDP_DROP
// Map `hits`: BPF_MAP_TYPE_ARRAY, key __u32, value __u64, 2 entries, used by both, so
// each program carries its own map relocation.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 2);
} hits SEC(".maps");

SEC("xdp")
int xdp_first(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *count = bpf_map_lookup_elem(&hits, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	return XDP_PASS;
}

SEC("xdp")
int xdp_second(struct xdp_md *ctx)
{
	__u32 key = 1;
	__u64 *count = bpf_map_lookup_elem(&hits, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
