// Enumerations of the bpf(2) UAPI (include/uapi/linux/bpf.h), shared by the pure layers
// (section-name table, map specs, disassembler) and by syscall/.
//
// Generated from Debian's linux-libc-dev (kernel 6.1 headers) by a one-off script; values
// added by later kernels are appended by hand with the version that introduced them.
// Keys drop the common prefix: MapType.HASH is BPF_MAP_TYPE_HASH.

/** enum bpf_cmd */
export const BpfCommand = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  MAP_DELETE_ELEM: 3,
  MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5,
  OBJ_PIN: 6,
  OBJ_GET: 7,
  PROG_ATTACH: 8,
  PROG_DETACH: 9,
  PROG_TEST_RUN: 10,
  // BPF_PROG_RUN is an alias of BPF_PROG_TEST_RUN
  PROG_GET_NEXT_ID: 11,
  MAP_GET_NEXT_ID: 12,
  PROG_GET_FD_BY_ID: 13,
  MAP_GET_FD_BY_ID: 14,
  OBJ_GET_INFO_BY_FD: 15,
  PROG_QUERY: 16,
  RAW_TRACEPOINT_OPEN: 17,
  BTF_LOAD: 18,
  BTF_GET_FD_BY_ID: 19,
  TASK_FD_QUERY: 20,
  MAP_LOOKUP_AND_DELETE_ELEM: 21,
  MAP_FREEZE: 22,
  BTF_GET_NEXT_ID: 23,
  MAP_LOOKUP_BATCH: 24,
  MAP_LOOKUP_AND_DELETE_BATCH: 25,
  MAP_UPDATE_BATCH: 26,
  MAP_DELETE_BATCH: 27,
  LINK_CREATE: 28,
  LINK_UPDATE: 29,
  LINK_GET_FD_BY_ID: 30,
  LINK_GET_NEXT_ID: 31,
  ENABLE_STATS: 32,
  ITER_CREATE: 33,
  LINK_DETACH: 34,
  PROG_BIND_MAP: 35,
  TOKEN_CREATE: 36, // kernel 6.9
} as const;
export type BpfCommandName = keyof typeof BpfCommand;

/** enum bpf_map_type */
export const MapType = {
  UNSPEC: 0,
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  STACK_TRACE: 7,
  CGROUP_ARRAY: 8,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  ARRAY_OF_MAPS: 12,
  HASH_OF_MAPS: 13,
  DEVMAP: 14,
  SOCKMAP: 15,
  CPUMAP: 16,
  XSKMAP: 17,
  SOCKHASH: 18,
  CGROUP_STORAGE: 19,
  REUSEPORT_SOCKARRAY: 20,
  PERCPU_CGROUP_STORAGE: 21,
  QUEUE: 22,
  STACK: 23,
  SK_STORAGE: 24,
  DEVMAP_HASH: 25,
  STRUCT_OPS: 26,
  RINGBUF: 27,
  INODE_STORAGE: 28,
  TASK_STORAGE: 29,
  BLOOM_FILTER: 30,
  USER_RINGBUF: 31,
  CGRP_STORAGE: 32, // kernel 6.2
  ARENA: 33, // kernel 6.9
} as const;
export type MapTypeName = keyof typeof MapType;

/** enum bpf_prog_type */
export const ProgramType = {
  UNSPEC: 0,
  SOCKET_FILTER: 1,
  KPROBE: 2,
  SCHED_CLS: 3,
  SCHED_ACT: 4,
  TRACEPOINT: 5,
  XDP: 6,
  PERF_EVENT: 7,
  CGROUP_SKB: 8,
  CGROUP_SOCK: 9,
  LWT_IN: 10,
  LWT_OUT: 11,
  LWT_XMIT: 12,
  SOCK_OPS: 13,
  SK_SKB: 14,
  CGROUP_DEVICE: 15,
  SK_MSG: 16,
  RAW_TRACEPOINT: 17,
  CGROUP_SOCK_ADDR: 18,
  LWT_SEG6LOCAL: 19,
  LIRC_MODE2: 20,
  SK_REUSEPORT: 21,
  FLOW_DISSECTOR: 22,
  CGROUP_SYSCTL: 23,
  RAW_TRACEPOINT_WRITABLE: 24,
  CGROUP_SOCKOPT: 25,
  TRACING: 26,
  STRUCT_OPS: 27,
  EXT: 28,
  LSM: 29,
  SK_LOOKUP: 30,
  SYSCALL: 31,
  NETFILTER: 32, // kernel 6.4
} as const;
export type ProgramTypeName = keyof typeof ProgramType;

