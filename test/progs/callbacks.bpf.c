// SPDX-License-Identifier: GPL-2.0
// callbacks: functions passed by address to helpers. The compiler loads a callback's address
// with ld_imm64 and a relocation against .text (not a call): the loader marks that ld_imm64
// BPF_PSEUDO_FUNC and points it at the function's position in the linked program.
//
//   sum_step     bpf_loop callback: adds the iteration index to the sum (static, in .text)
//   add_value    bpf_for_each_map_elem callback over `numbers`: adds each value
//   xdp_callbacks  results[0] = 0 + 1 + ... + 9 = 45 (bpf_loop, 10 iterations)
//                  results[1] = sum of numbers[0..3] (written by user space first)
// Maps: results and numbers, BPF_MAP_TYPE_ARRAY u32 -> u64, 2 and 4 entries.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 2);
} results SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} numbers SEC(".maps");

struct loop_state {
	__u64 sum;
};

static long sum_step(__u64 index, void *data)
{
	struct loop_state *state = data;
	state->sum += index;
	return 0; // 0: continue with the next iteration
}

static long add_value(void *map, __u32 *key, __u64 *value, void *data)
{
	struct loop_state *state = data;
	state->sum += *value;
	return 0;
}

SEC("xdp")
int xdp_callbacks(struct xdp_md *ctx)
{
	struct loop_state loop = { 0 }, each = { 0 };
	__u32 first = 0, second = 1;

	bpf_loop(10, sum_step, &loop, 0);
	bpf_for_each_map_elem(&numbers, add_value, &each, 0);
	bpf_map_update_elem(&results, &first, &loop.sum, BPF_ANY);
	bpf_map_update_elem(&results, &second, &each.sum, BPF_ANY);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
