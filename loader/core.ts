// CO-RE at load time: a linked program's relocations resolved against the kernel's BTF,
// and the attach targets of BTF-based tracing programs. The engine is pure (btf/core.ts);
// this file picks the BTFs (the object's own as local, vmlinux and optionally the modules'
// as targets) and turns failures into RelocationErrors that say which relocation and why.
//
// In load(), per program, between link() and resolveReferences():
//
//   const core = relocateCore(linked, spec.btf!, options.kernelBtf ?? loadKernelBtf());
//   linked = { ...linked, bytes: core.bytes };
//   ... loadProgram(...) -- on a VerifierError: throw coreVerifierError(error, linked, core.results) ?? error
//
// A relocation the target cannot satisfy does not fail here: its instruction is poisoned
// (see btf/core-patch.ts) and only a verifier that reaches it refuses the program; then
// coreVerifierError names the relocation instead of "invalid func unknown#195896080".

import { RelocationError, SpecError, type VerifierError } from "../common/errors.js";
import { AttachType, ProgramType } from "../common/uapi.js";
import { firstCoreFailure, relocateInstructions, type CoreResult, type CoreTarget } from "../btf/core.js";
import { explainPoisonedCall, poisonedRelocation } from "../btf/core-explain.js";
import { findAttachType, type AttachPoint } from "../btf/core-attach.js";
import type { Btf } from "../btf/parse.js";
import { kernelBtfModules, loadModuleBtf } from "./kernel-btf.js";
import { link, type LinkedProgram } from "./link.js";
import type { ProgramSpec } from "./programs.js";
import type { ObjectSpec } from "./spec.js";

export type { CoreResult, CoreTarget } from "../btf/core.js";
export { explainPoisonedCall, formatCoreResult } from "../btf/core-explain.js";

export interface RelocateCoreOptions {
  /**
   * Searched for a relocation's type when the target BTF has no type of that name (libbpf
   * does the same with module BTF): e.g. kernelModuleTargets(). Default: none.
   */
  modules?: readonly CoreTarget[];
  /** The target's name in explanations; default "vmlinux". */
  targetName?: string;
}

export interface CoreRelocation {
  /** A patched copy of linked.bytes. */
  readonly bytes: Uint8Array;
  /** One per CO-RE record of the program, in record order. */
  readonly results: readonly CoreResult[];
}

/**
 * Applies the CO-RE relocations of a linked program (records in linked.extInfo.coreRelos,
 * at absolute slots). `localBtf` is the object's BTF (spec.btf), `targetBtf` the kernel's.
 * @throws RelocationError for a relocation that cannot be applied at all (ambiguous
 *   candidates, an instruction that does not hold what the record says, a bad record);
 *   a relocation that merely has no target is poisoned instead, see the top of the file.
 */
export function relocateCore(linked: LinkedProgram, localBtf: Btf, targetBtf: Btf, options: RelocateCoreOptions = {}): CoreRelocation {
  const relocations = linked.extInfo?.coreRelos ?? [];
  if (relocations.length === 0) return { bytes: linked.bytes.slice(), results: [] };
  const output = relocateInstructions({
    bytes: linked.bytes,
    littleEndian: linked.program.littleEndian,
    relocations,
    local: localBtf,
    targets: targetsOf(targetBtf, options),
    lineInfo: linked.extInfo?.lineInfo,
  });
  const failure = firstCoreFailure(output.results);
  if (failure !== undefined) {
    const where = failure.source === undefined ? "" : ` (${failure.source.file}:${failure.source.line}: ${failure.source.text})`;
    throw new RelocationError(`CO-RE relocation #${failure.index} (${failure.kindName} of ${failure.access}, access string ${failure.accessString})${where} cannot be applied: ${failure.reason}`, {
      program: linked.program.name,
      instruction: failure.insn,
      symbol: failure.access,
    });
  }
  return output;
}

function targetsOf(targetBtf: Btf, options: RelocateCoreOptions): CoreTarget[] {
  return [{ btf: targetBtf, name: options.targetName ?? "vmlinux" }, ...(options.modules ?? [])];
}

export interface ProgramCoreReport {
  readonly program: string;
  readonly section: string;
  /** Every relocation of the linked program (its subprograms' included), failures too. */
  readonly results: readonly CoreResult[];
}

/**
 * What CO-RE would do to each program of `spec` against `targetBtf`, without loading or
 * throwing for a relocation that fails (`tsbpf core explain`).
 */
