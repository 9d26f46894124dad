// The byte layouts and constants in syscall/ against the kernel's UAPI header, as a C
// compiler reads it: a C program generated from our tables prints offsetof()/sizeof() of
// every field and the value of every constant, and each must equal what tsbpf uses.
// Fields added after the 6.1 header (log_true_size, btf_log_true_size) are checked to sit
// right after the last 6.1 field, where the kernel documentation places them.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as C from "../syscall/constants.js";
import * as L from "../syscall/layout.js";

const hasClang = (() => {
  try {
    execFileSync("clang", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** Our table, the C type it describes, and the C member path of each field. */
const TABLES: Array<{ name: string; table: Record<string, L.Field>; ctype: string; path: (field: string) => string | undefined }> = [
  { name: "MapCreateAttr", table: L.MapCreateAttr, ctype: "union bpf_attr", path: (f) => f },
  { name: "MapElemAttr", table: L.MapElemAttr, ctype: "union bpf_attr", path: (f) => f },
  { name: "MapBatchAttr", table: L.MapBatchAttr, ctype: "union bpf_attr", path: (f) => `batch.${f}` },
  { name: "ProgLoadAttr", table: L.ProgLoadAttr, ctype: "union bpf_attr", path: (f) => (f === "log_true_size" ? undefined : f) },
  { name: "ObjAttr", table: L.ObjAttr, ctype: "union bpf_attr", path: (f) => f },
  { name: "TestRunAttr", table: L.TestRunAttr, ctype: "union bpf_attr", path: (f) => `test.${f}` },
  { name: "IdAttr", table: L.IdAttr, ctype: "union bpf_attr", path: (f) => (f === "id" ? "start_id" : f) },
  { name: "InfoAttr", table: L.InfoAttr, ctype: "union bpf_attr", path: (f) => `info.${f}` },
  { name: "BtfLoadAttr", table: L.BtfLoadAttr, ctype: "union bpf_attr", path: (f) => (f === "btf_log_true_size" ? undefined : f) },
  // gpl_compatible is a bit-field: offsetof() cannot name it; checked separately below.
  { name: "ProgInfo", table: L.ProgInfo, ctype: "struct bpf_prog_info", path: (f) => (f === "gpl_compatible" ? undefined : f) },
  { name: "MapInfo", table: L.MapInfo, ctype: "struct bpf_map_info", path: (f) => f },
  { name: "BtfInfo", table: L.BtfInfo, ctype: "struct bpf_btf_info", path: (f) => f },
];

/**
 * The tables of common/uapi.ts and the prefix their keys drop (MapType.HASH is
 * BPF_MAP_TYPE_HASH). Values added by kernels after the 6.1 header are not in it: only the
 * names the header defines are compared (they are read from it below).
 */
const CONSTANT_TABLES: Record<string, { values: Readonly<Record<string, number>>; prefix: string }> = {
  BpfCommand: { values: C.BpfCommand, prefix: "BPF_" },
  MapType: { values: C.MapType, prefix: "BPF_MAP_TYPE_" },
  ProgramType: { values: C.ProgramType, prefix: "BPF_PROG_TYPE_" },
  AttachType: { values: C.AttachType, prefix: "BPF_" },
  UpdateFlags: { values: C.UpdateFlags, prefix: "BPF_" },
  MapFlags: { values: C.MapFlags, prefix: "BPF_F_" },
  ProgramFlags: { values: C.ProgramFlags, prefix: "BPF_F_" },
  FileFlags: { values: C.FileFlags, prefix: "BPF_F_" },
  TestRunFlags: { values: C.TestRunFlags, prefix: "BPF_F_" },
  XdpAction: { values: C.XdpAction, prefix: "XDP_" },
};

const HEADER = readFileSync("/usr/include/linux/bpf.h", "utf8");
const inHeader = (name: string) => new RegExp(`\\b${name}\\b`).test(HEADER);

/** Compiles and runs the generated program once; returns its "key value..." lines as a map. */
function cFacts(): Map<string, number[]> {
  const lines: string[] = [];
  for (const { name, table, ctype, path } of TABLES) {
    for (const field of Object.keys(table)) {
      const member = path(field);
      if (member === undefined) continue;
      lines.push(`printf("${name}.${field} %zu %zu\\n", offsetof(${ctype}, ${member}), sizeof(((${ctype} *)0)->${member}));`);
    }
  }
  const sizes = [
    ["struct bpf_prog_info", "PROG_INFO_SIZE"],
    ["struct bpf_map_info", "MAP_INFO_SIZE"],
    ["struct bpf_btf_info", "BTF_INFO_SIZE"],
  ];
  for (const [ctype, key] of sizes) {
    lines.push(`printf("${key} %zu\\n", sizeof(${ctype}));`);
  }
  for (const [table, { values, prefix }] of Object.entries(CONSTANT_TABLES)) {
    for (const key of Object.keys(values)) {
      const name = prefix + key;
      if (inHeader(name)) lines.push(`printf("${table}.${key} %lld\\n", (long long)(${name}));`);
    }
  }
  for (const name of ["BPF_OBJ_NAME_LEN", "BPF_TAG_SIZE", "__NR_bpf"]) lines.push(`printf("${name} %lld\\n", (long long)(${name}));`);
  const source = [
    "#include <stdio.h>",
    "#include <stddef.h>",
    "#include <linux/bpf.h>",
    "#include <asm/unistd.h>",
    "int main(void) {",
    ...lines,
    "return 0; }",
  ].join("\n");
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-layout-"));
  try {
    writeFileSync(join(dir, "layout.c"), source);
    execFileSync("clang", ["-o", join(dir, "layout"), join(dir, "layout.c")], { stdio: ["ignore", "ignore", "inherit"] });
    const out = execFileSync(join(dir, "layout"), { encoding: "utf8" });
    const facts = new Map<string, number[]>();
    for (const line of out.trim().split("\n")) {
      const [key, ...numbers] = line.split(" ");
      facts.set(key, numbers.map(Number));
    }
    return facts;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!hasClang)("bpf_attr and info layouts match <linux/bpf.h>", () => {
  const facts = hasClang ? cFacts() : new Map<string, number[]>();

  for (const { name, table, path } of TABLES) {
    it(`${name}: every field's offset and size`, () => {
      let checked = 0;
      for (const [field, { offset, size }] of Object.entries(table)) {
        if (path(field) === undefined) continue;
        expect([name, field, offset, size]).toEqual([name, field, ...facts.get(`${name}.${field}`)!]);
        checked++;
      }
      expect(checked).toBeGreaterThan(0);
    });
  }

  it("post-6.1 fields follow the last 6.1 field, as the kernel documentation puts them", () => {
    expect(L.ProgLoadAttr.log_true_size.offset).toBe(L.offsetofend(L.ProgLoadAttr.core_relo_rec_size));
    expect(L.BtfLoadAttr.btf_log_true_size.offset).toBe(L.offsetofend(L.BtfLoadAttr.btf_log_level));
    // The u32 holding the gpl_compatible bit-field comes right after ifindex.
    expect(L.ProgInfo.gpl_compatible.offset).toBe(L.offsetofend(L.ProgInfo.ifindex));
  });

  it("info struct sizes", () => {
    expect(L.PROG_INFO_SIZE).toBe(facts.get("PROG_INFO_SIZE")![0]);
    expect(L.MAP_INFO_SIZE).toBe(facts.get("MAP_INFO_SIZE")![0]);
    expect(L.BTF_INFO_SIZE).toBe(facts.get("BTF_INFO_SIZE")![0]);
  });

  for (const [table, { values, prefix }] of Object.entries(CONSTANT_TABLES)) {
    it(`constants: ${table}`, () => {
      let checked = 0;
      for (const [key, value] of Object.entries(values)) {
        if (!inHeader(prefix + key)) continue; // added after 6.1 (see the comment in common/uapi.ts)
        expect([key, value]).toEqual([key, facts.get(`${table}.${key}`)![0]]);
        checked++;
      }
      expect(checked).toBeGreaterThan(0);
    });
  }

  it("constants: name length, tag size and the syscall number", () => {
    expect(C.BPF_OBJ_NAME_LEN).toBe(facts.get("BPF_OBJ_NAME_LEN")![0]);
    expect(C.BPF_TAG_SIZE).toBe(facts.get("BPF_TAG_SIZE")![0]);
    expect(C.SYS_bpf).toBe(facts.get("__NR_bpf")![0]);
  });
});

describe("constant helpers", () => {
  it("names values the way the UAPI header and bpftool do", () => {
    expect(C.nameOf(C.MapType, 1)).toBe("HASH");
    expect(C.commandName(10)).toBe("BPF_PROG_TEST_RUN");
    expect(C.mapTypeName(C.MapType.PERCPU_ARRAY)).toBe("percpu_array");
    expect(C.mapTypeName(C.MapType.ARENA)).toBe("arena");
    expect(C.progTypeName(C.ProgramType.XDP)).toBe("xdp");
    expect(C.progTypeName(999)).toBe("type 999");
  });
});
