// Ksyms and kfuncs: finding `extern ... __ksym` declarations in the running kernel. Pure:
// the kernel's BTF and its symbol addresses are passed in.
//
//   typed ksym      extern const int bpf_prog_active __ksym;
//                   a VAR of that name in vmlinux BTF (then in each module's own types);
//                   the program gets its BTF id (ld_imm64 src=BPF_PSEUDO_BTF_ID) and the
//                   verifier knows the type of what it points at. Only per-CPU variables
//                   are VARs in vmlinux BTF (pahole emits the .data..percpu section).
//                   The verifier still needs the address, and takes it from kallsyms
//                   (check_pseudo_btf_id -> kallsyms_lookup_name): a kernel built without
//                   CONFIG_KALLSYMS_ALL knows no variables there and refuses every typed
//                   ksym of data with ENOENT. We look in /proc/kallsyms first, to say so
//                   before BPF_PROG_LOAD (and to treat a __weak one as absent).
//   typeless ksym   extern const void bpf_prog_put __ksym;
//                   an address from /proc/kallsyms, loaded as a plain 64-bit constant. A
//                   kernel without CONFIG_KALLSYMS_ALL lists functions there, not data.
//   kfunc           extern int bpf_dynptr_from_xdp(...) __ksym;
//                   a FUNC of that name (without ___flavor) in kernel BTF; the call
//                   carries its BTF id (src=BPF_PSEUDO_KFUNC_CALL, Linux 5.13).
//
// The declared type must be compatible with the kernel's, by libbpf's loose rule
// (bpf_core_types_are_compat): same kind after typedefs and qualifiers, any struct, union
// or enum matches any other of its kind, any integer any integer; pointers and arrays
// compare what they point at; prototypes compare parameter count, each parameter and the
// return type. The verifier checks the real use against the kernel's types anyway.

import type { Btf } from "../btf/parse.js";
import type { BtfType } from "../btf/types.js";
import type { KfuncExtern, KsymExtern } from "./externs-spec.js";

/** The kernel's BTF: vmlinux, and the split BTF of each loaded module. */
export interface KernelBtfs {
  vmlinux(): Btf;
  /** Names of the loaded modules that have BTF. */
  modules(): readonly string[];
  module(name: string): Btf;
}

export type KsymResolution =
  /** A VAR or FUNC of kernel BTF; `module` is undefined for vmlinux. */
  | { readonly kind: "btf-id"; readonly id: number; readonly module: string | undefined; readonly func: boolean }
  /** A typeless ksym's address. */
  | { readonly kind: "address"; readonly address: bigint }
  /** A __weak extern the kernel does not have: loads as 0, calls are left for the verifier to prune. */
  | { readonly kind: "absent" }
  /** A strong extern the kernel does not have; the reason is the error of any program using it. */
  | { readonly kind: "unresolved"; readonly reason: string };

const ABSENT: KsymResolution = { kind: "absent" };

export function resolveKfunc(local: Btf, extern: KfuncExtern, kernel: KernelBtfs): KsymResolution {
  const found = findKernelType(kernel, extern.kernelName, "func");
  if (found === undefined) {
    return extern.weak ? ABSENT : { kind: "unresolved", reason: `no kernel function ${extern.kernelName} in vmlinux or module BTF (not a kfunc of this kernel)` };
  }
  const kernelFunc = found.btf.type(found.id);
  if (kernelFunc.kind !== "func" || !typesCompatible(local, extern.protoId, found.btf, kernelFunc.type)) {
    // As libbpf: a __weak kfunc whose prototype differs counts as absent.
    if (extern.weak) return ABSENT;
    return { kind: "unresolved", reason: `is declared with a prototype incompatible with the kernel's ${describe(found.btf, kernelFunc.kind === "func" ? kernelFunc.type : found.id)} (${where(found.module)})` };
  }
  return { kind: "btf-id", id: found.id, module: found.module, func: true };
}

/** `addresses`: what /proc/kallsyms lists under the name (see the top of this file). */
export function resolveTypedKsym(local: Btf, extern: KsymExtern, kernel: KernelBtfs, addresses: readonly bigint[] | undefined): KsymResolution {
  const found = findKernelType(kernel, extern.name, "var");
  if (found === undefined) {
    return extern.weak ? ABSENT : { kind: "unresolved", reason: "no kernel variable of that name in vmlinux or module BTF (only per-CPU variables are there)" };
  }
  const variable = found.btf.type(found.id);
  if (variable.kind !== "var" || !typesCompatible(local, extern.typeId, found.btf, variable.type)) {
    const kernelType = variable.kind === "var" ? describe(found.btf, variable.type) : variable.kind;
    return { kind: "unresolved", reason: `is declared as ${describe(local, extern.typeId)} but the kernel's is ${kernelType} (${where(found.module)})` };
  }
  if ((addresses ?? []).length === 0) {
    if (extern.weak) return ABSENT;
    return {
      kind: "unresolved",
      reason:
        "is in the kernel's BTF but not in /proc/kallsyms, where the verifier looks up a ksym's address " +
        "(a kernel built without CONFIG_KALLSYMS_ALL lists no variables there): no program can use it on this kernel",
    };
  }
  return { kind: "btf-id", id: found.id, module: found.module, func: false };
}

