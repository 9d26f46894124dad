// The BPF C fixtures and the demo object are what every other suite stands on, so this
// file checks them against tools we did not write:
// - llvm-readelf: each object holds the sections, program symbols and map definitions the
//   manifest (test/helpers/fixture-manifest.ts) promises;
// - clang itself: compiling twice gives the same bytes, and demo/build.sh reproduces the
//   committed demo/xdp_stats.bpf.o byte for byte;
// - libbpf through bpftool (as root): the program types and map shapes libbpf derives
//   match the manifest, every fixture but `rejected` passes the verifier, and `rejected`
//   fails with the message its source promises.

import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_FIXTURE, FIXTURES, MAP_TYPE_IDS, type Fixture, type FixtureMap } from "./helpers/fixture-manifest.js";
import { readelf, sectionNamed, symbolsIn, type ReadelfTables } from "./helpers/llvm-readelf.js";
import {
  DEMO_OBJECT, PROGS_BUILD_DIR, REPO_ROOT, clangVersion, compileBpf, fixtureNames, progPath, progSource,
} from "./helpers/progs.js";

/** Checks one object against its manifest entry with llvm-readelf. */
function describeObject(label: string, path: () => string, fixture: Fixture): void {
  describe(label, () => {
    let tables: ReadelfTables;
    let bytes: Buffer;
    beforeAll(() => {
      tables = readelf(path());
      bytes = readFileSync(path());
    });

    it("is a little-endian ELF64 relocatable object for EM_BPF", () => {
      expect(tables.header.get("Class")).toBe("ELF64");
      expect(tables.header.get("Data")).toContain("little endian");
      expect(tables.header.get("Type")).toMatch(/^REL/);
      expect(tables.header.get("Machine")).toBe("EM_BPF");
    });

    it("holds each program as a global FUNC symbol in its executable section", () => {
      const sections = [...new Set(fixture.programs.map((p) => p.section))];
      for (const name of sections) {
        const section = sectionNamed(tables, name);
        expect(section.type).toBe("PROGBITS");
        expect(section.flags).toContain("X");
        const funcs = symbolsIn(tables, name, "FUNC").map((s) => `${s.bind} ${s.name}`);
        const expected = fixture.programs.filter((p) => p.section === name).map((p) => `GLOBAL ${p.name}`);
        expect(funcs).toEqual(expected);
      }
      // No program the manifest does not know about.
      const allPrograms = tables.symbols
        .filter((s) => s.type === "FUNC" && tables.sections.find((x) => x.index === s.sectionIndex)?.name !== ".text")
        .map((s) => s.name)
        .sort();
      expect(allPrograms).toEqual(fixture.programs.map((p) => p.name).sort());
    });

    it("has its subprograms, and only those, in .text", () => {
      const funcs = symbolsIn(tables, ".text", "FUNC").map((s) => ({ name: s.name, global: s.bind === "GLOBAL" }));
      expect(funcs).toEqual(fixture.subprograms);
    });

    it("defines its maps", () => {
      const mapSections = new Set(fixture.maps.map((m) => m.section));
      for (const name of [".maps", "maps"] as const) {
        const objects = symbolsIn(tables, name, "OBJECT").map((s) => s.name).sort();
        expect(objects).toEqual(fixture.maps.filter((m) => m.section === name).map((m) => m.name).sort());
        if (!mapSections.has(name)) expect(tables.sections.some((s) => s.name === name)).toBe(false);
      }
      for (const map of fixture.maps.filter((m) => m.section === "maps")) checkLegacyMap(tables, bytes, map);
    });

    it("has license GPL, BTF, .BTF.ext, and the data and version sections it should", () => {
      const license = sectionNamed(tables, "license");
      expect(bytes.subarray(license.offset, license.offset + license.size).toString("latin1")).toBe("GPL\0");
      expect(sectionNamed(tables, ".BTF").size).toBeGreaterThan(0);
      expect(sectionNamed(tables, ".BTF.ext").size).toBeGreaterThan(0);
      const data = tables.sections.map((s) => s.name).filter((n) => n === ".rodata" || n === ".data" || n === ".bss");
      expect(data.sort()).toEqual([...fixture.dataSections].sort());
      const version = tables.sections.find((s) => s.name === "version");
      if (fixture.kernelVersion === undefined) {
        expect(version).toBeUndefined();
      } else {
        expect(version?.size).toBe(4);
        expect(bytes.readUInt32LE(version!.offset)).toBe(fixture.kernelVersion);
      }
    });
  });
}

/**
 * Decodes a legacy map definition from the bytes of the "maps" section at its symbol's
 * offset: struct bpf_map_def is five __u32 (type, key_size, value_size, max_entries,
 * map_flags); iproute2's struct bpf_elf_map continues with id, pinning, inner_id, inner_idx.
 */
