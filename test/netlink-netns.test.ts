// withNetns and the namespace helpers, against real namespaces made by `ip netns add`.
// The oracle for "which namespace is this thread in" is the inode of
// /proc/thread-self/ns/net, the same file `ip netns identify` compares.

import { readdirSync, statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetlinkError, SyscallError } from "../common/errors.js";
import { dumpLinks, resolveInterface } from "../syscall/netlink-link.js";
import { NetlinkSocket } from "../syscall/netlink.js";
import { currentNetns, isCurrentNetns, netnsId, netnsPath, openNetns, withNetns } from "../syscall/netns.js";
import { NetnsPair, skipWithoutRoot } from "./helpers/netns.js";

const fdCount = () => readdirSync("/proc/self/fd").length;
const threadNetnsInode = () => statSync("/proc/thread-self/ns/net").ino;

describe("netnsPath", () => {
  it("maps an `ip netns` name under /var/run/netns and leaves paths alone", () => {
    expect(netnsPath("blue")).toBe("/var/run/netns/blue");
    expect(netnsPath("/proc/1/ns/net")).toBe("/proc/1/ns/net");
  });
});

describe.skipIf(skipWithoutRoot)("withNetns", () => {
  let pair: NetnsPair;
  let before: number;

  beforeAll(() => {
    pair = NetnsPair.create();
    before = fdCount();
  });
  afterAll(() => pair?.cleanup());

  it("runs the function inside the namespace and comes back", () => {
    const home = threadNetnsInode();
    const inside = withNetns(pair.a.ns, () => threadNetnsInode());
    expect(inside).not.toBe(home);
    expect(inside).toBe(statSync(`/var/run/netns/${pair.a.ns}`).ino);
    expect(threadNetnsInode()).toBe(home);
  });

  it("sees the namespace's interfaces inside, and not outside", () => {
    const inside = withNetns(pair.a.ns, () => resolveInterface(pair.a.dev));
    expect(inside.name).toBe(pair.a.dev);
    expect(() => resolveInterface(pair.a.dev)).toThrow(SyscallError);
    expect(() => resolveInterface(pair.a.dev)).toThrow(`no interface named "${pair.a.dev}" in this network namespace`);
  });

  it("returns to the original namespace when the function throws", () => {
    const home = threadNetnsInode();
    expect(() =>
      withNetns(pair.b.ns, () => {
        throw new RangeError("inside");
      }),
    ).toThrow("inside");
    expect(threadNetnsInode()).toBe(home);
  });

  it("refuses an async function, after returning to the original namespace", async () => {
    const home = threadNetnsInode();
    expect(() => withNetns(pair.b.ns, async () => 1)).toThrow(/synchronous/);
    expect(threadNetnsInode()).toBe(home);
  });

  it("keeps a netlink socket made inside bound to that namespace", () => {
    const socket = withNetns(pair.b.ns, () => NetlinkSocket.open());
    try {
      // Used from the original namespace, it still lists namespace b's links: lo and the veth end.
      expect(dumpLinks(socket).map((l) => l.name)).toEqual(["lo", pair.b.dev]);
    } finally {
      socket.close();
    }
  });

  it("remembers where something was made: currentNetns inside, withNetns(fd) later", () => {
    const made = withNetns(pair.a.ns, () => currentNetns());
    try {
      expect(isCurrentNetns(made)).toBe(false);
      expect(netnsId(made)).toBe(withNetns(pair.a.ns, () => netnsId()));
      expect(withNetns(made, () => resolveInterface(pair.a.dev)).name).toBe(pair.a.dev);
      const here = currentNetns();
      expect(isCurrentNetns(here)).toBe(true);
      here.close();
    } finally {
      made.close();
    }
    const byName = openNetns(pair.b.ns);
    expect(netnsId(byName)).toBe(withNetns(pair.b.ns, () => netnsId()));
    byName.close();
  });

  it("names a missing namespace in a SyscallError (ENOENT)", () => {
    const error = (() => {
      try {
        withNetns(`${pair.tag}-missing`, () => 0);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(SyscallError);
    expect((error as SyscallError).errnoName).toBe("ENOENT");
    expect((error as SyscallError).message).toContain(`/var/run/netns/${pair.tag}-missing`);
    expect(error).not.toBeInstanceOf(NetlinkError);
  });

  it("leaves no descriptor open", () => {
    expect(fdCount()).toBe(before);
  });
});
