// BPF_BTF_LOAD: hands a BTF blob (types and strings, see btf/) to the kernel.
//
//     struct { /* union bpf_attr, BPF_BTF_LOAD */
//       __aligned_u64 btf;          // the blob: struct btf_header, types, strings
//       __aligned_u64 btf_log_buf;
//       __u32 btf_size, btf_log_size, btf_log_level;
//       __u32 btf_log_true_size;    // Linux 6.4, output
//     };
//
// The kernel checks every type; a refusal comes with a log naming the type id and the
// rule broken (e.g. "[5] STRUCT foo size=4 vlen=1 ... Invalid member"). Like programs,
// the first attempt has no log and only a failure is repeated with one.

import { BtfError } from "../common/errors.js";
import { BpfCommand } from "./constants.js";
import { Attr } from "./attr.js";
import { bpfError, sysBpf } from "./bpf.js";
import { ownFd, type Fd } from "./fd.js";
import { BtfLoadAttr } from "./layout.js";
import { NativeBuffer } from "./native.js";
import { runWithLog, type LogOptions } from "./verifier-log.js";

/** The kernel refused a BTF blob: a BtfError that also keeps the errno and the kernel's whole log. */
export class BtfLoadError extends BtfError {
  readonly errno: number;
  readonly log: string;

  constructor(message: string, facts: { typeId?: number; errno: number; log: string }, options?: { cause?: unknown }) {
    super(message, facts.typeId === undefined ? {} : { typeId: facts.typeId }, options);
    this.errno = facts.errno;
    this.log = facts.log;
  }
}

const LOG_TAIL_LINES = 3;
/** The kernel prints the type it refuses as "[5] STRUCT foo size=4 vlen=1" before the reason. */
const TYPE_LINE = /^\[(\d+)\] /;

/**
 * The refusal in a BTF log: from the last "[id] KIND ..." line to the end (the type and
 * the reason), or the last lines when no type is named (a header or string section error).
 * The header dump the kernel prints first (magic, version, offsets) is left out.
 */
export function summarizeBtfLog(log: string): { summary: string; typeId: number | undefined } {
  const lines = log.trimEnd().split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const match = TYPE_LINE.exec(lines[i]);
    if (match !== null) return { summary: lines.slice(i).join("\n"), typeId: Number(match[1]) };
  }
  return { summary: lines.slice(-LOG_TAIL_LINES).join("\n"), typeId: undefined };
}

/**
 * Loads `btf` (the raw .BTF bytes, as the kernel wants them) and returns its owned Fd.
 * @throws BtfLoadError (a BtfError) naming the refused type (typeId) and the kernel's reason, its SyscallError as the cause.
 */
export function loadBtf(btf: Uint8Array, options: LogOptions = {}): Fd {
  const blob = NativeBuffer.from(btf);
  try {
    const { result, log } = runWithLog((logRequest) => {
      const attr = new Attr(BtfLoadAttr.btf_log_true_size);
      try {
        attr.pointer(BtfLoadAttr.btf, blob).u32(BtfLoadAttr.btf_size, btf.byteLength);
        if (logRequest !== undefined) {
          attr
            .pointer(BtfLoadAttr.btf_log_buf, logRequest.buffer)
            .u32(BtfLoadAttr.btf_log_size, logRequest.buffer.length)
            .u32(BtfLoadAttr.btf_log_level, logRequest.level);
        }
        const ret = sysBpf(BpfCommand.BTF_LOAD, attr.address, attr.size);
        return { result: ret, logTrueSize: attr.getU32(BtfLoadAttr.btf_log_true_size) };
      } finally {
        attr.free();
      }
    }, options);
    if (result >= 0) return ownFd(result);
    const cause = bpfError(BpfCommand.BTF_LOAD, -result, { subject: "BTF" });
    const { summary, typeId } = summarizeBtfLog(log);
    throw new BtfLoadError(
      summary === ""
        ? `the kernel rejected the BTF: ${cause.message}`
        : `the kernel rejected the BTF (${cause.errnoName}): ${summary}`,
      { typeId, errno: -result, log },
      { cause },
    );
  } finally {
    blob.free();
  }
}
