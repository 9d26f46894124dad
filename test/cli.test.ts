// The tsbpf command line, run as a user runs it: a separate process (`node --import tsx
// cli/main.ts ...`), judged by its stdout, stderr and exit status, against tools we did not
// write. Oracles: llvm-objdump (disasm), `ip link show` and `bpftool prog show` (xdp attach
// and show), and values this test writes into maps through the library (map dump).
//
// Kernel parts run inside a NetnsPair (two namespaces of our own joined by a veth pair);
// the CLI runs inside namespace a through `ip netns exec`, or is told the namespace with
// --netns when it must pin (ip netns exec mounts a fresh /sys, hiding /sys/fs/bpf). Pins
// go under a per-run directory in /sys/fs/bpf, removed in afterAll with the namespaces.

import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BpfMap, MapType, parseObject, type ProgramSpec, type Reference } from "../index.js";
import { helperName } from "../insn/helpers.js";
import { NetnsPair, skipWithoutRoot } from "./helpers/netns.js";
import { REPO_ROOT, fixtureNames } from "./helpers/progs.js";

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI (optionally inside network namespace `ns`) from the repository root. */
function tsbpf(args: string[], ns?: string): Run {
  const argv = [process.execPath, "--import", "tsx", "cli/main.ts", ...args];
  const [command, ...rest] = ns === undefined ? argv : ["ip", "netns", "exec", ns, ...argv];
  const result = spawnSync(command, rest, { cwd: REPO_ROOT, encoding: "utf8", timeout: 60_000 });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** A failure as a user should see it: the status, a message, and no stack trace. */
function expectFailure(run: Run, status: 1 | 2, message: RegExp): void {
  expect(run.status, run.stderr).toBe(status);
  expect(run.stderr).toMatch(message);
  expect(run.stderr).toMatch(/^tsbpf: /);
  expect(run.stderr).not.toMatch(/^\s+at /m);
}

const fixture = (name: string) => `test/progs/build/${name}.o`;

describe("tsbpf disasm", () => {
  /** What our line must say at a referencing instruction, given objdump's text there. */
  function expectedSymbolic(ref: Reference, objdumpText: string): RegExp {
    const dst = /^(r\d+) = /.exec(objdumpText)?.[1] ?? "";
    const quote = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    switch (ref.kind) {
      case "map":
        return new RegExp(`^${dst} = map\\[${quote(ref.map)}\\] ll$`);
      case "data":
        return new RegExp(`^${dst} = map_value\\[${quote(ref.section)}${ref.offset === 0 ? "" : `\\+${ref.offset}`}\\] ll( ; \\S+)?$`);
      case "call":
        return new RegExp(`^call ${quote(ref.target)}$`);
      case "function":
        return new RegExp(`^${dst} = func\\[${quote(ref.target)}\\] ll$`);
      case "extern":
        return ref.call ? new RegExp(`^call ${quote(ref.symbol)}$`) : new RegExp(`^${dst} = ksym\\[${quote(ref.symbol)}\\] ll$`);
    }
  }

  for (const name of fixtureNames()) {
    it(`matches llvm-objdump on ${name}.o, with symbols where objdump prints numbers`, () => {
      const path = fixture(name);
      const run = tsbpf(["disasm", path]);
      expect(run.status, run.stderr).toBe(0);
      const ours = run.stdout.split("\n");
      const theirs = execFileSync("llvm-objdump", ["-d", "--no-show-raw-insn", path], { cwd: REPO_ROOT, encoding: "utf8" }).split("\n");
      expect(ours.length).toBe(theirs.length);

      // Per section and slot (counted from the section's start, as objdump does): references and helper calls.
      const spec = parseObject(readFileSync(`${REPO_ROOT}/${path}`));
      const refs = new Map<string, Reference>();
      const helpers = new Map<string, number>();
      const functions: ProgramSpec[] = [...spec.programs.values(), ...spec.subprograms.values()];
      for (const fn of functions) {
        const base = fn.sectionOffset / 8;
        for (const ref of fn.references) refs.set(`${fn.section}:${base + ref.insn}`, ref);
        for (const insn of fn.instructions) if (insn.isHelperCall) helpers.set(`${fn.section}:${base + insn.slot}`, insn.imm);
      }

      let section = "";
      let symbolic = 0;
      for (let i = 0; i < ours.length; i++) {
        section = /^Disassembly of section (.*):$/.exec(theirs[i])?.[1] ?? section;
        const theirInsn = /^( *\d+):\t(.*)$/.exec(theirs[i]);
        const key = theirInsn === null ? "" : `${section}:${Number(theirInsn[1])}`;
        const ref = refs.get(key);
        const helper = helpers.get(key);
        if (theirInsn === null || (ref === undefined && helper === undefined)) {
          expect(ours[i], `line ${i + 1}`).toBe(theirs[i]);
          continue;
        }
        symbolic++;
        const ourInsn = /^( *\d+):\t(.*)$/.exec(ours[i]);
        expect(ourInsn?.[1], `line ${i + 1}`).toBe(theirInsn[1]);
        if (ref !== undefined) expect(ourInsn![2], `line ${i + 1}: objdump says ${theirInsn[2]}`).toMatch(expectedSymbolic(ref, theirInsn[2]));
        else expect(ourInsn![2]).toBe(`call ${helperName(helper!) ?? helper}`);
      }
      const expectedSymbolicLines = [...refs.keys(), ...helpers.keys()].length;
      expect(symbolic).toBe(expectedSymbolicLines);
    });
  }

  it("names the map, the helper and the called functions", () => {
    const counter = tsbpf(["disasm", fixture("xdp_counter")]).stdout;
    expect(counter).toMatch(/^ +14:\tr1 = map\[stats\] ll$/m);
    expect(counter).toMatch(/^ +16:\tcall bpf_map_lookup_elem$/m);
    const subprog = tsbpf(["disasm", fixture("subprog")]).stdout;
    expect(subprog).toMatch(/^ +1:\tcall bump$/m);
    expect(subprog).toMatch(/^ +1:\tcall classify_len$/m);
    expect(subprog).toMatch(/^ +13:\tr1 = map\[calls\] ll$/m);
    const data = tsbpf(["disasm", fixture("global_data")]).stdout;
    expect(data).toMatch(/= map_value\[\.rodata\] ll ; drop_all$/m);
  });

  it("--prog and --sec print the chosen programs and the subprograms they call", () => {
    const tc = tsbpf(["disasm", fixture("subprog"), "--prog", "tc_global_call"]);
    expect(tc.status).toBe(0);
    expect(tc.stdout.match(/^[0-9a-f]{16} <(\w+)>:$/gm)?.map((l) => l.split("<")[1])).toEqual(["classify_len>:", "LBB0_3>:", "bump>:", "LBB2_2>:", "tc_global_call>:"]);
    expect(tc.stdout).not.toContain("xdp_static_call");
    const xdp = tsbpf(["disasm", fixture("subprog"), "--sec", "xdp"]);
    expect(xdp.stdout).toMatch(/Disassembly of section \.text:\n\n0000000000000050 <bump>:/);
    expect(xdp.stdout).toContain("<xdp_static_call>:");
    expect(xdp.stdout).not.toContain("classify_len");
    expect(xdp.stdout).not.toContain("tc_global_call");
  });

  it("fails clearly on a missing file, a non-ELF file and an unknown program", () => {
    expectFailure(tsbpf(["disasm", "test/progs/build/no-such-object.o"]), 1, /cannot read object .*no-such-object\.o: no such file/);
    expectFailure(tsbpf(["disasm", "package.json"]), 1, /not an ELF file/);
    expectFailure(tsbpf(["disasm", fixture("subprog"), "--prog", "nope"]), 1, /no program named nope \(programs: xdp_static_call, tc_global_call\)/);
  });
});

describe("tsbpf is built on the public API", () => {
  it("cli/ imports nothing of ours but ../index.js and its own modules", () => {
    const files = readdirSync(`${REPO_ROOT}/cli`).filter((f) => f.endsWith(".ts"));
    expect(files).toContain("main.ts");
    for (const file of files) {
      const source = readFileSync(`${REPO_ROOT}/cli/${file}`, "utf8");
      const specifiers = [...source.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gms)].map((m) => m[1]);
      for (const specifier of specifiers) {
        expect(specifier === "../index.js" || /^\.\/[\w-]+\.js$/.test(specifier) || specifier.startsWith("node:"), `${file} imports ${specifier}`).toBe(true);
      }
    }
  });
});

