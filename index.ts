// tsbpf: a BPF ELF loader for Node.js. The package's public API.
//
//   const obj = loadObject(readFileSync("xdp_counter.o"));
//   const att = obj.attachXdp("veth0", { mode: "native" });
//   obj.map("stats").lookup(17);
//   att.detach(); obj.close();

import { checkByteOrder, load, type LoadOptions } from "./loader/load.js";
import { elfIsLittleEndian } from "./elf/file.js";
import { parseObject, type ParseOptions } from "./loader/spec.js";
import type { LoadedObject } from "./loader/object.js";
import { objectFdById } from "./syscall/bpf-obj.js";
import { programInfo, type ProgramInfo } from "./syscall/info.js";

/** Parses and loads in one step: `loadObject(buf).attachXdp(ifindex)`. */
export function loadObject(bytes: Uint8Array, options: LoadOptions & ParseOptions = {}): LoadedObject {
  // The byte order first: parsing a foreign object may fail on something that only
  // looks wrong because it is read in the wrong order.
  checkByteOrder(elfIsLittleEndian(bytes));
  return load(parseObject(bytes, options), options);
}

/**
 * What the kernel reports about any loaded program, found by its global id (as `ip link`
 * and `bpftool prog show` list them): BPF_PROG_GET_FD_BY_ID, then BPF_OBJ_GET_INFO_BY_FD.
 */
export function programInfoById(id: number): ProgramInfo {
  const fd = objectFdById("prog", id);
  try {
    return programInfo(fd);
  } finally {
    fd.close();
  }
}

export { parseObject, load };
export type { ProgramInfo };
export type { LoadOptions, ParseOptions };
export type { ObjectSpec, DataSectionSpec } from "./loader/spec.js";
export { ProgramSpec } from "./loader/programs.js";
export type { Reference, ReferenceKind } from "./loader/references.js";
export { matchSection, SECTION_DEFINITIONS, type SectionDefinition } from "./loader/section-names.js";
export { LoadedObject, LoadedVariable, Program, XdpAttachment, unpin, type AttachXdpOptions, type TestRunResult } from "./loader/object.js";
export type { VariableSpec } from "./loader/variables.js";
export type { MapSpec, MapPinning, MapSource } from "./maps/spec.js";
export { pinPathFor } from "./loader/create-maps.js";
export { BpfMap, type LoadedMap } from "./maps/map.js";
export { btfCodec, codecsFor, type MapCodecs } from "./maps/btf-codec.js";

export { parseElf, type ElfFile, type ElfSection, type ElfSymbol, type ElfRelocation } from "./elf/index.js";
export { parseBtf, Btf, type BtfType, dumpBtfRaw, dumpBtfRawText, dumpBtfC, type DumpCOptions } from "./btf/index.js";
export { decodeInstructions, encodeInstructions, Instruction } from "./insn/instruction.js";
export { disassemble, formatInstruction, type Annotation, type SymbolRef } from "./insn/disasm.js";

export { queryXdp, listXdp, detachXdp, type XdpMode, type XdpInfo } from "./syscall/xdp.js";
export { withNetns } from "./syscall/netns.js";
export { onBpfFs, assertOnBpfFs } from "./syscall/bpffs.js";
export { loadKernelBtf, loadModuleBtf, kernelBtfModules } from "./loader/kernel-btf.js";
export {
  coreVerifierError,
  explainCore,
  explainPoisonedCall,
  formatCoreResult,
  kernelModuleTargets,
  relocateCore,
  resolveAttachTarget,
  type CoreResult,
  type ProgramCoreReport,
} from "./loader/core.js";

export * from "./common/errors.js";
export { MapType, ProgramType, AttachType, MapFlags, ProgramFlags, UpdateFlags, XdpAction, nameOf } from "./common/uapi.js";
