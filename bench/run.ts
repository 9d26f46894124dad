// `npm run bench`: runs the benchmarks and prints one JSON document on stdout.
//
//     npx tsx bench/run.ts                 parse, btf and maps
//     npx tsx bench/run.ts btf             bench/btf.ts only (vmlinux BTF parse + find vs libbpf)
//     npx tsx bench/run.ts parse           bench/parse.ts only (parseObject vs libbpf open_mem)
//     npx tsx bench/run.ts maps            bench/maps.ts only (BpfMap vs raw koffi vs libbpf); needs root
//     npx tsx bench/run.ts profile [OBJ]   bench/profile.ts: where parseObject spends its time
//
// Options: --quick (tiny plan, numbers only good for checking that it runs), --source (time
// the TypeScript source through tsx instead of the tsc output users run), --seconds=N (profile),
// --runs=N (maps: N runs in fresh processes, figures are medians; default 5, 1 with --quick).
// Progress goes to stderr; nothing but the JSON goes to stdout.

import { cpus, loadavg, release } from "node:os";
import { buildBpfObject } from "./build.js";
import { runMapsBench } from "./maps.js";
import { runMapsBenchRuns } from "./maps-runs.js";
import { runBtfBench } from "./btf.js";
import type { Plan } from "./measure.js";
import { runParseBench } from "./parse.js";
import { runParseProfile } from "./profile.js";

const QUICK_PLAN: Plan = { warmupMs: 20, batchMs: 5, batches: 3 };

async function main(argv: string[]): Promise<void> {
  const flags = new Set(argv.filter((arg) => arg.startsWith("--")));
  const [command = "all", ...rest] = argv.filter((arg) => !arg.startsWith("--"));
  const code = flags.has("--source") ? "source" : "dist";
  const plan = flags.has("--quick") ? QUICK_PLAN : undefined;

  const host = { kernel: release(), cpu: cpus()[0]?.model ?? "unknown", cpus: cpus().length, loadavg_at_start: loadavg().map((l) => Math.round(l * 100) / 100) };
  const started = new Date().toISOString();
  const output: Record<string, unknown> = { started, command: `tsx bench/run.ts ${argv.join(" ")}`.trim(), host };

  switch (command) {
    case "all":
    case "parse":
    case "maps":
    case "btf":
      if (command === "all" || command === "parse") {
        progress("parse: parseObject vs bpf_object__open_mem");
        output.parse = await runParseBench({ plan, code });
      }
      if (command === "all" || command === "btf") {
        progress("btf: parse vmlinux BTF and find task_struct vs libbpf");
        output.btf = await runBtfBench({ plan, code });
      }
      if (command === "all" || command === "maps") {
        progress("maps: BpfMap vs raw koffi vs libbpf");
        const runs = Number(argv.find((arg) => arg.startsWith("--runs="))?.split("=")[1] ?? (plan === undefined ? 5 : 1));
        output.maps = runs > 1 ? runMapsBenchRuns(runs, [...flags].filter((f) => !f.startsWith("--runs=")), progress) : await runMapsBench({ plan, code });
      }
      break;
    case "profile": {
      const seconds = Number(argv.find((arg) => arg.startsWith("--seconds="))?.split("=")[1] ?? 3);
      output.profile = await runParseProfile({ object: rest[0] ?? buildBpfObject("large"), seconds, code });
      break;
    }
    default:
      throw new Error(`unknown benchmark "${command}": use parse, btf, maps, profile, or nothing for all three`);
  }
  output.loadavg_at_end = loadavg().map((l) => Math.round(l * 100) / 100);
  process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
}

function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

await main(process.argv.slice(2));
