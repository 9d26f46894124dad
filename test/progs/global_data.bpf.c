// SPDX-License-Identifier: GPL-2.0
// global_data: global variables. clang puts them in .rodata (const), .data (initialised)
// and .bss (zero); the loader turns each section into a one-entry array map (libbpf names
// them "<obj>.rodata" etc.) and rewrites each access into an ld_imm64 with
// BPF_PSEUDO_MAP_VALUE (map fd + byte offset). Static variables are reached through the
// section symbol plus an offset in the instruction; global ones through their own symbol.
//
//   .rodata  drop_all   (const volatile __u32, 0)  user space may set it before load:
//                       non-zero makes the program drop everything
//   .data    last_len   (__u64, initialised to 1)  length of the last frame
//            tag        (static volatile __u32,     reached through the .data section symbol;
//                       0xc0ffee)                   volatile so clang cannot fold it away
//   .bss     packets    (__u64)                     frames seen
// Program: section "xdp", function xdp_globals.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 drop_all = 0;
__u64 last_len = 1;
static volatile __u32 tag = 0xc0ffee;
__u64 packets;

SEC("xdp")
int xdp_globals(struct xdp_md *ctx)
{
	__sync_fetch_and_add(&packets, 1);
	last_len = ctx->data_end - ctx->data;
	if (tag != 0xc0ffee || drop_all)
		return XDP_DROP;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
