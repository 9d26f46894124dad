// matchSection over libbpf's SEC() vocabulary. The expected program types, attach types and
// flags are written as UAPI *names* (BPF_PROG_TYPE_XDP, BPF_XDP_DEVMAP, BPF_F_SLEEPABLE) and
// their numbers are read from /usr/include/linux/bpf.h, so the oracle is the header and not
// our own table in common/uapi.ts. The header is 6.1's; names added later (BPF_TCX_INGRESS,
// BPF_PROG_TYPE_NETFILTER, ...) are read from the running kernel's BTF (enum bpf_prog_type
// and enum bpf_attach_type in /sys/kernel/btf/vmlinux, dumped by bpftool).

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SECTION_DEFINITIONS, matchSection } from "../loader/section-names.js";
import { parseObject } from "../loader/spec.js";
import { FIXTURES } from "./helpers/fixture-manifest.js";
import { readProg } from "./helpers/progs.js";

const BPF_H = "/usr/include/linux/bpf.h";
const VMLINUX = "/sys/kernel/btf/vmlinux";

/** The enumerators of `enum <name> { ... }` in a C header, with C's implicit numbering. */
function headerEnum(text: string, name: string): Map<string, number> {
  const body = new RegExp(`enum ${name} \\{([\\s\\S]*?)\\};`).exec(text);
  if (body === null) throw new Error(`enum ${name} not found in ${BPF_H}`);
  const values = new Map<string, number>();
  let next = 0;
  const withoutComments = body[1]!.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  for (const item of withoutComments.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const m = /^(\w+)\s*(?:=\s*(.+))?$/.exec(item);
    if (m === null) throw new Error(`cannot read enumerator "${item}" of enum ${name}`);
    if (m[2] !== undefined) next = values.get(m[2].trim()) ?? Number(m[2]);
    values.set(m[1]!, next++);
  }
  return values;
}

/** `#define NAME (1U << n)` flags of the header. */
function headerFlag(text: string, name: string): number {
  const m = new RegExp(`#define ${name}\\s+\\(1U << (\\d+)\\)`).exec(text);
  if (m === null) throw new Error(`#define ${name} not found in ${BPF_H}`);
  return 1 << Number(m[1]);
}

/** The enumerators of an ENUM in the running kernel's BTF, from `bpftool btf dump` (raw format). */
function kernelEnums(names: string[]): Map<string, number> | undefined {
  if (!existsSync(VMLINUX)) return undefined;
  const dump = execFileSync("bpftool", ["btf", "dump", "file", VMLINUX], { encoding: "utf8", maxBuffer: 512 * 1024 * 1024 });
  const values = new Map<string, number>();
  for (const name of names) {
    const block = new RegExp(`^\\[\\d+\\] ENUM '${name}'[^\\n]*\\n((?:\\t[^\\n]*\\n)+)`, "m").exec(dump);
    if (block === null) throw new Error(`enum ${name} not in ${VMLINUX}`);
    for (const m of block[1]!.matchAll(/^\t'(\w+)' val=(-?\d+)$/gm)) values.set(m[1]!, Number(m[2]));
  }
  return values;
}

const header = readFileSync(BPF_H, "utf8");
const headerValues = new Map([...headerEnum(header, "bpf_prog_type"), ...headerEnum(header, "bpf_attach_type")]);
const kernelValues = kernelEnums(["bpf_prog_type", "bpf_attach_type"]);
const SLEEPABLE = headerFlag(header, "BPF_F_SLEEPABLE");
const FRAGS = headerFlag(header, "BPF_F_XDP_HAS_FRAGS");

/** The number of a UAPI enumerator: 6.1's header first, then the running kernel. */
function uapi(name: string): number | undefined {
  return headerValues.get(name) ?? kernelValues?.get(name);
}

interface Row {
  section: string;
  /** Suffix of BPF_PROG_TYPE_*. */
  prog: string;
  /** Full enumerator name of the expected attach type, or undefined when the kernel wants none. */
  attach?: string;
  flags?: "sleepable" | "frags";
  target?: string;
}

