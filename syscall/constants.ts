// Constants of bpf(2) that only the system call side needs. The UAPI enumerations and flag
// sets (commands, map and program types, flags) live in common/uapi.ts, one table each for
// the whole code base, and are re-exported here for syscall/ modules.

export {
  AttachType,
  BpfCommand,
  FileFlags,
  LogLevel,
  MapFlags,
  MapType,
  ProgramFlags,
  ProgramType,
  TestRunFlags,
  UpdateFlags,
  XdpAction,
  commandName,
  mapTypeName,
  nameOf,
  progTypeName,
} from "../common/uapi.js";

/** Length of the name fields (map_name, prog_name, info.name), including the final NUL. */
export const BPF_OBJ_NAME_LEN = 16;
/** Size of a program tag (a truncated SHA-1 of the instructions). */
export const BPF_TAG_SIZE = 8;
/** Size of one instruction slot (struct bpf_insn). */
export const BPF_INSN_SIZE = 8;

/** SYS_bpf on x86-64 (arch/x86/entry/syscalls/syscall_64.tbl). */
export const SYS_bpf = 321;
