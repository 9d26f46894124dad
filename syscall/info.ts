// BPF_OBJ_GET_INFO_BY_FD: what the kernel knows about a program, map or BTF object.
//
//     struct { __u32 bpf_fd; __u32 info_len; __aligned_u64 info; } info; // union bpf_attr
//
// The kernel fills `info_len` bytes of struct bpf_prog_info / bpf_map_info / bpf_btf_info
// (at most its own size, writing back the size it used) and refuses a larger buffer whose
// extra bytes are not zero. Arrays (map ids, xlated instructions) are returned only into
// buffers the caller points to, with their lengths set: so a program's info takes two
// calls, one to learn the counts and one with buffers of that size.

import { BpfCommand, BPF_INSN_SIZE } from "./constants.js";
import { Attr, readName } from "./attr.js";
import { bpfCall } from "./bpf.js";
import { rawFd, type Fd } from "./fd.js";
import {
  BTF_INFO_SIZE,
  BtfInfo,
  InfoAttr,
  MAP_INFO_SIZE,
  MapInfo,
  PROG_INFO_SIZE,
  ProgInfo,
  type Field,
} from "./layout.js";
import { NativeBuffer, NativeScope } from "./native.js";

export interface ProgramInfo {
  type: number;
  id: number;
  /** The program tag as bpftool prints it: 16 lowercase hex digits. */
  tag: string;
  name: string;
  jitedProgLen: number;
  xlatedProgLen: number;
  /** Nanoseconds since boot. */
  loadTime: bigint;
  createdByUid: number;
  /** Ids of the maps the program uses. */
  mapIds: number[];
  ifindex: number;
  gplCompatible: boolean;
  btfId: number;
  nrFuncInfo: number;
  nrLineInfo: number;
  runTimeNs: bigint;
  runCnt: bigint;
  recursionMisses: bigint;
  verifiedInsns: number;
  attachBtfObjId: number;
  attachBtfId: number;
  /** The instructions as the kernel holds them after verification, when asked for. */
  xlatedInsns: Uint8Array | undefined;
}

export interface MapInfoResult {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
  ifindex: number;
  btfVmlinuxValueTypeId: number;
  btfId: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  mapExtra: bigint;
}

export interface BtfInfoResult {
  id: number;
  /** Size of the BTF blob in bytes. */
  size: number;
  /** Name of a kernel BTF object ("vmlinux", a module); "" for BTF loaded from user space. */
  name: string;
  kernelBtf: boolean;
}

/** One BPF_OBJ_GET_INFO_BY_FD call into `info`; returns the size the kernel filled. */
function getInfo(fd: Fd | number, info: NativeBuffer, what: string): number {
  const attr = new Attr(InfoAttr.info);
  try {
    attr.u32(InfoAttr.bpf_fd, rawFd(fd)).u32(InfoAttr.info_len, info.length).pointer(InfoAttr.info, info);
    bpfCall(BpfCommand.OBJ_GET_INFO_BY_FD, attr, { subject: what });
    return attr.getU32(InfoAttr.info_len);
  } finally {
    attr.free();
  }
}

/** Information about a loaded program; `xlated: true` also fetches its instructions. */
export function programInfo(fd: Fd | number, options: { xlated?: boolean } = {}): ProgramInfo {
  const mem = new NativeScope();
  try {
    const first = mem.alloc(PROG_INFO_SIZE);
    getInfo(fd, first, "a program");
    const nrMapIds = u32(first, ProgInfo.nr_map_ids);
    const xlatedLen = options.xlated === true ? u32(first, ProgInfo.xlated_prog_len) : 0;
    let info = first;
    if (nrMapIds > 0 || xlatedLen > 0) {
      // Second call: point the array fields at buffers of the sizes the first call reported.
      info = mem.alloc(PROG_INFO_SIZE);
      const mapIds = mem.alloc(4 * nrMapIds);
      const xlated = mem.alloc(xlatedLen);
      info.view.setUint32(ProgInfo.nr_map_ids.offset, nrMapIds, true);
      info.view.setBigUint64(ProgInfo.map_ids.offset, BigInt(mapIds.address), true);
      info.view.setUint32(ProgInfo.xlated_prog_len.offset, xlatedLen, true);
      info.view.setBigUint64(ProgInfo.xlated_prog_insns.offset, BigInt(xlatedLen > 0 ? xlated.address : 0), true);
      getInfo(fd, info, "a program");
      return decodeProgramInfo(info, readU32Array(mapIds, Math.min(nrMapIds, u32(info, ProgInfo.nr_map_ids))), xlated);
    }
    return decodeProgramInfo(info, [], undefined);
  } finally {
    mem.free();
  }
}