describe("tsbpf usage", () => {
  it("prints help with exit status 0", () => {
    const main = tsbpf(["--help"]);
    expect(main.status).toBe(0);
    for (const command of ["disasm", "xdp attach", "xdp detach", "xdp show", "map dump", "demo"]) expect(main.stdout).toContain(`  ${command} `);
    const attach = tsbpf(["xdp", "attach", "--help"]);
    expect(attach.status).toBe(0);
    expect(attach.stdout).toMatch(/^usage: tsbpf xdp attach DEV OBJ/);
    expect(attach.stdout).toContain("--replace");
    expect(tsbpf(["map", "dump", "-h"]).stdout).toMatch(/^usage: tsbpf map dump PINNED_PATH/);
  });

  it("exits 2 on a wrong command line, saying what is wrong", () => {
    expectFailure(tsbpf([]), 2, /no command given/);
    expectFailure(tsbpf(["frobnicate"]), 2, /unknown command "frobnicate"/);
    expectFailure(tsbpf(["xdp", "attack"]), 2, /unknown command "xdp attack"/);
    expectFailure(tsbpf(["disasm"]), 2, /missing argument: expected OBJ/);
    expectFailure(tsbpf(["disasm", "a.o", "b.o"]), 2, /unexpected argument "b\.o"/);
    expectFailure(tsbpf(["disasm", "a.o", "--bogus"]), 2, /Unknown option '--bogus'/);
    expectFailure(tsbpf(["disasm", "a.o", "--sec", "xdp", "--prog", "x"]), 2, /--sec and --prog cannot be used together/);
    expectFailure(tsbpf(["xdp", "attach", "eth9", "a.o", "--mode", "turbo"]), 2, /--mode must be one of skb, native, offload, not "turbo"/);
    expectFailure(tsbpf(["xdp", "attach", "onlyone"]), 2, /missing argument: expected DEV and OBJ/);
    expectFailure(tsbpf(["map", "dump"]), 2, /missing argument: expected PINNED_PATH/);
  });
});