/** enum bpf_attach_type */
export const AttachType = {
  CGROUP_INET_INGRESS: 0,
  CGROUP_INET_EGRESS: 1,
  CGROUP_INET_SOCK_CREATE: 2,
  CGROUP_SOCK_OPS: 3,
  SK_SKB_STREAM_PARSER: 4,
  SK_SKB_STREAM_VERDICT: 5,
  CGROUP_DEVICE: 6,
  SK_MSG_VERDICT: 7,
  CGROUP_INET4_BIND: 8,
  CGROUP_INET6_BIND: 9,
  CGROUP_INET4_CONNECT: 10,
  CGROUP_INET6_CONNECT: 11,
  CGROUP_INET4_POST_BIND: 12,
  CGROUP_INET6_POST_BIND: 13,
  CGROUP_UDP4_SENDMSG: 14,
  CGROUP_UDP6_SENDMSG: 15,
  LIRC_MODE2: 16,
  FLOW_DISSECTOR: 17,
  CGROUP_SYSCTL: 18,
  CGROUP_UDP4_RECVMSG: 19,
  CGROUP_UDP6_RECVMSG: 20,
  CGROUP_GETSOCKOPT: 21,
  CGROUP_SETSOCKOPT: 22,
  TRACE_RAW_TP: 23,
  TRACE_FENTRY: 24,
  TRACE_FEXIT: 25,
  MODIFY_RETURN: 26,
  LSM_MAC: 27,
  TRACE_ITER: 28,
  CGROUP_INET4_GETPEERNAME: 29,
  CGROUP_INET6_GETPEERNAME: 30,
  CGROUP_INET4_GETSOCKNAME: 31,
  CGROUP_INET6_GETSOCKNAME: 32,
  XDP_DEVMAP: 33,
  CGROUP_INET_SOCK_RELEASE: 34,
  XDP_CPUMAP: 35,
  SK_LOOKUP: 36,
  XDP: 37,
  SK_SKB_VERDICT: 38,
  SK_REUSEPORT_SELECT: 39,
  SK_REUSEPORT_SELECT_OR_MIGRATE: 40,
  PERF_EVENT: 41,
  TRACE_KPROBE_MULTI: 42,
  LSM_CGROUP: 43,
  STRUCT_OPS: 44, // kernel 6.4
  NETFILTER: 45, // kernel 6.4
  TCX_INGRESS: 46, // kernel 6.6
  TCX_EGRESS: 47, // kernel 6.6
  TRACE_UPROBE_MULTI: 48, // kernel 6.6
  CGROUP_UNIX_CONNECT: 49, // kernel 6.7
  CGROUP_UNIX_SENDMSG: 50, // kernel 6.7
  CGROUP_UNIX_RECVMSG: 51, // kernel 6.7
  CGROUP_UNIX_GETPEERNAME: 52, // kernel 6.7
  CGROUP_UNIX_GETSOCKNAME: 53, // kernel 6.7
  NETKIT_PRIMARY: 54, // kernel 6.7
  NETKIT_PEER: 55, // kernel 6.7
  TRACE_KPROBE_SESSION: 56, // kernel 6.10
  TRACE_UPROBE_SESSION: 57, // kernel 6.13
} as const;
export type AttachTypeName = keyof typeof AttachType;

/** The UAPI name of a bpf command, as error messages show it: "BPF_MAP_CREATE". */
export function commandName(command: number): string {
  const name = nameOf(BpfCommand, command);
  return name === undefined ? `bpf command ${command}` : `BPF_${name}`;
}

