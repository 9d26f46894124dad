// The BPF objects the parser suites run over, and what tools we did not write say about them.
//
// Objects (each once, sorted by path):
// - xdp-tools / xdp-tests (Debian): /usr/lib/x86_64-linux-gnu/bpf/*.o and /usr/libexec/xdp-tools/*.o
// - cilium/ebpf's test objects (Debian's golang-github-cilium-ebpf-dev): every *.elf under
//   /usr/share/gocode/src/github.com/cilium/ebpf, little-endian (-el) and big-endian (-eb)
// - our own fixtures: test/progs/build/*.o (compiled by vitest's globalSetup)
//
// Oracles, run once per object and memoized for the life of the test file:
// - `llvm-readelf --elf-output-style=JSON -h -S -s`: header, section table and symbol table
//   with raw numbers (LLVM 14 prints JSON for these; its JSON relocation output is broken,
//   so relocations come from the GNU text of `llvm-readelf -r --wide`);
// - `llvm-objdump -d --no-show-raw-insn`: disassembly, one line per instruction;
// - `bpftool -j btf dump file`: the object's BTF as libbpf reads it.

import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { PROGS_BUILD_DIR, REPO_ROOT, fixtureNames, progPath } from "./progs.js";
import { parseBtf, type Btf } from "../../btf/parse.js";
import { parseElf } from "../../elf/index.js";

export type ObjectOrigin = "xdp-tools" | "cilium" | "fixture";

export interface TestObject {
  /** Short unique label for test names, e.g. "xdp-tools/xdpfilt_alw_all.o". */
  readonly label: string;
  readonly path: string;
  readonly origin: ObjectOrigin;
}

export const XDP_TOOLS_DIRS = ["/usr/lib/x86_64-linux-gnu/bpf", "/usr/libexec/xdp-tools"];
export const CILIUM_ROOT = "/usr/share/gocode/src/github.com/cilium/ebpf";

function filesIn(dir: string, suffix: string, recursive: boolean): string[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && recursive) found.push(...filesIn(path, suffix, true));
    // cilium ships loader-el.elf as a symlink to loader-clang-14-el.elf: follow file links.
    else if (entry.name.endsWith(suffix) && (entry.isFile() || (entry.isSymbolicLink() && statSync(path).isFile()))) found.push(path);
  }
  return found.sort();
}

/** xdp-tools' objects (Debian packages xdp-tools and xdp-tests). */
export function xdpToolsObjects(): TestObject[] {
  return XDP_TOOLS_DIRS.flatMap((dir) => filesIn(dir, ".o", false)).map((path) => ({
    label: `xdp-tools/${basename(path)}`,
    path,
    origin: "xdp-tools" as const,
  }));
}

/** cilium/ebpf's test objects, both byte orders. */
export function ciliumObjects(): TestObject[] {
  return filesIn(CILIUM_ROOT, ".elf", true).map((path) => ({
    label: `cilium/${path.slice(CILIUM_ROOT.length + 1)}`,
    path,
    origin: "cilium" as const,
  }));
}

/** A cilium test object by file name, e.g. ciliumObject("loader-el.elf"); throws if absent. */
export function ciliumObject(name: string): string {
  const found = ciliumObjects().find((o) => basename(o.path) === name);
  if (found === undefined) throw new Error(`cilium test object ${name} is not installed under ${CILIUM_ROOT}`);
  return found.path;
}

/** An xdp-tools object by file name, e.g. xdpToolsObject("xdpfilt_alw_all.o"); throws if absent. */
export function xdpToolsObject(name: string): string {
  const found = xdpToolsObjects().find((o) => basename(o.path) === name);
  if (found === undefined) throw new Error(`xdp-tools object ${name} is not installed under ${XDP_TOOLS_DIRS.join(" or ")}`);
  return found.path;
}

/** Our compiled fixtures (test/progs/build/NAME.o). */
export function fixtureObjects(): TestObject[] {
  return fixtureNames().map((name) => ({ label: `fixture/${name}.o`, path: progPath(name), origin: "fixture" as const }));
}

/** Every object the parser suites check, Debian's first. */
export function allObjects(): TestObject[] {
  return [...xdpToolsObjects(), ...ciliumObjects(), ...fixtureObjects()];
}

