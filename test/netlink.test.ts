// Netlink messages and the rtnetlink socket.
// - Without a kernel: the writer lays out nested, padded attributes byte for byte as the
//   netlink rules say; the parser reads them back, refuses malformed input with NetlinkError,
//   and decodes NLMSG_ERROR with and without NETLINK_CAP_ACK.
// - With the kernel, inside a namespace of our own: a link dump matches `ip -j link show`
//   even when it spans many datagrams, a small receive buffer grows instead of truncating,
//   the kernel's extended-ack text and attribute offset reach NetlinkError, and no fd leaks.

import { readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetlinkError } from "../common/errors.js";
import {
  dumpLinks, getLink, IFLA_EXT_MASK, linkRequest, resolveInterface, RTEXT_FILTER_SKIP_STATS, RTM_GETLINK, RTM_NEWLINK,
} from "../syscall/netlink-link.js";
import {
  NetlinkAttributes, NetlinkWriter, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP, NLMSG_ERROR, splitMessages,
  type NetlinkMessage,
} from "../syscall/netlink-message.js";
import { NetlinkSocket, readDone, readError } from "../syscall/netlink.js";
import { withNetns } from "../syscall/netns.js";
import { writeRecord } from "../common/layouts.js";
import { IfInfoMsg } from "../syscall/netlink-link.js";
import { NetnsPair, skipWithoutRoot } from "./helpers/netns.js";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const fdCount = () => readdirSync("/proc/self/fd").length;

describe("NetlinkWriter", () => {
  it("writes nlmsghdr, the family header and a nested attribute, all 4-byte aligned", () => {
    const bytes = new NetlinkWriter(19, 0)
      .header(16, (bytes, offset) => writeRecord(IfInfoMsg, bytes, offset, true, { family: 0, pad: 0, type: 0, index: 7, flags: 0, change: 0 }))
      .nested(43, (n) => n.s32(1, -1).u32(3, 2))
      .finish(0x01020304, 0x5);
    expect(hex(bytes)).toBe(
      [
        "34000000", "1300", "0500", "04030201", "00000000", // nlmsghdr: len 52, RTM_SETLINK, REQUEST|ACK, seq, pid 0
        "00000000", "07000000", "00000000", "00000000", // ifinfomsg: family 0, index 7
        "1400", "2b80", // nlattr: len 20, IFLA_XDP | NLA_F_NESTED
        "0800", "0100", "ffffffff", // IFLA_XDP_FD = -1
        "0800", "0300", "02000000", // IFLA_XDP_FLAGS = XDP_FLAGS_SKB_MODE
      ].join(""),
    );
  });

  it("pads attributes to NLA_ALIGNTO without counting the padding in nla_len", () => {
    const bytes = new NetlinkWriter(18, 0).string(3, "ab").u8(2, 9).finish(1);
    // "ab\0" is 3 bytes: nla_len 7, padded to 8; the u8 has nla_len 5, padded to 8.
    expect(hex(bytes.subarray(16))).toBe("0700030061620000" + "0500020009000000");
    expect(bytes.length).toBe(32);
  });

  it("grows past its initial capacity", () => {
    const writer = new NetlinkWriter(18, 0, 16);
    for (let i = 0; i < 100; i++) writer.u32(i + 1, i);
    const attributes = new NetlinkAttributes(writer.finish(1).subarray(16));
    expect(attributes.list.length).toBe(100);
    expect(attributes.u32(100)).toBe(99);
  });
});

