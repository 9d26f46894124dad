// load(): from an ObjectSpec to kernel objects. The order is the kernel's:
//   1. maps (BPF_MAP_CREATE, or reuse of a pinned one), then global data maps with their
//      initial contents written (and .rodata frozen),
//   2. per program: link its subprograms, put the map fds into its ld_imm64 instructions,
//      BPF_PROG_LOAD (with the verifier log on refusal).
// Everything created is owned by the LoadedObject; if any step fails, all of it is closed
// before the error leaves load(). The spec is never modified.

import { rmSync } from "node:fs";
import { endianness } from "node:os";
import { SpecError, VerifierError } from "../common/errors.js";
import { ProgramType } from "../common/uapi.js";
import { loadProgram } from "../syscall/prog-load.js";
import type { LoadedMap } from "../maps/map.js";
import { link } from "./link.js";
import { coreVerifierError, relocateCore, resolveAttachTarget, type CoreRelocation } from "./core.js";
import { loadKernelBtf } from "./kernel-btf.js";
import type { Btf } from "../btf/parse.js";
import type { Fd } from "../syscall/fd.js";
import { loadObjectBtf } from "./btf-load.js";
import { resolveReferences } from "./resolve.js";
import { resolveExterns, type LoadedExterns } from "./externs.js";
import type { ObjectSpec } from "./spec.js";
import type { ProgramSpec } from "./programs.js";
import { createMapFromSpec, createDataMap, type MapCreation } from "./create-maps.js";
import { LoadedObject, Program } from "./object.js";

export interface LoadOptions {
  /** bpffs directory for pinned maps (LIBBPF_PIN_BY_NAME, iproute2 PIN_GLOBAL_NS). Default /sys/fs/bpf. */
  pinRoot?: string;
  /** Names of the programs to load; default all entry programs. */
  programs?: readonly string[];
  /** Verifier log level (1, or 2 for every instruction's state) when a log is fetched. */
  logLevel?: number;
  /** Receives the verifier's log of each program that loads; by default a log is fetched only on failure. */
  onVerifierLog?: (program: string, log: string) => void;
  /** The kernel BTF that CO-RE relocations and tracing attach targets resolve against; default /sys/kernel/btf/vmlinux. */
  kernelBtf?: Btf;
  /**
   * Receives what the load did differently from what the object asks, and why (BTF the
   * kernel refused, a map created without BTF types). Default: console.warn.
   */
  onWarning?: (message: string) => void;
}

export function load(spec: ObjectSpec, options: LoadOptions = {}): LoadedObject {
  checkByteOrder(spec.littleEndian);
  const selected = selectPrograms(spec, options.programs);
  const maps = new Map<string, LoadedMap>();
  const dataMaps = new Map<string, LoadedMap>();
  const programs = new Map<string, Program>();
  const warn = options.onWarning ?? ((message: string) => console.warn(`tsbpf: ${message}`));
  const btfFd = loadObjectBtf(spec, warn);
  const creation: MapCreation = { pinRoot: options.pinRoot ?? "/sys/fs/bpf", pinned: [], btfFd, btf: spec.btf, warn, objectSha1: spec.sha1 };
  let externs: LoadedExterns | undefined;
  try {
    for (const mapSpec of spec.maps.values()) maps.set(mapSpec.name, createMapFromSpec(mapSpec, creation));
    for (const data of spec.dataSections.values()) {
      const map = createDataMap(data, spec.name);
      if (map !== undefined) dataMaps.set(data.name, map);
    }
    // Externs (loader/externs.ts): kconfig values in a ".kconfig" data map, ksyms and kfuncs by kernel BTF id.
    externs = resolveExterns(spec, { warn });
    if (externs.kconfigMap !== undefined) dataMaps.set(".kconfig", externs.kconfigMap);
    const context: ProgramContext = { spec, maps, dataMaps, externs, btfFd, options, kernelBtf: () => options.kernelBtf ?? loadKernelBtf() };
    for (const program of selected) programs.set(program.name, loadOneProgram(program, context));
    fillInitialValues(spec, maps, programs);
  } catch (error) {
    for (const p of programs.values()) p.close();
    for (const m of dataMaps.values()) m.close();
    for (const m of maps.values()) m.close();
    btfFd?.close();
    // A pin keeps its map alive: the maps this load pinned must go with it (reused pins stay).
    for (const path of creation.pinned) rmSync(path, { force: true });
    throw error;
  } finally {
    externs?.closeModuleBtfs();
  }
  return new LoadedObject(programs, maps, dataMaps, btfFd, spec.variables);
}

interface ProgramContext {
  readonly spec: ObjectSpec;
  readonly maps: ReadonlyMap<string, LoadedMap>;
  readonly dataMaps: ReadonlyMap<string, LoadedMap>;
  readonly externs: LoadedExterns;
  readonly btfFd: Fd | undefined;
  readonly options: LoadOptions;
  /** The kernel's BTF, read (once per process) only when a program needs it. */
  readonly kernelBtf: () => Btf;
}

