// vitest globalSetup: runs once, before any test file, in the main vitest process.
//
// 1. Compiles every test/progs/NAME.bpf.c whose source (or compiler, or flags) changed into
//    test/progs/build/NAME.o (see test/helpers/progs.ts), failing the run with clang's
//    stderr when a fixture does not compile.
// 2. Makes sure a BPF filesystem is mounted at /sys/fs/bpf, where kernel tests pin objects
//    under a per-run directory. Only root can mount; without root the kernel tests skip.

import { execFileSync } from "node:child_process";
import { buildProgs } from "../helpers/progs.js";

const BPFFS = "/sys/fs/bpf";
// Several vitest processes may start together; the lock keeps them from stacking two
// bpffs mounts on the same directory (pins made in the lower one would become invisible).
const MOUNT_LOCK = "/run/lock/tsbpf-bpffs.lock";

function mountBpffs(): void {
  if (process.getuid?.() !== 0) return;
  execFileSync("flock", [MOUNT_LOCK, "sh", "-c", `mountpoint -q ${BPFFS} || mount -t bpf bpf ${BPFFS}`], {
    stdio: ["ignore", "ignore", "inherit"],
  });
}

export default async function setup(): Promise<void> {
  const compiled = await buildProgs();
  if (compiled.length > 0) console.log(`compiled BPF fixtures: ${compiled.join(", ")}`);
  mountBpffs();
}
