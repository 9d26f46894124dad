// Network namespaces: run code inside another one, and remember where something was made.
//
// A network namespace is named by a file: /proc/<pid>/ns/net of any process in it, or a
// bind mount of that file, which is what `ip netns add NAME` creates under /var/run/netns.
// setns(fd, CLONE_NEWNET) moves the *calling thread* into the namespace of `fd`. koffi runs
// foreign calls on the JS thread that makes them, so a synchronous function called between
// two setns calls sees the namespace: its socket() and if_nametoindex() calls happen there.
// Asynchronous work does not (it resumes later, after the thread has gone back, and libuv's
// thread pool never moved), which is why withNetns only takes synchronous functions.
//
// A socket belongs for life to the namespace it was created in; a NetlinkSocket opened
// inside withNetns keeps talking to that namespace's interfaces after the thread returns.
// The current namespace of the thread is /proc/thread-self/ns/net (kernel 3.17), not
// /proc/self/ns/net, which names the main thread's.

import { fstatSync, statSync } from "node:fs";
import { ownFd, type Fd } from "./fd.js";
import { CLONE_NEWNET, openReadOnly, setns } from "./socket.js";

/** Where `ip netns add NAME` bind-mounts the namespace file. */
export const NETNS_RUN_DIR = "/var/run/netns";

/** The file for a namespace name (as `ip netns` names them) or a path (anything containing "/"). */
export function netnsPath(nameOrPath: string): string {
  return nameOrPath.includes("/") ? nameOrPath : `${NETNS_RUN_DIR}/${nameOrPath}`;
}

/** An owned handle to a network namespace, by `ip netns` name or path. */
export function openNetns(nameOrPath: string): Fd {
  return ownFd(openReadOnly(netnsPath(nameOrPath)));
}

/** An owned handle to the calling thread's network namespace, to come back to it later. */
export function currentNetns(): Fd {
  return ownFd(openReadOnly("/proc/thread-self/ns/net"));
}

/** A namespace's identity: the device and inode of its file (what `ip netns identify` compares). */
export function netnsId(ns?: Fd): string {
  const stat = ns === undefined ? statSync("/proc/thread-self/ns/net") : fstatSync(ns.raw);
  return `${stat.dev}:${stat.ino}`;
}

/** True when `ns` is the calling thread's current network namespace. */
export function isCurrentNetns(ns: Fd): boolean {
  return netnsId(ns) === netnsId();
}

/**
 * Runs `fn` with the calling thread inside the network namespace `target` (a name under
 * /var/run/netns, a path, or an Fd from openNetns/currentNetns) and always returns to the
 * namespace it started in, whether `fn` returns or throws.
 */
export function withNetns<T>(target: string | Fd, fn: () => T): T {
  const opened = typeof target === "string" ? openNetns(target) : undefined;
  const destination = opened ?? (target as Fd);
  let home: Fd | undefined;
  try {
    home = currentNetns();
    setns(destination.raw, CLONE_NEWNET);
    let result: T;
    try {
      result = fn();
    } finally {
      // If this fails the thread is stranded in the wrong namespace: the error must surface.
      setns(home.raw, CLONE_NEWNET);
    }
    if (isThenable(result)) {
      result.then(undefined, () => {}); // it ran in the wrong namespace after its first await
      throw new TypeError("withNetns takes a synchronous function: code after an await runs outside the namespace");
    }
    return result;
  } finally {
    opened?.close();
    home?.close();
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}
