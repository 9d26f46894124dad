// llvm-readelf as a test oracle: the ELF header, section table and symbol table of an
// object, as LLVM reads them, so our own ELF reading can be compared with a tool we did
// not write.
//
// It parses GNU-style output (`llvm-readelf -h -S -s --wide`), rows like
//   [ 3] xdp               PROGBITS        0000000000000000 000040 0000b8 00  AX  0   0  8
//   13: 0000000000000000    96 FUNC    GLOBAL DEFAULT     3 xdp_first
// Section 0 has an empty name and the flags column may be empty, so rows are matched from
// the 16-digit address column rather than split on whitespace.

import { execFileSync } from "node:child_process";

export interface ReadelfSection {
  index: number;
  name: string;
  type: string;
  /** File offset and size in bytes. */
  offset: number;
  size: number;
  /** Flag letters as printed (A alloc, W write, X execute, ...). */
  flags: string;
}

export interface ReadelfSymbol {
  name: string;
  value: number;
  size: number;
  type: string; // NOTYPE, OBJECT, FUNC, SECTION, FILE
  bind: string; // LOCAL, GLOBAL, WEAK
  /** Section index as a number, or the special names UND / ABS / COM. */
  sectionIndex: number | string;
}

export interface ReadelfTables {
  header: Map<string, string>;
  sections: ReadelfSection[];
  symbols: ReadelfSymbol[];
}

const SECTION_ROW =
  /^\s*\[\s*(\d+)\]\s+(?:(\S+)\s+)?(\S+)\s+[0-9a-f]{16}\s+([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+([A-Za-z]*)\s*\d+\s+\d+\s+\d+\s*$/;
const SYMBOL_ROW = /^\s*\d+:\s+([0-9a-f]{16})\s+(\d+)\s+(\S+)\s+(\S+)\s+\S+\s+(\S+)\s?(.*)$/;
const HEADER_ROW = /^\s{2}([^:]+):\s+(.*)$/;

export function readelf(path: string): ReadelfTables {
  const text = execFileSync("llvm-readelf", ["-h", "-S", "-s", "--wide", path], { encoding: "utf8" });
  const header = new Map<string, string>();
  const sections: ReadelfSection[] = [];
  const symbols: ReadelfSymbol[] = [];
  let part: "header" | "sections" | "symbols" | "none" = "none";
  for (const line of text.split("\n")) {
    if (line.startsWith("ELF Header:")) part = "header";
    else if (line.startsWith("Section Headers:")) part = "sections";
    else if (line.startsWith("Symbol table")) part = "symbols";
    else if (part === "header") {
      const m = HEADER_ROW.exec(line);
      if (m) header.set(m[1]!.trim(), m[2]!.trim());
    } else if (part === "sections") {
      const m = SECTION_ROW.exec(line);
      if (m) {
        sections.push({
          index: Number(m[1]),
          name: m[2] ?? "",
          type: m[3]!,
          offset: parseInt(m[4]!, 16),
          size: parseInt(m[5]!, 16),
          flags: m[6]!,
        });
      }
    } else if (part === "symbols") {
      const m = SYMBOL_ROW.exec(line);
      if (m) {
        const ndx = m[5]!;
        symbols.push({
          value: parseInt(m[1]!, 16),
          size: Number(m[2]),
          type: m[3]!,
          bind: m[4]!,
          sectionIndex: /^\d+$/.test(ndx) ? Number(ndx) : ndx,
          name: m[6]!.trim(),
        });
      }
    }
  }
  return { header, sections, symbols };
}

/** The section with this name; throws when there is none, naming what exists. */
export function sectionNamed(tables: ReadelfTables, name: string): ReadelfSection {
  const found = tables.sections.find((s) => s.name === name);
  if (!found) throw new Error(`no section "${name}"; sections: ${tables.sections.map((s) => s.name).join(", ")}`);
  return found;
}

/** Symbols of one type (FUNC, OBJECT, ...) defined in the named section, by address. */
export function symbolsIn(tables: ReadelfTables, sectionName: string, type: string): ReadelfSymbol[] {
  const section = tables.sections.find((s) => s.name === sectionName);
  if (!section) return [];
  return tables.symbols
    .filter((sym) => sym.sectionIndex === section.index && sym.type === type)
    .sort((a, b) => a.value - b.value);
}
