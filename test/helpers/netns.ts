// A test guard for XDP tests: two fresh network namespaces joined by a veth pair.
//
//   netns <tag>-a                          netns <tag>-b
//   ┌──────────────────────┐              ┌──────────────────────┐
//   │ dev <a>  10.X.Y.1/24 ├──── veth ────┤ dev <b>  10.X.Y.2/24 │
//   └──────────────────────┘              └──────────────────────┘
//
// Names are unique per run (process id plus a random suffix; interface names stay within
// IFNAMSIZ - 1 = 15 bytes), addresses exist only inside the two namespaces, and packets are
// only ever sent from one namespace to the other. Static neighbour entries make every UDP
// datagram go on the wire at once (no ARP exchange that an XDP_DROP program would also drop).
// cleanup() deletes both namespaces, which destroys the veth pair and with it any XDP
// program attached to it; it is idempotent and also runs when the process exits.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";

export type Side = "a" | "b";

export interface Endpoint {
  /** Namespace name, as `ip netns` knows it (/var/run/netns/<ns>). */
  readonly ns: string;
  /** The veth end inside this namespace. */
  readonly dev: string;
  readonly address: string;
  readonly mac: string;
}

const live = new Set<NetnsPair>();
let exitHookInstalled = false;

/**
 * Namespaces and XDP need root. Without it these suites skip, unless TSBPF_REQUIRE_KERNEL=1
 * (set in CI), in which case they run and fail loudly.
 */
export const skipWithoutRoot = process.getuid?.() !== 0 && process.env.TSBPF_REQUIRE_KERNEL !== "1";

function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: "utf8", input, stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
}

export class NetnsPair {
  readonly tag: string;
  readonly a: Endpoint;
  readonly b: Endpoint;
  #cleaned = false;
  readonly #children = new Set<ChildProcess>();

  private constructor(tag: string, a: Endpoint, b: Endpoint) {
    this.tag = tag;
    this.a = a;
    this.b = b;
  }

  /** Creates the namespaces and the veth pair; undoes everything if a step fails. */
  static create(): NetnsPair {
    const suffix = randomBytes(2).toString("hex");
    const tag = `tsbpf-${process.pid}-${suffix}`;
    const devBase = `tb${process.pid}${suffix}`; // 2 + up to 7 + 4 characters
    const subnet = `10.${200 + (randomBytes(1)[0] % 50)}.${randomBytes(1)[0]}`;
    const pair = new NetnsPair(
      tag,
      { ns: `${tag}-a`, dev: `${devBase}a`, address: `${subnet}.1`, mac: "" },
      { ns: `${tag}-b`, dev: `${devBase}b`, address: `${subnet}.2`, mac: "" },
    );
    removeOrphans();
    live.add(pair);
    installExitHook();
    try {
      pair.#build();
    } catch (error) {
      pair.cleanup();
      throw error;
    }
    return pair;
  }