describe("NetlinkAttributes", () => {
  it("reads back what the writer wrote, nested ones included, masking NLA_F_NESTED", () => {
    const payload = new NetlinkWriter(16, 0)
      .string(3, "veth0")
      .nested(43, (n) => n.u8(2, 1).u32(4, 1234))
      .s32(8, -5)
      .finish(1)
      .subarray(16);
    const attributes = new NetlinkAttributes(payload);
    expect(attributes.string(3)).toBe("veth0");
    expect(attributes.s32(8)).toBe(-5);
    expect(attributes.list.find((a) => a.type === 43)?.nested).toBe(true);
    const xdp = attributes.nested(43)!;
    expect(xdp.u8(2)).toBe(1);
    expect(xdp.u32(4)).toBe(1234);
    expect(xdp.u32(5)).toBeUndefined();
  });

  it("refuses an attribute that runs past its container, or is too short for its type", () => {
    const ok = new NetlinkWriter(16, 0).u32(1, 5).finish(1).subarray(16);
    expect(() => new NetlinkAttributes(ok.subarray(0, 6))).toThrow(NetlinkError);
    const tooShort = new NetlinkAttributes(new NetlinkWriter(16, 0).u8(1, 5).finish(1).subarray(16));
    expect(() => tooShort.u32(1)).toThrow(/expected 4/);
    const zeroLength = new Uint8Array([0, 0, 1, 0, 0, 0, 0, 0]);
    expect(() => new NetlinkAttributes(zeroLength)).toThrow(/shorter than the header/);
  });

  it("returns a BpfError or a value for every truncation of a message (never a RangeError)", () => {
    const full = new NetlinkWriter(16, 0).string(3, "eth-x").nested(43, (n) => n.u32(4, 1)).finish(1);
    for (let end = 0; end <= full.length; end++) {
      try {
        for (const m of splitMessages(full.subarray(0, end))) new NetlinkAttributes(m.payload).nested(43)?.u32(4);
      } catch (error) {
        expect(error).toBeInstanceOf(NetlinkError);
      }
    }
  });
});

describe("NLMSG_ERROR decoding", () => {
  const request = new NetlinkWriter(19, 0).header(16).u32(3, 0).u32(43, 0).finish(9);

  /** struct nlmsgerr for `request`, echoing it whole or capped, followed by ext-ack TLVs. */
  function errorMessage(errno: number, capped: boolean, tlvs: NetlinkWriter | undefined): NetlinkMessage {
    const echoed = capped ? request.subarray(0, 16) : request;
    const tlvBytes = tlvs === undefined ? new Uint8Array() : tlvs.finish(0).subarray(16);
    const payload = new Uint8Array(4 + echoed.length + tlvBytes.length);
    new DataView(payload.buffer).setInt32(0, -errno, true);
    payload.set(echoed, 4);
    payload.set(tlvBytes, 4 + echoed.length);
    const flags = (capped ? NLM_F_CAPPED : 0) | (tlvs === undefined ? 0 : NLM_F_ACK_TLVS);
    return { type: NLMSG_ERROR, flags, seq: 9, portId: 1, payload };
  }

  for (const capped of [true, false]) {
    it(`finds the text and the offending attribute (${capped ? "capped" : "full echo"})`, () => {
      const tlvs = new NetlinkWriter(0, 0).string(1, "XDP program already attached").u32(2, 40);
      const error = readError(errorMessage(16, capped, tlvs), request)!;
      expect(error.errno).toBe(16);
      expect(error.text).toBe("XDP program already attached");
      expect(error.badAttribute).toEqual({ offset: 40, type: 43 }); // the second attribute of the request
    });
  }

  it("treats error 0 as the ACK, and a plain error without TLVs as errno alone", () => {
    expect(readError(errorMessage(0, true, undefined), request)).toBeUndefined();
    expect(readError(errorMessage(22, true, undefined), request)).toEqual({ errno: 22 });
  });

  it("reads the int error of NLMSG_DONE", () => {
    const done = (errno: number) => ({ type: 3, flags: 0, seq: 1, portId: 1, payload: new Uint8Array(new Int32Array([-errno]).buffer) });
    expect(readDone(done(0))).toBeUndefined();
    expect(readDone(done(95))).toEqual({ errno: 95 });
  });
});

