// parseObject: from the bytes of a BPF ELF object to an ObjectSpec, a pure description of
// what the object contains. Nothing here talks to the kernel or reads the environment:
// the same bytes always give the same spec (inspect and edit it, then load it).

import { createHash } from "node:crypto";
import { SpecError } from "../common/errors.js";
import { MapType, ProgramType } from "../common/uapi.js";
import { copyAll } from "../common/slab.js";
import { decodeAscii } from "../common/reader.js";
import { parseBtfExt, extInfoForFunction, type Btf, type BtfExt } from "../btf/index.js";
import { EM_BPF, SectionFlags, SectionType, isExecutable, parseElf, type ElfFile, type ElfSection } from "../elf/index.js";
import { readBtfMaps } from "../maps/btf-maps.js";
import { readMapInitialValues } from "../maps/btf-map-values.js";
import { annotatedKeyValueTypes, readLegacyMaps } from "../maps/legacy-maps.js";
import type { MapSpec } from "../maps/spec.js";
import { objectBtf, type ObjectBtf } from "./object-btf.js";
import { ProgramSpec, findFunctions } from "./programs.js";
import { collectReferences, withSameSectionCalls, type CallTargets, type CodeSection, type ReferenceContext } from "./references.js";
import { readVariables, type VariableSpec } from "./variables.js";

/** A global data section (.data, .rodata, .bss, .data.*, .rodata.*): becomes an array map at load. */
export interface DataSectionSpec {
  name: string;
  /** Size in bytes; for .bss there are no bytes in the file, only this size. */
  size: number;
  /** Initial contents (zero-filled for .bss). */
  contents: Uint8Array;
  readonly: boolean;
}

export interface ObjectSpec {
  /** The object's name (ParseOptions.name, e.g. the file name without ".o"); prefixes global data map names. */
  name: string;
  /**
   * SHA-1 of the object's bytes as parseObject was given them, in hex, for objects with a
   * legacy `maps` section: iproute2 pins their PIN_OBJECT_NS maps under tc/<this>, and so does
   * the loader. Undefined for other objects, which have no such pinning (the spec keeps no
   * copy of the whole file to hash later; hash the file yourself if you want its SHA-1).
   */
  sha1: string | undefined;
  /** Entry-point programs by name (functions in program sections). */
  programs: Map<string, ProgramSpec>;
  /** Functions in .text, linked into the programs that call them. */
  subprograms: Map<string, ProgramSpec>;
  maps: Map<string, MapSpec>;
  dataSections: Map<string, DataSectionSpec>;
  /** Contents of the "license" section ("GPL", "Dual BSD/GPL"...); "" when absent. */
  license: string;
  /** The "version" section (LINUX_VERSION_CODE), 0 when absent: only kprobes on kernels before 5.0 needed it. */
  kernelVersion: number;
  littleEndian: boolean;
  /** The object's .BTF section, parsed on first use; undefined when there is none. */
  readonly btf: Btf | undefined;
  /** Raw .BTF.ext bytes, for func_info, line_info and CO-RE relocations. */
  btfExt: Uint8Array | undefined;
  /**
   * Global variables of the data sections by name, read and set through BTF: set a
   * `const volatile` one here to configure the program before load.
   */
  readonly variables: ReadonlyMap<string, VariableSpec>;
}

export interface ParseOptions {
  /** A name for the object, as libbpf takes it from the file name; "" by default. */
  name?: string;
  /** Accept objects whose e_machine is not EM_BPF (some tools write 0). */
  anyMachine?: boolean;
}