export function explainCore(spec: ObjectSpec, targetBtf: Btf, options: RelocateCoreOptions = {}): ProgramCoreReport[] {
  const local = spec.btf;
  return [...spec.programs.values()].map((program) => {
    const linked = link(spec, program);
    const relocations = linked.extInfo?.coreRelos ?? [];
    if (local === undefined || relocations.length === 0) return { program: program.name, section: program.section, results: [] };
    const { results } = relocateInstructions({
      bytes: linked.bytes,
      littleEndian: program.littleEndian,
      relocations,
      local,
      targets: targetsOf(targetBtf, options),
      lineInfo: linked.extInfo?.lineInfo,
    });
    return { program: program.name, section: program.section, results };
  });
}

/**
 * When the verifier refused a program because it reached a poisoned instruction: a
 * RelocationError naming the relocation, the source line and the guard to add (the
 * VerifierError as its cause). Undefined for any other refusal.
 */
export function coreVerifierError(error: VerifierError, linked: LinkedProgram, results: readonly CoreResult[]): RelocationError | undefined {
  const message = explainPoisonedCall(error.log, results);
  const result = poisonedRelocation(error.log, results);
  if (message === undefined || result === undefined) return undefined;
  return new RelocationError(message, { program: linked.program.name, instruction: result.insn, symbol: result.access }, { cause: error });
}

/**
 * The BTF of every loaded kernel module, as CO-RE targets that read their file only when a
 * search reaches them (most programs find everything in vmlinux).
 */
export function kernelModuleTargets(): CoreTarget[] {
  return kernelBtfModules().map((name) => ({
    name,
    get btf(): Btf {
      return loadModuleBtf(name);
    },
  }));
}

export interface AttachTarget {
  /** attach_btf_id for BPF_PROG_LOAD. */
  readonly btfId: number;
  /** The module whose BTF holds the type (attach_btf_obj_fd must then be that BTF's fd); undefined for vmlinux. */
  readonly module: string | undefined;
  /** The type looked up: "btf_trace_sched_switch", "bpf_lsm_file_open", "do_unlinkat"... */
  readonly name: string;
  readonly kind: "typedef" | "func";
}

/**
 * The kernel type a tracing program attaches to (tp_btf, fentry, fexit, fmod_ret, lsm,
 * lsm_cgroup, iter); undefined for programs that take no attach_btf_id (raw_tp included).
 * `kernelBtf` may be a function returning it, called only for those program types (so that
 * loading an XDP program does not read the kernel's BTF). Rules in btf/core-attach.ts.
 * @throws SpecError when the kernel has no such tracepoint, function, hook or iterator.
 */
export function resolveAttachTarget(
  kernelBtf: Btf | (() => Btf),
  program: ProgramSpec,
  options: { modules?: readonly CoreTarget[] } = {},
): AttachTarget | undefined {
  const point = attachPointOf(program);
  if (point === undefined) return undefined;
  if (typeof kernelBtf === "function") kernelBtf = kernelBtf();
  if (program.attachTarget === "") {
    throw new SpecError(`section "${program.section}" does not name what to attach to ("${point}/<name>")`, { part: program.name });
  }
  const found = findAttachType([{ btf: kernelBtf, name: "vmlinux" }, ...(options.modules ?? [])], point, program.attachTarget);
  if (found === undefined) {
    const searched = options.modules === undefined || options.modules.length === 0 ? "vmlinux" : "vmlinux or any module";
    throw new SpecError(`${point}/${program.attachTarget}: the kernel's BTF (${searched}) has no ${ATTACH_WHAT[point]} of that name`, { part: program.name });
  }
  return { btfId: found.typeId, module: found.inModule ? found.target.name : undefined, name: found.name, kind: found.kind };
}

const ATTACH_WHAT: Record<AttachPoint, string> = {
  tp_btf: "tracepoint",
  fentry: "function",
  fexit: "function",
  fmod_ret: "function",
  lsm: "LSM hook",
  lsm_cgroup: "LSM hook",
  iter: "BPF iterator",
};

function attachPointOf(program: ProgramSpec): AttachPoint | undefined {
  if (program.type === ProgramType.TRACING) {
    switch (program.expectedAttachType) {
      case AttachType.TRACE_RAW_TP:
        return "tp_btf";
      case AttachType.TRACE_FENTRY:
        return "fentry";
      case AttachType.TRACE_FEXIT:
        return "fexit";
      case AttachType.MODIFY_RETURN:
        return "fmod_ret";
      case AttachType.TRACE_ITER:
        return "iter";
      default:
        return undefined;
    }
  }
  if (program.type === ProgramType.LSM) {
    if (program.expectedAttachType === AttachType.LSM_MAC) return "lsm";
    if (program.expectedAttachType === AttachType.LSM_CGROUP) return "lsm_cgroup";
  }
  return undefined;
}
