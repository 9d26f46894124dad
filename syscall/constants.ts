// Constants of the bpf(2) interface, with the names of the kernel's UAPI header
// include/uapi/linux/bpf.h (Debian's linux-libc-dev, kernel 6.1). Values added by later
// kernels are marked with the version that introduced them. Everything numeric that tsbpf
// sends to the kernel comes from this one file.
//
// The enums are `as const` objects keyed by the UAPI name, so code reads like C
// (`MapType.BPF_MAP_TYPE_HASH`) and a value's name can be found by searching its table.

/** enum bpf_cmd: the second argument of syscall(SYS_bpf, cmd, attr, size). */
export const BpfCmd = {
  BPF_MAP_CREATE: 0,
  BPF_MAP_LOOKUP_ELEM: 1,
  BPF_MAP_UPDATE_ELEM: 2,
  BPF_MAP_DELETE_ELEM: 3,
  BPF_MAP_GET_NEXT_KEY: 4,
  BPF_PROG_LOAD: 5,
  BPF_OBJ_PIN: 6,
  BPF_OBJ_GET: 7,
  BPF_PROG_ATTACH: 8,
  BPF_PROG_DETACH: 9,
  BPF_PROG_TEST_RUN: 10,
  /** Alias of BPF_PROG_TEST_RUN (Linux 5.18 renamed it). */
  BPF_PROG_RUN: 10,
  BPF_PROG_GET_NEXT_ID: 11,
  BPF_MAP_GET_NEXT_ID: 12,
  BPF_PROG_GET_FD_BY_ID: 13,
  BPF_MAP_GET_FD_BY_ID: 14,
  BPF_OBJ_GET_INFO_BY_FD: 15,
  BPF_PROG_QUERY: 16,
  BPF_RAW_TRACEPOINT_OPEN: 17,
  BPF_BTF_LOAD: 18,
  BPF_BTF_GET_FD_BY_ID: 19,
  BPF_TASK_FD_QUERY: 20,
  BPF_MAP_LOOKUP_AND_DELETE_ELEM: 21,
  BPF_MAP_FREEZE: 22,
  BPF_BTF_GET_NEXT_ID: 23,
  BPF_MAP_LOOKUP_BATCH: 24,
  BPF_MAP_LOOKUP_AND_DELETE_BATCH: 25,
  BPF_MAP_UPDATE_BATCH: 26,
  BPF_MAP_DELETE_BATCH: 27,
  BPF_LINK_CREATE: 28,
  BPF_LINK_UPDATE: 29,
  BPF_LINK_GET_FD_BY_ID: 30,
  BPF_LINK_GET_NEXT_ID: 31,
  BPF_ENABLE_STATS: 32,
  BPF_ITER_CREATE: 33,
  BPF_LINK_DETACH: 34,
  BPF_PROG_BIND_MAP: 35,
} as const;