export function parseObject(input: Uint8Array, options: ParseOptions = {}): ObjectSpec {
  // The caller's bytes are read during this call only. What the spec keeps of them (code,
  // .BTF, .BTF.ext, initial data) is copied once, side by side (common/slab.ts), the way
  // libbpf copies what it keeps before it lets the file go: the spec never sees later changes
  // to the caller's buffer, and holds no byte it does not describe (DWARF, symbols and
  // relocations are most of an object file).
  const elf = parseElf(input);
  if (elf.machine !== EM_BPF && !options.anyMachine) {
    throw new SpecError(`e_machine is ${elf.machine}, not EM_BPF (247): this is not a BPF object`, { part: "ELF header" });
  }

  // One pass over the sections finds every one the spec is made of.
  let btfSection: ElfSection | undefined;
  let extSection: ElfSection | undefined;
  let licenseSection: ElfSection | undefined;
  let versionSection: ElfSection | undefined;
  const mapSections: ElfSection[] = [];
  const dataSectionList: ElfSection[] = [];
  const dataSectionIndices = new Set<number>();
  // Sections that can hold variables, for the DATASEC fixup: only these are SHF_ALLOC.
  const allocated: ElfSection[] = [];
  // Sections whose bytes the spec keeps: code, .BTF, .BTF.ext and initial data.
  const kept: ElfSection[] = [];
  for (const section of elf.sections) {
    // Relocation, symbol and string tables are found by type, not by name (and their names,
    // decoded on first use, then stay undecoded).
    if (section.type !== SectionType.PROGBITS && section.type !== SectionType.NOBITS && (section.flags & SectionFlags.ALLOC) === 0) continue;
    if ((section.flags & SectionFlags.ALLOC) !== 0) allocated.push(section);
    if (isExecutable(section)) {
      kept.push(section);
      continue;
    }
    switch (section.name) {
      case ".BTF": if (btfSection === undefined) kept.push((btfSection = section)); continue;
      case ".BTF.ext": if (extSection === undefined) kept.push((extSection = section)); continue;
      case "license": licenseSection ??= section; continue;
      case "version": versionSection ??= section; continue;
      case ".maps":
      case "maps": mapSections.push(section); continue;
    }
    if (isDataSection(section)) {
      if (section.size > MAX_DATA_SECTION) {
        throw new SpecError(`global data section of ${section.size} bytes cannot become a map value (at most ${MAX_DATA_SECTION})`, {
          part: section.name,
        });
      }
      dataSectionIndices.add(section.index);
      dataSectionList.push(section);
      if (section.type !== SectionType.NOBITS) kept.push(section);
    }
  }
  const license = readLicense(licenseSection);
  const kernelVersion = readVersion(versionSection, elf.littleEndian);

  // The private copies, by section index.
  const copies = copyAll(kept.map((section) => section.data));
  const keptBytes: Uint8Array[] = [];
  for (let i = 0; i < kept.length; i++) keptBytes[kept[i].index] = copies[i];
  const dataSections = new Map<string, DataSectionSpec>();
  for (const section of dataSectionList) dataSections.set(section.name, new ObjectDataSection(section, keptBytes[section.index]));

  // The BTF is read now, while the file is at hand: the DATASEC fixup needs its symbols. An
  // object that can do without BTF at parse (no map definitions to read from it) still
  // parses when its BTF is broken; reading `btf` then throws what went wrong.
  let btf: ObjectBtf | undefined;
  let btfFailure: { error: unknown } | undefined;
  if (btfSection !== undefined) {
    try {
      btf = objectBtf(elf, keptBytes[btfSection.index], allocated);
    } catch (error) {
      btfFailure = { error };
    }
  }
  const getObjectBtf = (): ObjectBtf | undefined => {
    if (btfFailure !== undefined) throw btfFailure.error;
    return btf;
  };

  const maps = new Map<string, MapSpec>();
  const mapSectionIndices = new Set<number>();
  let legacyMaps = false;
  for (const section of mapSections) {
    mapSectionIndices.add(section.index);
    if (section.name === "maps") {
      const legacy = readLegacyMaps(elf, section);
      for (const map of legacy) addMap(maps, map);
      const objectBtf = legacy.length > 0 ? getObjectBtf() : undefined;
      if (objectBtf !== undefined) annotatedKeyValueTypes(objectBtf.btf, legacy);
      legacyMaps = true;
      continue;
    }
    const objectBtf = getObjectBtf();
    if (objectBtf === undefined) throw new SpecError("the object has BTF-defined maps but no .BTF section to describe them", { part: ".maps" });
    for (const map of readBtfMaps(objectBtf.btf, ".maps", objectBtf.datasecs.get(section.index))) addMap(maps, map);
    readMapInitialValues(elf, section, objectBtf.btf, maps);
  }

  const extBytes = extSection === undefined ? undefined : keptBytes[extSection.index];
  let ext: BtfExt | undefined;
  const extInfo = (sectionName: string, start: number, end: number) => () => {
    const objectBtf = getObjectBtf()?.btf;
    if (extBytes === undefined || objectBtf === undefined) return undefined;
    ext ??= parseBtfExt(extBytes);
    return extInfoForFunction(ext, objectBtf, sectionName, start, end);
  };

  const code: CodeSection[] = [];
  for (const section of kept) if (isExecutable(section)) code[section.index] = { index: section.index, name: section.name, bytes: keptBytes[section.index] };
  const functions = findFunctions(elf, code);
  const calls: CallTargets = { littleEndian: elf.littleEndian, functions };
  const ctx: ReferenceContext = { elf, calls, mapSections: mapSectionIndices, dataSections: dataSectionIndices };
  const programs = new Map<string, ProgramSpec>();
  const subprograms = new Map<string, ProgramSpec>();
  for (const [sectionIndex, extents] of functions) {
    const section = code[sectionIndex];
    const isSubprogram = section.name === ".text";
    const table = isSubprogram ? subprograms : programs;
    const relocated = collectReferences(ctx, elf.sections[sectionIndex], extents);
    for (let i = 0; i < extents.length; i++) {
      const fn = extents[i];
      const program = new ProgramSpec({
        name: fn.name,
        section: section.name,
        isSubprogram,
        linkage: fn.symbol.binding === 0 ? "static" : "global",
        license,
        kernelVersion,
        bytes: section.bytes.subarray(fn.start, fn.end),
        littleEndian: elf.littleEndian,
        sectionOffset: fn.start,
        references: () => withSameSectionCalls(calls, fn, relocated[i]),
        extInfo: extInfo(section.name, fn.start, fn.end),
      });
      if (!addNew(table, fn.name, program)) {
        // Objects linked from several files can hold two static functions of one name; tsbpf
        // finds programs and call targets by name, so it cannot tell them apart.
        throw new SpecError(
          `two functions are named ${fn.name} (static functions of one name from different files, linked into one object?): ` +
            "tsbpf tells functions apart by name; rename one of them",
          { part: section.name },
        );
      }
    }
  }
  rejectCodeOutsideFunctions(elf, functions);
  if (legacyMaps) linkTailCallSections(programs, maps);

  return new ParsedObjectSpec({
    name: options.name ?? "",
    // iproute2 names the pin directory of PIN_OBJECT_NS maps after the file's SHA-1: hashed
    // now, from the bytes as given, for objects whose maps can be pinned so (iproute2's).
    sha1: legacyMaps ? createHash("sha1").update(input).digest("hex") : undefined,
    programs,
    subprograms,
    maps,
    dataSections,
    license,
    kernelVersion,
    littleEndian: elf.littleEndian,
    btfExt: extBytes,
    getBtf: () => getObjectBtf()?.btf,
  });
}