// libbpf's SEC_DEF table (tools/lib/bpf/libbpf.c), as documented in libbpf's
// "Program Types and ELF Sections": section name -> program type, attach type, flags.
const ROWS: Row[] = [
  { section: "xdp", prog: "XDP", attach: "BPF_XDP" },
  { section: "xdp.frags", prog: "XDP", attach: "BPF_XDP", flags: "frags" },
  { section: "xdp/devmap", prog: "XDP", attach: "BPF_XDP_DEVMAP" },
  { section: "xdp/cpumap", prog: "XDP", attach: "BPF_XDP_CPUMAP" },
  { section: "xdp.frags/devmap", prog: "XDP", attach: "BPF_XDP_DEVMAP", flags: "frags" },
  { section: "xdp.frags/cpumap", prog: "XDP", attach: "BPF_XDP_CPUMAP", flags: "frags" },
  { section: "tc", prog: "SCHED_CLS" },
  { section: "tcx/ingress", prog: "SCHED_CLS", attach: "BPF_TCX_INGRESS" },
  { section: "tcx/egress", prog: "SCHED_CLS", attach: "BPF_TCX_EGRESS" },
  { section: "classifier", prog: "SCHED_CLS" },
  { section: "action", prog: "SCHED_ACT" },
  { section: "socket", prog: "SOCKET_FILTER" },
  { section: "sk_skb", prog: "SK_SKB" },
  { section: "sk_skb/stream_parser", prog: "SK_SKB", attach: "BPF_SK_SKB_STREAM_PARSER" },
  { section: "sk_skb/stream_verdict", prog: "SK_SKB", attach: "BPF_SK_SKB_STREAM_VERDICT" },
  { section: "sk_msg", prog: "SK_MSG", attach: "BPF_SK_MSG_VERDICT" },
  { section: "kprobe/x", prog: "KPROBE", target: "x" },
  { section: "kretprobe/x", prog: "KPROBE", target: "x" },
  { section: "uprobe", prog: "KPROBE" },
  { section: "ksyscall/x", prog: "KPROBE", target: "x" },
  { section: "tracepoint/a/b", prog: "TRACEPOINT", target: "a/b" },
  { section: "tp/a/b", prog: "TRACEPOINT", target: "a/b" },
  { section: "raw_tp/x", prog: "RAW_TRACEPOINT", target: "x" },
  { section: "raw_tracepoint/x", prog: "RAW_TRACEPOINT", target: "x" },
  { section: "raw_tracepoint.w/x", prog: "RAW_TRACEPOINT_WRITABLE", target: "x" },
  { section: "tp_btf/x", prog: "TRACING", attach: "BPF_TRACE_RAW_TP", target: "x" },
  { section: "fentry/x", prog: "TRACING", attach: "BPF_TRACE_FENTRY", target: "x" },
  { section: "fexit/x", prog: "TRACING", attach: "BPF_TRACE_FEXIT", target: "x" },
  { section: "fmod_ret/x", prog: "TRACING", attach: "BPF_MODIFY_RETURN", target: "x" },
  { section: "fentry.s/x", prog: "TRACING", attach: "BPF_TRACE_FENTRY", flags: "sleepable", target: "x" },
  { section: "freplace/x", prog: "EXT", target: "x" },
  { section: "lsm/x", prog: "LSM", attach: "BPF_LSM_MAC", target: "x" },
  { section: "lsm.s/x", prog: "LSM", attach: "BPF_LSM_MAC", flags: "sleepable", target: "x" },
  { section: "iter/task", prog: "TRACING", attach: "BPF_TRACE_ITER", target: "task" },
  { section: "iter.s/x", prog: "TRACING", attach: "BPF_TRACE_ITER", flags: "sleepable", target: "x" },
  { section: "cgroup/skb", prog: "CGROUP_SKB" },
  { section: "cgroup_skb/ingress", prog: "CGROUP_SKB", attach: "BPF_CGROUP_INET_INGRESS" },
  { section: "cgroup_skb/egress", prog: "CGROUP_SKB", attach: "BPF_CGROUP_INET_EGRESS" },
  { section: "cgroup/sock_create", prog: "CGROUP_SOCK", attach: "BPF_CGROUP_INET_SOCK_CREATE" },
  { section: "cgroup/sock", prog: "CGROUP_SOCK", attach: "BPF_CGROUP_INET_SOCK_CREATE" },
  { section: "cgroup/connect4", prog: "CGROUP_SOCK_ADDR", attach: "BPF_CGROUP_INET4_CONNECT" },
  { section: "cgroup/sendmsg6", prog: "CGROUP_SOCK_ADDR", attach: "BPF_CGROUP_UDP6_SENDMSG" },
  { section: "cgroup/sysctl", prog: "CGROUP_SYSCTL", attach: "BPF_CGROUP_SYSCTL" },
  { section: "cgroup/getsockopt", prog: "CGROUP_SOCKOPT", attach: "BPF_CGROUP_GETSOCKOPT" },
  { section: "cgroup/setsockopt", prog: "CGROUP_SOCKOPT", attach: "BPF_CGROUP_SETSOCKOPT" },
  { section: "cgroup/dev", prog: "CGROUP_DEVICE", attach: "BPF_CGROUP_DEVICE" },
  { section: "struct_ops/x", prog: "STRUCT_OPS", target: "x" },
  { section: "netfilter", prog: "NETFILTER", attach: "BPF_NETFILTER" },
  { section: "flow_dissector", prog: "FLOW_DISSECTOR", attach: "BPF_FLOW_DISSECTOR" },
  { section: "sk_lookup", prog: "SK_LOOKUP", attach: "BPF_SK_LOOKUP" },
  { section: "sk_reuseport", prog: "SK_REUSEPORT", attach: "BPF_SK_REUSEPORT_SELECT" },
  { section: "sk_reuseport/migrate", prog: "SK_REUSEPORT", attach: "BPF_SK_REUSEPORT_SELECT_OR_MIGRATE" },
  { section: "perf_event", prog: "PERF_EVENT" },
  { section: "lwt_in", prog: "LWT_IN" },
  { section: "lwt_xmit", prog: "LWT_XMIT" },
  { section: "sockops", prog: "SOCK_OPS", attach: "BPF_CGROUP_SOCK_OPS" },
  { section: "lirc_mode2", prog: "LIRC_MODE2", attach: "BPF_LIRC_MODE2" },
  { section: "syscall", prog: "SYSCALL", flags: "sleepable" },
];

