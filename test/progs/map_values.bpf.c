// SPDX-License-Identifier: GPL-2.0
// map_values: BTF-defined maps initialized in C, which the loader fills with fds.
//
//   jump_table   BPF_MAP_TYPE_PROG_ARRAY, 2 slots; values[1] = &xdp_tail (slot 0 stays empty).
//   inner        BPF_MAP_TYPE_ARRAY, u32 -> u32, 1 entry.
//   outer        BPF_MAP_TYPE_ARRAY_OF_MAPS, 2 slots of maps like `inner`; values[0] = &inner.
//
//   xdp_entry    tail-calls jump_table[1]; returns XDP_ABORTED only if the tail call fails
//                (the slot was not filled).
//   xdp_tail     in jump_table[1]: returns inner[0] as the XDP action, looked up through
//                outer[0], or XDP_DROP if outer[0] is empty.
// So with inner[0] = XDP_PASS (2) written by user space, testRun(xdp_entry) returns PASS
// exactly when both static initializations worked.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} inner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, 2);
	__array(values, struct inner_map);
} outer SEC(".maps") = {
	.values = { [0] = &inner },
};

SEC("xdp")
int xdp_tail(struct xdp_md *ctx)
{
	__u32 zero = 0;
	void *map = bpf_map_lookup_elem(&outer, &zero);
	if (!map)
		return XDP_DROP;
	__u32 *action = bpf_map_lookup_elem(map, &zero);
	return action ? *action : XDP_DROP;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(max_entries, 2);
	__array(values, int(void *));
} jump_table SEC(".maps") = {
	.values = { [1] = (void *)&xdp_tail },
};

SEC("xdp")
int xdp_entry(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &jump_table, 1);
	return XDP_ABORTED;
}

char LICENSE[] SEC("license") = "GPL";
