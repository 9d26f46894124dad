// SPDX-License-Identifier: GPL-2.0
// externs_ksym: __ksym variables, found by the loader in the running kernel, and stored by
// an XDP program in .bss for the test to compare with /proc/kallsyms.
//
//   bpf_prog_put                 typeless (`const void`): the address /proc/kallsyms lists,
//                                loaded as a 64-bit constant
//   bpf_dynptr_from_xdp          a kfunc's address (`if (kfunc)` in C, libbpf's
//                                bpf_ksym_exists): ld_imm64 BPF_PSEUDO_BTF_ID with the FUNC's
//                                BTF id, which the verifier turns into the address (6.4)
//   tsbpf_no_such_variable       typed, __weak, no kernel has it: 0
//   tsbpf_no_such_symbol         typeless, __weak, no kernel has it: 0
// Typed ksyms of kernel variables (per-CPU ones, the only VARs in vmlinux BTF) need a kernel
// built with CONFIG_KALLSYMS_ALL; test/externs-kernel.test.ts compiles those itself.
// .bss: struct ksym_values values. Program: section "xdp", function xdp_ksyms.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern const void bpf_prog_put __ksym;
extern int bpf_dynptr_from_xdp(struct xdp_md *xdp, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;
extern const int tsbpf_no_such_variable __ksym __weak;
extern const void tsbpf_no_such_symbol __ksym __weak;

struct ksym_values {
	__u64 prog_put;
	__u64 dynptr_from_xdp;
	__u64 no_such_variable;
	__u64 no_such_symbol;
};

struct ksym_values values;

SEC("xdp")
int xdp_ksyms(struct xdp_md *ctx)
{
	values.prog_put = (__u64)&bpf_prog_put;
	values.dynptr_from_xdp = (__u64)&bpf_dynptr_from_xdp;
	values.no_such_variable = (__u64)&tsbpf_no_such_variable;
	values.no_such_symbol = (__u64)&tsbpf_no_such_symbol;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