/** The .BTF section of every test object that has one, freshly parsed, with the object's label. */
export function allObjectBtfs(): { label: string; btf: Btf }[] {
  const found: { label: string; btf: Btf }[] = [];
  for (const object of allObjects()) {
    const section = parseElf(readFileSync(object.path)).section(".BTF");
    if (section !== undefined) found.push({ label: object.label, btf: parseBtf(section.data) });
  }
  return found;
}

/** Absolute build directory of the fixtures (for messages). */
export const FIXTURE_BUILD_DIR = join(REPO_ROOT, PROGS_BUILD_DIR);

// ---------------------------------------------------------------------------------------
// Tool runs, memoized per path.

const memo = new Map<string, unknown>();

function cached<T>(key: string, compute: () => T): T {
  if (!memo.has(key)) memo.set(key, compute());
  return memo.get(key) as T;
}

function run(tool: string, args: string[]): string {
  return execFileSync(tool, args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
}

/** A value with LLVM's printed name and the raw number from the file. */
export interface Named {
  readonly Value: string;
  readonly RawValue: number;
}

export interface ReadelfJsonSection {
  readonly Index: number;
  readonly Name: Named;
  readonly Type: Named;
  readonly Flags: { readonly RawFlags: number };
  readonly Address: number;
  readonly Offset: number;
  readonly Size: number;
  readonly Link: number;
  readonly Info: number;
  readonly AddressAlignment: number;
  readonly EntrySize: number;
}

export interface ReadelfJsonSymbol {
  readonly Name: Named;
  readonly Value: number;
  readonly Size: number;
  readonly Binding: Named;
  readonly Type: Named;
  readonly Other: number;
  /** RawValue is st_shndx as stored (0 undefined, 0xfff1 absolute, ...). */
  readonly Section: Named;
}

export interface ReadelfJson {
  readonly header: {
    readonly Ident: { readonly Class: Named; readonly DataEncoding: Named };
    readonly Type: string;
    readonly Machine: Named;
    readonly SectionHeaderOffset: number;
    readonly SectionHeaderEntrySize: number;
    /** LLVM prints these two as strings. */
    readonly SectionHeaderCount: string;
    readonly StringTableSectionIndex: string;
  };
  readonly sections: readonly ReadelfJsonSection[];
  /** In symbol-table order: symbols[i] is symbol index i. */
  readonly symbols: readonly ReadelfJsonSymbol[];
}

/** llvm-readelf's JSON view of the header, sections and symbols. */
export function readelfJson(path: string): ReadelfJson {
  return cached(`readelf-json:${path}`, () => {
    const parsed = JSON.parse(run("llvm-readelf", ["--elf-output-style=JSON", "-h", "-S", "-s", path])) as Record<string, unknown>[];
    const body = Object.values(parsed[0]!)[0] as {
      ElfHeader: ReadelfJson["header"];
      Sections: { Section: ReadelfJsonSection }[];
      Symbols?: { Symbol: ReadelfJsonSymbol }[];
    };
    return {
      header: body.ElfHeader,
      sections: body.Sections.map((s) => s.Section),
      symbols: (body.Symbols ?? []).map((s) => s.Symbol),
    };
  });
}

export interface ReadelfRelocation {
  readonly offset: number;
  /** r_info >> 32 */
  readonly symbolIndex: number;
  /** r_info & 0xffffffff */
  readonly type: number;
  /** LLVM's name of the type, e.g. "R_BPF_64_64". */
  readonly typeName: string;
  /** The name LLVM prints: the symbol's name, or its section's name for a section symbol. */
  readonly symbolName: string;
}

export interface ReadelfRelocationSection {
  readonly name: string;
  readonly fileOffset: number;
  readonly entries: readonly ReadelfRelocation[];
}

const RELOCATION_HEADER = /^Relocation section '(.+)' at offset 0x([0-9a-f]+) contains (\d+) entries:$/;
const RELOCATION_ROW = /^([0-9a-f]{16})\s+([0-9a-f]{16})\s+(\S+)(?:\s+[0-9a-f]{16}\s+(.*?))?\s*$/;

/** Relocation sections as `llvm-readelf -r --wide` prints them (GNU style). */
export function readelfRelocations(path: string): ReadelfRelocationSection[] {
  return cached(`readelf-r:${path}`, () => {
    const sections: { name: string; fileOffset: number; expected: number; entries: ReadelfRelocation[] }[] = [];
    for (const line of run("llvm-readelf", ["-r", "--wide", path]).split("\n")) {
      const header = RELOCATION_HEADER.exec(line);
      if (header) {
        sections.push({ name: header[1]!, fileOffset: parseInt(header[2]!, 16), expected: Number(header[3]), entries: [] });
        continue;
      }
      const row = RELOCATION_ROW.exec(line.trim());
      if (row && sections.length > 0) {
        const info = BigInt(`0x${row[2]}`);
        sections[sections.length - 1]!.entries.push({
          offset: parseInt(row[1]!, 16),
          symbolIndex: Number(info >> 32n),
          type: Number(info & 0xffffffffn),
          typeName: row[3]!,
          symbolName: row[4] ?? "",
        });
      }
    }
    for (const s of sections) {
      if (s.entries.length !== s.expected) {
        throw new Error(`${path}: read ${s.entries.length} rows of relocation section ${s.name}, llvm-readelf announced ${s.expected}`);
      }
    }
    return sections.map(({ name, fileOffset, entries }) => ({ name, fileOffset, entries }));
  });
}

export interface ObjdumpLine {
  /** Instruction slot index within the section (what llvm-objdump prints before the colon). */
  readonly slot: number;
  readonly text: string;
}

export interface ObjdumpSection {
  readonly name: string;
  /** Symbol headers `<name>:` by byte address within the section. */
  readonly labels: readonly { readonly address: number; readonly name: string }[];
  readonly lines: readonly ObjdumpLine[];
}

const DISASSEMBLY_OF = /^Disassembly of section (.+):$/;
const SYMBOL_HEADER = /^([0-9a-f]{16}) <(.*)>:$/;
const INSTRUCTION = /^\s*(\d+):\t(.*)$/;

/** `llvm-objdump -d --no-show-raw-insn`, by section. An ld_imm64 is one line covering two slots. */
export function objdump(path: string): ObjdumpSection[] {
  return cached(`objdump:${path}`, () => {
    const sections: { name: string; labels: { address: number; name: string }[]; lines: ObjdumpLine[] }[] = [];
    for (const line of run("llvm-objdump", ["-d", "--no-show-raw-insn", path]).split("\n")) {
      const section = DISASSEMBLY_OF.exec(line);
      if (section) {
        sections.push({ name: section[1]!, labels: [], lines: [] });
        continue;
      }
      const current = sections[sections.length - 1];
      if (current === undefined) continue;
      const header = SYMBOL_HEADER.exec(line);
      if (header) {
        current.labels.push({ address: parseInt(header[1]!, 16), name: header[2]! });
        continue;
      }
      const insn = INSTRUCTION.exec(line);
      if (insn) current.lines.push({ slot: Number(insn[1]), text: insn[2]! });
    }
    return sections;
  });
}

/** One BTF type as `bpftool -j btf dump file` prints it (fields depend on the kind). */
export interface BpftoolType {
  readonly id: number;
  readonly kind: string;
  readonly name: string;
  readonly size?: number;
  readonly type_id?: number;
  readonly nr_elems?: number;
  readonly vlen?: number;
  readonly members?: readonly { readonly name: string; readonly type_id: number; readonly bits_offset: number }[];
  readonly vars?: readonly { readonly type_id: number; readonly offset: number; readonly size: number }[];
  readonly linkage?: string;
}

/** bpftool's reading of the object's .BTF, indexed by type id (index 0 is void). */
export function bpftoolBtf(path: string): Map<number, BpftoolType> {
  return cached(`bpftool:${path}`, () => {
    const dump = JSON.parse(run("bpftool", ["-j", "btf", "dump", "file", path])) as { types: BpftoolType[] };
    return new Map(dump.types.map((t) => [t.id, t]));
  });
}

/** The NUL-terminated string at the start of a section, as `llvm-readelf -p` prints it; undefined without the section. */
export function readelfString(path: string, section: string): string | undefined {
  return cached(`readelf-p:${path}:${section}`, () => {
    const sections = readelfJson(path).sections;
    if (!sections.some((s) => s.Name.Value === section)) return undefined;
    const out = run("llvm-readelf", ["-p", section, path]);
    // Rows look like "  [     0] GPL"; an empty string prints no row.
    const row = /^\s*\[\s*0\]\s(.*)$/m.exec(out);
    return row ? row[1]! : "";
  });
}

/** The bytes of an object file (a fresh copy each call, safe to mutate). */
export function objectBytes(path: string): Uint8Array {
  return Uint8Array.from(readFileSync(path));
}
