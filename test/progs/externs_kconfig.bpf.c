// SPDX-License-Identifier: GPL-2.0
// externs_kconfig: __kconfig externs. They are not in any ELF section: the loader computes
// their values from the running kernel (its config in /proc/config.gz, uname) and puts
// them in a read-only map ".kconfig"; each access becomes an ld_imm64 with
// BPF_PSEUDO_MAP_VALUE (map fd + offset). The program copies every value into .bss, where
// the test compares them with what the kernel says.
//
//   extern                           C type                  expected value
//   LINUX_KERNEL_VERSION             unsigned int            KERNEL_VERSION(a, b, c) of uname -r
//   LINUX_HAS_SYSCALL_WRAPPER        bool                    1 on x86-64 (__x64_sys_bpf exists)
//   LINUX_HAS_BPF_COOKIE             bool                    1 (Linux 5.15)
//   CONFIG_BPF                       bool                    y -> 1
//   CONFIG_BPF_JIT                   enum libbpf_tristate    y -> TRI_YES (1)
//   CONFIG_NET                       char                    y -> 'y'
//   CONFIG_HZ                        int                     the number
//   CONFIG_NR_CPUS                   unsigned long long      the number
//   CONFIG_LOCALVERSION              char[32]                the string between the quotes
//   CONFIG_KASAN (__weak)            enum libbpf_tristate    "is not set" -> TRI_NO (0)
//   CONFIG_TSBPF_NO_SUCH_BOOL (weak) bool                    no such option -> 0
//   CONFIG_TSBPF_NO_SUCH_INT (weak)  int                     no such option -> 0
// .bss: struct kconfig_values values. Program: section "xdp", function xdp_kconfig.
#include <linux/bpf.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;
extern bool LINUX_HAS_BPF_COOKIE __kconfig;
extern bool CONFIG_BPF __kconfig;
extern enum libbpf_tristate CONFIG_BPF_JIT __kconfig;
extern char CONFIG_NET __kconfig;
extern int CONFIG_HZ __kconfig;
extern unsigned long long CONFIG_NR_CPUS __kconfig;
extern char CONFIG_LOCALVERSION[32] __kconfig;
extern enum libbpf_tristate CONFIG_KASAN __kconfig __weak;
extern bool CONFIG_TSBPF_NO_SUCH_BOOL __kconfig __weak;
extern int CONFIG_TSBPF_NO_SUCH_INT __kconfig __weak;

struct kconfig_values {
	__u64 kernel_version;
	__u64 has_syscall_wrapper;
	__u64 has_bpf_cookie;
	__u64 bpf;
	__u64 bpf_jit;
	__u64 net;
	__s64 hz;
	__u64 nr_cpus;
	char localversion[32];
	__u64 kasan;
	__u64 no_such_bool;
	__s64 no_such_int;
};

struct kconfig_values values;

SEC("xdp")
int xdp_kconfig(struct xdp_md *ctx)
{
	values.kernel_version = LINUX_KERNEL_VERSION;
	values.has_syscall_wrapper = LINUX_HAS_SYSCALL_WRAPPER;
	values.has_bpf_cookie = LINUX_HAS_BPF_COOKIE;
	values.bpf = CONFIG_BPF;
	values.bpf_jit = CONFIG_BPF_JIT;
	values.net = CONFIG_NET;
	values.hz = CONFIG_HZ;
	values.nr_cpus = CONFIG_NR_CPUS;
	__builtin_memcpy(values.localversion, CONFIG_LOCALVERSION, sizeof(values.localversion));
	values.kasan = CONFIG_KASAN;
	values.no_such_bool = CONFIG_TSBPF_NO_SUCH_BOOL;
	values.no_such_int = CONFIG_TSBPF_NO_SUCH_INT;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
