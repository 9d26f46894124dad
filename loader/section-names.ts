// What a section name says about the programs in it: program type, expected attach type,
// load flags, and the attach target written after the prefix ("kprobe/do_sys_open").
// The names follow libbpf's SEC() conventions; the table is data, searched in order.
//
// Matching rules per entry:
//   "exact"   the whole section name equals `name`
//   "prefix"  the name equals `name` or continues with "/" (libbpf's "+" entries):
//             "kprobe" and "kprobe/do_sys_open" both match, "kprobex" does not
// Names that older loaders accepted by bare prefix ("xdp_prog", "socket_filter_1",
// "classifier_ingress") are matched as a fallback after the table (legacyMatch).

import { AttachType as A, ProgramType as P, ProgramFlags } from "../common/uapi.js";

export interface SectionDefinition {
  readonly name: string;
  readonly match: "exact" | "prefix";
  readonly programType: number;
  /** expected_attach_type for BPF_PROG_LOAD; undefined where the kernel wants none. */
  readonly attachType?: number;
  readonly flags?: number;
  /** The part after "/" names something to attach to (a function, a tracepoint...). */
  readonly hasTarget?: boolean;
}

const S = ProgramFlags.SLEEPABLE;
const FRAGS = ProgramFlags.XDP_HAS_FRAGS;

function def(name: string, match: "exact" | "prefix", programType: number, attachType?: number, flags = 0): SectionDefinition {
  return { name, match, programType, attachType, flags, hasTarget: match === "prefix" };
}

