// CO-RE ("compile once, run everywhere"): fitting a compiled program to the kernel it runs on.
//
// clang's __builtin_preserve_access_index, __builtin_preserve_field_info, ..._type_info and
// ..._enum_value (behind BPF_CORE_READ, bpf_core_field_exists, bpf_core_type_size,
// bpf_core_enum_value...) compile a field offset, a size or an enum value as an ordinary
// constant, and record in .BTF.ext where it is and what it means:
//
//   struct bpf_core_relo { u32 insn_off; u32 type_id; u32 access_str_off; u32 kind; }
//
// "instruction 7 holds the byte offset of task_struct.pid (type 12, access 0:1)". Loading
// such a program means, for each record, in this order (libbpf's relo_core.c does the same):
//
//   1. walk the access string through the local BTF (core-access.ts): the local value;
//   2. find the target types with the same essential name and kind (core-candidates.ts),
//      keep those the access can follow by member names, or that are compatible / match
//      (core-compat.ts); every kept candidate must give the same answer (else: ambiguous);
//   3. compute the target value (core-calc.ts) and write it into the instruction, or poison
//      the instruction when the target has no answer (core-patch.ts).
//
// relocateInstructions is pure and never throws for a relocation that fails: each record's
// CoreResult says what was done and why, so that `tsbpf core explain` can show them all and
// the loader can turn the first failure into a RelocationError.

import { BtfError } from "../common/errors.js";
import { decodeInstructions } from "../insn/instruction.js";
import { formatInstruction } from "../insn/disasm.js";
import { BPF_LD_IMM64, INSN_SIZE } from "../insn/opcodes.js";
import { SlotView } from "../insn/slots.js";
import { CoreReloKind, coreReloKindName } from "./ext.js";
import type { CoreRelo, LineInfo } from "./ext-info.js";
import type { Btf } from "./parse.js";
import { describeAccess, describeType, kindClass, localAccess, targetAccess, type CoreAccess } from "./core-access.js";
import { essentialName, findCandidates, type CoreTarget } from "./core-candidates.js";
import { BtfKind } from "./kinds.js";
import { typesAreCompatible, typesMatch } from "./core-compat.js";
import { decide, decideLocalTypeId, type CoreDecision } from "./core-calc.js";
import { patchInstruction } from "./core-patch.js";

export type { CoreTarget } from "./core-candidates.js";
export { CORE_POISON_HELPER } from "./core-patch.js";

/** What happened to one relocation. */
export type CoreStatus = "patched" | "poisoned" | "failed";

/** One target type considered for a relocation. */
export interface CoreCandidateReport {
  /** The target BTF's name ("vmlinux", a module's name, a file). */
  readonly btf: string;
  readonly typeId: number;
  /** "struct task_struct". */
  readonly type: string;
  readonly matched: boolean;
  /** The access through this candidate ("task_struct.pid") and its raw path ("0:2"), when matched. */
  readonly access?: string;
  readonly rawAccess?: string;
  /** The value this candidate gives, when matched. */
  readonly value?: bigint;
  /** Why it does not match. */
  readonly reason?: string;
}

export interface CoreResult {
  /** The relocation's number among the program's (libbpf's "relo #N"). */
  readonly index: number;
  /** Instruction slot patched. */
  readonly insn: number;
  readonly kind: number;
  /** "FIELD_BYTE_OFFSET"... */
  readonly kindName: string;
  readonly localTypeId: number;
  /** "struct task_struct". */
  readonly localType: string;
  readonly accessString: string;
  /** The access in C terms: "task_struct.pid", "t.s[2]._1", "e::TWO", "struct s". */
  readonly access: string;
  readonly candidates: readonly CoreCandidateReport[];
  readonly status: CoreStatus;
  /** What the compiler wrote (from the local BTF); absent when it could not be computed. */
  readonly localValue?: bigint;
  /** What the instruction holds now; absent unless patched. */
  readonly value?: bigint;
  /** The candidate whose answer was used. */
  readonly target?: { readonly btf: string; readonly typeId: number; readonly access: string };
  /** One or two sentences: the answer and why, or why there is none. */
  readonly reason: string;
  /** The source line of the instruction, from .BTF.ext line_info. */
  readonly source?: { readonly file: string; readonly line: number; readonly column: number; readonly text: string };
  /** The instruction as text before and after. */
  readonly before: string;
  readonly after: string;
}

export interface CoreInput {
  /** The program's instruction slots; not modified (a patched copy is returned). */
  readonly bytes: Uint8Array;
  readonly littleEndian: boolean;
  /** The records, `insn` being a slot of `bytes`. */
  readonly relocations: readonly CoreRelo[];
  /** The program's own BTF (the object's .BTF), which the records' type ids refer to. */
  readonly local: Btf;
  /** Searched in order: the first target alone if it has any candidate, else all others (see core-candidates.ts). */
  readonly targets: readonly CoreTarget[];
  /** Source lines, to name where each relocation is. */
  readonly lineInfo?: readonly LineInfo[];
}