/**
 * One program into the kernel: link its subprograms, apply CO-RE relocations against the
 * kernel's BTF, put map fds and extern values into its instructions, find its attach
 * target for tracing types, then BPF_PROG_LOAD.
 */
function loadOneProgram(program: ProgramSpec, context: ProgramContext): Program {
  const { spec, maps, dataMaps, externs, btfFd, options } = context;
  let linked = link(spec, program);
  let core: CoreRelocation | undefined;
  if ((linked.extInfo?.coreRelos.length ?? 0) > 0) {
    core = relocateCore(linked, spec.btf!, context.kernelBtf());
    linked = { ...linked, bytes: core.bytes };
  }
  // Reads the kernel's BTF only for the program types that attach to a BTF id.
  const attach = resolveAttachTarget(context.kernelBtf, program);
  if (attach?.module !== undefined) {
    throw new SpecError(`attaches to ${attach.name} in kernel module ${attach.module}; tsbpf resolves attach targets in vmlinux only`, {
      part: program.name,
    });
  }
  const ext = btfFd === undefined ? undefined : linked.extInfo;
  const insns = resolveReferences(linked, {
    mapFd: (name) => maps.get(name)?.fd.raw,
    dataFd: (section) => dataMaps.get(section)?.fd.raw,
    extern: (symbol) => externs.resolve(symbol),
  });
  try {
    const fd = loadProgram(
      {
        type: program.type,
        insns,
        license: program.license,
        name: program.name,
        flags: program.flags,
        expectedAttachType: program.expectedAttachType,
        kernVersion: program.kernelVersion,
        fdArray: externs.fdArray,
        attachBtfId: attach?.btfId,
        ...(ext === undefined || ext.funcInfo.length === 0 ? {} : { btfFd, funcInfo: ext.funcInfoRecords, lineInfo: ext.lineInfoRecords }),
      },
      {
        logLevel: options.logLevel,
        onLog: options.onVerifierLog === undefined ? undefined : (log) => options.onVerifierLog!(program.name, log),
      },
    );
    return new Program(program, fd);
  } catch (error) {
    // A CO-RE relocation the kernel could not satisfy poisons its instruction; when the
    // verifier reaches one, say which relocation it was.
    if (error instanceof VerifierError && core !== undefined) throw coreVerifierError(error, linked, core.results) ?? error;
    throw error;
  }
}

/** Prog arrays and maps of maps initialized in C (`.values = { [1] = &prog }`) get their fds. */
function fillInitialValues(spec: ObjectSpec, maps: ReadonlyMap<string, LoadedMap>, programs: ReadonlyMap<string, Program>): void {
  for (const mapSpec of spec.maps.values()) {
    for (const value of mapSpec.initialValues ?? []) {
      const target = value.kind === "program" ? programs.get(value.name) : maps.get(value.name);
      if (target === undefined) {
        throw new SpecError(
          `values[${value.index}] refers to ${value.kind} ${value.name}, which was not ${value.kind === "program" ? "loaded (select it too)" : "created"}`,
          { part: mapSpec.name },
        );
      }
      maps.get(mapSpec.name)!.update(value.index, target.fd.raw);
    }
  }
}

function selectPrograms(spec: ObjectSpec, names: readonly string[] | undefined): ProgramSpec[] {
  const chosen = names === undefined ? [...spec.programs.values()] : names.map((name) => {
    const program = spec.programs.get(name);
    if (program === undefined) {
      throw new SpecError(`no program named ${name}; the object has ${[...spec.programs.keys()].join(", ") || "none"}`, { part: name });
    }
    return program;
  });
  for (const program of chosen) {
    if (program.type === ProgramType.EXT) {
      throw new SpecError(
        `section "${program.section}" makes an extension program (freplace), which the kernel loads only together with ` +
          "the program whose function it replaces (attach_prog_fd) and that function's BTF id; tsbpf cannot set them yet: " +
          "leave it out with { programs: [...] }",
        { part: program.name },
      );
    }
    if (program.type === ProgramType.STRUCT_OPS) {
      throw new SpecError(
        `section "${program.section}" makes a struct_ops program, which the kernel loads only for a member of a kernel struct ` +
          "(attach_btf_id, expected_attach_type: the member's index) that a struct_ops map in .struct_ops names; tsbpf does not " +
          "create struct_ops maps yet: leave it out with { programs: [...] }",
        { part: program.name },
      );
    }
    if (program.type === ProgramType.UNSPEC) {
      throw new SpecError(
        `section "${program.section}" does not say what kind of program this is; set spec.programs.get("${program.name}").type before loading`,
        { part: program.name },
      );
    }
  }
  return chosen;
}

/** Refuses an object of the other byte order, naming the mismatch and the fix. */
export function checkByteOrder(littleEndian: boolean): void {
  const host = endianness() === "LE";
  if (littleEndian !== host) {
    throw new SpecError(
      `the object is ${littleEndian ? "little" : "big"}-endian but this machine is ${host ? "little" : "big"}-endian; ` +
        `compile it with -target ${host ? "bpfel" : "bpfeb"} (or plain -target bpf on this machine)`,
      { part: "ELF header" },
    );
  }
}
