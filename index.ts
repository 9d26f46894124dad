// tsbpf: a BPF ELF loader for Node.js. The package's public API.
//
//   const obj = loadObject(readFileSync("xdp_counter.o"));
//   const att = obj.attachXdp("veth0", { mode: "native" });
//   obj.map("stats").lookup(17);
//   att.detach(); obj.close();

import { load, type LoadOptions } from "./loader/load.js";
import { parseObject, type ParseOptions } from "./loader/spec.js";
import type { LoadedObject } from "./loader/object.js";

/** Parses and loads in one step: `loadObject(buf).attachXdp(ifindex)`. */
export function loadObject(bytes: Uint8Array, options: LoadOptions & ParseOptions = {}): LoadedObject {
  return load(parseObject(bytes, options), options);
}

export { parseObject, load };
export type { LoadOptions, ParseOptions };
export type { ObjectSpec, DataSectionSpec } from "./loader/spec.js";
export { ProgramSpec } from "./loader/programs.js";
export type { Reference, ReferenceKind } from "./loader/references.js";
export { matchSection, SECTION_DEFINITIONS, type SectionDefinition } from "./loader/section-names.js";
export { LoadedObject, Program, XdpAttachment, type AttachXdpOptions, type TestRunResult } from "./loader/object.js";
export type { MapSpec, MapPinning, MapSource } from "./maps/spec.js";
export { BpfMap } from "./maps/map.js";

export { parseElf, type ElfFile, type ElfSection, type ElfSymbol, type ElfRelocation } from "./elf/index.js";
export { parseBtf, Btf, type BtfType } from "./btf/index.js";
export { decodeInstructions, encodeInstructions, Instruction } from "./insn/instruction.js";
export { disassemble, formatInstruction } from "./insn/disasm.js";

export { queryXdp, listXdp, type XdpMode, type XdpInfo } from "./syscall/xdp.js";
export { withNetns } from "./syscall/netns.js";

export * from "./common/errors.js";
export { MapType, ProgramType, AttachType, MapFlags, ProgramFlags, UpdateFlags, XdpAction, nameOf } from "./common/uapi.js";
