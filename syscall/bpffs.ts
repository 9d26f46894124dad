// Is a path in a BPF filesystem? Pins live only there (mount -t bpf bpf /sys/fs/bpf), and the
// kernel's answer for a path elsewhere is a bare EPERM (pin) or EACCES (open), so the commands
// check first and say what is wrong.

import { statfsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { SpecError } from "../common/errors.js";

/** bpffs's statfs f_type (include/uapi/linux/magic.h BPF_FS_MAGIC). */
const BPF_FS_MAGIC = 0xcafe4a11;

/**
 * True when `path`, or the nearest directory above it that exists (a pin directory is
 * created when missing), is on a BPF filesystem.
 */
export function onBpfFs(path: string): boolean {
  for (let dir = path; ; dir = dirname(dir)) {
    try {
      return statfsSync(dir).type === BPF_FS_MAGIC;
    } catch {
      if (dirname(dir) === dir) return false;
    }
  }
}

/**
 * Throws unless `path` would be created on a BPF filesystem: a pin anywhere else (or a
 * path that climbs out of the mount with "..") fails in the kernel with a bare EPERM.
 */
export function assertOnBpfFs(path: string): void {
  const absolute = resolve(path);
  if (!onBpfFs(dirname(absolute))) {
    throw new SpecError(
      "is not on a BPF filesystem: pins can only live in one (mount -t bpf bpf /sys/fs/bpf, then pin below it)",
      { part: absolute },
    );
  }
}
