// bpf(2) commands on programs: one BPF_PROG_LOAD attempt, and BPF_PROG_TEST_RUN.
// The load policy (first without a log, then with a growing one) is in prog-load.ts.
//
//     struct { /* union bpf_attr, BPF_PROG_LOAD */
//       __u32 prog_type, insn_cnt; __aligned_u64 insns, license;
//       __u32 log_level, log_size; __aligned_u64 log_buf;
//       __u32 kern_version, prog_flags; char prog_name[16];
//       __u32 prog_ifindex, expected_attach_type, prog_btf_fd, func_info_rec_size;
//       __aligned_u64 func_info; __u32 func_info_cnt, line_info_rec_size;
//       __aligned_u64 line_info; __u32 line_info_cnt, attach_btf_id;
//       union { __u32 attach_prog_fd, attach_btf_obj_fd; };
//       __u32 core_relo_cnt; __aligned_u64 fd_array, core_relos;
//       __u32 core_relo_rec_size;
//       __u32 log_true_size;          // Linux 6.4, output
//     };
//
//     struct { /* union bpf_attr, member `test`: BPF_PROG_TEST_RUN */
//       __u32 prog_fd, retval, data_size_in, data_size_out;
//       __aligned_u64 data_in, data_out; __u32 repeat, duration, ctx_size_in, ctx_size_out;
//       __aligned_u64 ctx_in, ctx_out; __u32 flags, cpu, batch_size;
//     } test;

import { BpfCommand, BPF_INSN_SIZE } from "./constants.js";
import { Attr } from "./attr.js";
import { bpfError, sysBpf } from "./bpf.js";
import { Errno } from "./errno.js";
import { rawFd, type Fd } from "./fd.js";
import { ProgLoadAttr, TestRunAttr } from "./layout.js";
import { NativeBuffer, NativeScope } from "./native.js";

/** BTF ext records for the kernel: `records` holds count * recordSize bytes. */
export interface ExtInfo {
  recordSize: number;
  records: Uint8Array;
}

/** The attributes of BPF_PROG_LOAD, named after the bpf_attr fields. */
export interface ProgLoadAttrs {
  /** ProgType value (BPF_PROG_TYPE_*). */
  type: number;
  /** The instructions: struct bpf_insn, 8 bytes each, in the host byte order. */
  insns: Uint8Array;
  /** License string; "GPL" (or compatible) unlocks GPL-only helpers. */
  license: string;
  /** Program name; sent as at most 15 characters of [A-Za-z0-9_.]; errors use it in full. */
  name?: string;
  /** ProgFlag bits (BPF_F_*). */
  flags?: number;
  /** AttachType value, for program types that need it at load time. */
  expectedAttachType?: number;
  kernVersion?: number;
  /** Offload target. */
  ifindex?: number;
  /** BTF of the program, needed with funcInfo and lineInfo. */
  btfFd?: Fd | number;
  funcInfo?: ExtInfo;
  lineInfo?: ExtInfo;
  /** In-kernel BTF type id to attach to (fentry, LSM, struct_ops, ...). */
  attachBtfId?: number;
  /** Module BTF that attachBtfId refers to (0 / absent = vmlinux). */
  attachBtfObjFd?: Fd | number;
  /** Program to attach to (freplace / fentry on a BPF program); shares the slot with attachBtfObjFd. */
  attachProgFd?: Fd | number;
  /** Map (and BTF) fds that ld_imm64 instructions with BPF_PSEUDO_MAP_IDX refer to by index. */
  fdArray?: readonly (Fd | number)[];
}

/** A verifier log request for one attempt. */
export interface LogRequest {
  level: number;
  buffer: NativeBuffer;
}

/** What one load attempt returned. */
export interface ProgLoadAttempt {
  /** The new program fd (>= 0) or the negated errno. */
  result: number;
  /** log_true_size as the kernel reported it; 0 when the kernel does not know the field (before 6.4). */
  logTrueSize: number;
}