/**
 * Typeless ksyms from /proc/kallsyms: `addresses` has every address listed under each
 * name asked for. A name listed at two addresses (two static symbols) is ambiguous.
 */
export function resolveTypelessKsym(extern: KsymExtern, addresses: readonly bigint[] | undefined, kernel: KernelBtfs): KsymResolution {
  const distinct = [...new Set(addresses ?? [])];
  if (distinct.length === 0) {
    if (extern.weak) return ABSENT;
    const isVariable = kernel.vmlinux().typeByName(extern.name, "var") !== undefined;
    return {
      kind: "unresolved",
      reason: isVariable
        ? "is not in /proc/kallsyms, which lists kernel data only with CONFIG_KALLSYMS_ALL; " +
          `it is a per-CPU variable in the kernel's BTF: declare it with its type (extern const int ${extern.name} __ksym;) to resolve it by BTF id`
        : "is not in /proc/kallsyms (no such kernel symbol); declare it __weak to get 0 when it is absent",
    };
  }
  if (distinct.length > 1) {
    return { kind: "unresolved", reason: `is ambiguous: /proc/kallsyms lists it at ${distinct.map((a) => `0x${a.toString(16)}`).join(" and ")}` };
  }
  if (distinct[0] === 0n) {
    return { kind: "unresolved", reason: "has address 0 in /proc/kallsyms: the kernel hides addresses from this process (kernel.kptr_restrict, or not root)" };
  }
  return { kind: "address", address: distinct[0] };
}

interface Found {
  readonly btf: Btf;
  readonly id: number;
  readonly module: string | undefined;
}

/** vmlinux first, then each module's own types (not the vmlinux types its split BTF reaches). */
function findKernelType(kernel: KernelBtfs, name: string, kind: "var" | "func"): Found | undefined {
  const vmlinux = kernel.vmlinux().typeByName(name, kind);
  if (vmlinux !== undefined) return { btf: kernel.vmlinux(), id: vmlinux.id, module: undefined };
  for (const module of kernel.modules()) {
    const btf = kernel.module(module);
    const id = btf.idsByName(name).find((candidate) => candidate >= btf.firstTypeId && btf.type(candidate).kind === kind);
    if (id !== undefined) return { btf, id, module };
  }
  return undefined;
}

/** libbpf's bpf_core_types_are_compat, for the declared type against the kernel's. */
export function typesCompatible(local: Btf, localId: number, target: Btf, targetId: number, depth = 0): boolean {
  if (depth > 32) return false;
  const a = local.resolve(localId);
  const b = target.resolve(targetId);
  if (a.kind !== b.kind && !(isEnum(a) && isEnum(b))) return false;
  switch (a.kind) {
    case "void":
    case "struct":
    case "union":
    case "enum":
    case "enum64":
    case "fwd":
      return true;
    case "float":
      return b.kind === "float" && a.size === b.size;
    case "int":
      // Only the deprecated bitfield-like integers (a bit offset) are refused.
      return b.kind === "int" && a.bitOffset === 0 && b.bitOffset === 0;
    case "ptr":
      return b.kind === "ptr" && typesCompatible(local, a.type, target, b.type, depth + 1);
    case "array":
      return b.kind === "array" && typesCompatible(local, a.type, target, b.type, depth + 1);
    case "func_proto":
      return (
        b.kind === "func_proto" &&
        a.params.length === b.params.length &&
        a.params.every((p, i) => typesCompatible(local, p.type, target, b.params[i].type, depth + 1)) &&
        typesCompatible(local, a.returnType, target, b.returnType, depth + 1)
      );
    default:
      return false;
  }
}

function isEnum(type: BtfType): boolean {
  return type.kind === "enum" || type.kind === "enum64";
}

/** "struct rq", "int", "pointer", for messages. */
function describe(btf: Btf, id: number): string {
  const type = btf.resolve(id);
  if (type.kind === "void") return "void";
  if (type.kind === "func_proto") return `prototype with ${type.params.length} parameter(s)`;
  return type.name === "" ? type.kind : `${type.kind} ${type.name}`;
}

function where(module: string | undefined): string {
  return module === undefined ? "vmlinux" : `module ${module}`;
}
