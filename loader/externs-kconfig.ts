// Kconfig externs: the values of `extern ... __kconfig` variables, written into the bytes of
// the .kconfig map. Pure: the kernel's facts (its config, its version) are passed in.
//
// The kernel config is the text `make` writes (/proc/config.gz, gzip'd, with
// CONFIG_IKCONFIG_PROC; or /boot/config-$(uname -r)), one option per line:
//
//   CONFIG_BPF=y                        bool or tristate: y, n, m
//   CONFIG_HZ=250                       int (decimal) or hex (0x...)
//   CONFIG_LOCALVERSION="-fc-v657"      string, in double quotes
//   # CONFIG_KASAN is not set           a comment: the option is absent
//
// How a value is stored depends on the extern's C type (libbpf's rules, so that a program
// means the same thing under either loader):
//   y / n / m   bool: 1 / 0 (m is an error); enum libbpf_tristate: TRI_YES 1, TRI_NO 0,
//               TRI_MODULE 2; char: the letter itself; other types: an error
//   "string"    char array only: the bytes between the quotes, cut to fit with a NUL
//   number      int, char or bool (0 or 1 only), range-checked for the type's size and sign
// Absent options are 0 for a __weak extern and an error for a strong one.
//
// Some names are not options but facts libbpf computes ("virtual" externs):
//   LINUX_KERNEL_VERSION         KERNEL_VERSION(a, b, c) of the running kernel
//   LINUX_HAS_SYSCALL_WRAPPER    1 if syscalls enter through __<arch>_sys_* wrappers (4.17, x86)
//   LINUX_HAS_BPF_COOKIE         1 if the kernel has bpf_get_attach_cookie (5.15)
// Any other LINUX_ name is 0 when __weak (room for future ones) and an error otherwise.

import type { KconfigExtern } from "./externs-spec.js";

export interface KernelConfig {
  /** Where it was read from, for messages ("/proc/config.gz"). */
  readonly source: string;
  /** Option name to its raw value text (`y`, `250`, `"-fc-v657"` with the quotes). */
  readonly values: ReadonlyMap<string, string>;
}

/** What kconfig values are computed from; the running kernel's come from externs-kernel.ts. */
export interface KconfigFacts {
  /** The kernel config, or undefined when the system has none to read. */
  config(): KernelConfig | undefined;
  /** LINUX_VERSION_CODE of the running kernel, or undefined if it cannot be told. */
  kernelVersion(): number | undefined;
  hasSyscallWrapper(): boolean;
  hasBpfCookie(): boolean;
}

export interface KconfigContents {
  /** The .kconfig map value. */
  readonly bytes: Uint8Array;
  /** Externs without a value, with the reason; a program that uses one fails to load. */
  readonly unresolved: ReadonlyMap<string, string>;
}

/** The lines `CONFIG_NAME=value` of a kernel config; comments and blank lines are skipped. */
export function parseKernelConfig(text: string, source: string): KernelConfig {
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (!line.startsWith("CONFIG_")) continue;
    const separator = line.indexOf("=");
    // A line without a value is not something `make` writes; it leaves the option absent.
    if (separator < 0 || separator === line.length - 1) continue;
    values.set(line.slice(0, separator), line.slice(separator + 1).trimEnd());
  }
  return { source, values };
}

/**
 * KERNEL_VERSION(a, b, c) = a << 16 | b << 8 | min(c, 255), the kernel's LINUX_VERSION_CODE,
 * from `uname -r` ("6.18.44-fc-v657"). Distributions whose release string is not the
 * upstream version give it elsewhere, as libbpf knows: Ubuntu in /proc/version_signature
 * ("Ubuntu 5.15.0-86.96-generic 5.15.116"), Debian in `uname -v` ("... Debian 6.1.55-1 ...").
 */
export function kernelVersionCode(release: string, version = "", ubuntuSignature?: string): number | undefined {
  const ubuntu = ubuntuSignature === undefined ? undefined : /^\S+ \S+ (\d+)\.(\d+)\.(\d+)/.exec(ubuntuSignature);
  const debian = / Debian (\d+)\.(\d+)\.(\d+)/.exec(version);
  const upstream = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  const match = ubuntu ?? debian ?? upstream;
  if (match === null) return undefined;
  const [major, minor, patch] = [match[1], match[2], match[3] ?? "0"].map(Number);
  return (major << 16) + (minor << 8) + Math.min(patch, 255);
}

/** The bytes of the .kconfig map: each extern's value at its offset. */
export function kconfigContents(
  externs: Iterable<KconfigExtern>,
  size: number,
  facts: KconfigFacts,
  littleEndian: boolean,
  warn: (message: string) => void,
): KconfigContents {
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  const unresolved = new Map<string, string>();
  for (const extern of externs) {
    const problem = fillOne(extern, facts, { view, littleEndian, warn });
    if (problem !== undefined) unresolved.set(extern.name, problem);
  }
  return { bytes, unresolved };
}

interface Target {
  readonly view: DataView;
  readonly littleEndian: boolean;
  readonly warn: (message: string) => void;
}