function checkLegacyMap(tables: ReadelfTables, bytes: Buffer, map: FixtureMap): void {
  const section = sectionNamed(tables, "maps");
  const symbol = symbolsIn(tables, "maps", "OBJECT").find((s) => s.name === map.name)!;
  expect(symbol.value).toBe(map.offset);
  expect(symbol.size).toBe(map.iproute2 ? 36 : 20);
  const field = (i: number): number => bytes.readUInt32LE(section.offset + symbol.value + 4 * i);
  expect([field(0), field(1), field(2), field(3), field(4)]).toEqual([
    MAP_TYPE_IDS[map.type], map.keySize, map.valueSize, map.maxEntries, map.flags,
  ]);
  if (map.iproute2) expect([field(5), field(6), field(7), field(8)]).toEqual([map.iproute2.id, map.iproute2.pinning, 0, 0]);
}

describe("test/progs", () => {
  it("has a manifest entry for every fixture source and a source for every entry", () => {
    expect(fixtureNames()).toEqual(Object.keys(FIXTURES).sort());
  });

  it("compiles deterministically: a second build gives the same bytes", async () => {
    const scratch = mkdtempSync(join(REPO_ROOT, PROGS_BUILD_DIR, "rebuild-"));
    try {
      const scratchDir = relative(REPO_ROOT, scratch);
      await Promise.all(fixtureNames().map((name) => compileBpf(progSource(name), `${scratchDir}/${name}.o`)));
      for (const name of fixtureNames()) {
        expect(readFileSync(join(scratch, `${name}.o`)).equals(readFileSync(progPath(name))), name).toBe(true);
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

for (const name of fixtureNames()) describeObject(`fixture ${name}`, () => progPath(name), FIXTURES[name]!);

describeObject("demo object", () => join(REPO_ROOT, DEMO_OBJECT), DEMO_FIXTURE);

describe("demo/build.sh", () => {
  const committed = join(REPO_ROOT, DEMO_OBJECT);
  const producer = (path: string): string =>
    /DW_AT_producer\s+\("([^"]*)"\)/.exec(execFileSync("llvm-dwarfdump", ["--debug-info", path], { encoding: "utf8" }))?.[1] ?? "";

  // Other clang versions generate other code; the byte comparison only means something
  // with the compiler that built the committed object.
  it.skipIf(producer(committed) !== clangVersion())("rebuilds the committed demo object byte for byte", () => {
    const scratch = mkdtempSync(join(REPO_ROOT, PROGS_BUILD_DIR, "demo-"));
    try {
      const output = join(scratch, "xdp_stats.bpf.o");
      execFileSync(join(REPO_ROOT, "demo/build.sh"), [output], { stdio: "pipe" });
      expect(readFileSync(output).equals(readFileSync(committed))).toBe(true);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

// libbpf 1.x refuses the legacy "maps" section, so those two fixtures have no libbpf oracle.
const LIBBPF_REFUSES = new Set(["legacy_maps", "iproute2_elf_map"]);
const haveKernel = process.getuid?.() === 0;

describe.skipIf(!haveKernel && process.env.TSBPF_REQUIRE_KERNEL !== "1")("fixtures as libbpf loads them (bpftool)", () => {
  let pinRoot: string;
  beforeAll(() => {
    if (!haveKernel) throw new Error("TSBPF_REQUIRE_KERNEL=1 but not running as root");
    pinRoot = `/sys/fs/bpf/tsbpf-fixtures-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    mkdirSync(pinRoot);
  });
  afterAll(() => {
    // Unpinning drops the last reference: programs and maps are freed.
    if (pinRoot) rmSync(pinRoot, { recursive: true, force: true });
  });

  const bpftoolJson = (...args: string[]): Record<string, unknown> =>
    JSON.parse(execFileSync("bpftool", ["-j", ...args], { encoding: "utf8" })) as Record<string, unknown>;

  const cases = [
    ...fixtureNames().filter((n) => !LIBBPF_REFUSES.has(n)).map((n) => ({ label: n, path: () => progPath(n), fixture: FIXTURES[n]! })),
    { label: "demo", path: () => join(REPO_ROOT, DEMO_OBJECT), fixture: DEMO_FIXTURE },
  ];

  for (const { label, path, fixture } of cases) {
    it(`${label}: ${fixture.verifierAccepts ? "loads with the manifest's program types and map shapes" : "is rejected by the verifier"}`, () => {
      const progs = join(pinRoot, label);
      const maps = join(pinRoot, `${label}-maps`); // bpffs refuses names with a dot
      const run = spawnSync("bpftool", ["prog", "loadall", path(), progs, "pinmaps", maps], { encoding: "utf8" });
      if (!fixture.verifierAccepts) {
        expect(run.status).not.toBe(0);
        expect(run.stderr).toContain("R0 invalid mem access 'map_value_or_null'");
        return;
      }
      expect(run.status, run.stderr).toBe(0);
      for (const program of fixture.programs) {
        expect(bpftoolJson("prog", "show", "pinned", join(progs, program.name)).type, program.name).toBe(program.programType);
      }
      for (const map of fixture.maps) {
        const shown = bpftoolJson("map", "show", "pinned", join(maps, map.name));
        expect({ type: shown.type, key: shown.bytes_key, value: shown.bytes_value, entries: shown.max_entries, flags: shown.flags })
          .toEqual({ type: map.type, key: map.keySize, value: map.valueSize, entries: map.maxEntries, flags: map.flags });
      }
    });
  }
});
