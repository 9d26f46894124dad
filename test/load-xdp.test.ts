// LoadedObject.attachXdp end to end: objects built by our loader from the test/progs
// fixtures, attached to a veth end and fed real packets.
//
//   netns <tag>-a  [ dev a ] ---- veth ---- [ dev b ]  netns <tag>-b   <- programs attached here
//                  UDP sender                 UDP receiver
//
// Every attach happens inside withNetns(namespace b), on an interface that exists only
// there; packets only go from a to b. Oracles: the UDP receiver's count (did the frames get
// through?), the program's own map (did it see each of them?), `ip -j link show` and
// `bpftool prog show` (does iproute2/libbpf see the program we think we attached?).
// afterEach detaches whatever a failed test left; afterAll deletes both namespaces.

import { execFileSync } from "node:child_process";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadObject, NetlinkError, withNetns, queryXdp, type LoadedObject, type XdpMode } from "../index.js";
import { detachXdp } from "../syscall/xdp.js";
import { NetnsPair, skipWithoutRoot } from "./helpers/netns.js";
import { readProg } from "./helpers/progs.js";

const COUNT = 25;
const MODES: XdpMode[] = ["skb", "native"];
/** How `ip -j link` spells the modes (XDP_ATTACHED_* in linux/if_link.h). */
const IPROUTE_MODE: Record<string, number> = { native: 1, skb: 2 };
const IPPROTO_UDP = 17;

interface IpLinkXdp {
  mode?: number;
  prog?: { id: number; name: string; tag: string };
}