/** Every UAPI name a row needs, with whether it is known (6.1 header or running kernel). */
function namesOf(row: Row): string[] {
  return [`BPF_PROG_TYPE_${row.prog}`, ...(row.attach === undefined ? [] : [row.attach])];
}

describe("the oracle", () => {
  it("reads enum bpf_prog_type and enum bpf_attach_type from the 6.1 header", () => {
    expect(headerValues.get("BPF_PROG_TYPE_UNSPEC")).toBe(0);
    expect(headerValues.get("BPF_PROG_TYPE_SYSCALL")).toBe(31);
    expect(headerValues.get("BPF_CGROUP_INET_INGRESS")).toBe(0);
    expect(headerValues.get("BPF_LSM_CGROUP")).toBe(43);
    expect([SLEEPABLE, FRAGS]).toEqual([16, 32]);
  });

  it.skipIf(kernelValues === undefined)("the running kernel's BTF agrees with the header on every 6.1 name", () => {
    for (const [name, value] of headerValues) {
      if (name.startsWith("__MAX")) continue;
      expect(kernelValues!.get(name), name).toBe(value);
    }
  });
});

describe("matchSection: libbpf's SEC() names", () => {
  it.each(ROWS)("$section", (row) => {
    const unknown = namesOf(row).filter((n) => uapi(n) === undefined);
    if (unknown.length > 0) {
      // Only possible without /sys/kernel/btf/vmlinux: names newer than the 6.1 header.
      expect(kernelValues, `${unknown.join(", ")} need the running kernel's BTF`).toBeUndefined();
      return;
    }
    const match = matchSection(row.section);
    expect(match, row.section).toBeDefined();
    expect(match!.definition.programType).toBe(uapi(`BPF_PROG_TYPE_${row.prog}`));
    expect(match!.definition.attachType).toBe(row.attach === undefined ? undefined : uapi(row.attach));
    expect(match!.definition.flags ?? 0).toBe(row.flags === "sleepable" ? SLEEPABLE : row.flags === "frags" ? FRAGS : 0);
    expect(match!.target).toBe(row.target ?? "");
    expect(match!.legacy).toBe(false);
  });
});

