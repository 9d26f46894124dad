// rtnetlink link messages (RTM_GETLINK, RTM_SETLINK, RTM_NEWLINK): the ifinfomsg family
// header and the IFLA_* attributes tsbpf reads or writes.
//
//   struct ifinfomsg {              // <linux/rtnetlink.h>, 16 bytes after nlmsghdr
//     unsigned char  ifi_family;    // AF_UNSPEC
//     unsigned char  __ifi_pad;
//     unsigned short ifi_type;      // ARPHRD_* (replies only)
//     int            ifi_index;     // the interface; 0 in a dump request
//     unsigned int   ifi_flags;     // IFF_* (replies; in requests only with ifi_change)
//     unsigned int   ifi_change;    // which IFF_* bits a request changes: 0 here
//   };
//
// then attributes: IFLA_IFNAME (string), IFLA_EXT_MASK (u32), IFLA_XDP (nested), ...

import bin from "typed-binary";
import { NetlinkError, SyscallError } from "../common/errors.js";
import { readRecord, writeRecord } from "../common/layouts.js";
import { Errno } from "./errno.js";
import {
  HOST_LITTLE_ENDIAN, malformed, NetlinkAttributes, NetlinkWriter, NLM_F_DUMP, type NetlinkMessage,
} from "./netlink-message.js";
import type { NetlinkSocket } from "./netlink.js";
import { ifIndexToName, ifNameToIndex } from "./socket.js";

export const RTM_NEWLINK = 16;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;

export const IFINFOMSG_SIZE = 16;

/** struct ifinfomsg, drawn above. */
export const IfInfoMsg = bin.object({
  family: bin.u8,
  pad: bin.u8,
  type: bin.u16,
  index: bin.i32,
  flags: bin.u32,
  change: bin.u32,
});

export const IFLA_IFNAME = 3;
export const IFLA_EXT_MASK = 29;
export const IFLA_XDP = 43;

/** IFLA_EXT_MASK bit: leave the per-link statistics out of replies (they are most of a dump). */
export const RTEXT_FILTER_SKIP_STATS = 1 << 3;

/** A link request whose ifinfomsg names `ifindex` (0 for a dump). */
export function linkRequest(type: number, flags: number, ifindex: number): NetlinkWriter {
  return new NetlinkWriter(type, flags).header(IFINFOMSG_SIZE, (bytes, offset) => {
    writeRecord(IfInfoMsg, bytes, offset, HOST_LITTLE_ENDIAN, { family: 0 /* AF_UNSPEC */, pad: 0, type: 0, index: ifindex, flags: 0, change: 0 });
  });
}

/** One link from an RTM_NEWLINK reply. */
export interface LinkMessage {
  readonly ifindex: number;
  readonly name: string;
  readonly attributes: NetlinkAttributes;
}

export function parseLink(message: NetlinkMessage): LinkMessage {
  if (message.type !== RTM_NEWLINK) throw malformed(`expected RTM_NEWLINK, got message type ${message.type}`);
  if (message.payload.length < IFINFOMSG_SIZE) throw malformed("RTM_NEWLINK shorter than struct ifinfomsg");
  const p = message.payload;
  const ifindex = readRecord(IfInfoMsg, p, 0, HOST_LITTLE_ENDIAN).index;
  const attributes = new NetlinkAttributes(p.subarray(IFINFOMSG_SIZE), `link ${ifindex}`);
  return { ifindex, name: attributes.string(IFLA_IFNAME) ?? "", attributes };
}

/**
 * RTM_GETLINK for one interface (statistics skipped), by index or by name (IFLA_IFNAME; the
 * kernel looks the name up in the socket's namespace). A missing interface is a NetlinkError
 * (ENODEV) that says so.
 */
export function getLink(socket: NetlinkSocket, ifindexOrName: number | string): LinkMessage {
  const byName = typeof ifindexOrName === "string";
  const request = linkRequest(RTM_GETLINK, 0, byName ? 0 : ifindexOrName);
  if (byName) request.string(IFLA_IFNAME, ifindexOrName);
  request.u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  const which = byName ? `named ${JSON.stringify(ifindexOrName)}` : `with index ${ifindexOrName}`;
  let replies: NetlinkMessage[];
  try {
    replies = socket.request(request, { what: `read link ${which}` });
  } catch (error) {
    if (error instanceof NetlinkError && error.errno === Errno.ENODEV) {
      throw new NetlinkError(noInterfaceText(which), { errno: error.errno, errnoName: error.errnoName }, { cause: error });
    }
    throw error;
  }
  if (replies.length !== 1) throw malformed(`RTM_GETLINK for the interface ${which} returned ${replies.length} links`);
  return parseLink(replies[0]);
}

/** RTM_GETLINK dump of every interface of the socket's network namespace. */
export function dumpLinks(socket: NetlinkSocket): LinkMessage[] {
  const request = linkRequest(RTM_GETLINK, NLM_F_DUMP, 0).u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  return socket.request(request, { what: "list network interfaces" }).map(parseLink);
}

/** An interface, named both ways. */
export interface Interface {
  readonly ifindex: number;
  readonly name: string;
}

/**
 * Resolves an interface name or index in the calling thread's network namespace, with an
 * error that says which namespace was searched when there is no such interface.
 */
export function resolveInterface(ifindexOrName: number | string): Interface {
  if (typeof ifindexOrName === "number") {
    const name = Number.isInteger(ifindexOrName) && ifindexOrName > 0 ? ifIndexToName(ifindexOrName) : undefined;
    if (name === undefined) throw noInterface(`with index ${ifindexOrName}`, "if_indextoname");
    return { ifindex: ifindexOrName, name };
  }
  const ifindex = ifNameToIndex(ifindexOrName);
  if (ifindex === undefined) throw noInterface(`named ${JSON.stringify(ifindexOrName)}`, "if_nametoindex");
  return { ifindex, name: ifindexOrName };
}

function noInterface(which: string, operation: string): SyscallError {
  return new SyscallError(noInterfaceText(which), { operation, errno: Errno.ENODEV, errnoName: "ENODEV" });
}

function noInterfaceText(which: string): string {
  return `no interface ${which} in this network namespace (see \`ip link show\`)`;
}
