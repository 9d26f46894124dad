// The number of possible CPUs, which sizes every per-CPU map value.
//
// For PERCPU_ARRAY, PERCPU_HASH, LRU_PERCPU_HASH and PERCPU_CGROUP_STORAGE the kernel
// copies one value per *possible* CPU (for_each_possible_cpu in kernel/bpf), each padded
// to round_up(value_size, 8), so user space must size its buffer by the possible count,
// not by the online count or os.cpus(). The kernel lists possible CPUs in
// /sys/devices/system/cpu/possible as ranges: "0-3", "0-3,5", "0,2-7".

import { readFileSync } from "node:fs";
import { SyscallError } from "../common/errors.js";
import { Errno } from "./errno.js";

const POSSIBLE = "/sys/devices/system/cpu/possible";

/** The CPU numbers of a kernel CPU list such as "0-3,5" (sorted, no duplicates). */
export function parseCpuList(text: string): number[] {
  const cpus = new Set<number>();
  for (const part of text.trim().split(",")) {
    if (part === "") continue;
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (match === null) throw cpuListError(text);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (last < first) throw cpuListError(text);
    for (let cpu = first; cpu <= last; cpu++) cpus.add(cpu);
  }
  if (cpus.size === 0) throw cpuListError(text);
  return [...cpus].sort((a, b) => a - b);
}

function cpuListError(text: string): SyscallError {
  return new SyscallError(`cannot parse the CPU list ${JSON.stringify(text)} from ${POSSIBLE}`, {
    operation: "read " + POSSIBLE,
    errno: Errno.EINVAL,
    errnoName: "EINVAL",
  });
}

let possible: number | undefined;

/** How many CPUs the kernel considers possible (read once). */
export function possibleCpus(): number {
  if (possible === undefined) possible = parseCpuList(readFileSync(POSSIBLE, "utf8")).length;
  return possible;
}

/** Bytes the kernel copies for one per-CPU value: round_up(valueSize, 8) per possible CPU. */
export function perCpuValueSize(valueSize: number, cpus = possibleCpus()): number {
  return ((valueSize + 7) & ~7) * cpus;
}
