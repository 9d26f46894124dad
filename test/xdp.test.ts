// XDP attachment over rtnetlink, on a veth pair between two namespaces of our own.
//
// Everything happens inside those namespaces: programs are attached to the veth end in
// namespace b (always inside withNetns, and the interface names exist nowhere else), and
// packets go from a to b. Oracles: `ip -j link show` (iproute2's reading of the same
// netlink state), the program id the kernel reports in /proc/self/fdinfo, and UDP datagrams
// counted by a receiver in namespace b. The namespaces are deleted in afterAll, which also
// removes anything still attached.

import { readdirSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { NetlinkError, SyscallError } from "../common/errors.js";
import type { Fd } from "../syscall/fd.js";
import { resolveInterface } from "../syscall/netlink-link.js";
import { NetlinkSocket } from "../syscall/netlink.js";
import { currentNetns, withNetns } from "../syscall/netns.js";
import { attachXdp, detachXdp, listXdp, queryXdp, setXdp, XDP_FLAGS_DRV_MODE, type XdpMode } from "../syscall/xdp.js";
import { NetnsPair, skipWithoutRoot } from "./helpers/netns.js";
import { loadXdpReturning, programId, XDP_DROP, XDP_PASS } from "./helpers/rawprog.js";

const fdCount = () => readdirSync("/proc/self/fd").length;
const MODES: XdpMode[] = ["skb", "native"];
/** iproute2's numbers for the modes in `ip -j link` output (XDP_ATTACHED_*). */
const IPROUTE_MODE: Record<string, number> = { native: 1, skb: 2 };
const COUNT = 20;

interface IpXdp {
  mode?: number;
  prog?: { id: number; name: string };
  attached?: { mode: number; prog: { id: number } }[];
}

describe.skipIf(skipWithoutRoot)("XDP attach, replace, detach and query over rtnetlink", () => {
  let pair: NetnsPair;
  let pass: Fd;
  let drop: Fd;
  let port = 20000 + (process.pid % 20000);

  /** Runs fn with this thread in namespace b, where the veth end `pair.b.dev` lives. */
  const inB = <T>(fn: () => T): T => withNetns(pair.b.ns, fn);
  const dev = () => pair.b.dev;
  const ifindex = () => inB(() => resolveInterface(dev()).ifindex);
  const ipXdp = () => pair.link("b").xdp as IpXdp | undefined;
  const nextPort = () => ++port;

  beforeAll(() => {
    pair = NetnsPair.create();
    pass = loadXdpReturning(XDP_PASS, "tsbpf_pass");
    drop = loadXdpReturning(XDP_DROP, "tsbpf_drop");
  });

  afterEach(() => {
    // A failed test must not leave its program for the next one.
    if (pair !== undefined) inB(() => MODES.forEach((mode) => detachXdp(dev(), { mode })));
  });

  afterAll(() => {
    pair?.cleanup();
    pass?.close();
    drop?.close();
  });

  it("starts with nothing attached, in our query and in iproute2's", async () => {
    expect(inB(() => queryXdp(dev()))).toEqual({ attached: "none", programs: {} });
    expect(ipXdp()).toBeUndefined();
    expect(await pair.deliveredUdp("a", nextPort(), COUNT)).toBe(COUNT);
  });

  for (const mode of MODES) {
    it(`attaches in ${mode} mode; our query and \`ip -j link show\` agree`, () => {
      const iface = inB(() => attachXdp(dev(), pass, { mode }));
      expect(iface.name).toBe(dev());
      const id = programId(pass);
      const info = inB(() => queryXdp(iface.ifindex));
      expect(info).toEqual({ attached: mode, progId: id, programs: { [mode]: id } });
      const ip = ipXdp()!;
      expect(ip.mode).toBe(IPROUTE_MODE[mode]);
      expect(ip.prog).toMatchObject({ id, name: "tsbpf_pass" });

      inB(() => detachXdp(dev(), { mode }));
      expect(inB(() => queryXdp(dev())).attached).toBe("none");
      expect(ipXdp()).toBeUndefined();
    });

    it(`${mode} mode: an XDP_DROP program stops all ${COUNT} datagrams; detaching restores delivery`, async () => {
      inB(() => attachXdp(dev(), drop, { mode }));
      expect(await pair.deliveredUdp("a", nextPort(), COUNT)).toBe(0);
      inB(() => detachXdp(dev(), { mode }));
      expect(await pair.deliveredUdp("a", nextPort(), COUNT)).toBe(COUNT);
    });
  }

  it("refuses a second attach without replace (UPDATE_IF_NOEXIST): EBUSY with the kernel's reason", () => {
    inB(() => attachXdp(dev(), pass, { mode: "native" }));
    const error = catchNetlink(() => inB(() => attachXdp(dev(), drop, { mode: "native" })));
    expect(error.errnoName).toBe("EBUSY");
    expect(error.kernelMessage).toBe("XDP program already attached");
    expect(error.message).toContain(`attach XDP program fd ${drop.raw} to ${dev()}`);
    expect(error.message).toMatch(/detach it, or replace it/);
    expect(inB(() => queryXdp(dev())).progId).toBe(programId(pass)); // untouched
  });

  it("replaces atomically when the expected program is attached (XDP_FLAGS_REPLACE)", async () => {
    inB(() => attachXdp(dev(), pass, { mode: "native" }));
    inB(() => attachXdp(dev(), drop, { mode: "native", replace: pass }));
    const id = programId(drop);
    expect(inB(() => queryXdp(dev()))).toEqual({ attached: "native", progId: id, programs: { native: id } });
    expect(ipXdp()!.prog!.id).toBe(id);
    expect(await pair.deliveredUdp("a", nextPort(), COUNT)).toBe(0);
  });

  it("fails with EEXIST when the expected program is stale, and leaves the attachment alone", () => {
    inB(() => attachXdp(dev(), pass, { mode: "native" }));
    inB(() => attachXdp(dev(), drop, { mode: "native", replace: pass }));
    // `pass` was the expected program a moment ago; it is stale now.
    const stale = catchNetlink(() => inB(() => attachXdp(dev(), pass, { mode: "native", replace: pass })));
    expect(stale.errnoName).toBe("EEXIST");
    expect(stale.kernelMessage).toBe("Active program does not match expected");
    expect(stale.message).toMatch(/not the expected one/);
    // Expecting "nothing attached" (expected fd -1) is stale too.
    const none = catchNetlink(() => inB(() => setXdp(ifindex(), { fd: pass, flags: XDP_FLAGS_DRV_MODE, expectedFd: -1 })));
    expect(none.errnoName).toBe("EEXIST");
    expect(inB(() => queryXdp(dev())).progId).toBe(programId(drop));
    // A guarded detach with a stale expectation is refused as well; with the right one it works.
    expect(catchNetlink(() => inB(() => detachXdp(dev(), { mode: "native", expected: pass }))).errnoName).toBe("EEXIST");
    inB(() => detachXdp(dev(), { mode: "native", expected: drop }));
    expect(inB(() => queryXdp(dev())).attached).toBe("none");
  });

  it("replace: true swaps whatever is attached", () => {
    inB(() => attachXdp(dev(), pass, { mode: "skb" }));
    inB(() => attachXdp(dev(), drop, { mode: "skb", replace: true }));
    expect(inB(() => queryXdp(dev())).programs).toEqual({ skb: programId(drop) });
  });

  it("carries the kernel's extended-ack text when skb is attached over native", () => {
    inB(() => attachXdp(dev(), pass, { mode: "native" }));
    const error = catchNetlink(() => inB(() => attachXdp(dev(), drop, { mode: "skb" })));
    expect(error.errnoName).toBe("EEXIST");
    expect(error.kernelMessage).toMatch(/^native and generic XDP can't be active at the same time\.?$/i);
    expect(error.message).toContain(error.kernelMessage);
    expect(inB(() => queryXdp(dev())).programs).toEqual({ native: programId(pass) });
  });

  it("detach restores: nothing attached, datagrams delivered", async () => {
    inB(() => attachXdp(dev(), drop, { mode: "skb" }));
    inB(() => detachXdp(dev(), { mode: "skb" }));
    expect(inB(() => queryXdp(dev()))).toEqual({ attached: "none", programs: {} });
    expect(ipXdp()).toBeUndefined();
    expect(await pair.deliveredUdp("a", nextPort(), COUNT)).toBe(COUNT);
    inB(() => detachXdp(dev(), { mode: "skb" })); // detaching nothing is a no-op
  });

  it("lists every link of the namespace with its XDP state", () => {
    inB(() => attachXdp(dev(), pass, { mode: "skb" }));
    const links = inB(() => listXdp());
    const id = programId(pass);
    expect(links).toEqual([
      { ifindex: 1, name: "lo", xdp: { attached: "none", programs: {} } },
      { ifindex: ifindex(), name: dev(), xdp: { attached: "skb", progId: id, programs: { skb: id } } },
    ]);
  });

  it("says clearly when the interface does not exist", () => {
    const byName = catchAny(() => inB(() => attachXdp(`${dev()}x`, pass, { mode: "skb" })));
    expect(byName).toBeInstanceOf(SyscallError);
    expect(byName.message).toBe(`no interface named "${dev()}x" in this network namespace (see \`ip link show\`)`);
    expect((byName as SyscallError).errnoName).toBe("ENODEV");
    const byIndex = catchNetlink(() => inB(() => setXdp(0x7ffffff0, { fd: pass, flags: XDP_FLAGS_DRV_MODE })));
    expect(byIndex.errnoName).toBe("ENODEV");
    expect(byIndex.message).toContain(`no interface with index ${0x7ffffff0} in this network namespace`);
  });

  it("detaches from the namespace where the attachment was made, from anywhere", () => {
    const made = inB(() => {
      attachXdp(dev(), pass, { mode: "native" });
      return currentNetns();
    });
    try {
      expect(() => detachXdp(dev(), { mode: "native" })).toThrow(/no interface named/); // not here
      withNetns(made, () => detachXdp(dev(), { mode: "native", expected: pass }));
    } finally {
      made.close();
    }
    expect(inB(() => queryXdp(dev())).attached).toBe("none");
  });

  it("works through a socket made in the namespace, from outside it", () => {
    const socket = inB(() => NetlinkSocket.open());
    try {
      const iface = attachXdp(dev(), pass, { mode: "skb", socket }); // the thread is in its original namespace
      expect(iface).toEqual({ ifindex: ifindex(), name: dev() });
      expect(queryXdp(dev(), socket).programs).toEqual({ skb: programId(pass) });
      expect(inB(() => queryXdp(dev())).programs).toEqual({ skb: programId(pass) });
      const missing = catchNetlink(() => attachXdp("no-such-dev", pass, { mode: "skb", socket }));
      expect(missing.errnoName).toBe("ENODEV");
      expect(missing.message).toBe('no interface named "no-such-dev" in this network namespace (see `ip link show`)');
      detachXdp(dev(), { mode: "skb", socket, expected: pass });
      expect(queryXdp(dev(), socket).attached).toBe("none");
    } finally {
      socket.close();
    }
  });

  it("leaves the /proc/self/fd count unchanged by failures", () => {
    inB(() => attachXdp(dev(), pass, { mode: "native" }));
    const before = fdCount();
    for (let i = 0; i < 10; i++) {
      catchNetlink(() => inB(() => attachXdp(dev(), drop, { mode: "native" })));
      catchNetlink(() => inB(() => attachXdp(dev(), drop, { mode: "skb" })));
      catchNetlink(() => inB(() => attachXdp(dev(), drop, { mode: "native", replace: drop })));
      catchAny(() => inB(() => attachXdp("no-such-dev", drop, { mode: "native" })));
      catchAny(() => withNetns(`${pair.tag}-missing`, () => 0));
    }
    expect(fdCount()).toBe(before);
  });

});

function catchAny(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error");
}

function catchNetlink(fn: () => unknown): NetlinkError {
  const error = catchAny(fn);
  if (error instanceof NetlinkError) return error;
  throw error;
}