/** enum bpf_map_type: BPF_MAP_CREATE map_type. */
export const MapType = {
  BPF_MAP_TYPE_UNSPEC: 0,
  BPF_MAP_TYPE_HASH: 1,
  BPF_MAP_TYPE_ARRAY: 2,
  BPF_MAP_TYPE_PROG_ARRAY: 3,
  BPF_MAP_TYPE_PERF_EVENT_ARRAY: 4,
  BPF_MAP_TYPE_PERCPU_HASH: 5,
  BPF_MAP_TYPE_PERCPU_ARRAY: 6,
  BPF_MAP_TYPE_STACK_TRACE: 7,
  BPF_MAP_TYPE_CGROUP_ARRAY: 8,
  BPF_MAP_TYPE_LRU_HASH: 9,
  BPF_MAP_TYPE_LRU_PERCPU_HASH: 10,
  BPF_MAP_TYPE_LPM_TRIE: 11,
  BPF_MAP_TYPE_ARRAY_OF_MAPS: 12,
  BPF_MAP_TYPE_HASH_OF_MAPS: 13,
  BPF_MAP_TYPE_DEVMAP: 14,
  BPF_MAP_TYPE_SOCKMAP: 15,
  BPF_MAP_TYPE_CPUMAP: 16,
  BPF_MAP_TYPE_XSKMAP: 17,
  BPF_MAP_TYPE_SOCKHASH: 18,
  BPF_MAP_TYPE_CGROUP_STORAGE: 19,
  BPF_MAP_TYPE_REUSEPORT_SOCKARRAY: 20,
  BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE: 21,
  BPF_MAP_TYPE_QUEUE: 22,
  BPF_MAP_TYPE_STACK: 23,
  BPF_MAP_TYPE_SK_STORAGE: 24,
  BPF_MAP_TYPE_DEVMAP_HASH: 25,
  BPF_MAP_TYPE_STRUCT_OPS: 26,
  BPF_MAP_TYPE_RINGBUF: 27,
  BPF_MAP_TYPE_INODE_STORAGE: 28,
  BPF_MAP_TYPE_TASK_STORAGE: 29,
  BPF_MAP_TYPE_BLOOM_FILTER: 30,
  BPF_MAP_TYPE_USER_RINGBUF: 31,
} as const;

/** enum bpf_prog_type: BPF_PROG_LOAD prog_type. */
export const ProgType = {
  BPF_PROG_TYPE_UNSPEC: 0,
  BPF_PROG_TYPE_SOCKET_FILTER: 1,
  BPF_PROG_TYPE_KPROBE: 2,
  BPF_PROG_TYPE_SCHED_CLS: 3,
  BPF_PROG_TYPE_SCHED_ACT: 4,
  BPF_PROG_TYPE_TRACEPOINT: 5,
  BPF_PROG_TYPE_XDP: 6,
  BPF_PROG_TYPE_PERF_EVENT: 7,
  BPF_PROG_TYPE_CGROUP_SKB: 8,
  BPF_PROG_TYPE_CGROUP_SOCK: 9,
  BPF_PROG_TYPE_LWT_IN: 10,
  BPF_PROG_TYPE_LWT_OUT: 11,
  BPF_PROG_TYPE_LWT_XMIT: 12,
  BPF_PROG_TYPE_SOCK_OPS: 13,
  BPF_PROG_TYPE_SK_SKB: 14,
  BPF_PROG_TYPE_CGROUP_DEVICE: 15,
  BPF_PROG_TYPE_SK_MSG: 16,
  BPF_PROG_TYPE_RAW_TRACEPOINT: 17,
  BPF_PROG_TYPE_CGROUP_SOCK_ADDR: 18,
  BPF_PROG_TYPE_LWT_SEG6LOCAL: 19,
  BPF_PROG_TYPE_LIRC_MODE2: 20,
  BPF_PROG_TYPE_SK_REUSEPORT: 21,
  BPF_PROG_TYPE_FLOW_DISSECTOR: 22,
  BPF_PROG_TYPE_CGROUP_SYSCTL: 23,
  BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE: 24,
  BPF_PROG_TYPE_CGROUP_SOCKOPT: 25,
  BPF_PROG_TYPE_TRACING: 26,
  BPF_PROG_TYPE_STRUCT_OPS: 27,
  BPF_PROG_TYPE_EXT: 28,
  BPF_PROG_TYPE_LSM: 29,
  BPF_PROG_TYPE_SK_LOOKUP: 30,
  BPF_PROG_TYPE_SYSCALL: 31,
} as const;

