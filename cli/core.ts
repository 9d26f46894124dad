// `tsbpf core explain OBJ [--btf FILE] [--prog NAME] [--json]`: what CO-RE does to each
// relocation of an object's programs against a kernel's BTF, without loading anything.
// libbpf prints the same facts only at debug log level, one relocation at a time.
//
//   program core_task (kprobe/do_sys_openat2): 3 relocations, 3 patched
//   relo #0  insn 1  FIELD_BYTE_OFFSET  task_struct.tgid
//     local:     struct task_struct [18], access string 0:1, compiled value 4
//     source:    ./test/progs/core_read.bpf.c:39: struct task_struct *task = ...
//     candidate: vmlinux [114] struct task_struct: matches task_struct.tgid (0:93) = 1268
//     result:    patched to 1268: 1268 from task_struct.tgid (struct task_struct [114] in vmlinux)
//     insn:      r1 = 4  ->  r1 = 1268
//
// The target is the running kernel's BTF (/sys/kernel/btf/vmlinux), or --btf FILE: raw BTF
// (another kernel's vmlinux BTF) or an ELF object whose .BTF section stands for the kernel.

import { explainCore, formatCoreResult, loadKernelBtf, parseBtf, parseElf, parseObject, type Btf, type CoreResult, type ProgramCoreReport } from "../index.js";
import { CommandError, parseCommand, readInputFile } from "./usage.js";

export const CORE_EXPLAIN_HELP = `usage: tsbpf core explain OBJ [--btf FILE] [--prog NAME] [--json]

Explains the CO-RE relocations of a BPF object's programs: for each, the local type and
field (task_struct.pid), the kind, the target types considered and the value patched in,
or why the instruction is poisoned or the relocation fails. Nothing is loaded.

  --btf FILE      the target BTF: raw BTF (a vmlinux BTF file) or an ELF object's .BTF;
                  default /sys/kernel/btf/vmlinux
  --prog NAME     only this program
  --json          one JSON object per program (values as strings)
`;

const COMMAND = "core explain";
const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

export function coreExplainCommand(args: string[]): void {
  const options = { btf: { type: "string" }, prog: { type: "string" }, json: { type: "boolean" } } as const;
  const { values, positionals } = parseCommand(COMMAND, args, options, [1, 1], "OBJ");
  const spec = parseObject(readInputFile(positionals[0], "object"), { anyMachine: true });
  const target = values.btf === undefined ? loadKernelBtf() : targetBtf(values.btf);
  const targetName = values.btf ?? "vmlinux";
  let reports = explainCore(spec, target, { targetName });
  if (values.prog !== undefined) {
    reports = reports.filter((r) => r.program === values.prog);
    if (reports.length === 0) throw new CommandError(`the object has no program named ${values.prog} (programs: ${[...spec.programs.keys()].join(", ") || "none"})`);
  }
  const text = values.json === true ? reports.map((r) => JSON.stringify(r, jsonValue)).join("\n") : reports.map(formatReport).join("\n");
  process.stdout.write(`${text}\n`);
}

function formatReport(report: ProgramCoreReport): string {
  const lines = [`program ${report.program} (${report.section}): ${summary(report.results)}`];
  for (const result of report.results) lines.push(...formatCoreResult(result));
  return `${lines.join("\n")}\n`;
}

function summary(results: readonly CoreResult[]): string {
  if (results.length === 0) return "no CO-RE relocations";
  const count = (status: CoreResult["status"]) => results.filter((r) => r.status === status).length;
  const parts = [`${count("patched")} patched`];
  if (count("poisoned") > 0) parts.push(`${count("poisoned")} poisoned`);
  if (count("failed") > 0) parts.push(`${count("failed")} failed`);
  return `${results.length} relocation${results.length === 1 ? "" : "s"}, ${parts.join(", ")}`;
}

/** JSON has no bigint: values go out as decimal strings. */
function jsonValue(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/** The BTF in `path`: the file itself, or the .BTF section of an ELF object. */
function targetBtf(path: string): Btf {
  const bytes = readInputFile(path, "BTF file");
  if (ELF_MAGIC.every((b, i) => bytes[i] === b)) {
    const section = parseElf(bytes).section(".BTF");
    if (section === undefined) throw new CommandError(`${path} has no .BTF section`);
    return parseBtf(section.data);
  }
  return parseBtf(bytes);
}
