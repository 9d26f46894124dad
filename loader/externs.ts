// Resolving an object's externs against the running kernel, once per load, before any
// program is linked:
//
//   kconfig   values computed (externs-kconfig.ts) and written into one array map
//             ".kconfig" of a single element, read-only for programs and frozen, as libbpf
//             makes it; programs read them through ld_imm64 BPF_PSEUDO_MAP_VALUE + offset.
//   ksyms     kernel BTF ids or /proc/kallsyms addresses (externs-ksym.ts).
//   kfuncs    kernel BTF ids. A kfunc of a module is named by its BTF id *and* the module's
//             BTF: the call's `off` is an index into the fd_array of BPF_PROG_LOAD, where
//             that module's BTF fd sits (index 0 is never used: off 0 means vmlinux).
//
// An extern the kernel lacks is 0 when declared __weak; when strong, it is recorded with
// the reason, and resolve.ts throws a RelocationError at the first instruction that uses
// it (so that it names the program and the instruction).

import type { LoadedMap } from "../maps/map.js";
import type { Fd } from "../syscall/fd.js";
import { createDataMap } from "./create-maps.js";
import { objectExterns, type ExternSpec, type KconfigExtern, type KsymExtern } from "./externs-spec.js";
import { kconfigContents } from "./externs-kconfig.js";
import { resolveKfunc, resolveTypedKsym, resolveTypelessKsym, type KsymResolution } from "./externs-ksym.js";
import { runningKernel, type KernelFacts } from "./externs-kernel.js";
import type { ResolvedExtern } from "./resolve.js";
import type { ObjectSpec } from "./spec.js";

export interface LoadedExterns {
  /** The ".kconfig" map, if a program reads kconfig values; its owner is whoever takes it from here. */
  readonly kconfigMap: LoadedMap | undefined;
  /** fd_array for BPF_PROG_LOAD when a program calls module kfuncs (index 0 unused), else undefined. */
  readonly fdArray: readonly number[] | undefined;
  /** How the extern `name` resolved; undefined for a name the object does not use. */
  resolve(name: string): ResolvedExtern | undefined;
  /** Closes the module BTF fds; call it once the programs are loaded (the kernel holds its own references). */
  closeModuleBtfs(): void;
}

export interface ExternOptions {
  readonly warn: (message: string) => void;
  /** Where kernel facts come from; default the running kernel. */
  readonly kernel?: KernelFacts;
}

const NOTHING: LoadedExterns = { kconfigMap: undefined, fdArray: undefined, resolve: () => undefined, closeModuleBtfs: () => {} };

/** Resolves every extern of `spec`. Creates the .kconfig map; closes what it opened if it fails. */
export function resolveExterns(spec: ObjectSpec, options: ExternOptions): LoadedExterns {
  const { externs, kconfigSize } = objectExterns(spec);
  if (externs.size === 0) return NOTHING;
  const kernel = options.kernel ?? runningKernel();
  const resolved = new Map<string, ResolvedExtern>();
  const modules = new ModuleBtfs(kernel);
  let kconfigMap: LoadedMap | undefined;
  try {
    kconfigMap = createKconfigMap(spec, externs, kconfigSize, kernel, options, resolved);
    resolveKsyms(spec, externs, kernel, modules, resolved);
  } catch (error) {
    kconfigMap?.close();
    modules.close();
    throw error;
  }
  return {
    kconfigMap,
    fdArray: modules.fdArray(),
    resolve: (name) => resolved.get(name),
    closeModuleBtfs: () => modules.close(),
  };
}

function createKconfigMap(
  spec: ObjectSpec,
  externs: ReadonlyMap<string, ExternSpec>,
  size: number,
  kernel: KernelFacts,
  options: ExternOptions,
  resolved: Map<string, ResolvedExtern>,
): LoadedMap | undefined {
  const kconfig = [...externs.values()].filter((e): e is KconfigExtern => e.kind === "kconfig");
  if (kconfig.length === 0) return undefined;
  const { bytes, unresolved } = kconfigContents(kconfig, size, kernel, spec.littleEndian, options.warn);
  // Named like libbpf's: "<object>.kconfig" (create-maps.ts, dataMapName).
  const map = createDataMap({ name: ".kconfig", size, contents: bytes, readonly: true }, spec.name)!;
  for (const extern of kconfig) {
    const reason = unresolved.get(extern.name);
    resolved.set(extern.name, reason === undefined ? { kind: "map-value", fd: map.fd.raw, offset: extern.offset } : { kind: "unresolved", reason });
  }
  return map;
}

function resolveKsyms(
  spec: ObjectSpec,
  externs: ReadonlyMap<string, ExternSpec>,
  kernel: KernelFacts,
  modules: ModuleBtfs,
  resolved: Map<string, ResolvedExtern>,
): void {
  const btf = spec.btf!; // objectExterns refuses externs without BTF
  // Every ksym variable, typed or not, needs an address from kallsyms (externs-ksym.ts): one read for all.
  const variables = [...externs.values()].filter((e): e is KsymExtern => e.kind === "ksym");
  const addresses = variables.length === 0 ? new Map<string, bigint[]>() : kernel.kallsyms(new Set(variables.map((e) => e.name)));
  for (const extern of externs.values()) {
    let resolution: KsymResolution;
    if (extern.kind === "kfunc") resolution = resolveKfunc(btf, extern, kernel);
    else if (extern.kind === "ksym") {
      const listed = addresses.get(extern.name);
      resolution = extern.typeId === 0 ? resolveTypelessKsym(extern, listed, kernel) : resolveTypedKsym(btf, extern, kernel, listed);
    } else continue;
    resolved.set(extern.name, resolution.kind === "btf-id" ? modules.locate(resolution) : resolution);
  }
}

/** The module BTF fds that resolved externs point at, opened once per module. */
class ModuleBtfs {
  private readonly fds = new Map<string, Fd>();
  /** Module name -> index in fd_array, for modules whose kfuncs are called. */
  private readonly indexes = new Map<string, number>();

  constructor(private readonly kernel: KernelFacts) {}

  locate(found: Extract<KsymResolution, { kind: "btf-id" }>): ResolvedExtern {
    const { id, func, module } = found;
    if (module === undefined) return { kind: "btf-id", id, func, btfFd: 0, fdIndex: 0 };
    let fd = this.fds.get(module);
    if (fd === undefined) this.fds.set(module, (fd = this.kernel.moduleBtfFd(module)));
    let index = 0;
    if (func) {
      index = this.indexes.get(module) ?? this.indexes.size + 1;
      this.indexes.set(module, index);
    }
    return { kind: "btf-id", id, func, btfFd: fd.raw, fdIndex: index };
  }

  fdArray(): number[] | undefined {
    if (this.indexes.size === 0) return undefined;
    const array = new Array<number>(this.indexes.size + 1).fill(0);
    for (const [module, index] of this.indexes) array[index] = this.fds.get(module)!.raw;
    return array;
  }

  close(): void {
    for (const fd of this.fds.values()) fd.close();
    this.fds.clear();
  }
}
