// Is a path in a BPF filesystem? Pins live only there (mount -t bpf bpf /sys/fs/bpf), and the
// kernel's answer for a path elsewhere is a bare EPERM (pin) or EACCES (open), so the commands
// check first and say what is wrong.

import { statfsSync } from "node:fs";
import { dirname } from "node:path";

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
