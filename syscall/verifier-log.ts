// The verifier log: asking for it only when needed, growing its buffer, and summing it up.
//
// The kernel writes its log into a buffer we supply (log_buf/log_size, log_level > 0).
// Two kernel behaviours shape the retry loop:
// - Before 6.4 a full buffer fails the load with ENOSPC and keeps the start of the log;
//   the only way forward is a bigger buffer.
// - Since 6.4 the log is "rolling" by default: when it overflows the kernel keeps its end
//   (where the reason for a refusal is), still fails with ENOSPC if the program was
//   otherwise fine, and reports in log_true_size the size the whole log needed, so one
//   retry with exactly that size gets everything.
// Logging slows verification down, so (as libbpf does) the first attempt has no log;
// only a failure is repeated with one.

import { Errno } from "./errno.js";
import { NativeBuffer } from "./native.js";

export interface LogOptions {
  /** Log level for the retry (LogLevel bits); default 1 = BPF_LOG_LEVEL1. */
  logLevel?: number;
  /** First log buffer size in bytes; default 64 KiB. */
  logSize?: number;
  /** Largest log buffer to grow to; default 16 MiB. The kernel caps it at 1 GiB - 1. */
  maxLogSize?: number;
  /** Ask for a log on the first attempt too, and pass the log of a successful load here. */
  onLog?: (log: string) => void;
}

/** One attempt with an optional log buffer: the raw result and log_true_size (0 if unknown). */
export type LogAttempt = (log: { level: number; buffer: NativeBuffer } | undefined) => {
  result: number;
  logTrueSize: number;
};

export interface LogOutcome {
  /** Non-negative on success (an fd), else the negated errno. */
  result: number;
  /** The log text of the last attempt that carried a log ("" if none did). */
  log: string;
}

const DEFAULT_LOG_SIZE = 64 * 1024;
const DEFAULT_MAX_LOG_SIZE = 16 * 1024 * 1024;
const KERNEL_MAX_LOG_SIZE = 2 ** 30 - 1; // kernel/bpf/log.c: len_total > UINT_MAX >> 2 is EINVAL
const EAGAIN_RETRIES = 5;

/** Runs `attempt` as described above and returns the final result with the best log obtained. */
export function runWithLog(attempt: LogAttempt, options: LogOptions = {}): LogOutcome {
  if (options.onLog === undefined) {
    const quiet = retryEagain(() => attempt(undefined));
    if (quiet.result >= 0) return { result: quiet.result, log: "" };
  }
  const level = options.logLevel ?? 1;
  const max = Math.min(options.maxLogSize ?? DEFAULT_MAX_LOG_SIZE, KERNEL_MAX_LOG_SIZE);
  let size = Math.min(Math.max(options.logSize ?? DEFAULT_LOG_SIZE, 128), max);
  for (;;) {
    const buffer = new NativeBuffer(size);
    try {
      const { result, logTrueSize } = retryEagain(() => attempt({ level, buffer }));
      const log = readLog(buffer);
      if (result >= 0) {
        options.onLog?.(log);
        return { result, log };
      }
      const next = nextLogSize(-result, size, logTrueSize, max);
      if (next === undefined) return { result, log };
      size = next;
    } finally {
      buffer.free();
    }
  }
}

/** The next buffer size to try, or undefined when growing would not help. */
function nextLogSize(errno: number, size: number, trueSize: number, max: number): number | undefined {
  if (trueSize > size) return trueSize <= max ? trueSize : undefined;
  if (errno === Errno.ENOSPC && trueSize === 0 && size < max) return Math.min(size * 4, max);
  return undefined;
}

function retryEagain<T extends { result: number }>(call: () => T): T {
  let outcome = call();
  for (let i = 1; i < EAGAIN_RETRIES && outcome.result === -Errno.EAGAIN; i++) outcome = call();
  return outcome;
}

/** The log text up to the kernel's terminating NUL. */
export function readLog(buffer: NativeBuffer): string {
  const end = buffer.bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? buffer.bytes : buffer.bytes.subarray(0, end));
}

/** An instruction as the verifier prints it: "12: (85) call bpf_map_lookup_elem#1". */
const INSTRUCTION = /^\d+: \([0-9a-f]{2}\)/;
/** A source line from BTF line info: "; return XDP_PASS; @ xdp.c:12". */
const SOURCE = /^; .* @ (\S+:\d+)\s*$/;
/**
 * Statistics the verifier prints after every run, which say nothing about the refusal.
 * They stay in the full log and are left out of the summary.
 */
const NOISE = [/^processed \d+ insns/, /^verification time \d+/, /^stack depth /, /^\s*$/];
const MAX_SUMMARY_LINES = 6;

/**
 * The lines of a verifier log that explain a refusal: the last instruction the verifier
 * printed (with its source line, when BTF line info put one right before it) and the
 * reason lines after it (e.g. "0: (95) exit" then "R0 !read_ok"), without the statistics
 * noise. When no instruction was printed (a structural error such as
 * "back-edge from insn 3 to 1"), the last lines. `sourceLine` is the "file.c:line" of the
 * last BTF source annotation before the failing instruction, when the log has one.
 */
export function summarizeVerifierLog(log: string): { summary: string; sourceLine: string | undefined } {
  const lines = log.split("\n").filter((line) => !NOISE.some((re) => re.test(line)));
  let last = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (INSTRUCTION.test(lines[i])) {
      last = i;
      break;
    }
  }
  // The source annotation printed right before the failing instruction belongs to it.
  const first = last > 0 && SOURCE.test(lines[last - 1]) ? last - 1 : last;
  const from = last < 0 ? Math.max(0, lines.length - 3) : Math.max(first, lines.length - MAX_SUMMARY_LINES);
  let sourceLine: string | undefined;
  for (let i = last; i >= 0; i--) {
    const match = SOURCE.exec(lines[i]);
    if (match !== null) {
      sourceLine = match[1];
      break;
    }
  }
  return { summary: lines.slice(from).join("\n"), sourceLine };
}
