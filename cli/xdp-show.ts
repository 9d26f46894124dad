// `tsbpf xdp show [DEV] [--json]`: the interfaces with XDP programs and what the kernel says
// about each program. The ids come from RTM_GETLINK (IFLA_XDP_*_PROG_ID, as `ip link show`
// prints "prog/xdp id N"); name, tag and JIT state from BPF_OBJ_GET_INFO_BY_FD on the
// program found by id (as `bpftool prog show id N` prints them).

import { listXdp, programInfoById, queryXdp, type XdpMode } from "../index.js";
import { inNetns, programsByMode } from "./xdp-common.js";
import { parseCommand, print } from "./usage.js";

export const XDP_SHOW_HELP = `usage: tsbpf xdp show [DEV] [--json] [--netns NS]

Lists the interfaces that have XDP programs attached (or interface DEV only), with each
program's mode, id, name, tag and whether the kernel JIT-compiled it.

  --json          print JSON instead of a table
  --netns NS      look in network namespace NS (as \`ip -n NS\`)
`;

const SHOW = "xdp show";

interface ShownProgram {
  mode: XdpMode;
  id: number;
  name: string;
  tag: string;
  jited: boolean;
}

interface ShownInterface {
  interface: string;
  ifindex: number;
  /** IFLA_XDP_ATTACHED: none, native, skb, offload, or multi (more than one mode). */
  attached: string;
  programs: ShownProgram[];
}

export function xdpShowCommand(args: string[]): void {
  const { values, positionals } = parseCommand(SHOW, args, { json: { type: "boolean" }, netns: { type: "string", short: "n" } }, [0, 1], "[DEV]");
  const [dev] = positionals;
  const shown = inNetns(values.netns, () => collect(dev));
  if (values.json === true) print(JSON.stringify(shown, null, 2));
  else for (const line of table(shown, dev)) print(line);
}

function collect(dev: string | undefined): ShownInterface[] {
  if (dev !== undefined) queryXdp(dev); // the library's clear error for a missing interface
  const links = listXdp().filter((link) => (dev === undefined ? link.xdp.attached !== "none" : link.name === dev));
  return links.map((link) => ({
    interface: link.name,
    ifindex: link.ifindex,
    attached: link.xdp.attached,
    programs: programsByMode(link.xdp).map(({ mode, id }) => {
      const info = programInfoById(id);
      // jited_prog_len is 0 when the program runs in the interpreter.
      return { mode, id, name: info.name, tag: info.tag, jited: info.jitedProgLen > 0 };
    }),
  }));
}

function table(shown: ShownInterface[], dev: string | undefined): string[] {
  const rows = shown.flatMap((i) =>
    i.programs.map((p) => [i.interface, String(i.ifindex), p.mode, String(p.id), p.name, p.tag, p.jited ? "yes" : "no"]),
  );
  if (rows.length === 0) {
    if (dev === undefined) return ["no XDP programs attached"];
    const link = shown[0];
    return [`${dev}${link === undefined ? "" : ` (ifindex ${link.ifindex})`}: no XDP program attached`];
  }
  const header = ["INTERFACE", "IFINDEX", "MODE", "ID", "NAME", "TAG", "JITED"];
  const widths = header.map((h, column) => Math.max(h.length, ...rows.map((r) => r[column].length)));
  const line = (cells: string[]) => cells.map((c, column) => (column === cells.length - 1 ? c : c.padEnd(widths[column]))).join("  ");
  return [line(header), ...rows.map(line)];
}
