// The bpf(2) system call, bound through koffi.
//
//     long syscall(SYS_bpf = 321, int cmd, union bpf_attr *attr, unsigned int size);
//
// glibc has no bpf() wrapper, so the call goes through syscall(3), which C declares as
// variadic: long syscall(long number, ...). It is bound here with the fixed prototype the
// arguments actually have. That is safe on x86-64 System V: integer and pointer arguments
// go in rdi, rsi, rdx, rcx whether or not the callee is variadic, and the only extra rule
// for variadic calls (al = number of vector registers used) concerns floating-point
// arguments, of which there are none; glibc's syscall() is assembly that only moves
// registers. It is also faster: koffi builds a variadic call from per-call type strings
// (measured here: ~1.34 us per map lookup variadic, ~0.83 us fixed).
//
// The attr pointer is passed as a plain address (uintptr_t from a JS number) because
// every attr lives in native memory (see native.ts); that is the fastest form koffi offers
// (~0.1 us less per call than a pointer object).

import { SyscallError } from "../common/errors.js";
import { commandName, SYS_bpf } from "./constants.js";
import { errnoName } from "./errno.js";
import { ownFd, type Fd } from "./fd.js";
import { explainErrno } from "./hints.js";
import { lastErrno, libc } from "./libc.js";
import type { Attr } from "./attr.js";

const syscall = libc.func("long syscall(long number, int cmd, uintptr_t attr, unsigned int size)") as (
  number: number,
  cmd: number,
  attr: number,
  size: number,
) => number;

/**
 * One raw bpf(2) call: returns the kernel's result (>= 0) or the negated errno.
 * It never throws and never allocates, for the map hot path.
 */
export function sysBpf(cmd: number, attrAddress: number, size: number): number {
  const ret = syscall(SYS_bpf, cmd, attrAddress, size);
  return ret < 0 ? -lastErrno() : ret;
}

/** What a failing command was working on, for the error message. */
export interface BpfContext {
  /** The object concerned, e.g. `map "stats"` or `program "xdp_pass"`. */
  subject?: string;
  /** Causes specific to these attributes, by errno name (computed by the encoder). */
  causes?: Partial<Record<string, string>>;
}

/** Calls bpf(2) with an Attr and returns the non-negative result or throws SyscallError. */
export function bpfCall(cmd: number, attr: Attr, context: BpfContext = {}): number {
  const ret = sysBpf(cmd, attr.address, attr.size);
  if (ret < 0) throw bpfError(cmd, -ret, context);
  return ret;
}

/** Calls a bpf(2) command that returns a new file descriptor, and owns it at once. */
export function bpfFdCall(cmd: number, attr: Attr, context: BpfContext = {}): Fd {
  return ownFd(bpfCall(cmd, attr, context));
}

/** The SyscallError for `cmd` failing with `errno`, with a message that says what to do. */
export function bpfError(cmd: number, errno: number, context: BpfContext = {}): SyscallError {
  const operation = commandName(cmd);
  const name = errnoName(errno);
  const subject = context.subject === undefined ? "" : ` for ${context.subject}`;
  const hint = context.causes?.[name] ?? explainErrno(operation, name);
  return new SyscallError(`${operation}${subject} failed with ${name}${hint === "" ? "" : `: ${hint}`}`, {
    operation,
    errno,
    errnoName: name,
  });
}

/** "BPF_MAP_CREATE" for 0, and so on. */
export { commandName };
