// Loading a program: BPF_PROG_LOAD with the verifier log retry, and VerifierError.
//
// This is the function the loader calls once the instructions are final (relocated,
// map fds in place). A refusal becomes a VerifierError carrying the whole log and a
// summary of the lines that explain it; a failure that produced no log (EPERM, E2BIG,
// a bad attribute) becomes a SyscallError with a hint.

import { VerifierError } from "../common/errors.js";
import { BpfCommand } from "./constants.js";
import { bpfError } from "./bpf.js";
import { progLoadAttempt, type ProgLoadAttrs } from "./bpf-prog.js";
import { errnoName } from "./errno.js";
import { ownFd, type Fd } from "./fd.js";
import { runWithLog, summarizeVerifierLog, type LogOptions } from "./verifier-log.js";

export type LoadProgramOptions = LogOptions;

/**
 * BPF_PROG_LOAD: loads a program and returns its owned Fd.
 *
 * The first attempt carries no log (verification is faster without one); if it fails,
 * the load is repeated with log_level 1 and a buffer grown until the log fits (see
 * verifier-log.ts). With `options.onLog` the log is requested from the start and the log
 * of a successful load is handed to it.
 *
 * @throws VerifierError when the kernel refused the program and wrote a log about it.
 * @throws SyscallError when it failed without a log (privileges, limits, bad attributes).
 */
export function loadProgram(attrs: ProgLoadAttrs, options: LoadProgramOptions = {}): Fd {
  const { result, log } = runWithLog((logRequest) => progLoadAttempt(attrs, logRequest), options);
  if (result >= 0) return ownFd(result);
  const errno = -result;
  const subject = `program ${JSON.stringify(attrs.name ?? "(unnamed)")}`;
  const syscallError = bpfError(BpfCommand.PROG_LOAD, errno, { subject });
  if (log.trim() === "") throw syscallError;
  const { summary, sourceLine } = summarizeVerifierLog(log);
  throw new VerifierError(
    { program: attrs.name ?? "(unnamed)", errno, errnoName: errnoName(errno), log, summary, sourceLine },
    { cause: syscallError },
  );
}