export interface CoreOutput {
  readonly bytes: Uint8Array;
  readonly results: readonly CoreResult[];
}

/** Applies every CO-RE relocation to a copy of the instructions; see the top of the file. */
export function relocateInstructions(input: CoreInput): CoreOutput {
  const bytes = input.bytes.slice();
  const view = new SlotView(bytes, input.littleEndian);
  const cache = new Map<number, ReturnType<typeof findCandidates>>();
  const results = input.relocations.map((relo, index): CoreResult => {
    const before = instructionText(bytes, relo.insn, input.littleEndian);
    const resolution = resolveRelocation(relo, input, cache);
    const outcome = apply(view, relo, resolution);
    const { localTypeId, localType, access, candidates, localValue, target } = resolution;
    return {
      index,
      insn: relo.insn,
      kind: relo.kind,
      kindName: coreReloKindName(relo.kind),
      localTypeId,
      localType,
      accessString: relo.accessString,
      access,
      candidates,
      localValue,
      target,
      ...outcome,
      source: sourceOf(input.lineInfo, relo.insn),
      before,
      after: instructionText(bytes, relo.insn, input.littleEndian),
    };
  });
  return { bytes, results };
}

/** Writes the decision into the instruction; what happened, in a sentence. */
function apply(view: SlotView, relo: CoreRelo, resolution: Resolution): Pick<CoreResult, "status" | "reason" | "value"> {
  const { decision, reason } = resolution;
  if (decision === undefined) return { status: "failed", reason };
  if (!(relo.insn >= 0 && relo.insn < view.count)) return { status: "failed", reason: `instruction ${relo.insn} is outside the program's ${view.count} slots` };
  const patched = patchInstruction(view, relo.insn, decision);
  switch (patched.status) {
    case "patched":
      return { status: "patched", reason: patched.note === undefined ? reason : `${reason} (${patched.note})`, value: decision.targetValue };
    case "poisoned":
      return { status: "poisoned", reason: `${reason}: ${patched.reason}` };
    case "failed":
      return { status: "failed", reason: patched.reason };
  }
}

/** The first relocation that failed (the load cannot go on), if any. */
export function firstCoreFailure(results: readonly CoreResult[]): CoreResult | undefined {
  return results.find((r) => r.status === "failed");
}

type Resolution = Pick<CoreResult, "localTypeId" | "localType" | "access" | "candidates" | "localValue" | "target"> & {
  readonly decision: CoreDecision | undefined;
  /** Why this decision (or why none). */
  readonly reason: string;
};

function resolveRelocation(relo: CoreRelo, input: CoreInput, cache: Map<number, ReturnType<typeof findCandidates>>): Resolution {
  const { local } = input;
  const base = { localTypeId: relo.typeId, localType: safeDescribe(local, relo.typeId), access: relo.accessString, candidates: [] as CoreCandidateReport[] };
  let localSide: CoreAccess;
  let described: typeof base;
  try {
    localSide = localAccess(local, relo.typeId, relo.accessString, relo.kind);
    described = { ...base, access: describeAccess(localSide, relo.kind) };
  } catch (error) {
    if (!(error instanceof BtfError)) throw error;
    return { ...base, decision: undefined, reason: `cannot read the relocation in the local BTF: ${messageOf(error)}` };
  }
  try {
    if (relo.kind === CoreReloKind.TYPE_ID_LOCAL) {
      const decision = decideLocalTypeId(localSide);
      return { ...described, decision, localValue: decision.localValue, reason: `the local type id ${relo.typeId} (no target needed)` };
    }
    const name = local.type(relo.typeId).name;
    if (name === "") return { ...described, decision: undefined, reason: "the local type is anonymous: CO-RE finds target types by name" };
    let candidates = cache.get(relo.typeId);
    if (candidates === undefined) cache.set(relo.typeId, (candidates = findCandidates(name, local.kindOf(relo.typeId), input.targets)));
    return chooseCandidate(relo, input, localSide, name, described, candidates);
  } catch (error) {
    if (!(error instanceof BtfError)) throw error;
    return { ...described, decision: undefined, reason: messageOf(error) };
  }
}

/**
 * Matches every candidate; all that match must agree on the field's position and on the
 * value (or all be poisoned), else the relocation is ambiguous.
 */