/** Writes one extern's value; returns why it has none, or undefined. */
function fillOne(extern: KconfigExtern, facts: KconfigFacts, target: Target): string | undefined {
  const { name, weak } = extern;
  switch (name) {
    case "LINUX_KERNEL_VERSION": {
      const version = facts.kernelVersion();
      if (version === undefined) return "the running kernel's version cannot be read from uname";
      return writeNumber(extern, BigInt(version), target);
    }
    case "LINUX_HAS_SYSCALL_WRAPPER":
      return writeNumber(extern, facts.hasSyscallWrapper() ? 1n : 0n, target);
    case "LINUX_HAS_BPF_COOKIE":
      return writeNumber(extern, facts.hasBpfCookie() ? 1n : 0n, target);
  }
  if (name.startsWith("LINUX_")) {
    return weak ? undefined : "is not a virtual kconfig extern tsbpf knows (LINUX_KERNEL_VERSION, LINUX_HAS_SYSCALL_WRAPPER, LINUX_HAS_BPF_COOKIE); declare it __weak to get 0";
  }
  if (!name.startsWith("CONFIG_")) return "kconfig externs must be named CONFIG_* (a kernel option) or LINUX_* (a virtual one)";
  const config = facts.config();
  if (config === undefined) {
    return weak ? undefined : "no kernel config to read it from (neither /proc/config.gz nor /boot/config-$(uname -r) exists); declare it __weak to get 0";
  }
  const value = config.values.get(name);
  if (value === undefined) return weak ? undefined : `is not set in ${config.source}; declare it __weak to get 0 when it is absent`;
  return writeValue(extern, value, config.source, target);
}

function writeValue(extern: KconfigExtern, value: string, source: string, target: Target): string | undefined {
  const first = value[0];
  if (first === "y" || first === "n" || first === "m") return writeLetter(extern, first, target);
  if (first === '"') return writeString(extern, value, source, target);
  const number = parseInteger(value);
  if (number === undefined) return `has value ${value} in ${source}, which is not a number`;
  if (extern.type !== "int" && extern.type !== "char") return `has the number ${value} in ${source}; declare it as an integer`;
  return writeNumber(extern, number, target);
}

function writeLetter(extern: KconfigExtern, letter: "y" | "n" | "m", target: Target): string | undefined {
  const at = extern.offset;
  switch (extern.type) {
    case "bool":
      if (letter === "m") return "is m (a module), which a bool cannot hold; declare it as enum libbpf_tristate or char";
      target.view.setUint8(at, letter === "y" ? 1 : 0);
      return undefined;
    case "tristate": {
      const value = letter === "y" ? 1 : letter === "m" ? 2 : 0; // TRI_YES, TRI_MODULE, TRI_NO
      if (extern.size === 8) target.view.setBigUint64(at, BigInt(value), target.littleEndian);
      else target.view.setUint32(at, value, target.littleEndian);
      return undefined;
    }
    case "char":
      target.view.setUint8(at, letter.charCodeAt(0));
      return undefined;
    default:
      return `is ${letter}; declare it as bool, enum libbpf_tristate or char`;
  }
}

function writeString(extern: KconfigExtern, value: string, source: string, target: Target): string | undefined {
  if (extern.type !== "string") return `is the string ${value}; declare it as a char array`;
  if (value.length < 2 || !value.endsWith('"')) return `has value ${value} in ${source}, an unterminated string`;
  // The text was read as latin1, so each character is one byte of the file.
  let text = value.slice(1, -1);
  if (text.length >= extern.size) {
    target.warn(`kconfig ${extern.name}: the string ${value} is cut to ${extern.size - 1} bytes to fit char[${extern.size}]`);
    text = text.slice(0, extern.size - 1);
  }
  for (let i = 0; i < text.length; i++) target.view.setUint8(extern.offset + i, text.charCodeAt(i) & 0xff);
  target.view.setUint8(extern.offset + text.length, 0);
  return undefined;
}

/** `value` is the number as strtoull reads it: a negative number wraps around 2^64. */
function writeNumber(extern: KconfigExtern, value: bigint, target: Target): string | undefined {
  const bits = extern.size * 8;
  if (extern.type === "bool") {
    if (value > 1n) return `is ${value}, which a bool cannot hold`;
  } else if (extern.type !== "int" && extern.type !== "char") {
    return `is the number ${value}; declare it as an integer`;
  }
  const fits = extern.signed
    ? BigInt.asIntN(64, value) >= -(1n << BigInt(bits - 1)) && BigInt.asIntN(64, value) < 1n << BigInt(bits - 1)
    : value < 1n << BigInt(bits);
  if (!fits) return `is ${BigInt.asIntN(64, value)}, which does not fit a ${extern.signed ? "signed" : "unsigned"} ${extern.size}-byte integer`;
  const { view, littleEndian } = target;
  const at = extern.offset;
  const raw = BigInt.asUintN(bits, value);
  switch (extern.size) {
    case 1:
      view.setUint8(at, Number(raw));
      break;
    case 2:
      view.setUint16(at, Number(raw), littleEndian);
      break;
    case 4:
      view.setUint32(at, Number(raw), littleEndian);
      break;
    default:
      view.setBigUint64(at, raw, littleEndian);
  }
  return undefined;
}

/** strtoull with base 0: 0x.. hex, 0.. octal, decimal; a leading - wraps around 2^64. */
function parseInteger(text: string): bigint | undefined {
  const match = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (match === null) return undefined;
  const digits = match[2];
  const magnitude = /^0[0-7]+$/.test(digits) ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
  if (magnitude >= 1n << 64n) return undefined;
  return match[1] === "-" ? BigInt.asUintN(64, -magnitude) : magnitude;
}
