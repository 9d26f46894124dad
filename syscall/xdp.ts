// XDP attachment over rtnetlink, the message `ip link set dev X xdp ...` and libbpf send.
//
// Attach, replace and detach are one RTM_SETLINK request naming the interface in its
// ifinfomsg, with a nested IFLA_XDP attribute:
//
//   RTM_SETLINK  ifinfomsg { ifi_index }
//     IFLA_XDP (nested)
//       IFLA_XDP_FD          s32  program fd to attach; -1 detaches
//       IFLA_XDP_FLAGS       u32  XDP_FLAGS_* below (a mode bit, maybe UPDATE_IF_NOEXIST or REPLACE)
//       IFLA_XDP_EXPECTED_FD s32  with XDP_FLAGS_REPLACE (kernel 5.7): the program that must be
//                                 attached now, so the swap fails instead of clobbering a stranger's
//
// Reading is RTM_GETLINK; the reply's IFLA_XDP holds:
//
//     IFLA_XDP_ATTACHED    u8   XDP_ATTACHED_NONE / DRV / SKB / HW, or MULTI when several modes are in use
//     IFLA_XDP_PROG_ID     u32  the program id, only when exactly one mode is in use
//     IFLA_XDP_DRV_PROG_ID, IFLA_XDP_SKB_PROG_ID, IFLA_XDP_HW_PROG_ID  u32  per mode (5.0)
//
// The modes: "skb" (generic XDP, runs after the kernel built an sk_buff: works on any device),
// "native" (the driver runs the program on its receive ring: XDP_FLAGS_DRV_MODE), "offload"
// (the NIC runs it: XDP_FLAGS_HW_MODE). The kernel refuses native and skb programs on the
// same interface at once.

import { NetlinkError } from "../common/errors.js";
import { Errno } from "./errno.js";
import type { Fd } from "./fd.js";
import { dumpLinks, getLink, IFLA_XDP, linkRequest, resolveInterface, RTM_SETLINK, type Interface, type LinkMessage } from "./netlink-link.js";
import { NetlinkSocket, NO_REASON } from "./netlink.js";

export const XDP_FLAGS_UPDATE_IF_NOEXIST = 1 << 0;
export const XDP_FLAGS_SKB_MODE = 1 << 1;
export const XDP_FLAGS_DRV_MODE = 1 << 2;
export const XDP_FLAGS_HW_MODE = 1 << 3;
export const XDP_FLAGS_REPLACE = 1 << 4;
const ALL_FLAGS = XDP_FLAGS_UPDATE_IF_NOEXIST | XDP_FLAGS_SKB_MODE | XDP_FLAGS_DRV_MODE | XDP_FLAGS_HW_MODE | XDP_FLAGS_REPLACE;

export const IFLA_XDP_FD = 1;
export const IFLA_XDP_ATTACHED = 2;
export const IFLA_XDP_FLAGS = 3;
export const IFLA_XDP_PROG_ID = 4;
export const IFLA_XDP_DRV_PROG_ID = 5;
export const IFLA_XDP_SKB_PROG_ID = 6;
export const IFLA_XDP_HW_PROG_ID = 7;
export const IFLA_XDP_EXPECTED_FD = 8;

export const XDP_ATTACHED_NONE = 0;
export const XDP_ATTACHED_DRV = 1;
export const XDP_ATTACHED_SKB = 2;
export const XDP_ATTACHED_HW = 3;
export const XDP_ATTACHED_MULTI = 4;

export type XdpMode = "skb" | "native" | "offload";
/** What IFLA_XDP_ATTACHED reports. */
export type XdpAttached = "none" | XdpMode | "multi";

const MODE_FLAGS: Record<XdpMode, number> = {
  skb: XDP_FLAGS_SKB_MODE,
  native: XDP_FLAGS_DRV_MODE,
  offload: XDP_FLAGS_HW_MODE,
};

const ATTACHED_NAMES: Record<number, XdpAttached> = {
  [XDP_ATTACHED_NONE]: "none",
  [XDP_ATTACHED_DRV]: "native",
  [XDP_ATTACHED_SKB]: "skb",
  [XDP_ATTACHED_HW]: "offload",
  [XDP_ATTACHED_MULTI]: "multi",
};

/** The XDP_FLAGS_*_MODE bit for a mode. */
export function xdpModeFlag(mode: XdpMode): number {
  return MODE_FLAGS[mode];
}

/** A program fd: an owned Fd or a raw number (-1 in setXdp means "detach"). */
export type FdLike = Fd | number;

function rawFd(fd: FdLike): number {
  return typeof fd === "number" ? fd : fd.raw;
}

