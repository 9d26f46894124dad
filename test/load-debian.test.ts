// Objects nobody here wrote, from Debian's xdp-tools and xdp-tests packages, through our
// loader into the kernel, and run there with BPF_PROG_TEST_RUN on a hand-built frame.
//
// The xdp-filter programs (xdpfilt_{alw,dny}_{all,eth,ip,tcp,udp}.o) are compiled from one
// source, xdp-filter/xdpfilt_prog.h, with features switched on per file. What they do:
// - each filter map (filter_ports, filter_ipv4, filter_ipv6, filter_ethernet) holds, per
//   port/address, MAP_FLAG_* bits (SRC 1, DST 2, TCP 4, UDP 8) plus a hit counter above
//   bit 6 (COUNTER_SHIFT); a frame matches when the entry has all the flags asked for;
// - "alw" objects pass by default and drop what matches, "dny" objects drop by default
//   and pass what matches: with empty maps a valid UDP frame is PASSed by alw_* and
//   DROPped by dny_*;
// - every verdict is counted in xdp_stats_map (PERCPU_ARRAY keyed by XDP action, value
//   struct { __u64 rx_packets, rx_bytes; }).
// All their maps are LIBBPF_PIN_BY_NAME: the ten objects share one set of maps under the
// pin root, as they do under /sys/fs/bpf/xdp-filter when xdp-filter loads them. Here the
// pin root is a per-run directory, removed in afterAll.
//
// Objects that need what the loader does not do yet are loaded too, and the test records
// how they fail (fentry programs: this kernel runs in lockdown and refuses them, to libbpf too).

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BpfError, load, loadObject, parseObject, SpecError, XdpAction, type LoadedObject } from "../index.js";
import { fdLeaks } from "./helpers/fds.js";
import { skipWithoutRoot } from "./helpers/netns.js";

const XDP_TOOLS = "/usr/lib/x86_64-linux-gnu/bpf";
const XDP_TESTS = "/usr/libexec/xdp-tools";
const XDPFILT = ["alw", "dny"].flatMap((mode) => ["all", "eth", "ip", "tcp", "udp"].map((what) => `xdpfilt_${mode}_${what}`));

const DST_PORT = 4242;
const SRC_ADDR = [10, 0, 0, 1];
const DST_ADDR = [10, 0, 0, 2];
const DST_MAC = [0x02, 0, 0, 0, 0, 0x02];
const MAP_FLAG_DST = 1 << 1;
const MAP_FLAG_UDP = 1 << 3;
const COUNTER_SHIFT = 6n;

