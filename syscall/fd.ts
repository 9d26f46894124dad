// Fd: an owned file descriptor.
//
// Every descriptor the kernel hands out (maps, programs, BTF objects, pinned objects) is
// wrapped in an Fd at once, so that exactly one owner closes it exactly once. close() is
// idempotent; `raw` refuses to hand out a number after close, because the kernel reuses
// the lowest free number and a stale copy would silently name someone else's file.
// A FinalizationRegistry closes descriptors whose owner was dropped without close(), as a
// safety net for leaks, never as the way resources are meant to be released.

import { SyscallError } from "../common/errors.js";
import { Errno, errnoName } from "./errno.js";
import { closeFd, lastErrno, libc } from "./libc.js";

// fcntl(2) is variadic in C; its third argument is an int for F_DUPFD_CLOEXEC. On x86-64
// SysV integer arguments travel in the same registers whether or not the callee is
// variadic, so the fixed prototype is an exact match for this use.
const fcntl = libc.func("int fcntl(int fd, int cmd, int arg)") as (fd: number, cmd: number, arg: number) => number;
const F_DUPFD_CLOEXEC = 1030;

/** Lowest descriptor number tsbpf keeps: 0, 1 and 2 are left to stdio (see ownFd). */
const FIRST_SAFE_FD = 3;

const closeOnCollect = new FinalizationRegistry<number>((raw) => {
  closeFd(raw);
});

export class Fd {
  #raw: number;

  /** Takes ownership of `raw`; prefer ownFd(), which also moves the number above stdio. */
  constructor(raw: number) {
    if (!Number.isInteger(raw) || raw < 0) {
      throw new SyscallError(`not a file descriptor: ${raw}`, { operation: "fd", errno: Errno.EINVAL, errnoName: "EINVAL" });
    }
    this.#raw = raw;
    closeOnCollect.register(this, raw, this);
  }

  /** The descriptor number, to place in a bpf_attr or pass to a libc call. */
  get raw(): number {
    if (this.#raw < 0) {
      throw new SyscallError("file descriptor used after close()", { operation: "fd", errno: Errno.EBADF, errnoName: "EBADF" });
    }
    return this.#raw;
  }

  get closed(): boolean {
    return this.#raw < 0;
  }

  /** Closes the descriptor; later calls do nothing. */
  close(): void {
    if (this.#raw < 0) return;
    const raw = this.#raw;
    this.#raw = -1;
    closeOnCollect.unregister(this);
    closeFd(raw);
  }

  /** A second, independently owned descriptor for the same kernel object (close-on-exec). */
  dup(): Fd {
    return new Fd(dupAbove(this.raw, FIRST_SAFE_FD, "dup"));
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return this.#raw < 0 ? "Fd(closed)" : `Fd(${this.#raw})`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/** The descriptor number of an Fd, a raw number, or 0 ("none" in bpf_attr fd fields) when absent. */
export function rawFd(fd: Fd | number | undefined): number {
  if (fd === undefined) return 0;
  return typeof fd === "number" ? fd : fd.raw;
}

/**
 * Wraps a descriptor the kernel just returned. A number below 3 (possible when the process
 * closed stdin) is moved up first: bpf_attr fields such as btf_fd and inner_map_fd treat 0
 * as "none", and stray writes to 1 or 2 would land in a BPF object. libbpf and cilium/ebpf
 * apply the same rule.
 */
export function ownFd(raw: number): Fd {
  if (raw >= FIRST_SAFE_FD) return new Fd(raw);
  try {
    return new Fd(dupAbove(raw, FIRST_SAFE_FD, "fcntl(F_DUPFD_CLOEXEC)"));
  } finally {
    closeFd(raw);
  }
}

function dupAbove(raw: number, minimum: number, operation: string): number {
  const copy = fcntl(raw, F_DUPFD_CLOEXEC, minimum);
  if (copy < 0) {
    const errno = lastErrno();
    throw new SyscallError(`${operation} of fd ${raw} failed: ${errnoName(errno)}`, {
      operation,
      errno,
      errnoName: errnoName(errno),
    });
  }
  return copy;
}