/** enum bpf_attach_type: BPF_PROG_LOAD expected_attach_type, BPF_PROG_ATTACH attach_type. */
export const AttachType = {
  BPF_CGROUP_INET_INGRESS: 0,
  BPF_CGROUP_INET_EGRESS: 1,
  BPF_CGROUP_INET_SOCK_CREATE: 2,
  BPF_CGROUP_SOCK_OPS: 3,
  BPF_SK_SKB_STREAM_PARSER: 4,
  BPF_SK_SKB_STREAM_VERDICT: 5,
  BPF_CGROUP_DEVICE: 6,
  BPF_SK_MSG_VERDICT: 7,
  BPF_CGROUP_INET4_BIND: 8,
  BPF_CGROUP_INET6_BIND: 9,
  BPF_CGROUP_INET4_CONNECT: 10,
  BPF_CGROUP_INET6_CONNECT: 11,
  BPF_CGROUP_INET4_POST_BIND: 12,
  BPF_CGROUP_INET6_POST_BIND: 13,
  BPF_CGROUP_UDP4_SENDMSG: 14,
  BPF_CGROUP_UDP6_SENDMSG: 15,
  BPF_LIRC_MODE2: 16,
  BPF_FLOW_DISSECTOR: 17,
  BPF_CGROUP_SYSCTL: 18,
  BPF_CGROUP_UDP4_RECVMSG: 19,
  BPF_CGROUP_UDP6_RECVMSG: 20,
  BPF_CGROUP_GETSOCKOPT: 21,
  BPF_CGROUP_SETSOCKOPT: 22,
  BPF_TRACE_RAW_TP: 23,
  BPF_TRACE_FENTRY: 24,
  BPF_TRACE_FEXIT: 25,
  BPF_MODIFY_RETURN: 26,
  BPF_LSM_MAC: 27,
  BPF_TRACE_ITER: 28,
  BPF_CGROUP_INET4_GETPEERNAME: 29,
  BPF_CGROUP_INET6_GETPEERNAME: 30,
  BPF_CGROUP_INET4_GETSOCKNAME: 31,
  BPF_CGROUP_INET6_GETSOCKNAME: 32,
  BPF_XDP_DEVMAP: 33,
  BPF_CGROUP_INET_SOCK_RELEASE: 34,
  BPF_XDP_CPUMAP: 35,
  BPF_SK_LOOKUP: 36,
  BPF_XDP: 37,
  BPF_SK_SKB_VERDICT: 38,
  BPF_SK_REUSEPORT_SELECT: 39,
  BPF_SK_REUSEPORT_SELECT_OR_MIGRATE: 40,
  BPF_PERF_EVENT: 41,
  BPF_TRACE_KPROBE_MULTI: 42,
  BPF_LSM_CGROUP: 43,
} as const;

/** Extra bpf(2) commands of kernels newer than the 6.1 header. */
export const BpfCmdLater = {
  /** Linux 6.9: create a BPF token from a delegating bpffs. */
  BPF_TOKEN_CREATE: 36,
} as const;

/** Map types of kernels newer than the 6.1 header. */
export const MapTypeLater = {
  /** Linux 6.2. */
  BPF_MAP_TYPE_CGRP_STORAGE: 32,
  /** Linux 6.9. */
  BPF_MAP_TYPE_ARENA: 33,
} as const;

/** Program types of kernels newer than the 6.1 header. */
export const ProgTypeLater = {
  /** Linux 6.4. */
  BPF_PROG_TYPE_NETFILTER: 32,
} as const;

/** `flags` of BPF_MAP_UPDATE_ELEM (and `elem_flags` of the batch commands). */
export const UpdateFlag = {
  /** Create a new element or update an existing one. */
  BPF_ANY: 0,
  /** Create a new element only if it did not exist. */
  BPF_NOEXIST: 1,
  /** Update an existing element only. */
  BPF_EXIST: 2,
  /** Take the value's bpf_spin_lock while copying (values with a struct bpf_spin_lock). */
  BPF_F_LOCK: 4,
} as const;