/** Most specific names first: the first entry that matches wins. */
export const SECTION_DEFINITIONS: readonly SectionDefinition[] = [
  def("socket", "prefix", P.SOCKET_FILTER),
  def("sk_reuseport/migrate", "exact", P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT_OR_MIGRATE),
  def("sk_reuseport", "exact", P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT),
  def("kprobe.multi", "prefix", P.KPROBE, A.TRACE_KPROBE_MULTI),
  def("kretprobe.multi", "prefix", P.KPROBE, A.TRACE_KPROBE_MULTI),
  def("kprobe.session", "prefix", P.KPROBE, A.TRACE_KPROBE_SESSION),
  def("uprobe.multi.s", "prefix", P.KPROBE, A.TRACE_UPROBE_MULTI, S),
  def("uretprobe.multi.s", "prefix", P.KPROBE, A.TRACE_UPROBE_MULTI, S),
  def("uprobe.multi", "prefix", P.KPROBE, A.TRACE_UPROBE_MULTI),
  def("uretprobe.multi", "prefix", P.KPROBE, A.TRACE_UPROBE_MULTI),
  def("uprobe.session.s", "prefix", P.KPROBE, A.TRACE_UPROBE_SESSION, S),
  def("uprobe.session", "prefix", P.KPROBE, A.TRACE_UPROBE_SESSION),
  def("kprobe", "prefix", P.KPROBE),
  def("kretprobe", "prefix", P.KPROBE),
  def("uprobe.s", "prefix", P.KPROBE, undefined, S),
  def("uretprobe.s", "prefix", P.KPROBE, undefined, S),
  def("uprobe", "prefix", P.KPROBE),
  def("uretprobe", "prefix", P.KPROBE),
  def("ksyscall", "prefix", P.KPROBE),
  def("kretsyscall", "prefix", P.KPROBE),
  def("usdt.s", "prefix", P.KPROBE, undefined, S),
  def("usdt", "prefix", P.KPROBE),
  def("tc/ingress", "exact", P.SCHED_CLS, A.TCX_INGRESS),
  def("tc/egress", "exact", P.SCHED_CLS, A.TCX_EGRESS),
  def("tcx/ingress", "exact", P.SCHED_CLS, A.TCX_INGRESS),
  def("tcx/egress", "exact", P.SCHED_CLS, A.TCX_EGRESS),
  def("tc", "prefix", P.SCHED_CLS),
  def("classifier", "prefix", P.SCHED_CLS),
  def("action", "prefix", P.SCHED_ACT),
  def("netkit/primary", "exact", P.SCHED_CLS, A.NETKIT_PRIMARY),
  def("netkit/peer", "exact", P.SCHED_CLS, A.NETKIT_PEER),
  def("tracepoint", "prefix", P.TRACEPOINT),
  def("tp", "prefix", P.TRACEPOINT),
  def("raw_tracepoint.w", "prefix", P.RAW_TRACEPOINT_WRITABLE),
  def("raw_tp.w", "prefix", P.RAW_TRACEPOINT_WRITABLE),
  def("raw_tracepoint", "prefix", P.RAW_TRACEPOINT),
  def("raw_tp", "prefix", P.RAW_TRACEPOINT),
  def("tp_btf", "prefix", P.TRACING, A.TRACE_RAW_TP),
  def("fentry.s", "prefix", P.TRACING, A.TRACE_FENTRY, S),
  def("fmod_ret.s", "prefix", P.TRACING, A.MODIFY_RETURN, S),
  def("fexit.s", "prefix", P.TRACING, A.TRACE_FEXIT, S),
  def("fentry", "prefix", P.TRACING, A.TRACE_FENTRY),
  def("fmod_ret", "prefix", P.TRACING, A.MODIFY_RETURN),
  def("fexit", "prefix", P.TRACING, A.TRACE_FEXIT),
  def("freplace", "prefix", P.EXT),
  def("lsm.s", "prefix", P.LSM, A.LSM_MAC, S),
  def("lsm_cgroup", "prefix", P.LSM, A.LSM_CGROUP),
  def("lsm", "prefix", P.LSM, A.LSM_MAC),
  def("iter.s", "prefix", P.TRACING, A.TRACE_ITER, S),
  def("iter", "prefix", P.TRACING, A.TRACE_ITER),
  def("syscall", "exact", P.SYSCALL, undefined, S),
  def("xdp.frags/devmap", "exact", P.XDP, A.XDP_DEVMAP, FRAGS),
  def("xdp/devmap", "exact", P.XDP, A.XDP_DEVMAP),
  def("xdp.frags/cpumap", "exact", P.XDP, A.XDP_CPUMAP, FRAGS),
  def("xdp/cpumap", "exact", P.XDP, A.XDP_CPUMAP),
  def("xdp.frags", "exact", P.XDP, A.XDP, FRAGS),
  def("xdp", "exact", P.XDP, A.XDP),
  def("perf_event", "exact", P.PERF_EVENT),
  def("lwt_in", "exact", P.LWT_IN),
  def("lwt_out", "exact", P.LWT_OUT),
  def("lwt_xmit", "exact", P.LWT_XMIT),
  def("lwt_seg6local", "exact", P.LWT_SEG6LOCAL),
  def("sockops", "exact", P.SOCK_OPS, A.CGROUP_SOCK_OPS),
  def("sk_skb/stream_parser", "exact", P.SK_SKB, A.SK_SKB_STREAM_PARSER),
  def("sk_skb/stream_verdict", "exact", P.SK_SKB, A.SK_SKB_STREAM_VERDICT),
  def("sk_skb/verdict", "exact", P.SK_SKB, A.SK_SKB_VERDICT),
  def("sk_skb", "prefix", P.SK_SKB),
  def("sk_msg", "exact", P.SK_MSG, A.SK_MSG_VERDICT),
  def("lirc_mode2", "exact", P.LIRC_MODE2, A.LIRC_MODE2),
  def("flow_dissector", "exact", P.FLOW_DISSECTOR, A.FLOW_DISSECTOR),
  def("cgroup_skb/ingress", "exact", P.CGROUP_SKB, A.CGROUP_INET_INGRESS),
  def("cgroup_skb/egress", "exact", P.CGROUP_SKB, A.CGROUP_INET_EGRESS),
  def("cgroup/skb", "exact", P.CGROUP_SKB),
  def("cgroup/sock_create", "exact", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE),
  def("cgroup/sock_release", "exact", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_RELEASE),
  def("cgroup/sock", "exact", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE),
  def("cgroup/post_bind4", "exact", P.CGROUP_SOCK, A.CGROUP_INET4_POST_BIND),
  def("cgroup/post_bind6", "exact", P.CGROUP_SOCK, A.CGROUP_INET6_POST_BIND),
  def("cgroup/bind4", "exact", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_BIND),
  def("cgroup/bind6", "exact", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_BIND),
  def("cgroup/connect4", "exact", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_CONNECT),
  def("cgroup/connect6", "exact", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_CONNECT),
  def("cgroup/connect_unix", "exact", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_CONNECT),
  def("cgroup/sendmsg4", "exact", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_SENDMSG),
  def("cgroup/sendmsg6", "exact", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_SENDMSG),
  def("cgroup/sendmsg_unix", "exact", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_SENDMSG),
  def("cgroup/recvmsg4", "exact", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_RECVMSG),
  def("cgroup/recvmsg6", "exact", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_RECVMSG),
  def("cgroup/recvmsg_unix", "exact", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_RECVMSG),
  def("cgroup/getpeername4", "exact", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETPEERNAME),
  def("cgroup/getpeername6", "exact", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETPEERNAME),
  def("cgroup/getpeername_unix", "exact", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_GETPEERNAME),
  def("cgroup/getsockname4", "exact", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETSOCKNAME),
  def("cgroup/getsockname6", "exact", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETSOCKNAME),
  def("cgroup/getsockname_unix", "exact", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_GETSOCKNAME),
  def("cgroup/sysctl", "exact", P.CGROUP_SYSCTL, A.CGROUP_SYSCTL),
  def("cgroup/getsockopt", "exact", P.CGROUP_SOCKOPT, A.CGROUP_GETSOCKOPT),
  def("cgroup/setsockopt", "exact", P.CGROUP_SOCKOPT, A.CGROUP_SETSOCKOPT),
  def("cgroup/dev", "exact", P.CGROUP_DEVICE, A.CGROUP_DEVICE),
  def("struct_ops.s", "prefix", P.STRUCT_OPS, undefined, S),
  def("struct_ops", "prefix", P.STRUCT_OPS),
  def("sk_lookup", "exact", P.SK_LOOKUP, A.SK_LOOKUP),
  def("netfilter", "exact", P.NETFILTER, A.NETFILTER),
];

