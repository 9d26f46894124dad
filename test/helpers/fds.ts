// Counting this process's open file descriptors, to prove that a failure leaks none.
//
// /proc/self/fd lists one entry per open descriptor; readlink on an entry names what it
// is: a file path, "socket:[12345]", or for BPF objects "anon_inode:bpf-map",
// "anon_inode:bpf-prog", "anon_inode:btf". A leak shows up as an entry that appeared
// during an operation and is still there after it.
//
//     const leaks = fdLeaks(() => loadObject(readProg("rejected")));
//     expect(leaks.error).toBeInstanceOf(VerifierError);
//     expect(leaks.opened).toEqual([]);
//
// Owned Fds have a FinalizationRegistry that closes them once they are garbage collected.
// Its callbacks run later, from the event loop, never inside a synchronous stretch of
// code, so counting right after a synchronous failure sees a leaked fd as open: no gc()
// call is needed, and none could hide a leak.

import { readdirSync, readlinkSync } from "node:fs";
import { expect } from "vitest";

/** One open descriptor: its number and what /proc says it refers to. */
export interface OpenFd {
  fd: number;
  target: string;
}

/** The process's open descriptors, sorted by number (the directory handle used to list them excluded). */
export function openFds(): OpenFd[] {
  const fds: OpenFd[] = [];
  for (const entry of readdirSync("/proc/self/fd")) {
    const fd = Number(entry);
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${entry}`);
    } catch {
      // The directory handle readdirSync itself used: closed by the time we ask.
      continue;
    }
    fds.push({ fd, target });
  }
  return fds.sort((a, b) => a.fd - b.fd);
}

/** How many descriptors the process has open. */
export function fdCount(): number {
  return openFds().length;
}

export interface FdCheck<T> {
  /** What `fn` returned, when it returned. */
  result?: T;
  /** What `fn` threw, when it threw. */
  error?: unknown;
  /** Descriptors open after `fn` that were not open before ("12 -> anon_inode:bpf-map"). */
  opened: string[];
  /** Descriptors open before `fn` and closed by it (a double close would show here). */
  closed: string[];
}

/**
 * Runs `fn` (which may throw) and reports which descriptors it left open or closed.
 * Descriptors are compared by number and target, so a number reused for another object counts.
 */
export function fdLeaks<T>(fn: () => T): FdCheck<T> {
  const before = new Set(openFds().map(describe));
  const check: FdCheck<T> = { opened: [], closed: [] };
  try {
    check.result = fn();
  } catch (error) {
    check.error = error;
  }
  const after = new Set(openFds().map(describe));
  check.opened = [...after].filter((fd) => !before.has(fd));
  check.closed = [...before].filter((fd) => !after.has(fd));
  return check;
}

function describe(fd: OpenFd): string {
  return `${fd.fd} -> ${fd.target}`;
}

/**
 * Runs `fn`, expects it to throw (an instance of `type`, when given) without leaving any
 * descriptor open or closing one it did not own, and returns the error.
 */
export function cleanFailure<E = unknown>(fn: () => unknown, type?: abstract new (...args: never[]) => E): E {
  const check = fdLeaks(fn);
  expect(check.error, "expected a throw").toBeDefined();
  if (type !== undefined) expect(check.error).toBeInstanceOf(type);
  expect(check.opened).toEqual([]);
  expect(check.closed).toEqual([]);
  return check.error as E;
}
