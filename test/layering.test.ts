// The pure half of tsbpf never touches the kernel or the file system (DESIGN.md, "Layers";
// STYLE.md rule 1): elf/, insn/, btf/ and the spec half of maps/ and loader/ must not import
// syscall/, koffi, node:fs or node:child_process, directly or through anything they import.
//
// Imports are found with TypeScript's own pre-processor (ts.preProcessFile), which sees
// static imports, `import type`, re-exports (`export ... from`), dynamic import() and
// require(); relative specifiers are followed transitively.

import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/progs.js";

/** Folders whose every .ts file is pure. */
const PURE_FOLDERS = ["elf", "insn", "btf"];
/** Pure files in folders that also hold kernel code. */
const PURE_FILES = [
  "maps/spec.ts",
  "maps/btf-maps.ts",
  "maps/legacy-maps.ts",
  "maps/btf-map-values.ts",
  "maps/btf-codec.ts",
  "maps/btf-codec-compound.ts",
  "maps/btf-codec-scalars.ts",
  "maps/btf-codec-bitfields.ts",
  "maps/codec.ts",
  "loader/spec.ts",
  "loader/link.ts",
  "loader/resolve.ts",
  "loader/externs-spec.ts",
  "loader/externs-btf.ts",
  "loader/externs-kconfig.ts",
  "loader/externs-ksym.ts",
  "loader/variables.ts",
  "loader/programs.ts",
  "loader/references.ts",
  "loader/section-names.ts",
];

/** Module specifiers the pure layers must never reach. */
const FORBIDDEN_MODULES = /^(?:node:)?(?:fs|fs\/promises|child_process)$|^koffi(?:\/|$)/;
/** Our folders the pure layers must never reach. */
const FORBIDDEN_FOLDERS = ["syscall"];

function pureRoots(): string[] {
  const roots: string[] = [];
  for (const folder of PURE_FOLDERS) {
    const dir = join(REPO_ROOT, folder);
    for (const file of readdirSync(dir)) if (file.endsWith(".ts") && !file.endsWith(".d.ts")) roots.push(`${folder}/${file}`);
  }
  return [...roots, ...PURE_FILES].sort();
}

/** Every module specifier the file names (imports, re-exports, import(), require()). */
function specifiersOf(path: string): string[] {
  const info = ts.preProcessFile(readFileSync(path, "utf8"), true, true);
  return info.importedFiles.map((f) => f.fileName);
}

/** A relative specifier as a repository path: "./x.js" -> "dir/x.ts", "./d" -> "dir/d/index.ts". */
function resolveRelative(fromFile: string, specifier: string): string {
  const base = resolve(REPO_ROOT, dirname(fromFile), specifier);
  const candidates = [base.replace(/\.js$/, ".ts"), base.replace(/\.js$/, ".tsx"), `${base}.ts`, join(base, "index.ts"), base];
  const found = candidates.find((c) => existsSync(c) && !c.endsWith("/"));
  if (found === undefined) throw new Error(`${fromFile}: cannot resolve import "${specifier}"`);
  return relative(REPO_ROOT, found);
}

interface Violation {
  /** The import chain from the pure root to the forbidden import. */
  chain: string[];
  specifier: string;
}

/** Walks imports from `root`, returning every forbidden import reached. */
function violationsFrom(root: string): Violation[] {
  const violations: Violation[] = [];
  const seen = new Set<string>();
  const walk = (file: string, chain: string[]) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const specifier of specifiersOf(join(REPO_ROOT, file))) {
      if (FORBIDDEN_MODULES.test(specifier)) {
        violations.push({ chain: [...chain, file], specifier });
        continue;
      }
      if (!specifier.startsWith(".")) continue; // a package (typed-binary...) or a node: builtin we allow
      const target = resolveRelative(file, specifier);
      if (FORBIDDEN_FOLDERS.some((folder) => target.startsWith(`${folder}/`))) {
        violations.push({ chain: [...chain, file], specifier: target });
        continue;
      }
      walk(target, [...chain, file]);
    }
  };
  walk(root, []);
  return violations;
}

function describeViolations(violations: Violation[]): string[] {
  return violations.map((v) => `${v.chain.join(" -> ")} imports ${v.specifier}`);
}

describe("layering: the pure layers make no system calls and read no files", () => {
  const roots = pureRoots();

  it("covers elf/, insn/, btf/ and the spec files of maps/ and loader/", () => {
    for (const folder of PURE_FOLDERS) expect(roots.some((r) => r.startsWith(`${folder}/`)), folder).toBe(true);
    for (const file of PURE_FILES) expect(existsSync(join(REPO_ROOT, file)), file).toBe(true);
  });

  it.each(roots)("%s reaches neither syscall/, koffi, node:fs nor node:child_process", (root) => {
    expect(describeViolations(violationsFrom(root))).toEqual([]);
  });

  it("the check would see a violation: syscall/libc.ts imports koffi", () => {
    const found = violationsFrom("syscall/libc.ts");
    expect(found.map((v) => v.specifier)).toContain("koffi");
  });

  it("the check follows re-exports, import type and multi-line imports", () => {
    const specifiers = (source: string) => ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
    expect(specifiers('export * from "../syscall/fd.js";')).toEqual(["../syscall/fd.js"]);
    expect(specifiers('import type { Fd } from "../syscall/fd.js";')).toEqual(["../syscall/fd.js"]);
    expect(specifiers('import {\n  a,\n  b,\n} from "node:fs";')).toEqual(["node:fs"]);
    expect(specifiers('const m = await import("node:child_process");')).toEqual(["node:child_process"]);
    for (const bad of ["fs", "node:fs", "node:fs/promises", "child_process", "node:child_process", "koffi"]) {
      expect(FORBIDDEN_MODULES.test(bad), bad).toBe(true);
    }
    for (const fine of ["typed-binary", "node:util", "./fs.js", "koffix"]) expect(FORBIDDEN_MODULES.test(fine), fine).toBe(false);
  });
});