describe.skipIf(skipWithoutRoot)("NetlinkSocket against the kernel", () => {
  let pair: NetnsPair;
  const PAIRS = 150; // 300 extra links: several dump datagrams of up to 32 KiB each

  beforeAll(() => {
    pair = NetnsPair.create();
    pair.ipBatch("a", Array.from({ length: PAIRS }, (_, i) => `link add x${i} type veth peer name y${i}`));
  });
  afterAll(() => pair?.cleanup());

  it("dumps every link of the namespace, across several datagrams, as `ip -j link show` does", () => {
    const before = fdCount();
    const links = withNetns(pair.a.ns, () => {
      using socket = NetlinkSocket.open();
      return dumpLinks(socket);
    });
    const expected = (JSON.parse(pair.exec("a", ["ip", "-j", "link", "show"])) as { ifindex: number; ifname: string }[])
      .map((l) => `${l.ifindex}:${l.ifname}`);
    expect(links.map((l) => `${l.ifindex}:${l.name}`)).toEqual(expected);
    expect(links.length).toBe(2 * PAIRS + 2); // lo and the test veth, too
    expect(fdCount()).toBe(before);
    // More than two full 32 KiB datagrams' worth: the dump cannot have come in one.
    const bytes = withNetns(pair.a.ns, () => {
      using socket = NetlinkSocket.open();
      const replies = socket.request(linkRequest(RTM_GETLINK, NLM_F_DUMP, 0).u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS));
      return replies.reduce((sum, m) => sum + m.payload.length + 16, 0);
    });
    expect(bytes).toBeGreaterThan(2 * 32 * 1024);
  });

  it("grows a small receive buffer instead of losing a datagram", () => {
    withNetns(pair.a.ns, () => {
      using socket = NetlinkSocket.open({ bufferSize: 64 });
      const links = dumpLinks(socket);
      expect(links.length).toBe(2 * PAIRS + 2);
      expect(socket.bufferSize).toBeGreaterThan(64);
    });
  });

  it("reads one link, and keeps sequence numbers apart across requests on one socket", () => {
    withNetns(pair.a.ns, () => {
      using socket = NetlinkSocket.open();
      for (let i = 0; i < 20; i++) {
        expect(getLink(socket, 1).name).toBe("lo");
        expect(getLink(socket, pair.a.dev).ifindex).toBe(resolveInterface(pair.a.dev).ifindex);
      }
      expect(dumpLinks(socket).length).toBe(2 * PAIRS + 2);
    });
  });

  it("brings the kernel's extended-ack text and the offending attribute into NetlinkError", () => {
    withNetns(pair.a.ns, () => {
      using socket = NetlinkSocket.open();
      // Strict checking (NETLINK_GET_STRICT_CHK) refuses an attribute RTM_GETLINK does not take.
      const request = linkRequest(RTM_GETLINK, 0, 1).u32(IFLA_EXT_MASK, 0).u32(999, 1);
      const error = catchError(() => socket.request(request, { what: "read link 1" }));
      expect(error).toBeInstanceOf(NetlinkError);
      expect(error.errnoName).toBe("EINVAL");
      expect(error.kernelMessage).toMatch(/unknown attribute|unsupported attribute/i);
      expect(error.message).toContain("read link 1: ");
      expect(error.message).toContain("attribute type 999 at byte 40");
    });
  });

  it("reports an errno with no ext-ack text plainly", () => {
    withNetns(pair.a.ns, () => {
      using socket = NetlinkSocket.open();
      const request = linkRequest(RTM_GETLINK, 0, 0x7fff0000);
      const error = catchError(() => socket.request(request, { what: "read link" }));
      expect(error.errnoName).toBe("ENODEV");
      expect(error.message).toBe("read link: the kernel gave no reason (ENODEV)");
      expect(error.kernelMessage).toBeUndefined();
      // getLink words it for people.
      expect(catchError(() => getLink(socket, "nope0")).message).toBe(
        'no interface named "nope0" in this network namespace (see `ip link show`)',
      );
    });
  });

  it("answers with RTM_NEWLINK messages for our port id and sequence number", () => {
    withNetns(pair.a.ns, () => {
      using socket = NetlinkSocket.open();
      const replies = socket.request(linkRequest(RTM_GETLINK, 0, 1));
      expect(replies).toHaveLength(1);
      expect(replies[0].type).toBe(RTM_NEWLINK);
      expect(replies[0].portId).toBe(socket.portId);
      expect(new NetlinkAttributes(replies[0].payload.subarray(16)).string(3)).toBe("lo"); // IFLA_IFNAME
    });
  });

  it("closes its socket on close(), once", () => {
    const before = fdCount();
    const socket = withNetns(pair.a.ns, () => NetlinkSocket.open());
    expect(fdCount()).toBe(before + 1);
    socket.close();
    socket.close();
    expect(fdCount()).toBe(before);
  });
});

function catchError(fn: () => unknown): NetlinkError {
  try {
    fn();
  } catch (error) {
    if (error instanceof NetlinkError) return error;
    throw error;
  }
  throw new Error("expected a NetlinkError");
}