export interface SetXdpOptions {
  /** The program to attach, or -1 to detach the program of the mode in `flags`. */
  fd: FdLike;
  /** XDP_FLAGS_* bits, usually one mode bit plus UPDATE_IF_NOEXIST. */
  flags?: number;
  /** The program that must be attached now; adds XDP_FLAGS_REPLACE (kernel 5.7). */
  expectedFd?: FdLike;
  /** Socket to send on; by default a new one in the calling thread's network namespace. */
  socket?: NetlinkSocket;
  /** The interface's name, for error messages. */
  interfaceName?: string;
}

/**
 * The raw RTM_SETLINK + IFLA_XDP request. Throws NetlinkError with the kernel's reason
 * ("XDP program already attached", "Active program does not match expected", ...).
 */
export function setXdp(ifindex: number, options: SetXdpOptions): void {
  const fd = rawFd(options.fd);
  const expected = options.expectedFd === undefined ? undefined : rawFd(options.expectedFd);
  const flags = (options.flags ?? 0) | (expected === undefined ? 0 : XDP_FLAGS_REPLACE);
  const request = linkRequest(RTM_SETLINK, 0, ifindex).nested(IFLA_XDP, (x) => {
    x.s32(IFLA_XDP_FD, fd).u32(IFLA_XDP_FLAGS, flags);
    if (expected !== undefined) x.s32(IFLA_XDP_EXPECTED_FD, expected);
  });
  const where = options.interfaceName === undefined ? `ifindex ${ifindex}` : `${options.interfaceName} (ifindex ${ifindex})`;
  const what = describe(where, fd, flags, expected);
  withSocket(options.socket, (socket) => {
    try {
      socket.request(request, { what });
    } catch (error) {
      throw error instanceof NetlinkError ? explain(error, ifindex, flags) : error;
    }
  });
}

export interface AttachXdpOptions {
  mode: XdpMode;
  /**
   * Without it the attach fails (EBUSY) if a program is already attached in this mode.
   * An Fd/number: atomically replace that program, failing (EEXIST) if another one is there.
   * `true`: replace whatever is attached.
   */
  replace?: FdLike | true;
  socket?: NetlinkSocket;
}

/** Attaches `program` to an interface (name or index) and returns the resolved interface. */
export function attachXdp(ifindexOrName: number | string, program: FdLike, options: AttachXdpOptions): Interface {
  const iface = target(ifindexOrName, options.socket);
  const mode = xdpModeFlag(options.mode);
  const common = { fd: program, socket: options.socket, interfaceName: iface.name };
  const replace = options.replace;
  if (replace === undefined) setXdp(iface.ifindex, { ...common, flags: mode | XDP_FLAGS_UPDATE_IF_NOEXIST });
  else if (replace === true) setXdp(iface.ifindex, { ...common, flags: mode });
  else setXdp(iface.ifindex, { ...common, flags: mode, expectedFd: replace });
  return iface;
}

export interface DetachXdpOptions {
  mode: XdpMode;
  /** Detach only if this program is still the one attached (EEXIST otherwise). */
  expected?: FdLike;
  socket?: NetlinkSocket;
}

/** Detaches the program of `mode`; a no-op when none is attached (unless `expected` is given). */
export function detachXdp(ifindexOrName: number | string, options: DetachXdpOptions): void {
  const iface = target(ifindexOrName, options.socket);
  setXdp(iface.ifindex, {
    fd: -1, flags: xdpModeFlag(options.mode), expectedFd: options.expected, socket: options.socket, interfaceName: iface.name,
  });
}

/** What is attached to one interface. */
export interface XdpInfo {
  attached: XdpAttached;
  /** IFLA_XDP_PROG_ID: the attached program's id when exactly one mode is in use. */
  progId?: number;
  /** Program id per mode, present for every mode in use. */
  programs: { native?: number; skb?: number; offload?: number };
}

export interface LinkXdpInfo extends Interface {
  xdp: XdpInfo;
}

/** RTM_GETLINK for one interface: its XDP state. */
export function queryXdp(ifindexOrName: number | string, socket?: NetlinkSocket): XdpInfo {
  if (socket === undefined) resolveInterface(ifindexOrName); // the same error as attachXdp's for a missing interface
  return withSocket(socket, (s) => xdpInfo(getLink(s, ifindexOrName)));
}

/** Every interface of the calling thread's network namespace with its XDP state (`tsbpf xdp show`). */
export function listXdp(socket?: NetlinkSocket): LinkXdpInfo[] {
  return withSocket(socket, (s) => dumpLinks(s).map((link) => ({ ifindex: link.ifindex, name: link.name, xdp: xdpInfo(link) })));
}