function chooseCandidate(
  relo: CoreRelo,
  input: CoreInput,
  localSide: CoreAccess,
  localName: string,
  described: Omit<Resolution, "decision" | "reason">,
  candidates: ReturnType<typeof findCandidates>,
): Resolution {
  const reports: CoreCandidateReport[] = [];
  let chosen: { access: CoreAccess; decision: CoreDecision; report: CoreCandidateReport } | undefined;
  for (const candidate of candidates) {
    const { btf } = candidate.target;
    const reportBase = { btf: candidate.target.name, typeId: candidate.typeId, type: describeType(btf, candidate.typeId) };
    const matched = matchCandidate(relo.kind, localSide, btf, candidate.typeId);
    if (!matched.ok) {
      reports.push({ ...reportBase, matched: false, reason: matched.reason });
      continue;
    }
    const decision = decide(relo.kind, localSide, matched.access, input.littleEndian);
    const report: CoreCandidateReport = {
      ...reportBase,
      matched: true,
      access: describeAccess(matched.access, relo.kind),
      rawAccess: matched.access.raw.join(":"),
      ...(decision.poison ? {} : { value: decision.targetValue }),
    };
    reports.push(report);
    if (chosen === undefined) {
      chosen = { access: matched.access, decision, report };
      continue;
    }
    const ambiguous =
      matched.access.bitOffset !== chosen.access.bitOffset
        ? `field offset ambiguity: ${report.type} [${report.typeId}] puts it at bit ${matched.access.bitOffset}, ${chosen.report.type} [${chosen.report.typeId}] at bit ${chosen.access.bitOffset}`
        : decision.poison !== chosen.decision.poison || decision.targetValue !== chosen.decision.targetValue
          ? `relocation decision ambiguity: ${report.type} [${report.typeId}] gives ${valueText(decision)}, ${chosen.report.type} [${chosen.report.typeId}] gives ${valueText(chosen.decision)}`
          : undefined;
    if (ambiguous !== undefined) {
      return { ...described, candidates: reports, decision: undefined, reason: `${ambiguous} (the target has more than one type this relocation could mean)` };
    }
  }
  if (chosen === undefined) {
    const decision = decide(relo.kind, localSide, undefined, input.littleEndian);
    const searched = input.targets.map((t) => t.name).join(", ") || "no target BTF";
    const kindName = KIND_NAMES[input.local.kindOf(relo.typeId)] ?? "type";
    const why = candidates.length === 0 ? `no ${kindName} named ${essentialName(localName)} in ${searched}` : "no candidate matches";
    return { ...described, candidates: reports, decision, localValue: decision.localValue, reason: decision.poison ? why : `${why}, so ${valueText(decision)}` };
  }
  const { decision, report } = chosen;
  return {
    ...described,
    candidates: reports,
    decision,
    localValue: decision.localValue,
    target: { btf: report.btf, typeId: report.typeId, access: report.access! },
    reason: decision.poison ? `${report.access} in ${report.btf}` : `${valueText(decision)} from ${report.access} (${report.type} [${report.typeId}] in ${report.btf})`,
  };
}

type Match = { ok: true; access: CoreAccess } | { ok: false; reason: string };

function matchCandidate(kind: number, localSide: CoreAccess, target: Btf, typeId: number): Match {
  if (kindClass(kind) !== "type") return targetAccess(localSide, kind, target, typeId);
  const access: CoreAccess = { btf: target, rootTypeId: typeId, accessors: [], raw: [0], bitOffset: 0 };
  if (kind === CoreReloKind.TYPE_MATCHES) {
    return typesMatch(localSide.btf, localSide.rootTypeId, target, typeId) ? { ok: true, access } : { ok: false, reason: "the types do not match (bpf_core_type_matches rules)" };
  }
  return typesAreCompatible(localSide.btf, localSide.rootTypeId, target, typeId) ? { ok: true, access } : { ok: false, reason: "the types are not compatible" };
}

function valueText(decision: CoreDecision): string {
  return decision.poison ? "no value (poison)" : `${decision.targetValue}`;
}

/** Kinds as C spells them, for "no struct named X in vmlinux". */
const KIND_NAMES: Record<number, string> = {
  [BtfKind.STRUCT]: "struct",
  [BtfKind.UNION]: "union",
  [BtfKind.ENUM]: "enum",
  [BtfKind.ENUM64]: "enum",
  [BtfKind.TYPEDEF]: "typedef",
  [BtfKind.INT]: "int",
  [BtfKind.FWD]: "forward declaration",
  [BtfKind.FUNC_PROTO]: "function type",
};

function safeDescribe(btf: Btf, id: number): string {
  try {
    return describeType(btf, id);
  } catch (error) {
    if (!(error instanceof BtfError)) throw error;
    return `type [${id}]`;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message.replace(/^BTF: /, "") : String(error);
}

/** The disassembly of the instruction at `slot` (both slots of an ld_imm64). */
function instructionText(bytes: Uint8Array, slot: number, littleEndian: boolean): string {
  const start = slot * INSN_SIZE;
  if (!(slot >= 0 && start + INSN_SIZE <= bytes.byteLength)) return "(outside the program)";
  const width = bytes[start] === BPF_LD_IMM64 && start + 2 * INSN_SIZE <= bytes.byteLength ? 2 : 1;
  const [insn] = decodeInstructions(bytes.subarray(start, start + width * INSN_SIZE), littleEndian);
  return formatInstruction(insn, { helperNames: true });
}

/** The line_info record covering `insn`: the last one at or before it. */
function sourceOf(lines: readonly LineInfo[] | undefined, insn: number): CoreResult["source"] {
  let found: LineInfo | undefined;
  for (const line of lines ?? []) if (line.insn <= insn && (found === undefined || line.insn >= found.insn)) found = line;
  return found === undefined ? undefined : { file: found.fileName, line: found.line, column: found.column, text: found.lineText.trim() };
}
