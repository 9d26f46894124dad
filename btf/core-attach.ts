// Attach targets of BTF-based tracing programs: the kernel type a program hooks, named by
// its section, found by name and kind in the kernel's BTF. BPF_PROG_LOAD takes its id as
// attach_btf_id (and, for a module's type, the module BTF's fd as attach_btf_obj_fd); the
// verifier checks the program's arguments against that type (kernel/bpf/verifier.c,
// bpf_check_attach_target).
//
//   section             kernel type looked up                 kind
//   tp_btf/<tp>         btf_trace_<tp>                        TYPEDEF (of the tracepoint's
//                                                             function pointer, kernel 5.5)
//   fentry/<func>       <func>                                FUNC    (kernel 5.5)
//   fexit/<func>        <func>                                FUNC
//   fmod_ret/<func>     <func>                                FUNC    (kernel 5.7)
//   lsm/<hook>          bpf_lsm_<hook>                        FUNC    (kernel 5.7)
//   lsm_cgroup/<hook>   bpf_lsm_<hook>                        FUNC    (kernel 6.0)
//   iter/<name>         bpf_iter_<name>                       FUNC    (kernel 5.8)
//
// The name may be written "<module>:<name>" to look only in that module's BTF. Otherwise
// vmlinux is searched first, then each module (libbpf's order). raw_tp/<tp> programs
// (BPF_PROG_TYPE_RAW_TRACEPOINT) take no attach_btf_id: the kernel refuses one for them.

import type { CoreTarget } from "./core-candidates.js";
import { BtfKind } from "./kinds.js";

export type AttachPoint = "tp_btf" | "fentry" | "fexit" | "fmod_ret" | "lsm" | "lsm_cgroup" | "iter";

/** The kernel type's name and kind for an attach point and the name after the section's "/". */
export function attachTypeName(point: AttachPoint, target: string): { name: string; kind: "typedef" | "func" } {
  switch (point) {
    case "tp_btf":
      return { name: `btf_trace_${target}`, kind: "typedef" };
    case "lsm":
    case "lsm_cgroup":
      return { name: `bpf_lsm_${target}`, kind: "func" };
    case "iter":
      return { name: `bpf_iter_${target}`, kind: "func" };
    default:
      return { name: target, kind: "func" };
  }
}

export interface AttachTypeFound {
  /** The BTF id: attach_btf_id. */
  readonly typeId: number;
  /** Where it was found: targets[0] (vmlinux), or a module (its BTF's fd goes in attach_btf_obj_fd). */
  readonly target: CoreTarget;
  /** True when found in a module rather than in the first target. */
  readonly inModule: boolean;
  readonly name: string;
  readonly kind: "typedef" | "func";
}

/**
 * Finds the kernel type a program attaches to: in `targets[0]` (vmlinux) first, then in the
 * others (modules, their own types only), or only in module M for "M:name".
 */
export function findAttachType(targets: readonly CoreTarget[], point: AttachPoint, target: string): AttachTypeFound | undefined {
  const colon = target.indexOf(":");
  const moduleName = colon < 0 ? undefined : target.slice(0, colon);
  const { name, kind } = attachTypeName(point, colon < 0 ? target : target.slice(colon + 1));
  const kindNumber = kind === "typedef" ? BtfKind.TYPEDEF : BtfKind.FUNC;
  for (let i = 0; i < targets.length; i++) {
    const candidate = targets[i];
    if (moduleName !== undefined && (i === 0 || candidate.name !== moduleName)) continue;
    const { btf } = candidate;
    const id = btf.idsByName(name).find((id) => id >= btf.firstTypeId && btf.kindOf(id) === kindNumber);
    if (id !== undefined) return { typeId: id, target: candidate, inModule: i > 0, name, kind };
  }
  return undefined;
}