describe.skipIf(skipWithoutRoot)("attachXdp: loaded objects on a veth pair", () => {
  let pair: NetnsPair;
  let port = 30000 + (process.pid % 20000);
  const loaded: LoadedObject[] = [];

  const inB = <T>(fn: () => T): T => withNetns(pair.b.ns, fn);
  const dev = () => pair.b.dev;
  const nextPort = () => ++port;
  const ipXdp = () => pair.link("b").xdp as IpLinkXdp | undefined;
  const fresh = (name: string): LoadedObject => {
    const obj = loadObject(readProg(name));
    loaded.push(obj);
    return obj;
  };
  const catchNetlink = (fn: () => unknown): NetlinkError => {
    try {
      fn();
    } catch (error) {
      if (error instanceof NetlinkError) return error;
      throw error;
    }
    throw new Error("expected a NetlinkError, but the call succeeded");
  };

  beforeAll(() => {
    pair = NetnsPair.create();
  });

  afterEach(() => {
    if (pair !== undefined) inB(() => MODES.forEach((mode) => detachXdp(dev(), { mode })));
  });

  afterAll(() => {
    pair?.cleanup();
    for (const obj of loaded) obj.close();
  });

  for (const mode of MODES) {
    it(`${mode} mode: xdp_counter counts exactly the ${COUNT} UDP datagrams sent, and lets them through`, async () => {
      const obj = fresh("xdp_counter");
      const attachment = inB(() => obj.attachXdp(dev(), { mode }));
      expect(attachment.mode).toBe(mode);
      expect(attachment.interfaceName).toBe(dev());
      expect(attachment.program).toBe(obj.program("xdp_count"));

      expect(await pair.deliveredUdp("a", nextPort(), COUNT)).toBe(COUNT);
      expect(obj.map("stats").lookup(IPPROTO_UDP)).toBe(BigInt(COUNT));
      expect(await pair.deliveredUdp("a", nextPort(), COUNT)).toBe(COUNT);
      expect(obj.map("stats").lookup(IPPROTO_UDP)).toBe(BigInt(2 * COUNT));

      attachment.detach(); // from the root namespace: the attachment remembers where it was made
      expect(inB(() => queryXdp(dev()))).toEqual({ attached: "none", programs: {} });
      await pair.deliveredUdp("a", nextPort(), COUNT);
      expect(obj.map("stats").lookup(IPPROTO_UDP)).toBe(BigInt(2 * COUNT)); // no longer counting
      attachment.detach(); // idempotent
    });

    it(`${mode} mode: iproute2 and bpftool see the program that program.info() describes`, () => {
      const obj = fresh("xdp_counter");
      const program = obj.program("xdp_count");
      const info = program.info();
      inB(() => obj.attachXdp(dev(), { mode }));

      const ip = ipXdp()!;
      expect(ip.mode).toBe(IPROUTE_MODE[mode]);
      expect(ip.prog).toMatchObject({ id: info.id, name: "xdp_count", tag: info.tag });
      const bpftool = JSON.parse(execFileSync("bpftool", ["prog", "show", "id", String(info.id), "--json"], { encoding: "utf8" }));
      expect(bpftool).toMatchObject({ id: info.id, type: "xdp", name: "xdp_count", tag: info.tag });
      expect(bpftool.map_ids).toEqual([obj.map("stats").info().id]);
      expect(inB(() => queryXdp(dev())).programs).toEqual({ [mode]: info.id });
    });

    it(`${mode} mode: xdp_drop stops all ${COUNT} datagrams; detach restores delivery`, async () => {
      const obj = fresh("xdp_drop");
      const attachment = inB(() => obj.attachXdp(dev(), { mode }));
      expect(await pair.deliveredUdp("a", nextPort(), COUNT)).toBe(0);
      attachment.detach();
      expect(ipXdp()).toBeUndefined();
      expect(await pair.deliveredUdp("a", nextPort(), COUNT)).toBe(COUNT);
    });
  }

  it("without a mode, veth gets the program in native mode, and the attachment says so", () => {
    const obj = fresh("xdp_pass");
    const attachment = inB(() => obj.attachXdp(dev()));
    expect(attachment.mode).toBe("native");
    const id = obj.program("xdp_pass").info().id;
    expect(inB(() => queryXdp(dev()))).toEqual({ attached: "native", progId: id, programs: { native: id } });
    expect(ipXdp()?.mode).toBe(IPROUTE_MODE.native);
    attachment.detach();
    expect(ipXdp()).toBeUndefined();
  });

  it("attaches by ifindex as well as by name", () => {
    const obj = fresh("xdp_pass");
    const ifindex = pair.link("b").ifindex as number;
    const attachment = inB(() => obj.attachXdp(ifindex, { mode: "skb" }));
    expect(attachment.ifindex).toBe(ifindex);
    expect(attachment.interfaceName).toBe(dev());
    attachment.detach();
  });

  it("replace: true swaps another object's program in atomically", async () => {
    const counting = fresh("xdp_counter");
    const dropping = fresh("xdp_drop");
    const first = inB(() => counting.attachXdp(dev(), { mode: "native" }));
    expect(await pair.deliveredUdp("a", nextPort(), COUNT)).toBe(COUNT);

    const second = inB(() => dropping.attachXdp(dev(), { replace: true }));
    expect(second.mode).toBe("native"); // the mode of the program it replaced
    const dropId = dropping.program("xdp_drop").info().id;
    expect(inB(() => queryXdp(dev()))).toEqual({ attached: "native", progId: dropId, programs: { native: dropId } });
    expect(ipXdp()!.prog!.id).toBe(dropId);
    expect(await pair.deliveredUdp("a", nextPort(), COUNT)).toBe(0);
    expect(counting.map("stats").lookup(IPPROTO_UDP)).toBe(BigInt(COUNT)); // the replaced program saw none of them

    // The first attachment no longer owns the interface: its detach must not remove the second's program.
    try {
      first.detach();
    } catch (error) {
      expect(error).toBeInstanceOf(NetlinkError);
      expect((error as NetlinkError).message).toMatch(/not the expected one|does not match expected/);
    }
    expect(inB(() => queryXdp(dev())).programs).toEqual({ native: dropId });

    second.detach();
    expect(await pair.deliveredUdp("a", nextPort(), COUNT)).toBe(COUNT);
  });

  it("XdpAttachment.replace swaps in another program and detach then removes that one", async () => {
    const pass = fresh("xdp_pass");
    const drop = fresh("xdp_drop");
    const attachment = inB(() => pass.attachXdp(dev(), { mode: "skb" }));
    attachment.replace(drop.program("xdp_drop"));
    expect(attachment.program).toBe(drop.program("xdp_drop"));
    expect(inB(() => queryXdp(dev())).programs).toEqual({ skb: drop.program("xdp_drop").info().id });
    expect(await pair.deliveredUdp("a", nextPort(), COUNT)).toBe(0);
    attachment.detach();
    expect(inB(() => queryXdp(dev())).attached).toBe("none");
  });

  for (const mode of [...MODES, undefined]) {
    it(`a second attach (${mode ?? "no mode"}) without replace fails with an actionable NetlinkError, leaving the first`, () => {
      const first = fresh("xdp_pass");
      const second = fresh("xdp_drop");
      inB(() => first.attachXdp(dev(), { mode: mode ?? "native" }));
      const error = catchNetlink(() => inB(() => second.attachXdp(dev(), { mode })));
      expect(error.errnoName).toBe("EBUSY");
      expect(error.kernelMessage).toBe("XDP program already attached");
      expect(error.message).toContain(dev());
      expect(error.message).toMatch(/a program is already attached in this mode: detach it, or replace it/);
      const firstId = first.program("xdp_pass").info().id;
      expect(inB(() => queryXdp(dev())).progId).toBe(firstId);
    });
  }

  it("native and skb at once is refused with the kernel's reason", () => {
    const first = fresh("xdp_pass");
    const second = fresh("xdp_drop");
    inB(() => first.attachXdp(dev(), { mode: "native" }));
    const error = catchNetlink(() => inB(() => second.attachXdp(dev(), { mode: "skb" })));
    expect(error.kernelMessage).toMatch(/native and generic XDP can't be active at the same time/i);
    expect(error.message).toContain(error.kernelMessage);
  });

  it("an attachment can still be detached after its object was closed", async () => {
    const obj = loadObject(readProg("xdp_drop"));
    const attachment = inB(() => obj.attachXdp(dev(), { mode: "native" }));
    obj.close(); // the kernel keeps the program alive: the interface holds it
    expect(inB(() => queryXdp(dev())).attached).toBe("native");
    attachment.detach();
    expect(inB(() => queryXdp(dev())).attached).toBe("none");
    expect(await pair.deliveredUdp("a", nextPort(), COUNT)).toBe(COUNT);
  });

  it("an object with two XDP programs needs { program }, and attaches the one named", () => {
    const obj = fresh("two_progs");
    expect(() => inB(() => obj.attachXdp(dev(), { mode: "skb" }))).toThrow(/2 XDP programs \(xdp_first, xdp_second\); say which with \{ program \}/);
    expect(inB(() => queryXdp(dev())).attached).toBe("none");
    const attachment = inB(() => obj.attachXdp(dev(), { mode: "skb", program: "xdp_second" }));
    expect(inB(() => queryXdp(dev())).programs).toEqual({ skb: obj.program("xdp_second").info().id });
    attachment.detach();
  });
});