/** A map type as bpftool prints it: "hash", "percpu_array". */
export function mapTypeName(type: number): string {
  const name = nameOf(MapType, type);
  return name === undefined ? `type ${type}` : name.toLowerCase();
}

/** A program type as bpftool prints it: "xdp", "sched_cls". */
export function progTypeName(type: number): string {
  const name = nameOf(ProgramType, type);
  return name === undefined ? `type ${type}` : name.toLowerCase();
}

/** Looks up the UAPI name of a value in one of the enums above, e.g. nameOf(MapType, 1) === "HASH". */
export function nameOf<T extends Record<string, number>>(table: T, value: number): keyof T | undefined {
  for (const key in table) if (table[key] === value) return key;
  return undefined;
}

/** Map creation flags (map_flags). */
export const MapFlags = {
  NO_PREALLOC: 1 << 0,
  NO_COMMON_LRU: 1 << 1,
  NUMA_NODE: 1 << 2,
  RDONLY: 1 << 3,
  WRONLY: 1 << 4,
  STACK_BUILD_ID: 1 << 5,
  ZERO_SEED: 1 << 6,
  RDONLY_PROG: 1 << 7,
  WRONLY_PROG: 1 << 8,
  CLONE: 1 << 9,
  MMAPABLE: 1 << 10,
  PRESERVE_ELEMS: 1 << 11,
  INNER_MAP: 1 << 12,
  LINK: 1 << 13, // kernel 6.4
  PATH_FD: 1 << 14, // kernel 6.5
  VTYPE_BTF_OBJ_FD: 1 << 15, // kernel 6.9
  TOKEN_FD: 1 << 16, // kernel 6.9
  SEGV_ON_FAULT: 1 << 17, // kernel 6.9
  NO_USER_CONV: 1 << 18, // kernel 6.9
} as const;

/** Program load flags (prog_flags). */
export const ProgramFlags = {
  STRICT_ALIGNMENT: 1 << 0,
  ANY_ALIGNMENT: 1 << 1,
  TEST_RND_HI32: 1 << 2,
  TEST_STATE_FREQ: 1 << 3,
  SLEEPABLE: 1 << 4,
  XDP_HAS_FRAGS: 1 << 5,
  XDP_DEV_BOUND_ONLY: 1 << 6, // kernel 6.3
} as const;

/** Update flags of BPF_MAP_UPDATE_ELEM (and elem_flags of the batch commands). */
export const UpdateFlags = {
  /** Create a new element or update an existing one. */
  ANY: 0,
  /** Create a new element only if it did not exist. */
  NOEXIST: 1,
  /** Update an existing element only. */
  EXIST: 2,
  /** Take the value's bpf_spin_lock while copying (values with a struct bpf_spin_lock). */
  F_LOCK: 4,
} as const;

/** file_flags of BPF_OBJ_GET and open_flags of BPF_*_GET_FD_BY_ID (the map flags' bits). */
export const FileFlags = { RDONLY: 1 << 3, WRONLY: 1 << 4 } as const;

/** flags of BPF_PROG_TEST_RUN. */
export const TestRunFlags = { TEST_RUN_ON_CPU: 1 << 0, TEST_XDP_LIVE_FRAMES: 1 << 1 } as const;

/** log_level bits of BPF_PROG_LOAD and btf_log_level of BPF_BTF_LOAD (defined in the kernel's include/linux/bpf_verifier.h, not in the UAPI headers). */
export const LogLevel = {
  /** Every instruction as it is verified, with register state at branches. */
  LEVEL1: 1,
  /** Register state at every instruction. */
  LEVEL2: 2,
  /** Statistics only (time, stack depth). */
  STATS: 4,
  /** kernel 6.4: keep the start of the log when it overflows instead of the end. */
  FIXED: 8,
} as const;

/** XDP actions: what an XDP program returns. */
export const XdpAction = { ABORTED: 0, DROP: 1, PASS: 2, TX: 3, REDIRECT: 4 } as const;