/**
 * The ObjectSpec parseObject returns. A class, not an object literal with getters: V8 builds
 * a literal with accessors through a slow path on every call, and (measured in bench/parse)
 * its garbage then survives young-generation collections, which tripled the time of a parse.
 * Its caches are ordinary (TypeScript-private) fields, not #private ones, so that an object
 * made with Object.create(spec) to override a field still reaches them through its prototype.
 */
class ParsedObjectSpec implements ObjectSpec {
  name: string;
  sha1: string | undefined;
  programs: Map<string, ProgramSpec>;
  subprograms: Map<string, ProgramSpec>;
  maps: Map<string, MapSpec>;
  dataSections: Map<string, DataSectionSpec>;
  license: string;
  kernelVersion: number;
  littleEndian: boolean;
  btfExt: Uint8Array | undefined;
  private readonly getBtf: () => Btf | undefined;
  private variablesByName: Map<string, VariableSpec> | undefined;

  constructor(
    init: Omit<ParsedObjectSpec, "btf" | "variables"> & { getBtf: () => Btf | undefined },
  ) {
    this.name = init.name;
    this.sha1 = init.sha1;
    this.programs = init.programs;
    this.subprograms = init.subprograms;
    this.maps = init.maps;
    this.dataSections = init.dataSections;
    this.license = init.license;
    this.kernelVersion = init.kernelVersion;
    this.littleEndian = init.littleEndian;
    this.btfExt = init.btfExt;
    this.getBtf = init.getBtf;
  }

  get btf(): Btf | undefined {
    return this.getBtf();
  }

  get variables(): ReadonlyMap<string, VariableSpec> {
    return (this.variablesByName ??= readVariables(this.getBtf(), this.dataSections));
  }
}

/** A data section of the object; .bss has no bytes in the file, so its zeroes are allocated only when someone reads them. */
class ObjectDataSection implements DataSectionSpec {
  name: string;
  size: number;
  readonly: boolean;
  #bytes: Uint8Array | undefined;

  /** `bytes`: the private copy of the section's bytes; undefined for SHT_NOBITS. */
  constructor(section: ElfSection, bytes: Uint8Array | undefined) {
    this.name = section.name;
    this.size = section.size;
    this.readonly = (section.flags & SectionFlags.WRITE) === 0;
    this.#bytes = bytes;
  }