/** One BPF_PROG_LOAD call; the result is raw so that the caller can retry and own it. */
export function progLoadAttempt(attrs: ProgLoadAttrs, log?: LogRequest): ProgLoadAttempt {
  const mem = new NativeScope();
  const attr = new Attr(ProgLoadAttr.log_true_size);
  try {
    const insns = mem.copy(attrs.insns);
    attr
      .u32(ProgLoadAttr.prog_type, attrs.type)
      .u32(ProgLoadAttr.insn_cnt, Math.floor(attrs.insns.byteLength / BPF_INSN_SIZE))
      .pointer(ProgLoadAttr.insns, insns)
      .pointer(ProgLoadAttr.license, mem.cString(attrs.license))
      .u32(ProgLoadAttr.kern_version, attrs.kernVersion ?? 0)
      .u32(ProgLoadAttr.prog_flags, attrs.flags ?? 0)
      .name(ProgLoadAttr.prog_name, attrs.name)
      .u32(ProgLoadAttr.prog_ifindex, attrs.ifindex ?? 0)
      .u32(ProgLoadAttr.expected_attach_type, attrs.expectedAttachType ?? 0)
      .u32(ProgLoadAttr.prog_btf_fd, rawFd(attrs.btfFd))
      .u32(ProgLoadAttr.attach_btf_id, attrs.attachBtfId ?? 0)
      .u32(ProgLoadAttr.attach_prog_fd, rawFd(attrs.attachProgFd ?? attrs.attachBtfObjFd));
    if (log !== undefined) {
      attr
        .u32(ProgLoadAttr.log_level, log.level)
        .u32(ProgLoadAttr.log_size, log.buffer.length)
        .pointer(ProgLoadAttr.log_buf, log.buffer);
    }
    if (attrs.funcInfo !== undefined) {
      attr
        .u32(ProgLoadAttr.func_info_rec_size, attrs.funcInfo.recordSize)
        .pointer(ProgLoadAttr.func_info, mem.copy(attrs.funcInfo.records))
        .u32(ProgLoadAttr.func_info_cnt, recordCount(attrs.funcInfo));
    }
    if (attrs.lineInfo !== undefined) {
      attr
        .u32(ProgLoadAttr.line_info_rec_size, attrs.lineInfo.recordSize)
        .pointer(ProgLoadAttr.line_info, mem.copy(attrs.lineInfo.records))
        .u32(ProgLoadAttr.line_info_cnt, recordCount(attrs.lineInfo));
    }
    if (attrs.fdArray !== undefined && attrs.fdArray.length > 0) {
      const fds = mem.alloc(4 * attrs.fdArray.length);
      attrs.fdArray.forEach((fd, i) => fds.view.setInt32(4 * i, rawFd(fd), true));
      attr.pointer(ProgLoadAttr.fd_array, fds);
    }
    const result = sysBpf(BpfCommand.PROG_LOAD, attr.address, attr.size);
    return { result, logTrueSize: attr.getU32(ProgLoadAttr.log_true_size) };
  } finally {
    attr.free();
    mem.free();
  }
}

function recordCount(info: ExtInfo): number {
  return info.recordSize === 0 ? 0 : Math.floor(info.records.byteLength / info.recordSize);
}

export interface TestRunOptions {
  /** Packet (or other input data) for the program; XDP needs at least 14 bytes. */
  data?: Uint8Array;
  /** Input context (e.g. struct xdp_md, struct __sk_buff) for program types that accept one. */
  ctx?: Uint8Array;
  /** Run this many times (the duration is the average); 0 or 1 runs once. */
  repeat?: number;
  /** Room for the output packet; default input size + 256. Grown once if the kernel asks. */
  dataOutSize?: number;
  /** Room for the output context; default the input context size. */
  ctxOutSize?: number;
  /** TestRunFlag bits. */
  flags?: number;
  /** CPU to run on, with BPF_F_TEST_RUN_ON_CPU. */
  cpu?: number;
  /** Frames per batch in BPF_F_TEST_XDP_LIVE_FRAMES mode. */
  batchSize?: number;
}

