// The error hierarchy of tsbpf.
//
// Every failure the library reports is a BpfError subclass whose message names the part of
// the object it concerns and says what to do, and whose fields carry the facts (offset,
// section, type id, errno, verifier log) for callers that want to react programmatically.
// This module is a leaf: every layer may import it, and it imports nothing of ours.

/** Stable, machine-readable error codes; one per subclass. */
export type BpfErrorCode = "ELF" | "BTF" | "RELOCATION" | "SPEC" | "SYSCALL" | "VERIFIER" | "NETLINK";

export abstract class BpfError extends Error {
  abstract readonly code: BpfErrorCode;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** True for any error tsbpf throws on purpose. */
export function isBpfError(value: unknown): value is BpfError {
  return value instanceof BpfError;
}

/** The ELF container is malformed: something points outside the file or has an impossible size. */
export class ElfError extends BpfError {
  readonly code = "ELF";
  /** Byte offset in the file (or in the section, when `section` is set) where reading failed. */
  readonly offset: number;
  /** Name of the section being read, when known. */
  readonly section: string | undefined;

  constructor(message: string, facts: { offset: number; section?: string }, options?: { cause?: unknown }) {
    const where = facts.section === undefined ? `at byte ${facts.offset}` : `in section ${facts.section} at byte ${facts.offset}`;
    super(`ELF: ${message} (${where})`, options);
    this.offset = facts.offset;
    this.section = facts.section;
  }
}

/** BTF type information is malformed or does not describe what the loader needs. */
export class BtfError extends BpfError {
  readonly code = "BTF";
  /** The BTF type id concerned, when the error is about one type. */
  readonly typeId: number | undefined;

  constructor(message: string, facts: { typeId?: number } = {}, options?: { cause?: unknown }) {
    super(facts.typeId === undefined ? `BTF: ${message}` : `BTF: type [${facts.typeId}]: ${message}`, options);
    this.typeId = facts.typeId;
  }
}

/** A relocation entry cannot be understood or resolved. */
export class RelocationError extends BpfError {
  readonly code = "RELOCATION";
  readonly program: string;
  /** Index of the instruction slot (8-byte unit) within the program. */
  readonly instruction: number;
  readonly symbol: string;

  constructor(
    message: string,
    facts: { program: string; instruction: number; symbol: string },
    options?: { cause?: unknown },
  ) {
    super(`program ${facts.program}, instruction ${facts.instruction}, symbol ${JSON.stringify(facts.symbol)}: ${message}`, options);
    this.program = facts.program;
    this.instruction = facts.instruction;
    this.symbol = facts.symbol;
  }
}

/** The object is well-formed ELF but describes something the loader cannot use (a bad map definition, say). */
export class SpecError extends BpfError {
  readonly code = "SPEC";
  /** The object part concerned: a map, program or section name. */
  readonly part: string;

  constructor(message: string, facts: { part: string }, options?: { cause?: unknown }) {
    super(`${facts.part}: ${message}`, options);
    this.part = facts.part;
  }
}

/** A system call (bpf(2) or a libc call) failed. */
export class SyscallError extends BpfError {
  readonly code = "SYSCALL";
  /** The bpf command or libc function, e.g. "BPF_MAP_CREATE" or "socket". */
  readonly operation: string;
  readonly errno: number;
  /** The errno's symbolic name, e.g. "EPERM". */
  readonly errnoName: string;

  constructor(
    message: string,
    facts: { operation: string; errno: number; errnoName: string },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.operation = facts.operation;
    this.errno = facts.errno;
    this.errnoName = facts.errnoName;
  }
}

/** The kernel's verifier refused a program. The full log is kept; the message holds its summary. */
export class VerifierError extends BpfError {
  readonly code = "VERIFIER";
  readonly program: string;
  readonly errno: number;
  readonly errnoName: string;
  /** The complete verifier log, as the kernel wrote it. */
  readonly log: string;
  /** The lines of the log that explain the refusal (the last instruction and the reason). */
  readonly summary: string;
  /** Source location of the failing instruction when BTF line info has it, e.g. "prog.bpf.c:42". */
  readonly sourceLine: string | undefined;

  constructor(
    facts: { program: string; errno: number; errnoName: string; log: string; summary: string; sourceLine?: string },
    options?: { cause?: unknown },
  ) {
    const at = facts.sourceLine === undefined ? "" : ` at ${facts.sourceLine}`;
    const summary = facts.summary === "" ? "(no verifier log)" : facts.summary;
    super(`the verifier rejected program ${facts.program}${at} (${facts.errnoName}):\n${summary}`, options);
    this.program = facts.program;
    this.errno = facts.errno;
    this.errnoName = facts.errnoName;
    this.log = facts.log;
    this.summary = facts.summary;
    this.sourceLine = facts.sourceLine;
  }
}

/** A netlink request was refused by the kernel; `kernelMessage` is its extended-ack text when it sent one. */
export class NetlinkError extends BpfError {
  readonly code = "NETLINK";
  readonly errno: number;
  readonly errnoName: string;
  readonly kernelMessage: string | undefined;

  constructor(
    message: string,
    facts: { errno: number; errnoName: string; kernelMessage?: string },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.errno = facts.errno;
    this.errnoName = facts.errnoName;
    this.kernelMessage = facts.kernelMessage;
  }
}