describe.skipIf(skipWithoutRoot)("tsbpf xdp and map dump on a veth pair in namespaces of our own", () => {
  let pair: NetnsPair;
  const pinDir = `/sys/fs/bpf/tsbpf-cli-${process.pid}-${randomBytes(2).toString("hex")}`;
  const maps: BpfMap[] = [];

  beforeAll(() => {
    pair = NetnsPair.create();
    mkdirSync(pinDir);
  });

  afterAll(() => {
    for (const map of maps) map.close();
    pair?.cleanup(); // removes the veth pair and whatever is still attached to it
    rmSync(pinDir, { recursive: true, force: true });
  });

  /** `ip link show` in namespace a: iproute2's "prog/xdp id N ... tag T", if any. */
  function ipLinkXdp(): { ifindex: number; id: number; tag: string } | undefined {
    const text = execFileSync("ip", ["-n", pair.a.ns, "link", "show", "dev", pair.a.dev], { encoding: "utf8" });
    const ifindex = Number(/^(\d+): /.exec(text)![1]);
    const prog = /prog\/xdp id (\d+) .*tag ([0-9a-f]{16})/.exec(text);
    return prog === null ? undefined : { ifindex, id: Number(prog[1]), tag: prog[2] };
  }

  function bpftoolProg(id: number): { id: number; tag: string; name: string; jited: boolean } {
    return JSON.parse(execFileSync("bpftool", ["-j", "prog", "show", "id", String(id)], { encoding: "utf8" }));
  }

  it("attaches, shows, refuses a second attach, replaces and detaches", () => {
    const { ns, dev } = pair.a;
    const attach = tsbpf(["xdp", "attach", dev, fixture("xdp_counter"), "--mode", "native"], ns);
    expect(attach.status, attach.stderr).toBe(0);
    const said = new RegExp(`^attached xdp_count to ${dev} \\(ifindex (\\d+)\\) in native mode: program id (\\d+), tag ([0-9a-f]{16})$`, "m").exec(attach.stdout);
    expect(said, attach.stdout).not.toBeNull();
    expect(attach.stdout).toMatch(/^map stats: id \d+, not pinned/m);

    // The CLI has exited; the program is still attached, and every tool agrees on what it is.
    const ip = ipLinkXdp();
    expect(ip).toEqual({ ifindex: Number(said![1]), id: Number(said![2]), tag: said![3] });
    const bpftool = bpftoolProg(ip!.id);
    expect(bpftool.tag).toBe(ip!.tag);

    const shown = tsbpf(["xdp", "show", "--json"], ns);
    expect(shown.status, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toEqual([
      {
        interface: dev,
        ifindex: ip!.ifindex,
        attached: "native",
        programs: [{ mode: "native", id: ip!.id, name: "xdp_count", tag: ip!.tag, jited: bpftool.jited }],
      },
    ]);
    const table = tsbpf(["xdp", "show", dev], ns).stdout.split("\n");
    expect(table[0].split(/\s+/)).toEqual(["INTERFACE", "IFINDEX", "MODE", "ID", "NAME", "TAG", "JITED"]);
    expect(table[1].split(/\s+/)).toEqual([dev, String(ip!.ifindex), "native", String(ip!.id), "xdp_count", ip!.tag, bpftool.jited ? "yes" : "no"]);

    // A second program without --replace: refused, nothing changed.
    const again = tsbpf(["xdp", "attach", dev, fixture("xdp_pass")], ns);
    expectFailure(again, 1, new RegExp(`${dev} already has an XDP program attached \\(program id ${ip!.id} in native mode\\); use --replace`));
    expect(ipLinkXdp()?.id).toBe(ip!.id);

    const replaced = tsbpf(["xdp", "attach", dev, fixture("xdp_pass"), "--replace"], ns);
    expect(replaced.status, replaced.stderr).toBe(0);
    const now = ipLinkXdp();
    expect(now?.id).not.toBe(ip!.id);
    expect(replaced.stdout).toContain(`replaced program id ${ip!.id}: attached xdp_pass to ${dev} (ifindex ${ip!.ifindex}) in native mode: program id ${now!.id}, tag ${now!.tag}`);
    expect(bpftoolProg(now!.id).name).toBe("xdp_pass");

    const detached = tsbpf(["xdp", "detach", dev], ns);
    expect(detached.status, detached.stderr).toBe(0);
    expect(detached.stdout).toBe(`detached program id ${now!.id} from ${dev} (native mode)\n`);
    expect(ipLinkXdp()).toBeUndefined();
    expect(tsbpf(["xdp", "show"], ns).stdout).toBe("no XDP programs attached\n");
    expect(tsbpf(["xdp", "show", "--json"], ns).stdout.trim()).toBe("[]");
  });

  it("says clearly that an interface does not exist", () => {
    const missing = "tbnosuchdev0";
    expectFailure(tsbpf(["xdp", "attach", missing, fixture("xdp_pass")], pair.a.ns), 1, /no interface named "tbnosuchdev0" in this network namespace/);
    expectFailure(tsbpf(["xdp", "show", missing], pair.a.ns), 1, /no interface named "tbnosuchdev0"/);
    expectFailure(tsbpf(["xdp", "detach", missing], pair.a.ns), 1, /no interface named "tbnosuchdev0"/);
  });

  it("pins an object's pinned maps under --pin-root; map dump reads what the program counted", () => {
    const { ns, dev } = pair.b;
    const root = `${pinDir}/attach`;
    // Inside `ip netns exec`, /sys/fs/bpf is not a BPF filesystem: the CLI says so before loading.
    expectFailure(
      tsbpf(["xdp", "attach", dev, fixture("iproute2_elf_map"), "--pin-root", root], ns),
      1,
      /map pinned_counts is to be pinned under .*, which is not on a BPF filesystem/,
    );

    const attach = tsbpf(["xdp", "attach", dev, fixture("iproute2_elf_map"), "--sec", "xdp", "--mode", "skb", "--pin-root", root, "--netns", ns]);
    expect(attach.status, attach.stderr).toBe(0);
    const pinned = `${root}/tc/globals/pinned_counts`;
    expect(attach.stdout).toMatch(new RegExp(`^attached xdp_count_iproute2 to ${dev} .* in skb mode`, "m"));
    expect(attach.stdout).toContain(`map pinned_counts: id `);
    expect(attach.stdout).toContain(`pinned at ${pinned}`);

    const count = 25;
    pair.sendUdp("a", 40000 + (process.pid % 20000), count);
    const dump = tsbpf(["map", "dump", pinned, "--json"]);
    expect(dump.status, dump.stderr).toBe(0);
    const entries = JSON.parse(dump.stdout) as { key: string[]; formatted: { key: number; value: number } }[];
    expect(entries.map((e) => e.formatted.key)).toEqual([0, 1]);
    expect(entries[0].formatted.value).toBe(0); // key 0 is the tc program's, not loaded
    expect(entries[1].formatted.value).toBeGreaterThanOrEqual(count); // every frame, UDP and neighbour discovery alike

    const detached = tsbpf(["xdp", "detach", dev, "--mode", "skb", "--netns", ns]);
    expect(detached.status, detached.stderr).toBe(0);
    expect(detached.stdout).toMatch(/^detached program id \d+ from .* \(skb mode\)$/m);
    expect(JSON.parse(tsbpf(["xdp", "show", "--json", "--netns", ns]).stdout)).toEqual([]);
  });

  it("map dump prints what the test wrote: hex bytes, numbers, one value per CPU", () => {
    const hash = BpfMap.create({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 8, name: "cli_hash" });
    maps.push(hash);
    hash.update(17, 5n);
    hash.update(0x01020304, 0x1122334455667788n);
    hash.pin(`${pinDir}/hash`);
    const text = tsbpf(["map", "dump", `${pinDir}/hash`]);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout.split("\n").sort()).toEqual(
      [
        "",
        "Found 2 elements",
        "key: 04 03 02 01 (16909060)  value: 88 77 66 55 44 33 22 11 (1234605616436508552)",
        "key: 11 00 00 00 (17)  value: 05 00 00 00 00 00 00 00 (5)",
      ].sort(),
    );
    const json = JSON.parse(tsbpf(["map", "dump", `${pinDir}/hash`, "--json"]).stdout) as { key: string[]; value: string[]; formatted: unknown }[];
    const byKey = new Map(json.map((e) => [e.key.join(" "), e]));
    expect(byKey.get("0x11 0x00 0x00 0x00")).toEqual({
      key: ["0x11", "0x00", "0x00", "0x00"],
      value: ["0x05", "0x00", "0x00", "0x00", "0x00", "0x00", "0x00", "0x00"],
      formatted: { key: 17, value: 5 },
    });
    expect((byKey.get("0x04 0x03 0x02 0x01")!.formatted as { value: unknown }).value).toBe("1234605616436508552"); // beyond 2^53: a string

    const bytes = BpfMap.create({ type: MapType.HASH, keySize: 3, valueSize: 5, maxEntries: 2, name: "cli_bytes" });
    maps.push(bytes);
    bytes.update(new Uint8Array([0xaa, 0xbb, 0xcc]), new Uint8Array([1, 2, 3, 4, 5]));
    bytes.pin(`${pinDir}/bytes`);
    expect(tsbpf(["map", "dump", `${pinDir}/bytes`]).stdout).toBe("key: aa bb cc  value: 01 02 03 04 05\nFound 1 element\n");

    const perCpu = BpfMap.create({ type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, name: "cli_percpu" });
    maps.push(perCpu);
    const cpus = (perCpu.lookup(0) as number[]).length;
    perCpu.update(1, Array.from({ length: cpus }, (_, cpu) => cpu + 100));
    perCpu.pin(`${pinDir}/percpu`);
    const lines = tsbpf(["map", "dump", `${pinDir}/percpu`]).stdout.split("\n");
    const cpu = (n: number, v: number) => `  value (CPU ${String(n).padStart(2, "0")}): ${v.toString(16).padStart(2, "0")} 00 00 00 (${v})`;
    expect(lines).toEqual([
      "key: 00 00 00 00 (0)",
      ...Array.from({ length: cpus }, (_, n) => cpu(n, 0)),
      "key: 01 00 00 00 (1)",
      ...Array.from({ length: cpus }, (_, n) => cpu(n, n + 100)),
      "Found 2 elements",
      "",
    ]);
  });

  it("map dump fails clearly on a path with no map", () => {
    expectFailure(tsbpf(["map", "dump", `${pinDir}/nothing-here`]), 1, /nothing is pinned at that path/);
    expectFailure(tsbpf(["map", "dump", "package.json"]), 1, /package\.json is not in a BPF filesystem/);
  });
});
