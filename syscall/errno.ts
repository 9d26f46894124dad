// errno numbers and names. The names come from koffi's table of the platform's errno
// values (the same constants as <errno.h>), inverted once.

import koffi from "koffi";

const namesByNumber = new Map<number, string>();
for (const [name, value] of Object.entries(koffi.os.errno)) {
  // Aliases (EWOULDBLOCK = EAGAIN, EDEADLOCK = EDEADLK) keep the first, canonical name.
  if (!namesByNumber.has(value)) namesByNumber.set(value, name);
}

/** Numeric errno values used by name in the loader. */
export const Errno = {
  EPERM: koffi.os.errno.EPERM,
  ENOENT: koffi.os.errno.ENOENT,
  ESRCH: koffi.os.errno.ESRCH,
  EBADF: koffi.os.errno.EBADF,
  ENOMEM: koffi.os.errno.ENOMEM,
  EFAULT: koffi.os.errno.EFAULT,
  ERANGE: koffi.os.errno.ERANGE,
  EINTR: koffi.os.errno.EINTR,
  EAGAIN: koffi.os.errno.EAGAIN,
  EACCES: koffi.os.errno.EACCES,
  EEXIST: koffi.os.errno.EEXIST,
  EBUSY: koffi.os.errno.EBUSY,
  EINVAL: koffi.os.errno.EINVAL,
  ENOSPC: koffi.os.errno.ENOSPC,
  E2BIG: koffi.os.errno.E2BIG,
  ENODEV: koffi.os.errno.ENODEV,
  EOPNOTSUPP: koffi.os.errno.EOPNOTSUPP,
  ENOTSUPP: 524, // kernel-internal, leaks to user space from some bpf paths
} as const;

export function errnoName(errno: number): string {
  if (errno === 524) return "ENOTSUPP";
  return namesByNumber.get(errno) ?? `errno ${errno}`;
}
