// The demo: the bundled XDP program (demo/xdp_stats.bpf.o) counts traffic between two
// network namespaces. It creates the namespaces and a veth pair, loads and attaches the
// program on the receiving side, sends UDP, TCP and ICMP traffic from the other side,
// prints what the program counted, then detaches and removes everything, even on Ctrl-C.
//
//   namespace tsbpf-demo-<pid>-tx             namespace tsbpf-demo-<pid>-rx
//   [ dtx<pid> 10.201.0.1/24 ] <--- veth ---> [ drx<pid> 10.201.0.2/24 ]  <- xdp_stats attached here

import { execFile, execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { loadObject, withNetns, type LoadedObject, type XdpAttachment } from "../index.js";

const run = promisify(execFile);

const PROTOCOL_NAMES: Record<number, string> = { 1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6" };

interface Topology {
  tx: string;
  rx: string;
  txDev: string;
  rxDev: string;
  txAddr: string;
  rxAddr: string;
}

export async function runDemo(options: { mode?: "skb" | "native"; log?: (line: string) => void } = {}): Promise<void> {
  const log = options.log ?? ((line: string) => console.log(line));
  const id = `${process.pid % 100000}`;
  const topo: Topology = {
    tx: `tsbpf-demo-${id}-tx`,
    rx: `tsbpf-demo-${id}-rx`,
    txDev: `dtx${id}`,
    rxDev: `drx${id}`,
    txAddr: "10.201.0.1",
    rxAddr: "10.201.0.2",
  };
  let obj: LoadedObject | undefined;
  let attachment: XdpAttachment | undefined;
  const cleanup = () => {
    try {
      if (attachment !== undefined) withNetns(topo.rx, () => attachment!.detach());
    } catch {
      // The namespace is deleted below, which removes the attachment with the device.
    }
    obj?.close();
    removeTopology(topo);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    log(`\n${signal}: cleaning up`);
    cleanup();
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    createTopology(topo);
    log(`namespaces ${topo.tx} and ${topo.rx}, veth ${topo.txDev} <-> ${topo.rxDev}`);

    obj = loadObject(readFileSync(demoObjectPath()));
    const mode = options.mode ?? "native";
    attachment = withNetns(topo.rx, () => obj!.attachXdp(topo.rxDev, { mode }));
    const info = obj.program("xdp_stats").info();
    log(`attached xdp_stats (id ${info.id}, tag ${info.tag}) to ${topo.rxDev} in ${mode} mode`);

    const sent = await sendTraffic(topo);
    log(`sent from ${topo.tx}: ${sent.udp.map(([port, n]) => `${n} UDP to port ${port}`).join(", ")}, ` +
      `${sent.tcp.map(([port, n]) => `${n} TCP connections to port ${port}`).join(", ")}, ${sent.pings} pings`);

    printCounts(obj, log);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    cleanup();
    log("detached, namespaces removed");
  }
}

function demoObjectPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // From cli/ when run with tsx, from dist/cli/ when built.
  for (const candidate of [join(here, "..", "demo", "xdp_stats.bpf.o"), join(here, "..", "..", "demo", "xdp_stats.bpf.o")]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new Error("demo/xdp_stats.bpf.o not found next to the CLI");
}

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function createTopology(t: Topology): void {
  ip("netns", "add", t.tx);
  ip("netns", "add", t.rx);
  ip("link", "add", t.txDev, "netns", t.tx, "type", "veth", "peer", "name", t.rxDev, "netns", t.rx);
  ip("-n", t.tx, "addr", "add", `${t.txAddr}/24`, "dev", t.txDev);
  ip("-n", t.rx, "addr", "add", `${t.rxAddr}/24`, "dev", t.rxDev);
  for (const [ns, dev] of [[t.tx, t.txDev], [t.rx, t.rxDev]]) {
    ip("-n", ns, "link", "set", "dev", dev, "up");
    ip("-n", ns, "link", "set", "dev", "lo", "up");
  }
}

function removeTopology(t: Topology): void {
  for (const ns of [t.tx, t.rx]) {
    try {
      ip("netns", "del", ns);
    } catch {
      // Not created (failed early) or already gone.
    }
  }
}

/** Traffic from the tx namespace to the rx address: UDP datagrams, TCP connection attempts, pings. */
async function sendTraffic(t: Topology): Promise<{ udp: [number, number][]; tcp: [number, number][]; pings: number }> {
  const udp: [number, number][] = [[5353, 20], [9000, 10]];
  const tcp: [number, number][] = [[8080, 3]];
  const pings = 4;
  // Runs inside the tx namespace: Node's dgram and net, bounded counts, only to the rx address.
  const script = `
    const dgram = require("node:dgram"), net = require("node:net");
    const [addr, udp, tcp] = [process.argv[1], JSON.parse(process.argv[2]), JSON.parse(process.argv[3])];
    (async () => {
      const s = dgram.createSocket("udp4");
      for (const [port, n] of udp) for (let i = 0; i < n; i++)
        await new Promise((ok, ko) => s.send(Buffer.from("tsbpf demo " + i), port, addr, (e) => e ? ko(e) : ok()));
      s.close();
      for (const [port, n] of tcp) for (let i = 0; i < n; i++)
        await new Promise((ok) => { const c = net.connect({ port, host: addr, timeout: 2000 });
          c.on("connect", () => { c.destroy(); ok(); }); c.on("error", ok); c.on("timeout", () => { c.destroy(); ok(); }); });
    })().catch((e) => { console.error(e); process.exit(1); });`;
  await run("ip", ["netns", "exec", t.tx, process.execPath, "-e", script, t.rxAddr, JSON.stringify(udp), JSON.stringify(tcp)]);
  await run("ip", ["netns", "exec", t.tx, "ping", "-c", String(pings), "-i", "0.2", "-W", "1", t.rxAddr]);
  return { udp, tcp, pings };
}

/** struct counter { __u64 packets; __u64 bytes; }, decoded through the object's BTF. */
interface Counter {
  packets: bigint;
  bytes: bigint;
}

function printCounts(obj: LoadedObject, log: (line: string) => void): void {
  log("\nIPv4 packets seen by XDP, per protocol:");
  const protocols = obj.map<number, Counter>("proto_counts");
  for (let proto = 0; proto < 256; proto++) {
    const c = protocols.lookup(proto);
    if (c !== undefined && c.packets > 0n) {
      log(`  ${(PROTOCOL_NAMES[proto] ?? `proto ${proto}`).padEnd(8)} ${String(c.packets).padStart(6)} packets ${String(c.bytes).padStart(8)} bytes`);
    }
  }
  log("per destination port (TCP and UDP):");
  const ports = [...obj.map<number, Counter>("port_counts").entries()].sort((a, b) => a[0] - b[0]);
  for (const [port, c] of ports) log(`  port ${String(port).padEnd(6)} ${String(c.packets).padStart(6)} packets ${String(c.bytes).padStart(8)} bytes`);
}
