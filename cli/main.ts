#!/usr/bin/env node
// tsbpf: the command line. Every command is built on the package's public API (../index.ts).
//
//   tsbpf disasm OBJ [--sec S | --prog NAME]
//   tsbpf xdp attach DEV OBJ [--sec S | --prog NAME] [--mode M] [--replace] [--pin-root DIR]
//   tsbpf xdp detach DEV [--mode M]
//   tsbpf xdp show [DEV] [--json]
//   tsbpf map dump PINNED_PATH [--json]
//   tsbpf demo
//
// Exit status: 0 on success, 1 when the operation failed (a BpfError: the kernel refused,
// the object is malformed, a file is missing), 2 when the command line is wrong.

import { isBpfError } from "../index.js";
import { runDemo } from "./demo.js";
import { BTF_DUMP_HELP, btfDumpCommand } from "./btf.js";
import { CORE_EXPLAIN_HELP, coreExplainCommand } from "./core.js";
import { PIN_HELP, UNPIN_HELP, pinCommand, unpinCommand } from "./pin.js";
import { DISASM_HELP, disasmCommand } from "./disasm.js";
import { MAP_DUMP_HELP, mapDumpCommand } from "./map-dump.js";
import { CommandError, oneOf, parseCommand, UsageError } from "./usage.js";
import { XDP_ATTACH_HELP, XDP_DETACH_HELP, xdpAttachCommand, xdpDetachCommand } from "./xdp.js";
import { XDP_SHOW_HELP, xdpShowCommand } from "./xdp-show.js";

interface Command {
  /** "xdp attach": the words that select it. */
  name: string;
  summary: string;
  help: string;
  run(args: string[]): void | Promise<void>;
}

const DEMO_HELP = `usage: tsbpf demo [--mode native|skb]

Creates two network namespaces joined by a veth pair, attaches the bundled XDP program
(demo/xdp_stats.bpf.o) on one side, sends UDP, TCP and ICMP traffic from the other, prints
what the program counted, then detaches and removes everything (also on Ctrl-C).

  --mode MODE     attach in native (default) or skb (generic) mode
`;

function demoCommand(args: string[]): Promise<void> {
  const { values } = parseCommand("demo", args, { mode: { type: "string" } }, [0, 0], "no arguments");
  return runDemo({ mode: oneOf("demo", "mode", values.mode, ["native", "skb"] as const) });
}

/** The commands; groups ("xdp", "map") are the first word of several. */
const COMMANDS: readonly Command[] = [
  { name: "disasm", summary: "disassemble the programs of a BPF object", help: DISASM_HELP, run: disasmCommand },
  { name: "xdp attach", summary: "load an object's XDP program and attach it to an interface", help: XDP_ATTACH_HELP, run: xdpAttachCommand },
  { name: "xdp detach", summary: "detach the XDP program(s) of an interface", help: XDP_DETACH_HELP, run: xdpDetachCommand },
  { name: "xdp show", summary: "list the interfaces with XDP programs attached", help: XDP_SHOW_HELP, run: xdpShowCommand },
  { name: "map dump", summary: "print every entry of a pinned map", help: MAP_DUMP_HELP, run: mapDumpCommand },
  { name: "pin", summary: "load an object and pin its programs and maps in bpffs", help: PIN_HELP, run: pinCommand },
  { name: "unpin", summary: "remove pins from bpffs", help: UNPIN_HELP, run: unpinCommand },
  { name: "btf dump", summary: "print the BTF of vmlinux or an object, like bpftool (raw or C)", help: BTF_DUMP_HELP, run: btfDumpCommand },
  { name: "core explain", summary: "explain an object's CO-RE relocations against a kernel's BTF", help: CORE_EXPLAIN_HELP, run: coreExplainCommand },
  { name: "demo", summary: "count packets between two namespaces with the bundled XDP program", help: DEMO_HELP, run: demoCommand },
];

const MAIN_HELP = `usage: tsbpf <command> [arguments] [--help]

A BPF ELF loader for Node.js: disassemble objects, attach XDP programs, read maps.

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`).join("\n")}

Run \`tsbpf <command> --help\` for a command's arguments. Exit status: 0 on success,
1 when the operation failed, 2 when the command line is wrong.
`;

const isHelp = (arg: string) => arg === "--help" || arg === "-h";

/** Finds the command named by the first one or two words of argv. */
function findCommand(argv: string[]): { command: Command; args: string[] } | { group: string; help: string } {
  const [first, second] = argv;
  const single = COMMANDS.find((c) => c.name === first);
  if (single !== undefined) return { command: single, args: argv.slice(1) };
  const group = COMMANDS.filter((c) => c.name.startsWith(`${first} `));
  if (group.length === 0) throw new UsageError(`unknown command ${JSON.stringify(first)}`, "");
  const sub = group.find((c) => c.name === `${first} ${second}`);
  if (sub !== undefined) return { command: sub, args: argv.slice(2) };
  const help = `usage: tsbpf ${first} <command>\n\n${group.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`).join("\n")}\n`;
  if (second === undefined || isHelp(second)) return { group: first, help };
  throw new UsageError(`unknown command ${JSON.stringify(`${first} ${second}`)}`, first);
}

export async function main(argv: string[]): Promise<number> {
  try {
    if (argv.length === 0) throw new UsageError("no command given", "");
    if (isHelp(argv[0])) {
      process.stdout.write(MAIN_HELP);
      return 0;
    }
    const found = findCommand(argv);
    if ("group" in found) {
      if (argv.length === 1) throw new UsageError(`${found.group} needs a command`, found.group);
      process.stdout.write(found.help);
      return 0;
    }
    // --help anywhere before "--" wins over everything else on the line.
    const end = found.args.indexOf("--");
    if ((end < 0 ? found.args : found.args.slice(0, end)).some(isHelp)) {
      process.stdout.write(found.command.help);
      return 0;
    }
    await found.command.run(found.args);
    return 0;
  } catch (error) {
    return report(error);
  }
}

/** Prints a failure the way a command-line user wants it: the message, no stack trace. */
function report(error: unknown): number {
  if (error instanceof UsageError) {
    const see = error.command === "" ? "tsbpf --help" : `tsbpf ${error.command} --help`;
    process.stderr.write(`tsbpf: ${error.message}\nsee \`${see}\`\n`);
    return 2;
  }
  if (isBpfError(error) || error instanceof CommandError) {
    process.stderr.write(`tsbpf: ${error.message}\n`);
    return 1;
  }
  // Not something a user can cause: a bug. Keep the stack for the report.
  process.stderr.write(`tsbpf: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return 1;
}

process.exitCode = await main(process.argv.slice(2));