  get contents(): Uint8Array {
    return (this.#bytes ??= new Uint8Array(this.size));
  }

  set contents(value: Uint8Array) {
    this.#bytes = value;
  }
}

/** A data section becomes one array map value; value_size is a u32 and the kernel allocates it whole. */
const MAX_DATA_SECTION = 1 << 30;

/** iproute2's tail-call sections: "<map id>/<key>", each number decimal or 0x hex (what C's %i reads). */
const TAIL_CALL_SECTION = /^(0x[0-9a-f]+|\d+)\/(0x[0-9a-f]+|\d+)$/i;

/**
 * iproute2's tail calls (lib/bpf_legacy.c, bpf_fill_prog_arrays): a program in a section named
 * "<id>/<key>" starts in slot <key> of the prog array whose struct bpf_elf_map has that id, and
 * is loaded with the type of the object's other programs (iproute2 loads every program of an
 * object with the type of the section it was asked for). A section whose id names no prog
 * array is left out of every map, as iproute2 leaves it.
 */
function linkTailCallSections(programs: Map<string, ProgramSpec>, maps: Map<string, MapSpec>): void {
  const tailCalls = [...programs.values()].filter((program) => TAIL_CALL_SECTION.test(program.section));
  if (tailCalls.length === 0) return;
  // The type the other programs agree on, if they do.
  const others = [...programs.values()].filter((program) => !TAIL_CALL_SECTION.test(program.section) && program.type !== ProgramType.UNSPEC);
  const shared = others.length > 0 && others.every((p) => p.type === others[0].type && p.expectedAttachType === others[0].expectedAttachType) ? others[0] : undefined;
  for (const program of tailCalls) {
    const [, id, key] = TAIL_CALL_SECTION.exec(program.section)!.map(Number);
    if (program.type === ProgramType.UNSPEC && shared !== undefined) {
      program.type = shared.type;
      program.expectedAttachType = shared.expectedAttachType;
    }
    const array = [...maps.values()].find((map) => map.iproute2?.id === id && map.type === MapType.PROG_ARRAY);
    if (array === undefined) continue;
    if (key >= array.maxEntries) {
      throw new SpecError(`tail-call section "${program.section}" asks for slot ${key} of ${array.name}, which has ${array.maxEntries}`, { part: program.name });
    }
    (array.initialValues ??= []).push({ index: key, kind: "program", name: program.name });
  }
}

function addMap(maps: Map<string, MapSpec>, map: MapSpec): void {
  if (!addNew(maps, map.name, map)) throw new SpecError(`two maps are named ${map.name}`, { part: map.section });
}

/**
 * Adds `value` under `key`; false when the key was there already (the map then holds `value`:
 * the caller throws). One hash of the key instead of two (has, then set).
 */
function addNew<V>(map: Map<string, V>, key: string, value: V): boolean {
  const size = map.size;
  map.set(key, value);
  return map.size !== size;
}

/** .data, .rodata, .bss and their suffixed variants, including string literal sections (.rodata.str1.1). */
function isDataSection(section: ElfSection): boolean {
  if ((section.flags & SectionFlags.ALLOC) === 0 || isExecutable(section)) return false;
  if (section.type !== SectionType.PROGBITS && section.type !== SectionType.NOBITS) return false;
  return /^\.(data|rodata|bss)(\.|$)/.test(section.name);
}

function readLicense(section: ElfSection | undefined): string {
  if (section === undefined) return "";
  const end = section.data.indexOf(0);
  return decodeAscii(section.data, 0, end < 0 ? section.data.length : end);
}

function readVersion(section: ElfSection | undefined, littleEndian: boolean): number {
  if (section === undefined) return 0;
  if (section.data.byteLength !== 4) throw new SpecError(`the version section is ${section.size} bytes, expected a 4-byte LINUX_VERSION_CODE`, { part: "version" });
  return new DataView(section.data.buffer, section.data.byteOffset, 4).getUint32(0, littleEndian);
}

/** An executable section with code but no function symbol would be silently dropped: refuse it. */
function rejectCodeOutsideFunctions(elf: ElfFile, functions: Map<number, unknown>): void {
  for (const section of elf.sections) {
    if (isExecutable(section) && section.size > 0 && !functions.has(section.index)) {
      throw new SpecError("the section holds code but no function symbol names it, so no program can be made of it", {
        part: section.name,
      });
    }
  }
}
