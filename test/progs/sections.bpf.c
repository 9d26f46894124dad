// SPDX-License-Identifier: GPL-2.0
// sections: one trivial program per common section name, for the section-name table
// (section name -> program type, expected attach type, attach target). They only need to
// compile and to be recognised; their bodies do nothing interesting.
//
//   section                                function          program type (libbpf's reading)
//   socket                                 socket_prog       SOCKET_FILTER
//   kprobe/do_sys_open                     kprobe_prog       KPROBE (attach target do_sys_open)
//   kretprobe/do_sys_open                  kretprobe_prog    KPROBE, return probe
//   tracepoint/syscalls/sys_enter_openat   tracepoint_prog   TRACEPOINT (category/name)
//   tp/syscalls/sys_enter_execve           tp_prog           TRACEPOINT, short prefix
//   raw_tracepoint/sys_enter               raw_tp_prog       RAW_TRACEPOINT
//   perf_event                             perf_event_prog   PERF_EVENT
//   tc                                     tc_prog           SCHED_CLS
//   xdp.frags                              xdp_frags_prog    XDP with BPF_F_XDP_HAS_FRAGS
//   cgroup/skb                             cgroup_skb_prog   CGROUP_SKB, no attach type
//   cgroup_skb/egress                      cgroup_egress_prog CGROUP_SKB, BPF_CGROUP_INET_EGRESS
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("socket")
int socket_prog(struct __sk_buff *skb)
{
	return skb->len; // keep the whole packet
}

SEC("kprobe/do_sys_open")
int kprobe_prog(void *ctx)
{
	return 0;
}

SEC("kretprobe/do_sys_open")
int kretprobe_prog(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int tracepoint_prog(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_enter_execve")
int tp_prog(void *ctx)
{
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int raw_tp_prog(void *ctx)
{
	return 0;
}

SEC("perf_event")
int perf_event_prog(void *ctx)
{
	return 0;
}

SEC("tc")
int tc_prog(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

SEC("xdp.frags")
int xdp_frags_prog(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("cgroup/skb")
int cgroup_skb_prog(struct __sk_buff *skb)
{
	return 1; // allow
}

SEC("cgroup_skb/egress")
int cgroup_egress_prog(struct __sk_buff *skb)
{
	return 1; // allow
}

char LICENSE[] SEC("license") = "GPL";
