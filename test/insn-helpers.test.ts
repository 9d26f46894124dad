// insn/helpers.ts is generated; this checks it against the two sources it was generated from:
// the UAPI header's __BPF_FUNC_MAPPER list and the running kernel's enum bpf_func_id (BTF).

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { HELPER_NAMES, helperId, helperName } from "../insn/index.js";

const HEADER = "/usr/include/linux/bpf.h";
const VMLINUX = "/sys/kernel/btf/vmlinux";

describe("helper table", () => {
  it.runIf(existsSync(HEADER))("starts with the header's __BPF_FUNC_MAPPER list, in order", () => {
    const header = readFileSync(HEADER, "utf8");
    const start = header.indexOf("#define __BPF_FUNC_MAPPER(FN)");
    const end = header.indexOf("\n\n", start);
    expect(start).toBeGreaterThan(0);
    // 6.1 writes FN(name); later headers write FN(name, id, ##ctx). Accept both.
    const names = [...header.slice(start, end).matchAll(/FN\(([a-z0-9_]+)[,)]/g)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(200);
    expect(HELPER_NAMES.slice(0, names.length)).toEqual(names);
  });

  const haveBtf = existsSync(VMLINUX) && spawnSync("bpftool", ["version"]).status === 0;
  it.runIf(haveBtf)("matches enum bpf_func_id in the running kernel's BTF", () => {
    const c = execFileSync("bpftool", ["btf", "dump", "file", VMLINUX, "format", "c"], { encoding: "utf8", maxBuffer: 1 << 30 });
    const kernel = new Map([...c.matchAll(/\bBPF_FUNC_([a-z0-9_]+) = (\d+),/g)].map((m) => [Number(m[2]), m[1]]));
    // Helpers are frozen since 6.2: a kernel as new as 6.18 has exactly the ones we list.
    expect(kernel.size).toBe(HELPER_NAMES.length);
    HELPER_NAMES.forEach((name, id) => expect(kernel.get(id), `id ${id}`).toBe(name));
  });

  it("names helpers the way bpf_helpers.h declares them", () => {
    expect(helperName(1)).toBe("bpf_map_lookup_elem");
    expect(helperName(6)).toBe("bpf_trace_printk");
    expect(helperName(51)).toBe("bpf_redirect_map");
    expect(helperName(211)).toBe("bpf_cgrp_storage_delete");
    expect(helperName(0)).toBeUndefined();
    expect(helperName(212)).toBeUndefined();
    expect(helperName(-1)).toBeUndefined();
    expect(helperId("bpf_xdp_adjust_head")).toBe(44);
    expect(helperId("xdp_adjust_head")).toBe(44);
    expect(helperId("unspec")).toBeUndefined();
    expect(helperId("bpf_no_such_helper")).toBeUndefined();
  });
});
