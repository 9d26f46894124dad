// Pieces the xdp commands share: the mode names, running in another network namespace,
// and reading the per-mode program ids of an interface.

import { withNetns, type XdpInfo, type XdpMode } from "../index.js";

export const XDP_MODES: readonly XdpMode[] = ["skb", "native", "offload"];

/** Runs `fn` in network namespace `ns` when one is given (withNetns takes only synchronous code). */
export function inNetns<T>(ns: string | undefined, fn: () => T): T {
  return ns === undefined ? fn() : withNetns(ns, fn);
}

/** The attached programs of one interface, one per mode in use. */
export function programsByMode(info: XdpInfo): { mode: XdpMode; id: number }[] {
  const found = XDP_MODES.flatMap((mode) => (info.programs[mode] === undefined ? [] : [{ mode, id: info.programs[mode]! }]));
  // Kernels before 5.0 report only IFLA_XDP_PROG_ID and the mode in IFLA_XDP_ATTACHED.
  if (found.length === 0 && info.progId !== undefined && info.attached !== "none" && info.attached !== "multi") {
    found.push({ mode: info.attached, id: info.progId });
  }
  return found;
}
