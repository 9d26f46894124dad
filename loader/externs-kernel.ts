// The running kernel's answers for extern resolution, gathered in one place so that the
// rest of the extern code takes them as arguments (and tests can pass their own):
//
//   kernel config        /proc/config.gz (gzip; CONFIG_IKCONFIG_PROC), else /boot/config-$(uname -r)
//   kernel version       uname(2): release "6.18.44-fc-v657"; Ubuntu's /proc/version_signature;
//                        Debian's version string (os.version(), "... Debian 6.1.55-1 ...")
//   symbol addresses     /proc/kallsyms, lines "ffffffff814de370 T __x64_sys_bpf [module]";
//                        addresses read 0 unless the reader may see them (kptr_restrict)
//   syscall wrappers     __<arch>_sys_bpf in /proc/kallsyms (Linux 4.17 on x86-64). libbpf
//                        asks by opening a kprobe on that symbol instead, so on a kernel
//                        without CONFIG_KPROBES it answers 0 where we answer 1; the value
//                        only matters to kprobes on syscalls, which such a kernel cannot have
//   BPF cookie           BPF_FUNC_get_attach_cookie in vmlinux BTF's enum bpf_func_id (5.15)
//   BTF                  /sys/kernel/btf/vmlinux and /sys/kernel/btf/<module> (kernel-btf.ts)
//   module BTF fds       BPF_BTF_GET_NEXT_ID / BPF_BTF_GET_FD_BY_ID over every BTF object,
//                        kept when BPF_OBJ_GET_INFO_BY_FD names the module (Linux 5.11)
//
// Facts that cannot change while the process runs (config, version, wrappers) are read
// once; kallsyms and the list of modules are read each time (modules come and go).

import { existsSync, readFileSync } from "node:fs";
import { release, version } from "node:os";
import { gunzipSync } from "node:zlib";
import { BtfError } from "../common/errors.js";
import { objectFdById, objectIds } from "../syscall/bpf-obj.js";
import type { Fd } from "../syscall/fd.js";
import { btfInfo } from "../syscall/info.js";
import { kernelBtfModules, loadKernelBtf, loadModuleBtf } from "./kernel-btf.js";
import { kernelVersionCode, parseKernelConfig, type KconfigFacts, type KernelConfig } from "./externs-kconfig.js";
import type { KernelBtfs } from "./externs-ksym.js";

export interface KernelFacts extends KconfigFacts, KernelBtfs {
  /** Every address /proc/kallsyms lists under each of `names` (a name may appear twice). */
  kallsyms(names: ReadonlySet<string>): Map<string, bigint[]>;
  /** A new descriptor for the BTF object of a loaded module; the caller closes it. */
  moduleBtfFd(name: string): Fd;
}

const KALLSYMS_PATH = "/proc/kallsyms";

let config: { value: KernelConfig | undefined } | undefined;
let versionCode: { value: number | undefined } | undefined;
let syscallWrapper: boolean | undefined;
let bpfCookie: boolean | undefined;

/** The running kernel, read lazily: nothing is read until an extern needs it. */
export function runningKernel(): KernelFacts {
  return RUNNING_KERNEL;
}

const RUNNING_KERNEL: KernelFacts = {
  config: () => (config ??= { value: readKernelConfig() }).value,
  kernelVersion: () => (versionCode ??= { value: kernelVersionCode(release(), version(), readOptional("/proc/version_signature")) }).value,
  hasSyscallWrapper: () => (syscallWrapper ??= hasWrapper()),
  hasBpfCookie: () => (bpfCookie ??= hasHelper("BPF_FUNC_get_attach_cookie")),
  vmlinux: () => loadKernelBtf(),
  modules: () => kernelBtfModules(),
  module: (name) => loadModuleBtf(name),
  kallsyms: readKallsyms,
  moduleBtfFd,
};

function readKernelConfig(): KernelConfig | undefined {
  const proc = "/proc/config.gz";
  if (existsSync(proc)) {
    try {
      return parseKernelConfig(gunzipSync(readFileSync(proc)).toString("latin1"), proc);
    } catch {
      // An unreadable or corrupt file: try the next place.
    }
  }
  const boot = `/boot/config-${release()}`;
  const text = readOptional(boot);
  return text === undefined ? undefined : parseKernelConfig(text, boot);
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, "latin1");
  } catch {
    return undefined;
  }
}

/**
 * Addresses by name from /proc/kallsyms. The compiler may rename a static variable
 * `name.llvm.123456` (LTO); such data symbols count as `name`, as libbpf does.
 */
function readKallsyms(names: ReadonlySet<string>): Map<string, bigint[]> {
  const found = new Map<string, bigint[]>();
  if (names.size === 0) return found;
  const text = readOptional(KALLSYMS_PATH) ?? "";
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    // "address type name" then, for a module symbol, "\t[module]".
    const firstSpace = line.indexOf(" ");
    const secondSpace = line.indexOf(" ", firstSpace + 1);
    if (firstSpace < 0 || secondSpace < 0) continue;
    const tab = line.indexOf("\t", secondSpace);
    let name = line.slice(secondSpace + 1, tab < 0 ? line.length : tab);
    const llvm = name.indexOf(".llvm.");
    if (llvm > 0 && line[firstSpace + 1] === "d") name = name.slice(0, llvm);
    if (!names.has(name)) continue;
    const address = BigInt(`0x${line.slice(0, firstSpace)}`);
    const list = found.get(name);
    if (list === undefined) found.set(name, [address]);
    else list.push(address);
  }
  return found;
}

/** libbpf's arch_specific_syscall_pfx, by Node's name for the architecture. */
const SYSCALL_PREFIX: Readonly<Record<string, string>> = {
  x64: "x64",
  ia32: "ia32",
  s390x: "s390x",
  s390: "s390",
  arm: "arm",
  arm64: "arm64",
  mips: "mips",
  mipsel: "mips",
  riscv64: "riscv",
  ppc64: "powerpc",
  ppc: "powerpc",
};

function hasWrapper(): boolean {
  const prefix = SYSCALL_PREFIX[process.arch];
  if (prefix === undefined) return false;
  const name = `__${prefix}_sys_bpf`;
  return (readKallsyms(new Set([name])).get(name)?.length ?? 0) > 0;
}

/** Whether the kernel knows the helper: its BPF_FUNC_ name is in vmlinux BTF's enum bpf_func_id. */
function hasHelper(enumerator: string): boolean {
  let ids;
  try {
    ids = loadKernelBtf().typeByName("bpf_func_id", "enum");
  } catch {
    return false;
  }
  return ids?.kind === "enum" && ids.values.some((v) => v.name === enumerator);
}

function moduleBtfFd(name: string): Fd {
  for (const id of objectIds("btf")) {
    let fd: Fd;
    try {
      fd = objectFdById("btf", id);
    } catch {
      continue; // freed since it was listed
    }
    let match = false;
    try {
      const info = btfInfo(fd);
      match = info.kernelBtf && info.name === name;
    } finally {
      if (!match) fd.close();
    }
    if (match) return fd;
  }
  throw new BtfError(`no BTF object of module ${name} among the kernel's (was it unloaded?)`);
}