describe("matchSection: names older loaders accepted by bare prefix", () => {
  it.each([
    { section: "xdp_foo", prog: "XDP" },
    { section: "classifier_x", prog: "SCHED_CLS" },
    { section: "socket_filter_1", prog: "SOCKET_FILTER" },
    { section: "action_drop", prog: "SCHED_ACT" },
  ])("$section", ({ section, prog }) => {
    const match = matchSection(section);
    expect(match?.definition.programType).toBe(uapi(`BPF_PROG_TYPE_${prog}`));
    expect(match?.legacy).toBe(true);
  });

  it('"prog" (iproute2\'s default section) is recognised as a legacy name', () => {
    expect(matchSection("prog")?.legacy).toBe(true);
  });
});

describe("matchSection: unknown names", () => {
  it.each(["", ".text", "license", "version", "maps", ".maps", ".BTF", ".rodata", "foo", "fentryx", "lsm_foo", "sk_lookupx", "netfilterx", "cgroup/unknown", "iterx"])(
    "%j is not a program section",
    (section) => {
      expect(matchSection(section)).toBeUndefined();
    },
  );

  // libbpf before 1.0 matched these by the prefixes "kprobe/", "kretprobe/", "tracepoint/" and
  // "raw_tracepoint/", slash included (only socket, xdp, classifier, action, perf_event and a
  // few others matched bare); loader/section-names.ts says so itself: "kprobex" does not match.
  it.each(["kprobex", "kretprobex", "tracepointx", "raw_tracepointx"])("%j (a bare prefix no loader accepted) is not a program section", (section) => {
    expect(matchSection(section)).toBeUndefined();
  });
});

describe("the section table", () => {
  it("no entry is hidden behind an earlier one", () => {
    for (const definition of SECTION_DEFINITIONS) {
      expect(matchSection(definition.name)?.definition, definition.name).toBe(definition);
      if (definition.match === "prefix") {
        const match = matchSection(`${definition.name}/some_target`);
        expect(match?.definition, `${definition.name}/some_target`).toBe(definition);
        expect(match?.target).toBe("some_target");
      } else {
        // An exact name followed by anything is not that entry.
        expect(matchSection(`${definition.name}/x`)?.definition, `${definition.name}/x`).not.toBe(definition);
      }
    }
  });

  it("every program type and attach type in the table is a UAPI value", () => {
    const known = new Set([...headerValues.values(), ...(kernelValues?.values() ?? [])]);
    for (const definition of SECTION_DEFINITIONS) {
      expect(known.has(definition.programType), definition.name).toBe(true);
      if (definition.attachType !== undefined) expect(known.has(definition.attachType), definition.name).toBe(true);
    }
  });
});

describe("parseObject applies the section table", () => {
  const manifestTypes: Record<string, string> = {
    socket_filter: "SOCKET_FILTER", kprobe: "KPROBE", sched_cls: "SCHED_CLS", tracepoint: "TRACEPOINT",
    xdp: "XDP", perf_event: "PERF_EVENT", cgroup_skb: "CGROUP_SKB", raw_tracepoint: "RAW_TRACEPOINT",
  };

  it("sections.o: each program gets the type of its section, and the attach target after the slash", () => {
    const spec = parseObject(readProg("sections"));
    for (const expected of FIXTURES.sections!.programs) {
      const program = spec.programs.get(expected.name)!;
      expect(program.section).toBe(expected.section);
      expect(program.type, expected.name).toBe(uapi(`BPF_PROG_TYPE_${manifestTypes[expected.programType]}`));
    }
    expect(spec.programs.get("kprobe_prog")!.attachTarget).toBe("do_sys_open");
    expect(spec.programs.get("tracepoint_prog")!.attachTarget).toBe("syscalls/sys_enter_openat");
    expect(spec.programs.get("xdp_frags_prog")!.flags).toBe(FRAGS);
    expect(spec.programs.get("xdp_frags_prog")!.expectedAttachType).toBe(uapi("BPF_XDP"));
    expect(spec.programs.get("cgroup_egress_prog")!.expectedAttachType).toBe(uapi("BPF_CGROUP_INET_EGRESS"));
    expect(spec.programs.get("cgroup_skb_prog")!.expectedAttachType).toBeUndefined();
  });

  it("subprograms in .text get no program type", () => {
    const spec = parseObject(readProg("subprog"));
    for (const sub of spec.subprograms.values()) {
      expect([sub.type, sub.expectedAttachType, sub.attachTarget]).toEqual([0, undefined, ""]);
    }
  });
});