/**
 * Section names from before libbpf 1.0 and from iproute2, matched by bare prefix (old libbpf
 * matched these few without a "/": tracing sections always needed one).
 * iproute2's `ip link set dev X xdp obj O` reads section "prog" when none is named.
 */
const LEGACY_PREFIXES: readonly SectionDefinition[] = [
  { name: "prog", match: "exact", programType: P.XDP, attachType: A.XDP },
  { name: "xdp", match: "prefix", programType: P.XDP, attachType: A.XDP },
  { name: "classifier", match: "prefix", programType: P.SCHED_CLS },
  { name: "action", match: "prefix", programType: P.SCHED_ACT },
  { name: "socket", match: "prefix", programType: P.SOCKET_FILTER },
  { name: "perf_event", match: "prefix", programType: P.PERF_EVENT },
];

export interface SectionMatch {
  readonly definition: SectionDefinition;
  /** What follows "<name>/" in the section name ("do_sys_open" for "kprobe/do_sys_open"), or "". */
  readonly target: string;
  /** True when only the legacy bare-prefix rule matched. */
  readonly legacy: boolean;
}

/**
 * What a section name means, remembered: every program of a section asks, and the same
 * names come back object after object. (At most MATCH_CACHE_LIMIT names are kept, so that
 * a stream of made-up names cannot grow it without end.)
 */
export function matchSection(sectionName: string): SectionMatch | undefined {
  let match = matches.get(sectionName);
  if (match === undefined) {
    match = findMatch(sectionName) ?? null;
    if (matches.size >= MATCH_CACHE_LIMIT) matches.clear();
    matches.set(sectionName, match);
  }
  return match ?? undefined;
}

const MATCH_CACHE_LIMIT = 1024;
const matches = new Map<string, SectionMatch | null>();

function findMatch(sectionName: string): SectionMatch | undefined {
  for (const definition of SECTION_DEFINITIONS) {
    if (sectionName === definition.name) return { definition, target: "", legacy: false };
    if (definition.match === "prefix" && sectionName.startsWith(definition.name + "/")) {
      return { definition, target: sectionName.slice(definition.name.length + 1), legacy: false };
    }
  }
  for (const definition of LEGACY_PREFIXES) {
    const matches = definition.match === "exact" ? sectionName === definition.name : sectionName.startsWith(definition.name);
    if (matches) return { definition, target: "", legacy: true };
  }
  return undefined;
}