/** `map_flags` of BPF_MAP_CREATE. */
export const MapFlag = {
  BPF_F_NO_PREALLOC: 1 << 0,
  BPF_F_NO_COMMON_LRU: 1 << 1,
  BPF_F_NUMA_NODE: 1 << 2,
  BPF_F_RDONLY: 1 << 3,
  BPF_F_WRONLY: 1 << 4,
  BPF_F_STACK_BUILD_ID: 1 << 5,
  BPF_F_ZERO_SEED: 1 << 6,
  BPF_F_RDONLY_PROG: 1 << 7,
  BPF_F_WRONLY_PROG: 1 << 8,
  BPF_F_CLONE: 1 << 9,
  /** Linux 5.5: the array can be mmap()ed. */
  BPF_F_MMAPABLE: 1 << 10,
  BPF_F_PRESERVE_ELEMS: 1 << 11,
  BPF_F_INNER_MAP: 1 << 12,
} as const;

/** `file_flags` of BPF_OBJ_GET and `open_flags` of BPF_*_GET_FD_BY_ID (same bits as the map flags). */
export const FileFlag = {
  BPF_F_RDONLY: 1 << 3,
  BPF_F_WRONLY: 1 << 4,
} as const;

/** `prog_flags` of BPF_PROG_LOAD. */
export const ProgFlag = {
  BPF_F_STRICT_ALIGNMENT: 1 << 0,
  BPF_F_ANY_ALIGNMENT: 1 << 1,
  BPF_F_TEST_RND_HI32: 1 << 2,
  BPF_F_TEST_STATE_FREQ: 1 << 3,
  BPF_F_SLEEPABLE: 1 << 4,
  /** Linux 5.18: the XDP program understands multi-buffer frames. */
  BPF_F_XDP_HAS_FRAGS: 1 << 5,
} as const;

/** `flags` of BPF_PROG_TEST_RUN. */
export const TestRunFlag = {
  BPF_F_TEST_RUN_ON_CPU: 1 << 0,
  BPF_F_TEST_XDP_LIVE_FRAMES: 1 << 1,
} as const;

/** enum xdp_action: what an XDP program returns. */
export const XdpAction = {
  XDP_ABORTED: 0,
  XDP_DROP: 1,
  XDP_PASS: 2,
  XDP_TX: 3,
  XDP_REDIRECT: 4,
} as const;

/** log_level bits of BPF_PROG_LOAD and btf_log_level of BPF_BTF_LOAD. */
export const LogLevel = {
  /** Every instruction as it is verified, with register state at branches. */
  BPF_LOG_LEVEL1: 1,
  /** Register state at every instruction. */
  BPF_LOG_LEVEL2: 2,
  /** Statistics only (time, stack depth). */
  BPF_LOG_STATS: 4,
  /** Linux 6.4: keep the start of the log when it overflows instead of the end. */
  BPF_LOG_FIXED: 8,
} as const;

/** Length of the name fields (map_name, prog_name, info.name), including the final NUL. */
export const BPF_OBJ_NAME_LEN = 16;
/** Size of a program tag (a truncated SHA-1 of the instructions). */
export const BPF_TAG_SIZE = 8;
/** Size of one instruction slot (struct bpf_insn). */
export const BPF_INSN_SIZE = 8;

/** SYS_bpf on x86-64 (arch/x86/entry/syscalls/syscall_64.tbl). */
export const SYS_bpf = 321;

/** The UAPI name of a value in one of the tables above, e.g. nameOf(MapType, 1) = "BPF_MAP_TYPE_HASH". */
export function nameOf(table: Readonly<Record<string, number>>, value: number): string | undefined {
  for (const [name, v] of Object.entries(table)) if (v === value) return name;
  return undefined;
}

/** Map type name without its prefix ("hash", "percpu_array"), as bpftool prints it. */
export function mapTypeName(type: number): string {
  const name = nameOf(MapType, type) ?? nameOf(MapTypeLater, type);
  return name === undefined ? `type ${type}` : name.slice("BPF_MAP_TYPE_".length).toLowerCase();
}

/** Program type name without its prefix ("xdp", "sched_cls"). */
export function progTypeName(type: number): string {
  const name = nameOf(ProgType, type) ?? nameOf(ProgTypeLater, type);
  return name === undefined ? `type ${type}` : name.slice("BPF_PROG_TYPE_".length).toLowerCase();
}
