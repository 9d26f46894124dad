// load(): from an ObjectSpec to kernel objects. The order is the kernel's:
//   1. maps (BPF_MAP_CREATE, or reuse of a pinned one), then global data maps with their
//      initial contents written (and .rodata frozen),
//   2. per program: link its subprograms, put the map fds into its ld_imm64 instructions,
//      BPF_PROG_LOAD (with the verifier log on refusal).
// Everything created is owned by the LoadedObject; if any step fails, all of it is closed
// before the error leaves load(). The spec is never modified.

import { rmSync } from "node:fs";
import { endianness } from "node:os";
import { RelocationError, SpecError } from "../common/errors.js";
import { ProgramType } from "../common/uapi.js";
import { loadProgram } from "../syscall/prog-load.js";
import type { LoadedMap } from "../maps/map.js";
import { link, type LinkedProgram } from "./link.js";
import { loadObjectBtf } from "./btf-load.js";
import { coreReloKindName } from "../btf/ext.js";
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
  const creation: MapCreation = { pinRoot: options.pinRoot ?? "/sys/fs/bpf", pinned: [], btfFd, btf: spec.btf, warn, objectSha1: () => spec.sha1 };
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
    for (const program of selected) {
      const linked = link(spec, program);
      rejectCoreRelocations(linked);
      const ext = btfFd === undefined ? undefined : linked.extInfo;
      const insns = resolveReferences(linked, {
        mapFd: (name) => maps.get(name)?.fd.raw,
        dataFd: (section) => dataMaps.get(section)?.fd.raw,
        extern: (symbol) => externs!.resolve(symbol),
      });
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
          ...(ext === undefined || ext.funcInfo.length === 0
            ? {}
            : { btfFd, funcInfo: ext.funcInfoRecords, lineInfo: ext.lineInfoRecords }),
        },
        {
          logLevel: options.logLevel,
          onLog: options.onVerifierLog === undefined ? undefined : (log) => options.onVerifierLog!(program.name, log),
        },
      );
      programs.set(program.name, new Program(program, fd));
    }
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

/**
 * CO-RE relocations rewrite field offsets for the running kernel's types. Loading without
 * applying them would run the program with the offsets of the compiler's headers: refuse.
 */
function rejectCoreRelocations(linked: LinkedProgram): void {
  const relocation = linked.extInfo?.coreRelos[0];
  if (relocation === undefined) return;
  throw new RelocationError(
    `has ${linked.extInfo!.coreRelos.length} CO-RE relocation(s) (the first: ${coreReloKindName(relocation.kind)}, access string ${relocation.accessString}); ` +
      "tsbpf does not apply CO-RE relocations yet, and the program would read wrong offsets without them",
    { program: linked.program.name, instruction: relocation.insn, symbol: `type [${relocation.typeId}]` },
  );
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
