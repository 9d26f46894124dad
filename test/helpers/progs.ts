// The BPF C fixtures in test/progs and how they are compiled.
//
// Every test/progs/NAME.bpf.c is compiled by the vitest globalSetup (test/setup/global.ts)
// into test/progs/build/NAME.o before any test file runs. Tests ask for an object by NAME:
//
//     const bytes = readProg("xdp_counter");        // Buffer with the ELF object
//     const path = progPath("xdp_counter");         // .../test/progs/build/xdp_counter.o
//
// The build is deterministic: the same clang and the same source give the same bytes
// whatever directory the checkout lives in. clang records the compilation directory in
// DWARF (DW_AT_comp_dir) and the source path as given on the command line (DWARF and the
// file names of .BTF.ext line info), so we always run clang from the repository root with
// a relative source path and pass -fdebug-compilation-dir=. . demo/build.sh uses the same
// flags, and test/fixtures.test.ts checks that both stay byte-for-byte reproducible.

import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { machine, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** Absolute path of the repository root (clang always runs here). */
export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** Fixture sources, relative to REPO_ROOT (relative on purpose: the path ends up in DWARF). */
export const PROGS_SOURCE_DIR = "test/progs";
/** Compiled fixtures (gitignored), relative to REPO_ROOT. */
export const PROGS_BUILD_DIR = "test/progs/build";

const SOURCE_SUFFIX = ".bpf.c";

/** The demo's XDP program and its committed object (rebuilt by demo/build.sh), relative to REPO_ROOT. */
export const DEMO_SOURCE = "demo/xdp_stats.bpf.c";
export const DEMO_OBJECT = "demo/xdp_stats.bpf.o";

/** The clang binary; CLANG in the environment overrides it (demo/build.sh honours it too). */
export const CLANG = process.env.CLANG ?? "clang";

/**
 * Arguments for `clang` compiling one BPF C file, paths relative to REPO_ROOT.
 * linux/types.h includes <asm/types.h>, which Debian keeps under the multiarch directory
 * (/usr/include/x86_64-linux-gnu); clang does not search it for -target bpf, so we add it.
 */
export function bpfCompileArgs(source: string, output: string): string[] {
  const multiarch = `/usr/include/${machine()}-linux-gnu`;
  const includes = existsSync(multiarch) ? ["-I", multiarch] : [];
  return ["-O2", "-g", "-target", "bpf", "-Wall", ...includes, "-fdebug-compilation-dir=.", "-c", source, "-o", output];
}

/** Compiles one BPF C file (paths relative to REPO_ROOT); throws with clang's stderr on failure. */
export async function compileBpf(source: string, output: string): Promise<void> {
  try {
    const { stderr } = await execFileAsync(CLANG, bpfCompileArgs(source, output), { cwd: REPO_ROOT });
    if (stderr.trim() !== "") process.stderr.write(`clang warnings for ${source}:\n${stderr}`);
  } catch (cause) {
    const stderr = (cause as { stderr?: string }).stderr ?? String(cause);
    throw new Error(`clang failed to compile ${source}:\n${stderr}`, { cause });
  }
}

/**
 * Compiles BPF C sources written by a test (file name -> text) in a directory of their own and
 * returns each object's bytes, by the source's name with ".o" for ".c"; the directory is gone
 * afterwards. `link` also links them into one object with libbpf's linker (bpftool gen
 * object), returned as "linked.o". For one-off objects a test builds to probe one rule.
 */
export function compileSources(sources: Record<string, string>, options: { link?: boolean } = {}): Record<string, Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-sources-"));
  try {
    const objects: Record<string, Uint8Array> = {};
    for (const [name, text] of Object.entries(sources)) {
      writeFileSync(join(dir, name), text);
      const object = name.replace(/\.c$/, ".o");
      execFileSync(CLANG, bpfCompileArgs(join(dir, name), join(dir, object)), { cwd: REPO_ROOT, stdio: "pipe" });
      objects[object] = readFileSync(join(dir, object));
    }
    if (options.link) {
      execFileSync("bpftool", ["gen", "object", join(dir, "linked.o"), ...Object.keys(objects).map((object) => join(dir, object))], { stdio: "pipe" });
      objects["linked.o"] = readFileSync(join(dir, "linked.o"));
    }
    return objects;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let clangVersionCache: string | undefined;

/** First line of `clang --version`, e.g. "Debian clang version 14.0.6". */
export function clangVersion(): string {
  clangVersionCache ??= execFileSync(CLANG, ["--version"], { encoding: "utf8" }).split("\n")[0]!.trim();
  return clangVersionCache;
}

/** Names of all fixtures (NAME for every test/progs/NAME.bpf.c), sorted. */
export function fixtureNames(): string[] {
  return readdirSync(join(REPO_ROOT, PROGS_SOURCE_DIR))
    .filter((file) => file.endsWith(SOURCE_SUFFIX))
    .map((file) => file.slice(0, -SOURCE_SUFFIX.length))
    .sort();
}

/** Source path of a fixture, relative to REPO_ROOT. */
export function progSource(name: string): string {
  return `${PROGS_SOURCE_DIR}/${name}${SOURCE_SUFFIX}`;
}

/** Absolute path of a compiled fixture, e.g. progPath("xdp_pass") -> .../test/progs/build/xdp_pass.o */
export function progPath(name: string): string {
  const path = join(REPO_ROOT, PROGS_BUILD_DIR, `${name}.o`);
  if (!existsSync(path)) {
    const why = existsSync(join(REPO_ROOT, progSource(name)))
      ? "it has not been compiled: run the tests through vitest (its globalSetup compiles fixtures) or call buildProgs()"
      : `there is no ${progSource(name)}`;
    throw new Error(`fixture "${name}" is not available: ${why}`);
  }
  return path;
}

/** The bytes of a compiled fixture. */
export function readProg(name: string): Buffer {
  return readFileSync(progPath(name));
}

/**
 * Fingerprint of everything that decides the bytes of an object: compiler version, flags,
 * the source, and any local header in test/progs (fixtures may share one).
 */
function buildFingerprint(name: string, output: string): string {
  const hash = createHash("sha256");
  hash.update(clangVersion()).update("\0").update(bpfCompileArgs(progSource(name), output).join(" ")).update("\0");
  hash.update(readFileSync(join(REPO_ROOT, progSource(name))));
  const dir = join(REPO_ROOT, PROGS_SOURCE_DIR);
  for (const header of readdirSync(dir).filter((f) => f.endsWith(".h")).sort()) {
    hash.update("\0").update(header).update("\0").update(readFileSync(join(dir, header)));
  }
  return hash.digest("hex");
}

/**
 * Compiles every fixture whose fingerprint changed since its last build and returns the
 * names it compiled. Several vitest processes may run at once, so each object is written
 * under a temporary name and renamed into place: readers never see a half-written file.
 */
export async function buildProgs(): Promise<string[]> {
  const buildDir = join(REPO_ROOT, PROGS_BUILD_DIR);
  mkdirSync(buildDir, { recursive: true });
  const stale = fixtureNames().filter((name) => {
    const object = join(buildDir, `${name}.o`);
    const stamp = join(buildDir, `${name}.stamp`);
    if (!existsSync(object) || !existsSync(stamp)) return true;
    return readFileSync(stamp, "utf8") !== buildFingerprint(name, `${PROGS_BUILD_DIR}/${name}.o`);
  });
  await Promise.all(stale.map((name) => buildOne(name)));
  return stale;
}

async function buildOne(name: string): Promise<void> {
  const output = `${PROGS_BUILD_DIR}/${name}.o`;
  const temporary = `${output}.${process.pid}.tmp`;
  // The fingerprint hashes the final output path, which is also what the flags would name.
  const fingerprint = buildFingerprint(name, output);
  try {
    await compileBpf(progSource(name), temporary);
    renameSync(join(REPO_ROOT, temporary), join(REPO_ROOT, output));
  } finally {
    rmSync(join(REPO_ROOT, temporary), { force: true });
  }
  const stampTemporary = join(REPO_ROOT, `${PROGS_BUILD_DIR}/${name}.stamp.${process.pid}.tmp`);
  writeFileSync(stampTemporary, fingerprint);
  renameSync(stampTemporary, join(REPO_ROOT, `${PROGS_BUILD_DIR}/${name}.stamp`));
}