function xdpInfo(link: LinkMessage): XdpInfo {
  const xdp = link.attributes.nested(IFLA_XDP);
  const info: XdpInfo = { attached: "none", programs: {} };
  if (xdp === undefined) return info; // kernels before 4.8, or a device without XDP support
  const attached = xdp.u8(IFLA_XDP_ATTACHED) ?? XDP_ATTACHED_NONE;
  info.attached = ATTACHED_NAMES[attached] ?? "none";
  const progId = xdp.u32(IFLA_XDP_PROG_ID);
  if (progId !== undefined) info.progId = progId;
  const native = xdp.u32(IFLA_XDP_DRV_PROG_ID);
  const skb = xdp.u32(IFLA_XDP_SKB_PROG_ID);
  const offload = xdp.u32(IFLA_XDP_HW_PROG_ID);
  if (native !== undefined) info.programs.native = native;
  if (skb !== undefined) info.programs.skb = skb;
  if (offload !== undefined) info.programs.offload = offload;
  return info;
}

/**
 * The interface in the namespace the request will go to: the calling thread's (if_nametoindex)
 * or, when a socket is given, the socket's (asked over that socket).
 */
function target(ifindexOrName: number | string, socket: NetlinkSocket | undefined): Interface {
  if (socket === undefined) return resolveInterface(ifindexOrName);
  const link = getLink(socket, ifindexOrName);
  return { ifindex: link.ifindex, name: link.name };
}

function withSocket<T>(socket: NetlinkSocket | undefined, use: (socket: NetlinkSocket) => T): T {
  if (socket !== undefined) return use(socket);
  const own = NetlinkSocket.open();
  try {
    return use(own);
  } finally {
    own.close();
  }
}

function modeName(flags: number): string {
  if (flags & XDP_FLAGS_SKB_MODE) return "skb mode";
  if (flags & XDP_FLAGS_DRV_MODE) return "native mode";
  if (flags & XDP_FLAGS_HW_MODE) return "offload mode";
  return "the default mode";
}

function describe(where: string, fd: number, flags: number, expected: number | undefined): string {
  if (fd < 0) return `detach XDP program (${modeName(flags)}) from ${where}${expected === undefined ? "" : ` expecting program fd ${expected}`}`;
  if (expected !== undefined) return `replace XDP program fd ${expected} with fd ${fd} on ${where} (${modeName(flags)})`;
  return `attach XDP program fd ${fd} to ${where} (${modeName(flags)})`;
}

/** The kernel's reason is kept; what to do about it is added where the errno alone says little. */
function explain(error: NetlinkError, ifindex: number, flags: number): NetlinkError {
  let hint: string | undefined;
  if (error.errno === Errno.ENODEV) hint = `no interface with index ${ifindex} in this network namespace`;
  else if (error.errno === Errno.EBUSY && flags & XDP_FLAGS_UPDATE_IF_NOEXIST) hint = "a program is already attached in this mode: detach it, or replace it";
  else if (error.errno === Errno.EEXIST && flags & XDP_FLAGS_REPLACE) hint = "the attached program is not the expected one (someone else replaced or detached it)";
  else if (error.errno === Errno.EINVAL && error.kernelMessage === undefined) hint = invalidFlags(flags);
  else if (error.errno === Errno.EOPNOTSUPP) hint = "the driver does not support this XDP mode; try mode \"skb\"";
  else if (error.errno === Errno.EPERM) hint = "attaching XDP needs CAP_NET_ADMIN (and CAP_BPF or CAP_SYS_ADMIN)";
  if (hint === undefined || hint === "") return error;
  const message = error.kernelMessage === undefined ? error.message.replace(NO_REASON, hint) : `${error.message}; ${hint}`;
  return new NetlinkError(message, {
    errno: error.errno, errnoName: error.errnoName, ...(error.kernelMessage === undefined ? {} : { kernelMessage: error.kernelMessage }),
  }, { cause: error });
}

/** rtnetlink checks IFLA_XDP_FLAGS before the XDP code runs, and says nothing: say it here. */
function invalidFlags(flags: number): string {
  const modes = flags & (XDP_FLAGS_SKB_MODE | XDP_FLAGS_DRV_MODE | XDP_FLAGS_HW_MODE);
  if (modes & (modes - 1)) return "only one of the skb, native and offload mode flags may be set";
  if (flags & ~ALL_FLAGS) return `unknown XDP flags 0x${(flags & ~ALL_FLAGS).toString(16)}`;
  if (flags & XDP_FLAGS_REPLACE) return "XDP_FLAGS_REPLACE needs the expected program (expectedFd)";
  return "";
}