function decodeProgramInfo(info: NativeBuffer, mapIds: number[], xlated: NativeBuffer | undefined): ProgramInfo {
  const tag = info.bytes.subarray(ProgInfo.tag.offset, ProgInfo.tag.offset + ProgInfo.tag.size);
  return {
    type: u32(info, ProgInfo.type),
    id: u32(info, ProgInfo.id),
    tag: Array.from(tag, (b) => b.toString(16).padStart(2, "0")).join(""),
    name: readName(info.bytes, ProgInfo.name),
    jitedProgLen: u32(info, ProgInfo.jited_prog_len),
    xlatedProgLen: u32(info, ProgInfo.xlated_prog_len),
    loadTime: u64(info, ProgInfo.load_time),
    createdByUid: u32(info, ProgInfo.created_by_uid),
    mapIds,
    ifindex: u32(info, ProgInfo.ifindex),
    gplCompatible: (u32(info, ProgInfo.gpl_compatible) & 1) === 1,
    btfId: u32(info, ProgInfo.btf_id),
    nrFuncInfo: u32(info, ProgInfo.nr_func_info),
    nrLineInfo: u32(info, ProgInfo.nr_line_info),
    runTimeNs: u64(info, ProgInfo.run_time_ns),
    runCnt: u64(info, ProgInfo.run_cnt),
    recursionMisses: u64(info, ProgInfo.recursion_misses),
    verifiedInsns: u32(info, ProgInfo.verified_insns),
    attachBtfObjId: u32(info, ProgInfo.attach_btf_obj_id),
    attachBtfId: u32(info, ProgInfo.attach_btf_id),
    xlatedInsns:
      xlated === undefined || xlated.length === 0
        ? undefined
        : xlated.bytes.slice(0, Math.floor(xlated.length / BPF_INSN_SIZE) * BPF_INSN_SIZE),
  };
}

/** Information about a map. */
export function mapInfo(fd: Fd | number): MapInfoResult {
  const info = new NativeBuffer(MAP_INFO_SIZE);
  try {
    getInfo(fd, info, "a map");
    return {
      type: u32(info, MapInfo.type),
      id: u32(info, MapInfo.id),
      keySize: u32(info, MapInfo.key_size),
      valueSize: u32(info, MapInfo.value_size),
      maxEntries: u32(info, MapInfo.max_entries),
      flags: u32(info, MapInfo.map_flags),
      name: readName(info.bytes, MapInfo.name),
      ifindex: u32(info, MapInfo.ifindex),
      btfVmlinuxValueTypeId: u32(info, MapInfo.btf_vmlinux_value_type_id),
      btfId: u32(info, MapInfo.btf_id),
      btfKeyTypeId: u32(info, MapInfo.btf_key_type_id),
      btfValueTypeId: u32(info, MapInfo.btf_value_type_id),
      mapExtra: u64(info, MapInfo.map_extra),
    };
  } finally {
    info.free();
  }
}

/** Information about a BTF object, including its name for kernel BTF. */
export function btfInfo(fd: Fd | number): BtfInfoResult {
  const mem = new NativeScope();
  try {
    const info = mem.alloc(BTF_INFO_SIZE);
    const name = mem.alloc(64);
    info.view.setBigUint64(BtfInfo.name.offset, BigInt(name.address), true);
    info.view.setUint32(BtfInfo.name_len.offset, name.length, true);
    getInfo(fd, info, "a BTF object");
    const nameEnd = name.bytes.indexOf(0);
    return {
      id: u32(info, BtfInfo.id),
      size: u32(info, BtfInfo.btf_size),
      name: new TextDecoder().decode(name.bytes.subarray(0, nameEnd < 0 ? name.length : nameEnd)),
      kernelBtf: u32(info, BtfInfo.kernel_btf) !== 0,
    };
  } finally {
    mem.free();
  }
}

function u32(buffer: NativeBuffer, field: Field): number {
  return buffer.view.getUint32(field.offset, true);
}

function u64(buffer: NativeBuffer, field: Field): bigint {
  return buffer.view.getBigUint64(field.offset, true);
}

function readU32Array(buffer: NativeBuffer, count: number): number[] {
  return Array.from({ length: count }, (_, i) => buffer.view.getUint32(4 * i, true));
}
