// The running kernel's BTF, read and parsed once per process and shared by every load that
// needs it (CO-RE relocations, kfunc and ksym lookups).
//
//   /sys/kernel/btf/vmlinux    the kernel's own types (kernel 5.4, CONFIG_DEBUG_INFO_BTF): raw
//                              BTF, a struct btf_header followed by its sections, no ELF around it
//   /sys/kernel/btf/<module>   one file per loaded module with BTF (kernel 5.11,
//                              CONFIG_DEBUG_INFO_BTF_MODULES): split BTF on top of vmlinux. Its
//                              type ids continue after vmlinux's last id and its string offsets
//                              after the end of vmlinux's string section, so it is parsed
//                              with vmlinux as its base (btf/parse.ts).
//
// Reading vmlinux costs more than parsing it: sysfs hands out the 5 MB file one page per
// read(2) call, about 1,350 calls, and each costs Node more than it costs C. Memoizing makes
// that a once-per-process cost. A module's BTF is memoized by path as well; a module that is
// unloaded and loaded again keeps its BTF, unless `forgetKernelBtf` is called.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BtfError } from "../common/errors.js";
import { parseBtf, type Btf } from "../btf/parse.js";

export const KERNEL_BTF_DIRECTORY = "/sys/kernel/btf";
export const VMLINUX_BTF_PATH = "/sys/kernel/btf/vmlinux";

const parsed = new Map<string, Btf>();

/** The kernel's BTF (by default /sys/kernel/btf/vmlinux), read and parsed on the first call only. */
export function loadKernelBtf(path: string = VMLINUX_BTF_PATH): Btf {
  let btf = parsed.get(path);
  if (btf === undefined) {
    btf = parseBtf(readBtfFile(path, "the kernel's BTF (kernel built without CONFIG_DEBUG_INFO_BTF?)"));
    parsed.set(path, btf);
  }
  return btf;
}

export interface ModuleBtfOptions {
  /** Where the BTF files are; vmlinux, the base, is read from the same place. */
  directory?: string;
}

/**
 * The BTF of a loaded kernel module (e.g. "nf_conntrack"): split BTF on top of vmlinux, so
 * its types can refer to vmlinux types and both resolve through the returned Btf.
 */
export function loadModuleBtf(name: string, options: ModuleBtfOptions = {}): Btf {
  if (name === "" || name === "vmlinux" || name.includes("/") || name.startsWith(".")) {
    throw new BtfError(`"${name}" is not a kernel module name (use loadKernelBtf for vmlinux)`);
  }
  const directory = options.directory ?? KERNEL_BTF_DIRECTORY;
  const path = join(directory, name);
  let btf = parsed.get(path);
  if (btf === undefined) {
    const base = loadKernelBtf(join(directory, "vmlinux"));
    const bytes = readBtfFile(path, `the BTF of module ${name} (module not loaded, or built without BTF?)`);
    btf = parseBtf(bytes, { base });
    parsed.set(path, btf);
  }
  return btf;
}

/** Names of the loaded modules that have BTF (every file in the directory but vmlinux). */
export function kernelBtfModules(directory: string = KERNEL_BTF_DIRECTORY): string[] {
  let entries: string[];
  try {
    entries = readdirSync(directory);
  } catch (cause) {
    throw new BtfError(`cannot list ${directory}: ${errorCode(cause)}`, {}, { cause });
  }
  return entries.filter((entry) => entry !== "vmlinux").sort();
}

/** Drops the memoized BTF of `path`, or all of it: the next load reads the files again. */
export function forgetKernelBtf(path?: string): void {
  if (path === undefined) parsed.clear();
  else parsed.delete(path);
}

function readBtfFile(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (cause) {
    throw new BtfError(`cannot read ${path}, ${what}: ${errorCode(cause)}`, {}, { cause });
  }
}

function errorCode(cause: unknown): string {
  const code = (cause as { code?: unknown }).code;
  return typeof code === "string" ? code : String(cause);
}
