// Sockets, interface names and namespace switching, declared on the koffi libc handle.
//
// These are thin, typed wrappers: each calls one libc function, and when it reports failure
// (-1, or 0 for if_nametoindex) reads errno at once and throws a SyscallError naming the
// function and the errno. Buffers are passed to C as pointers without copying (koffi passes
// a TypedArray's memory directly), so callers can reuse one preallocated buffer.
//
// The few structures passed by pointer are written by hand:
//
//   struct sockaddr_nl {            // <linux/netlink.h>, 12 bytes
//     __kernel_sa_family_t nl_family;  // u16: AF_NETLINK
//     unsigned short       nl_pad;     // u16: zero
//     __u32                nl_pid;     // port id; 0 in bind() asks the kernel to pick one
//     __u32                nl_groups;  // multicast group mask
//   };
//
//   struct timeval { time_t tv_sec; suseconds_t tv_usec; };   // two i64 on x86-64/arm64

import { SyscallError } from "../common/errors.js";
import { errnoName } from "./errno.js";
import { lastErrno, libc } from "./libc.js";

// <sys/socket.h>, <linux/netlink.h>, <fcntl.h>, <sched.h> (Linux values; same on x86-64 and arm64).
export const AF_NETLINK = 16;
export const SOCK_RAW = 3;
export const SOCK_CLOEXEC = 0x80000;
export const SOL_SOCKET = 1;
export const SO_RCVBUF = 8;
export const SO_RCVTIMEO = 20;
export const SOL_NETLINK = 270;
export const MSG_PEEK = 0x2;
export const MSG_TRUNC = 0x20;
export const O_RDONLY = 0;
export const O_CLOEXEC = 0x80000;
export const CLONE_NEWNET = 0x40000000;
/** IFNAMSIZ from <net/if.h>: interface names are at most 15 bytes plus the NUL. */
export const IFNAMSIZ = 16;

const c = {
  socket: libc.func("int socket(int domain, int type, int protocol)") as (d: number, t: number, p: number) => number,
  bind: libc.func("int bind(int fd, const void *addr, uint32_t addrlen)") as (fd: number, addr: Uint8Array, len: number) => number,
  setsockopt: libc.func("int setsockopt(int fd, int level, int name, const void *value, uint32_t len)") as (
    fd: number, level: number, name: number, value: Uint8Array, len: number) => number,
  getsockopt: libc.func("int getsockopt(int fd, int level, int name, void *value, _Inout_ uint32_t *len)") as (
    fd: number, level: number, name: number, value: Uint8Array, len: number[]) => number,
  getsockname: libc.func("int getsockname(int fd, void *addr, _Inout_ uint32_t *len)") as (
    fd: number, addr: Uint8Array, len: number[]) => number,
  sendto: libc.func("intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)") as (
    fd: number, buf: Uint8Array, len: number, flags: number, addr: Uint8Array | null, addrLen: number) => number,
  recv: libc.func("intptr_t recv(int fd, void *buf, size_t len, int flags)") as (
    fd: number, buf: Uint8Array, len: number, flags: number) => number,
  // open(2) is variadic (the mode argument only matters with O_CREAT, which we never pass).
  open: libc.func("int open(const char *path, int flags, ...)") as (path: string, flags: number) => number,
  setns: libc.func("int setns(int fd, int nstype)") as (fd: number, nstype: number) => number,
  if_nametoindex: libc.func("unsigned int if_nametoindex(const char *name)") as (name: string) => number,
  if_indextoname: libc.func("char *if_indextoname(unsigned int index, void *buf)") as (
    index: number, buf: Uint8Array) => string | null,
};

function fail(operation: string, detail: string): never {
  const errno = lastErrno();
  const name = errnoName(errno);
  throw new SyscallError(`${operation}(${detail}) failed: ${name}`, { operation, errno, errnoName: name });
}

/** socket(2); returns the new descriptor, which the caller must own (wrap it in an Fd). */
export function socket(domain: number, type: number, protocol: number): number {
  const fd = c.socket(domain, type, protocol);
  if (fd < 0) fail("socket", `${domain}, ${type}, ${protocol}`);
  return fd;
}

export function bind(fd: number, addr: Uint8Array): void {
  if (c.bind(fd, addr, addr.byteLength) < 0) fail("bind", `fd ${fd}`);
}

/** setsockopt(2) with an int value, the form every netlink option takes. */
export function setsockoptInt(fd: number, level: number, name: number, value: number): void {
  const buf = new Uint8Array(4);
  new DataView(buf.buffer).setInt32(0, value, true);
  setsockoptBytes(fd, level, name, buf);
}

export function setsockoptBytes(fd: number, level: number, name: number, value: Uint8Array): void {
  if (c.setsockopt(fd, level, name, value, value.byteLength) < 0) fail("setsockopt", `fd ${fd}, level ${level}, option ${name}`);
}

/** getsockopt(2) for an int option. */
export function getsockoptInt(fd: number, level: number, name: number): number {
  const buf = new Uint8Array(4);
  const len = [4];
  if (c.getsockopt(fd, level, name, buf, len) < 0) fail("getsockopt", `fd ${fd}, level ${level}, option ${name}`);
  return new DataView(buf.buffer).getInt32(0, true);
}

/** getsockname(2) into `addr`; returns the address length the kernel wrote. */
export function getsockname(fd: number, addr: Uint8Array): number {
  const len = [addr.byteLength];
  if (c.getsockname(fd, addr, len) < 0) fail("getsockname", `fd ${fd}`);
  return len[0];
}

/** sendto(2) of the first `length` bytes of `buf`; returns the number of bytes sent. */
export function sendto(fd: number, buf: Uint8Array, length: number, flags: number, addr: Uint8Array | null): number {
  const n = c.sendto(fd, buf, length, flags, addr, addr === null ? 0 : addr.byteLength);
  if (n < 0) fail("sendto", `fd ${fd}, ${length} bytes`);
  return n;
}

/**
 * recv(2) into `buf`. With MSG_TRUNC the result is the datagram's real length, which can be
 * larger than `buf`; that is how a caller learns that its buffer was too small.
 */
export function recv(fd: number, buf: Uint8Array, flags: number): number {
  const n = c.recv(fd, buf, buf.byteLength, flags);
  if (n < 0) fail("recv", `fd ${fd}`);
  return n;
}

/** open(2) read-only with O_CLOEXEC, as used for namespace files. */
export function openReadOnly(path: string): number {
  const fd = c.open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("open", JSON.stringify(path));
  return fd;
}

/** setns(2): move the calling thread into the namespace `fd` refers to. */
export function setns(fd: number, nstype: number): void {
  if (c.setns(fd, nstype) < 0) fail("setns", `fd ${fd}, ${nstype === CLONE_NEWNET ? "CLONE_NEWNET" : nstype}`);
}

/**
 * if_nametoindex(3) in the calling thread's network namespace; undefined when no interface
 * has that name. Callers decide how to word the error (see resolveInterface in xdp.ts).
 */
export function ifNameToIndex(name: string): number | undefined {
  // A name that cannot fit IFNAMSIZ cannot exist; libc would truncate silently otherwise.
  if (Buffer.byteLength(name) >= IFNAMSIZ || name.length === 0 || name.includes("\0")) return undefined;
  const index = c.if_nametoindex(name);
  return index === 0 ? undefined : index;
}

/** if_indextoname(3); undefined when no interface has that index. */
export function ifIndexToName(index: number): string | undefined {
  const buf = new Uint8Array(IFNAMSIZ);
  const name = c.if_indextoname(index, buf);
  return name === null ? undefined : name;
}