export interface TestRunResult {
  /** The program's return value (for XDP, the action: XDP_PASS = 2, ...). */
  retval: number;
  /** Average run time in nanoseconds. */
  duration: number;
  /** The output packet as the program left it. */
  data: Uint8Array;
  /** The output context, when a context was given. */
  ctx: Uint8Array | undefined;
}

/** BPF_PROG_TEST_RUN: runs a loaded program once (or `repeat` times) on the given input. */
export function testRun(progFd: Fd | number, options: TestRunOptions = {}): TestRunResult {
  const data = options.data ?? new Uint8Array(0);
  let dataOutSize = options.dataOutSize ?? data.byteLength + 256;
  let ctxOutSize = options.ctxOutSize ?? options.ctx?.byteLength ?? 0;
  for (let attempt = 0; ; attempt++) {
    const run = testRunAttempt(progFd, data, options, dataOutSize, ctxOutSize);
    if (run.errno === 0) return run.result;
    // ENOSPC: the kernel wrote the sizes it needed into data_size_out / ctx_size_out.
    if (run.errno === Errno.ENOSPC && attempt === 0 && (run.dataNeeded > dataOutSize || run.ctxNeeded > ctxOutSize)) {
      dataOutSize = Math.max(dataOutSize, run.dataNeeded);
      ctxOutSize = Math.max(ctxOutSize, run.ctxNeeded);
      continue;
    }
    throw bpfError(BpfCommand.PROG_TEST_RUN, run.errno);
  }
}

function testRunAttempt(
  progFd: Fd | number,
  data: Uint8Array,
  options: TestRunOptions,
  dataOutSize: number,
  ctxOutSize: number,
): { errno: number; result: TestRunResult; dataNeeded: number; ctxNeeded: number } {
  const mem = new NativeScope();
  const attr = new Attr(TestRunAttr.batch_size);
  try {
    const dataOut = mem.alloc(dataOutSize);
    const ctxOut = ctxOutSize > 0 ? mem.alloc(ctxOutSize) : undefined;
    attr
      .u32(TestRunAttr.prog_fd, rawFd(progFd))
      .u32(TestRunAttr.data_size_in, data.byteLength)
      .u32(TestRunAttr.data_size_out, dataOutSize)
      .pointer(TestRunAttr.data_in, data.byteLength > 0 ? mem.copy(data) : undefined)
      .pointer(TestRunAttr.data_out, dataOut)
      .u32(TestRunAttr.repeat, options.repeat ?? 0)
      .u32(TestRunAttr.flags, options.flags ?? 0)
      .u32(TestRunAttr.cpu, options.cpu ?? 0)
      .u32(TestRunAttr.batch_size, options.batchSize ?? 0);
    if (options.ctx !== undefined) {
      attr.u32(TestRunAttr.ctx_size_in, options.ctx.byteLength).pointer(TestRunAttr.ctx_in, mem.copy(options.ctx));
    }
    if (ctxOut !== undefined) attr.u32(TestRunAttr.ctx_size_out, ctxOutSize).pointer(TestRunAttr.ctx_out, ctxOut);
    const ret = sysBpf(BpfCommand.PROG_TEST_RUN, attr.address, attr.size);
    const dataNeeded = attr.getU32(TestRunAttr.data_size_out);
    const ctxNeeded = attr.getU32(TestRunAttr.ctx_size_out);
    const result: TestRunResult = {
      retval: attr.getU32(TestRunAttr.retval),
      duration: attr.getU32(TestRunAttr.duration),
      data: dataOut.bytes.slice(0, Math.min(dataNeeded, dataOutSize)),
      ctx: ctxOut === undefined ? undefined : ctxOut.bytes.slice(0, Math.min(ctxNeeded, ctxOutSize)),
    };
    return { errno: ret < 0 ? -ret : 0, result, dataNeeded, ctxNeeded };
  } finally {
    attr.free();
    mem.free();
  }
}
