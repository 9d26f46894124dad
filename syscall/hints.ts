// What an errno from bpf(2) usually means, per command, in words that say what to do.
//
// The kernel answers most mistakes with a bare errno; the reasons below come from the
// checks in kernel/bpf/syscall.c and the map implementations. Encoders that know the
// attributes add sharper causes of their own (see BpfContext.causes); these are the
// fallbacks.

const PRIVILEGES =
  "creating and using BPF objects needs root, or CAP_BPF (plus CAP_NET_ADMIN for networking " +
  "programs and CAP_PERFMON for tracing programs) or CAP_SYS_ADMIN; with kernel lockdown " +
  "(integrity or confidentiality) some tracing programs and helpers that read kernel memory " +
  "are refused even to root; also check the sysctl kernel.unprivileged_bpf_disabled";

/** Meanings that hold for every command. */
const GENERAL: Record<string, string> = {
  EPERM: PRIVILEGES,
  E2BIG:
    "the kernel refused the size of what it was given (an attribute block with bytes it does not " +
    "understand, i.e. a field from a newer kernel, or an object over a kernel limit)",
  EBADF: "a file descriptor in the request is not open (an object closed too early?)",
  EBADFD: "a file descriptor in the request is not open (an object closed too early?)",
  EFAULT: "the kernel could not read or write a buffer the request points to (a bug in tsbpf: please report it)",
  ENOMEM:
    "the kernel could not allocate memory for the object; reduce max_entries or the value size " +
    "(kernels before 5.11 also charge RLIMIT_MEMLOCK: raise it with `ulimit -l unlimited`)",
  ENOTSUPP: "this kernel does not support the operation for this object type",
  EOPNOTSUPP: "this kernel does not support the operation for this object type",
  ENOSYS: "this kernel was built without BPF (CONFIG_BPF_SYSCALL)",
  EINVAL: "the kernel rejected an attribute of the request",
  EAGAIN: "the kernel asked to retry (temporary resource shortage)",
};

/** Meanings specific to one command; they take precedence over GENERAL. */
const BY_COMMAND: Record<string, Record<string, string>> = {
  BPF_MAP_CREATE: {
    EINVAL:
      "the map attributes are invalid for this map type (check max_entries > 0, the key and value " +
      "sizes the type requires, flags the type accepts, and that the name uses only [A-Za-z0-9_.])",
    E2BIG: "the key or value is larger than this map type allows, or the map would be too large",
  },
  BPF_MAP_UPDATE_ELEM: {
    E2BIG: "the map is full (max_entries reached); delete entries or create it with a larger max_entries",
    EEXIST: "the key already exists and the update asked for BPF_NOEXIST",
    ENOENT: "the key does not exist and the update asked for BPF_EXIST",
    EPERM: "the map is frozen or read-only for user space (BPF_F_RDONLY), or " + PRIVILEGES,
    EINVAL: "invalid update flags for this map type (arrays refuse BPF_NOEXIST), or a bad fd as value of a map-in-map",
  },
  BPF_MAP_DELETE_ELEM: {
    EINVAL: "this map type does not support deleting elements (arrays cannot delete)",
    EPERM: "the map is frozen or read-only for user space, or " + PRIVILEGES,
  },
  BPF_MAP_LOOKUP_ELEM: {
    EPERM: "the map is write-only for user space (BPF_F_WRONLY), or " + PRIVILEGES,
  },
  BPF_MAP_FREEZE: {
    EPERM: "the map is already frozen or was opened read-only, or " + PRIVILEGES,
    EBUSY: "the map is mmap()ed writable, or already frozen",
    EINVAL: "this map type cannot be frozen",
  },
  BPF_PROG_LOAD: {
    EACCES: "the verifier rejected the program (see its log)",
    EINVAL:
      "the verifier or the load attributes rejected the program (unknown program type, wrong " +
      "expected_attach_type, malformed instructions, or a name outside [A-Za-z0-9_.])",
    E2BIG: "the program has too many instructions for this kernel",
    ENOSPC: "the verifier log did not fit in the log buffer",
  },
  BPF_PROG_TEST_RUN: {
    ENOSPC: "the output buffer is smaller than the output packet or context",
    EINVAL: "the input is invalid for this program type (XDP needs at least 14 bytes of packet data)",
    ENOTSUPP: "this program type cannot be run with BPF_PROG_TEST_RUN",
  },
  BPF_OBJ_PIN: {
    EEXIST: "something is already pinned at that path; unpin (remove) it first",
    EPERM: "the path is not inside a BPF filesystem (mount -t bpf bpf /sys/fs/bpf), or " + PRIVILEGES,
    ENOENT: "the parent directory of the pin path does not exist",
  },
  BPF_OBJ_GET: {
    ENOENT: "nothing is pinned at that path",
    EPERM: "the path is not inside a BPF filesystem, or " + PRIVILEGES,
    EACCES: "the pinned object's file permissions refuse the requested access",
  },
  BPF_OBJ_GET_INFO_BY_FD: {
    EINVAL: "the descriptor is not a BPF program, map, BTF object or link",
  },
  BPF_BTF_LOAD: {
    EINVAL: "the kernel rejected the BTF (see its log)",
  },
};

for (const cmd of ["BPF_PROG_GET_FD_BY_ID", "BPF_MAP_GET_FD_BY_ID", "BPF_BTF_GET_FD_BY_ID"]) {
  BY_COMMAND[cmd] = {
    ENOENT: "no object with that id exists (it was freed)",
    EPERM: "opening objects by id needs CAP_SYS_ADMIN",
  };
}
for (const cmd of ["BPF_MAP_LOOKUP_BATCH", "BPF_MAP_LOOKUP_AND_DELETE_BATCH", "BPF_MAP_UPDATE_BATCH", "BPF_MAP_DELETE_BATCH"]) {
  BY_COMMAND[cmd] = {
    EINVAL: "this map type does not support this batch operation (arrays cannot delete), or invalid flags",
    ENOTSUPP: "this map type does not support batch operations",
  };
}

/** A sentence explaining `errno` for `operation` (a BpfCmd name); "" when nothing useful is known. */
export function explainErrno(operation: string, errno: string): string {
  return BY_COMMAND[operation]?.[errno] ?? GENERAL[errno] ?? "";
}
