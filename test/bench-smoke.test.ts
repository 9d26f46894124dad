// The parse benchmark runs end to end and prints the JSON shape bench/run.ts promises.
// Iteration counts are tiny, so the numbers mean nothing: only their presence and types
// are checked, never their values (no timing assertion belongs in a test).

import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildBpfObject } from "../bench/build.js";
import { runParseBench, type ParseObjectResult } from "../bench/parse.js";
import { REPO_ROOT } from "./helpers/progs.js";

const TINY_PLAN = { warmupMs: 1, batchMs: 1, batches: 2 };
const XDP_PASS = "/usr/libexec/xdp-tools/xdp_pass.o";

function expectTimedRow(row: ParseObjectResult): void {
  expect(row.ours_error).toBeUndefined();
  expect(row.libbpf_error).toBeUndefined();
  for (const value of [row.ours_us, row.libbpf_us, row.ratio, row.ours_spec_only_us]) {
    expect(typeof value).toBe("number");
    expect(value).toBeGreaterThan(0);
  }
  expect(row.ours_iterations).toBeGreaterThanOrEqual(1);
  expect(row.libbpf_iterations).toBeGreaterThanOrEqual(1);
}

describe("bench/parse", () => {
  it("times parseObject and libbpf's open_mem on the same objects", async () => {
    const large = buildBpfObject("large");
    const report = await runParseBench({ plan: TINY_PLAN, code: "source", objects: [large, XDP_PASS] });
    // The report survives a JSON round trip unchanged: no bigint (stringify throws), Map or function in it.
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
    expect(report.benchmark).toBe("parse");
    expect(report.environment.libbpf).toMatch(/^\d+\.\d+$/);
    expect(Object.keys(report.objects)).toEqual(["large.o", "xdp_pass.o"]);
    expectTimedRow(report.objects["large.o"]);
    expectTimedRow(report.objects["xdp_pass.o"]);
    // The large object is what bench/progs/large.bpf.c says: 40 programs and more, 20 subprograms, 5 maps.
    expect(report.objects["large.o"].programs).toBeGreaterThanOrEqual(40);
    expect(report.objects["large.o"].subprograms).toBe(20);
    expect(report.objects["large.o"].maps).toBe(5);
    expect(report.summary.objects).toBe(2);
    expect(typeof report.summary.geomean_ratio).toBe("number");
    expect(typeof report.summary.goal_met).toBe("boolean");
  });

  it("prints nothing but one JSON document from `tsx bench/run.ts parse`", () => {
    const stdout = execFileSync(join(REPO_ROOT, "node_modules/.bin/tsx"), ["bench/run.ts", "parse", "--quick", "--source"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output = JSON.parse(stdout) as { parse: { objects: Record<string, ParseObjectResult> }; host: unknown };
    expect(output.host).toBeDefined();
    const rows = Object.values(output.parse.objects);
    // large.o plus every Debian xdp-tools object.
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const row of rows) expectTimedRow(row);
  });
});
