// The demo (`tsbpf demo`, cli/demo.ts) end to end: it makes its own two namespaces and
// veth pair, loads demo/xdp_stats.bpf.o, attaches it on the receiving end, sends
//   20 UDP datagrams to port 5353 and 10 to port 9000 (payload "tsbpf demo <i>"),
//   3 TCP connection attempts to port 8080 (nothing listens: one SYN each reaches the
//   receiver, which answers RST),
//   4 pings (ping's default 56-byte payload),
// prints what the program counted, and removes everything. The printed counts must be
// exactly what was sent, and nothing of the demo may remain afterwards.

import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { runDemo } from "../cli/demo.js";
import { skipWithoutRoot } from "./helpers/netns.js";

/** Frame sizes: Ethernet 14 + IPv4 20 + UDP 8 + payload; ICMP echo 8 + 56. */
const udpFrameBytes = (payload: string) => 14 + 20 + 8 + payload.length;
const udpBytes = (count: number) => Array.from({ length: count }, (_, i) => udpFrameBytes(`tsbpf demo ${i}`)).reduce((a, b) => a + b, 0);
const PING_FRAME_BYTES = 14 + 20 + 8 + 56;

interface Counted {
  packets: number;
  bytes: number;
}

/** The demo's output, parsed: "  UDP          30 packets     1630 bytes" and "  port 5353       20 packets ...". */
function parseCounts(lines: string[]): { protocols: Record<string, Counted>; ports: Record<string, Counted> } {
  const protocols: Record<string, Counted> = {};
  const ports: Record<string, Counted> = {};
  for (const line of lines) {
    const port = /^ {2}port (\d+)\s+(\d+) packets\s+(\d+) bytes$/.exec(line);
    const protocol = /^ {2}(\S+(?: \d+)?)\s+(\d+) packets\s+(\d+) bytes$/.exec(line);
    if (port !== null) ports[port[1]] = { packets: Number(port[2]), bytes: Number(port[3]) };
    else if (protocol !== null) protocols[protocol[1]] = { packets: Number(protocol[2]), bytes: Number(protocol[3]) };
  }
  return { protocols, ports };
}

const demoNamespaces = () =>
  execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.split(" ")[0])
    .filter((name) => name.startsWith("tsbpf-demo-"));

describe.skipIf(skipWithoutRoot)("the demo", () => {
  for (const mode of ["native", "skb"] as const) {
    it(`prints exactly the traffic it sent (${mode} mode) and leaves nothing behind`, async () => {
      const before = demoNamespaces();
      const lines: string[] = [];
      await runDemo({ mode, log: (line) => lines.push(...line.split("\n")) });

      const attached = lines.map((line) => /^attached xdp_stats \(id (\d+), tag ([0-9a-f]{16})\) to \S+ in (\w+) mode$/.exec(line)).find(Boolean);
      expect(attached, lines.join("\n")).toBeTruthy();
      expect(attached![3]).toBe(mode);

      const { protocols, ports } = parseCounts(lines);
      expect(protocols).toEqual({
        ICMP: { packets: 4, bytes: 4 * PING_FRAME_BYTES },
        TCP: { packets: 3, bytes: expect.any(Number) }, // SYN size depends on the TCP options the kernel sends
        UDP: { packets: 30, bytes: udpBytes(20) + udpBytes(10) },
      });
      expect(ports).toEqual({
        "5353": { packets: 20, bytes: udpBytes(20) },
        "8080": { packets: 3, bytes: protocols.TCP.bytes },
        "9000": { packets: 10, bytes: udpBytes(10) },
      });
      expect(lines.at(-1)).toBe("detached, namespaces removed");

      // Nothing remains: the demo's namespaces are gone, and so is its program.
      // (Only the names this process's demo uses: someone else may be running the demo too.)
      const ours = `tsbpf-demo-${process.pid % 100000}-`;
      expect(before.filter((name) => name.startsWith(ours))).toEqual([]);
      expect(demoNamespaces().filter((name) => name.startsWith(ours))).toEqual([]);
      await expect.poll(() => programExists(Number(attached![1])), { timeout: 5000 }).toBe(false);
    });
  }
});

/** Whether the kernel still has a program with this id (bpftool exits non-zero when not). */
function programExists(id: number): boolean {
  try {
    execFileSync("bpftool", ["prog", "show", "id", String(id)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
