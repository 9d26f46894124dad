// A test-only program loader for the XDP attach tests: two-instruction XDP programs
// loaded with one bpf(BPF_PROG_LOAD), so that netlink tests do not depend on the ELF loader.
//
//   struct bpf_insn { u8 code; u8 dst_reg:4, src_reg:4; s16 off; s32 imm; }   // 8 bytes
//
//   b7 00 00 00 02 00 00 00    r0 = 2          (BPF_ALU64 | BPF_MOV | BPF_K)
//   95 00 00 00 00 00 00 00    exit            (BPF_JMP | BPF_EXIT)
//
// The bpf_attr prefix used (union bpf_attr, BPF_PROG_LOAD; offsets in bytes):
//   0 prog_type u32, 4 insn_cnt u32, 8 insns u64, 16 license u64, 24 log_level u32,
//   28 log_size u32, 32 log_buf u64, 40 kern_version u32, 44 prog_flags u32, 48 prog_name char[16]

import { readFileSync } from "node:fs";
import { sysBpf } from "../../syscall/bpf.js";
import { errnoName } from "../../syscall/errno.js";
import { ownFd, type Fd } from "../../syscall/fd.js";
import { NativeScope } from "../../syscall/native.js";
import { SyscallError } from "../../common/errors.js";

const BPF_PROG_LOAD = 5;
const BPF_PROG_TYPE_XDP = 6;
const ATTR_SIZE = 64; // offsetofend(union bpf_attr, prog_name)

export const XDP_DROP = 1;
export const XDP_PASS = 2;

/** Loads `r0 = action; exit` as an XDP program named `name` (at most 15 bytes). */
export function loadXdpReturning(action: number, name: string): Fd {
  using mem = new NativeScope();
  const insns = mem.alloc(16);
  insns.view.setUint8(0, 0xb7); // r0 = imm
  insns.view.setInt32(4, action, true);
  insns.view.setUint8(8, 0x95); // exit
  const license = mem.cString("GPL");
  const attr = mem.alloc(ATTR_SIZE);
  const v = attr.view;
  v.setUint32(0, BPF_PROG_TYPE_XDP, true);
  v.setUint32(4, 2, true);
  v.setBigUint64(8, BigInt(insns.address), true);
  v.setBigUint64(16, BigInt(license.address), true);
  attr.bytes.set(new TextEncoder().encode(name.slice(0, 15)), 48);
  const ret = sysBpf(BPF_PROG_LOAD, attr.address, ATTR_SIZE);
  if (ret < 0) {
    const name = errnoName(-ret);
    throw new SyscallError(`BPF_PROG_LOAD failed: ${name}`, { operation: "BPF_PROG_LOAD", errno: -ret, errnoName: name });
  }
  return ownFd(ret);
}

/** The kernel's id for a loaded program, read from /proc/self/fdinfo (the "prog_id:" line). */
export function programId(fd: Fd): number {
  const match = /^prog_id:\s*(\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd.raw}`, "utf8"));
  if (match === null) throw new Error(`no prog_id in fdinfo of ${fd}`);
  return Number(match[1]);
}