/** A valid 64-byte Ethernet/IPv4/UDP frame, 10.0.0.1:40000 -> 10.0.0.2:4242 (see test/load.test.ts). */
function udpFrame(size = 64): Uint8Array {
  const frame = new Uint8Array(size);
  const view = new DataView(frame.buffer);
  frame.set([...DST_MAC, 0x02, 0, 0, 0, 0, 0x01], 0);
  view.setUint16(12, 0x0800);
  frame.set([0x45, 0x00], 14);
  view.setUint16(16, size - 14);
  frame.set([64, 17], 22);
  frame.set([...SRC_ADDR, ...DST_ADDR], 26);
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += (frame[i] << 8) | frame[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  view.setUint16(24, ~sum & 0xffff);
  view.setUint16(34, 40000);
  view.setUint16(36, DST_PORT);
  view.setUint16(38, size - 34);
  return frame;
}

/** Bytes as a little-endian u32: how a program that copies network-order bytes into a __u32 key sees them. */
const keyOf = (bytes: number[]) => new DataView(Uint8Array.from(bytes).buffer).getUint32(0, true);

describe.skipIf(skipWithoutRoot)("Debian's xdp-tools objects in the kernel", () => {
  const pinRoot = `/sys/fs/bpf/tsbpf-debian-${process.pid}-${randomBytes(3).toString("hex")}`;
  const loaded: LoadedObject[] = [];
  const loadFile = (path: string): LoadedObject => {
    const obj = loadObject(readFileSync(path), { pinRoot });
    loaded.push(obj);
    return obj;
  };

  beforeAll(() => mkdirSync(pinRoot));
  afterAll(() => {
    for (const obj of loaded) obj.close();
    rmSync(pinRoot, { recursive: true, force: true });
  });

  describe.skipIf(!existsSync(XDP_TESTS))("xdp-tests", () => {
    it("xdp_pass.o passes and xdp_drop.o drops", () => {
      const pass = loadFile(join(XDP_TESTS, "xdp_pass.o"));
      expect([...pass.programs.keys()]).toEqual(["xdp_pass"]);
      expect(pass.program("xdp_pass").testRun(udpFrame())).toMatchObject({ retval: XdpAction.PASS, action: "PASS" });
      const drop = loadFile(join(XDP_TESTS, "xdp_drop.o"));
      expect(drop.program("xdp_drop").testRun(udpFrame())).toMatchObject({ retval: XdpAction.DROP, action: "DROP" });
    });

    it("test_long_func_name.o: names longer than the kernel's 15 characters are kept whole on our side", () => {
      const obj = loadFile(join(XDP_TESTS, "test_long_func_name.o"));
      expect([...obj.programs.keys()].sort()).toEqual(["xdp_test_prog_with_a_long_name", "xdp_test_prog_with_a_long_name_too"]);
      for (const program of obj.programs.values()) {
        expect(program.info().name).toBe("xdp_test_prog_w");
        expect(program.testRun(udpFrame()).action).toBe("PASS");
      }
    });
  });

  describe.skipIf(!existsSync(join(XDP_TOOLS, "xdpfilt_alw_all.o")))("xdp-filter", () => {
    const objects = new Map<string, LoadedObject>();
    const filter = (name: string) => objects.get(name)!;
    /** rx_packets of xdp_stats_map[action] (struct datarec, decoded through BTF), summed over CPUs. */
    const verdicts = (obj: LoadedObject, action: number): bigint =>
      obj.map<number, { rx_packets: bigint }[]>("xdp_stats_map").lookup(action)!.reduce((sum, rec) => sum + rec.rx_packets, 0n);

    beforeAll(() => {
      for (const name of XDPFILT) objects.set(name, loadFile(join(XDP_TOOLS, `${name}.o`)));
    });

    it("all ten load, each with its one program, and pin their maps by name under the pin root", () => {
      for (const name of XDPFILT) expect([...filter(name).programs.keys()]).toEqual([name]);
      expect(readdirSync(pinRoot).sort()).toEqual(["filter_ethernet", "filter_ipv4", "filter_ipv6", "filter_ports", "xdp_stats_map"]);
      // Reused, not recreated: every object holds the same kernel map for a name.
      for (const map of ["xdp_stats_map", "filter_ports", "filter_ipv4"]) {
        const ids = new Set(XDPFILT.filter((n) => filter(n).maps.has(map)).map((n) => filter(n).map(map).info().id));
        expect(ids.size, map).toBe(1);
      }
    });

    for (const name of XDPFILT) {
      const verdict = name.includes("_alw_") ? "PASS" : "DROP";
      it(`${name}: with empty filter maps a UDP frame gets ${verdict}, and the verdict is counted`, () => {
        const obj = filter(name);
        const before = verdicts(obj, XdpAction[verdict]);
        const result = obj.program(name).testRun(udpFrame());
        expect(result.action).toBe(verdict);
        expect(verdicts(obj, XdpAction[verdict])).toBe(before + 1n);
      });
    }

    it("a destination port in filter_ports flips the verdict of the udp filters, and counts the hit", () => {
      const ports = filter("xdpfilt_alw_udp").map("filter_ports");
      const key = keyOf([DST_PORT >> 8, DST_PORT & 0xff, 0, 0]); // udphdr->dest (network order) widened to a __u32
      const cpus = (ports.lookup(key) as bigint[]).length;
      ports.update(key, new Array(cpus).fill(BigInt(MAP_FLAG_DST | MAP_FLAG_UDP)));
      try {
        expect(filter("xdpfilt_alw_udp").program("xdpfilt_alw_udp").testRun(udpFrame()).action).toBe("DROP");
        expect(filter("xdpfilt_dny_udp").program("xdpfilt_dny_udp").testRun(udpFrame()).action).toBe("PASS");
        // The tcp filters do not look at UDP ports.
        expect(filter("xdpfilt_alw_tcp").program("xdpfilt_alw_tcp").testRun(udpFrame()).action).toBe("PASS");
        const hits = (ports.lookup(key) as bigint[]).reduce((sum, v) => sum + (v >> COUNTER_SHIFT), 0n);
        expect(hits).toBe(2n);
      } finally {
        ports.update(key, new Array(cpus).fill(0n));
      }
    });

    it("a destination address in filter_ipv4 and a MAC in filter_ethernet flip the ip and eth filters", () => {
      const ipv4 = filter("xdpfilt_alw_ip").map("filter_ipv4");
      const cpus = (filter("xdpfilt_alw_ip").map("xdp_stats_map").lookup(0) as unknown[]).length;
      ipv4.update(keyOf(DST_ADDR), new Array(cpus).fill(BigInt(MAP_FLAG_DST)));
      try {
        expect(filter("xdpfilt_alw_ip").program("xdpfilt_alw_ip").testRun(udpFrame()).action).toBe("DROP");
        expect(filter("xdpfilt_dny_ip").program("xdpfilt_dny_ip").testRun(udpFrame()).action).toBe("PASS");
      } finally {
        expect(ipv4.delete(keyOf(DST_ADDR))).toBe(true);
      }
      const ethernet = filter("xdpfilt_alw_eth").map("filter_ethernet");
      ethernet.update(Uint8Array.from(DST_MAC), new Array(cpus).fill(BigInt(MAP_FLAG_DST)));
      try {
        expect(filter("xdpfilt_alw_eth").program("xdpfilt_alw_eth").testRun(udpFrame()).action).toBe("DROP");
        expect(filter("xdpfilt_dny_all").program("xdpfilt_dny_all").testRun(udpFrame()).action).toBe("PASS");
      } finally {
        expect(ethernet.delete(Uint8Array.from(DST_MAC))).toBe(true);
      }
    });
  });

  describe.skipIf(!existsSync(join(XDP_TOOLS, "xdp-dispatcher.o")))("other xdp-tools objects", () => {
    it("xdp-dispatcher.o: with its .rodata config all zero it calls no program and passes", () => {
      const obj = loadFile(join(XDP_TOOLS, "xdp-dispatcher.o"));
      expect([...obj.programs.keys()].sort()).toEqual(["xdp_dispatcher", "xdp_pass"]);
      expect(obj.program("xdp_dispatcher").testRun(udpFrame()).action).toBe("PASS");
      expect(obj.program("xdp_pass").testRun(udpFrame()).action).toBe("PASS");
    });

    it("xdp-dispatcher.o: with num_progs_enabled = 1 in .rodata it calls the prog0 stub (linked from .text), which returns 31", () => {
      // struct xdp_dispatcher_config { __u8 magic, dispatcher_version, num_progs_enabled, is_xdp_frags;
      //   __u32 chain_call_actions[10], run_prios[10], program_flags[10]; } = 124 bytes.
      // prog0 is a placeholder that libxdp replaces (freplace); on its own it returns
      // XDP_DISPATCHER_RETVAL (31), and chain_call_actions[0] = 0 makes the dispatcher return that.
      const spec = parseObject(readFileSync(join(XDP_TOOLS, "xdp-dispatcher.o")));
      const rodata = spec.dataSections.get(".rodata")!;
      expect(rodata.size).toBe(124);
      const contents = rodata.contents.slice();
      contents[2] = 1;
      rodata.contents = contents;
      const obj = load(spec, { programs: ["xdp_dispatcher"] });
      loaded.push(obj);
      expect(obj.program("xdp_dispatcher").testRun(udpFrame()).retval).toBe(31);
    });

    it("xdpdump_xdp.o and the xsk_def objects load and pass frames", () => {
      for (const file of ["xdpdump_xdp.o", "xsk_def_xdp_prog.o", "xsk_def_xdp_prog_5.3.o"]) {
        const obj = loadFile(join(XDP_TOOLS, file));
        expect(obj.programs.size, file).toBe(1);
        for (const program of obj.programs.values()) expect(program.testRun(udpFrame()).action, file).toBe("PASS");
      }
    });

    it("xdpdump_bpf.o (fentry/fexit on a placeholder target): refused before any syscall, naming program and target", () => {
      // Its programs are SEC("fentry/func") and SEC("fexit/func"): xdpdump points them at the
      // XDP program to trace just before loading. As shipped, "func" is no kernel function;
      // libbpf says the same ("failed to find kernel BTF type ID of 'func'").
      const path = join(XDP_TOOLS, "xdpdump_bpf.o");
      const spec = parseObject(readFileSync(path));
      expect([...spec.programs.keys()]).toEqual(["trace_on_entry", "trace_on_exit"]);
      const check = fdLeaks(() => load(spec, { pinRoot }));
      expect(check.error, `${basename(path)} loaded: update this test`).toBeInstanceOf(SpecError);
      expect(check.opened).toEqual([]);
      expect((check.error as SpecError).part).toBe("trace_on_entry");
      expect((check.error as Error).message).toContain("fentry/func: the kernel's BTF (vmlinux) has no function of that name");
    });
  });
});
