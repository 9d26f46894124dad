// The C library, loaded once through koffi. Every other syscall/ module declares the
// functions it needs on this handle, next to the code that uses them.

import koffi from "koffi";

export const libc = koffi.load("libc.so.6");

/** errno of the calling thread after the last foreign call. */
export function lastErrno(): number {
  return koffi.errno();
}

// close(2) is needed by Fd and by every socket owner.
export const closeFd = libc.func("int close(int fd)") as (fd: number) => number;