  #build(): void {
    const { a, b } = this;
    run("ip", ["netns", "add", a.ns]);
    run("ip", ["netns", "add", b.ns]);
    // Created inside namespace a with its peer placed straight into b: the root namespace never sees them.
    run("ip", ["-n", a.ns, "link", "add", a.dev, "type", "veth", "peer", "name", b.dev, "netns", b.ns]);
    for (const end of [a, b]) {
      run("ip", ["-n", end.ns, "addr", "add", `${end.address}/24`, "dev", end.dev]);
      run("ip", ["-n", end.ns, "link", "set", "dev", end.dev, "up"]);
      run("ip", ["-n", end.ns, "link", "set", "dev", "lo", "up"]);
      (end as { mac: string }).mac = this.link(end === a ? "a" : "b").address as string;
    }
    run("ip", ["-n", a.ns, "neigh", "replace", b.address, "lladdr", b.mac, "dev", a.dev, "nud", "permanent"]);
    run("ip", ["-n", b.ns, "neigh", "replace", a.address, "lladdr", a.mac, "dev", b.dev, "nud", "permanent"]);
  }

  endpoint(side: Side): Endpoint {
    return side === "a" ? this.a : this.b;
  }

  /** Runs a command inside a namespace (`ip netns exec`) and returns its stdout. */
  exec(side: Side, argv: string[]): string {
    return run("ip", ["netns", "exec", this.endpoint(side).ns, ...argv]);
  }

  /** Runs iproute2 commands (one per line, `ip -batch` syntax) inside a namespace. */
  ipBatch(side: Side, commands: string[]): void {
    run("ip", ["-n", this.endpoint(side).ns, "-batch", "-"], commands.join("\n") + "\n");
  }

  /** `ip -j link show dev <dev>` in that namespace, parsed: the iproute2 view of the link. */
  link(side: Side): Record<string, unknown> {
    const end = this.endpoint(side);
    const [link] = JSON.parse(run("ip", ["-n", end.ns, "-j", "link", "show", "dev", end.dev])) as Record<string, unknown>[];
    return link;
  }

  /** Sends `count` (at most 1000) UDP datagrams from one end to the other end's address and `port`. */
  sendUdp(from: Side, port: number, count: number): void {
    if (!(count >= 0 && count <= 1000)) throw new RangeError(`sendUdp: count ${count} out of range`);
    const to = this.endpoint(from === "a" ? "b" : "a");
    this.exec(from, [process.execPath, "-e", SENDER, to.address, String(port), String(count)]);
  }

  /**
   * Starts a UDP receiver on the other end's address and `port`; resolves once it is bound.
   * `stop()` waits a moment for datagrams in flight, then returns how many arrived.
   */
  async receiveUdp(side: Side, port: number): Promise<UdpReceiver> {
    const end = this.endpoint(side);
    const child = spawn("ip", ["netns", "exec", end.ns, process.execPath, "-e", RECEIVER, end.address, String(port)], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.#children.add(child);
    child.on("exit", () => this.#children.delete(child));
    const lines = lineReader(child);
    const ready = await lines.next(10_000);
    if (ready !== "ready") {
      child.kill("SIGKILL");
      throw new Error(`UDP receiver in ${end.ns} did not start: ${ready}`);
    }
    return {
      stop: async (settleMs = 300) => {
        await new Promise((resolve) => setTimeout(resolve, settleMs));
        child.stdin!.end("stop\n");
        const line = await lines.next(10_000);
        const match = /^count (\d+)$/.exec(line);
        if (match === null) throw new Error(`UDP receiver in ${end.ns} answered ${JSON.stringify(line)}`);
        return Number(match[1]);
      },
    };
  }

  /** Sends `count` datagrams from `from` to the other side and returns how many were received. */
  async deliveredUdp(from: Side, port: number, count: number): Promise<number> {
    const receiver = await this.receiveUdp(from === "a" ? "b" : "a", port);
    this.sendUdp(from, port, count);
    return receiver.stop();
  }

  /** Deletes both namespaces (and so the veth pair and anything attached to it). Idempotent. */
  cleanup(): void {
    if (this.#cleaned) return;
    this.#cleaned = true;
    live.delete(this);
    for (const child of this.#children) child.kill("SIGKILL");
    for (const ns of [this.a.ns, this.b.ns]) {
      try {
        run("ip", ["netns", "del", ns]);
      } catch {
        // Not created (a failed create) or already gone: nothing to delete.
      }
    }
  }

  /** True while a namespace of this pair still exists (for tests of the guard itself). */
  exists(): boolean {
    const names = run("ip", ["netns", "list"]);
    return [this.a.ns, this.b.ns].some((ns) => new RegExp(`^${ns}( |$)`, "m").test(names));
  }
}

export interface UdpReceiver {
  stop(settleMs?: number): Promise<number>;
}

/** Our namespace names: tsbpf-<pid>-<4 hex>-<a|b>. */
const OUR_NAMESPACE = /^tsbpf-(\d+)-[0-9a-f]{4}-[ab]$/;

/**
 * Deletes namespaces left by a test process that was killed before it could clean up
 * (SIGKILL runs no handler). Only names of our pattern whose process no longer exists.
 */
function removeOrphans(): void {
  for (const line of run("ip", ["netns", "list"]).split("\n")) {
    const name = line.split(" ")[0];
    const match = OUR_NAMESPACE.exec(name);
    if (match === null || processAlive(Number(match[1]))) continue;
    try {
      run("ip", ["netns", "del", name]);
    } catch {
      // Another process removed it first.
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort only (tests call cleanup() in afterAll): "exit" handlers may run synchronous code.
  process.on("exit", () => {
    for (const pair of [...live]) pair.cleanup();
  });
}

/** Reads a child's stdout line by line, with a timeout per line. */
function lineReader(child: ChildProcess): { next(timeoutMs: number): Promise<string> } {
  const queue: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  let buffered = "";
  let stderr = "";
  const push = (line: string) => {
    const waiter = waiters.shift();
    if (waiter) waiter(line);
    else queue.push(line);
  };
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    buffered += chunk;
    for (let i = buffered.indexOf("\n"); i >= 0; i = buffered.indexOf("\n")) {
      push(buffered.slice(0, i));
      buffered = buffered.slice(i + 1);
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.on("exit", (code) => push(`exited with ${code}: ${stderr.trim()}`));
  return {
    next: (timeoutMs) =>
      new Promise((resolve) => {
        const line = queue.shift();
        if (line !== undefined) return resolve(line);
        const timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
        waiters.push((l) => {
          clearTimeout(timer);
          resolve(l);
        });
      }),
  };
}

// argv: address port count. Sends one datagram at a time so none is dropped by a full socket buffer.
const SENDER = `
const dgram = require("node:dgram");
const [address, port, count] = process.argv.slice(1);
const socket = dgram.createSocket("udp4");
let sent = 0;
const next = (error) => {
  if (error) { console.error(String(error)); process.exit(1); }
  if (sent === Number(count)) return socket.close();
  sent++;
  socket.send(Buffer.from("tsbpf " + sent), Number(port), address, next);
};
next();
`;

// argv: address port. Prints "ready" once bound, counts datagrams, prints "count N" when stdin says stop.
const RECEIVER = `
const dgram = require("node:dgram");
const [address, port] = process.argv.slice(1);
const socket = dgram.createSocket("udp4");
let count = 0;
socket.on("message", () => count++);
socket.bind(Number(port), address, () => process.stdout.write("ready\\n"));
process.stdin.on("data", () => { process.stdout.write("count " + count + "\\n"); process.exit(0); });
`;
