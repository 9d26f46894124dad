// What the benchmarks build before they measure, all into bench/build/ (gitignored):
//
//   bench/build/large.o      clang -O2 -g -target bpf -c bench/progs/large.bpf.c
//   bench/build/open_mem     cc -O2 bench/c/open_mem.c -lbpf   (libbpf side of bench/parse)
//   bench/build/map_ops      cc -O2 bench/c/map_ops.c -lbpf    (C side of bench/maps)
//   bench/build/dist/        tsc -p tsconfig.build.json: the library as users run it
//
// The last one matters for the numbers: tsx (which runs bench/ and the tests) compiles
// TypeScript with esbuild's keepNames, which wraps every function created at run time in
// a call that sets its `name`. The published package is tsc output and has no such
// wrapper, so the benchmarks time tsc output by default.
//
// Each product is rebuilt only when one of its inputs is newer, and written under a
// temporary name first so that a concurrent reader never sees half a file.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, bpfCompileArgs, CLANG } from "../test/helpers/progs.js";

export const BENCH_BUILD_DIR = join(REPO_ROOT, "bench/build");

/** The C harnesses in bench/c. */
export type Harness = "open_mem" | "map_ops";

/** Compiles bench/progs/NAME.bpf.c into bench/build/NAME.o and returns its path. */
export function buildBpfObject(name: string): string {
  const source = `bench/progs/${name}.bpf.c`;
  const output = join(BENCH_BUILD_DIR, `${name}.o`);
  if (isFresh(output, [join(REPO_ROOT, source)])) return output;
  mkdirSync(BENCH_BUILD_DIR, { recursive: true });
  const temporary = `bench/build/${name}.o.${process.pid}.tmp`;
  run(CLANG, bpfCompileArgs(source, temporary));
  renameSync(join(REPO_ROOT, temporary), output);
  return output;
}

/** Compiles bench/c/NAME.c against Debian's libbpf into bench/build/NAME and returns its path. */
export function buildHarness(name: Harness): string {
  const source = join(REPO_ROOT, `bench/c/${name}.c`);
  const output = join(BENCH_BUILD_DIR, name);
  if (isFresh(output, [source, join(REPO_ROOT, "bench/c/bench.h")])) return output;
  mkdirSync(BENCH_BUILD_DIR, { recursive: true });
  const temporary = `${output}.${process.pid}.tmp`;
  run(process.env.CC ?? "cc", ["-O2", "-Wall", "-Wextra", source, "-lbpf", "-o", temporary]);
  renameSync(temporary, output);
  return output;
}

/** The library folders tsconfig.build.json compiles. */
const LIBRARY_DIRS = ["common", "elf", "insn", "btf", "maps", "syscall", "loader"];

/**
 * Compiles the library with tsc into bench/build/dist and returns that directory. Other
 * people's work in progress may not type-check; tsc still writes every file it can, and
 * the benchmark only needs the modules it imports, so type errors are not fatal here.
 */
export function buildLibrary(): string {
  const output = join(BENCH_BUILD_DIR, "dist");
  const stamp = join(output, ".built");
  const inputs = LIBRARY_DIRS.flatMap((dir) => listTypeScript(join(REPO_ROOT, dir)));
  if (isFresh(stamp, inputs)) return output;
  const temporary = `${output}.${process.pid}.tmp`;
  rmSync(temporary, { recursive: true, force: true });
  try {
    execFileSync(
      join(REPO_ROOT, "node_modules/.bin/tsc"),
      ["-p", "tsconfig.build.json", "--outDir", temporary, "--declaration", "false", "--sourceMap", "false"],
      { cwd: REPO_ROOT, stdio: "pipe" },
    );
  } catch (cause) {
    // Exit status 2 = emitted with type errors; anything else, or nothing emitted, is fatal.
    const status = (cause as { status?: number }).status;
    if (status !== 2 || !existsSync(join(temporary, "loader/spec.js"))) {
      const output = String((cause as { stdout?: Buffer }).stdout ?? cause);
      throw new Error(`tsc could not compile the library for the benchmark:\n${output}`, { cause });
    }
  }
  writeFileSync(join(temporary, ".built"), new Date().toISOString());
  rmSync(output, { recursive: true, force: true });
  renameSync(temporary, output);
  return output;
}

function listTypeScript(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .map((file) => join(dir, file));
}

/** True when `output` exists and is at least as new as every input. */
function isFresh(output: string, inputs: readonly string[]): boolean {
  if (!existsSync(output)) return false;
  const built = statSync(output).mtimeMs;
  return inputs.every((input) => !existsSync(input) || statSync(input).mtimeMs <= built);
}

function run(command: string, args: readonly string[]): void {
  try {
    execFileSync(command, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  } catch (cause) {
    const stderr = String((cause as { stderr?: Buffer }).stderr ?? cause);
    throw new Error(`${command} ${args.join(" ")} failed:\n${stderr}`, { cause });
  }
}
