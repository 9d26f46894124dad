// bpf(2) commands on objects of any kind: pinning in bpffs, and finding objects by id.
//
//     struct { __aligned_u64 pathname; __u32 bpf_fd; __u32 file_flags; };  // BPF_OBJ_PIN/GET
//     struct { union { __u32 start_id, prog_id, map_id, btf_id, link_id; };
//              __u32 next_id; __u32 open_flags; };                       // BPF_*_GET_*_ID
//
// A pin is a file in a BPF filesystem (mount -t bpf bpf /sys/fs/bpf) that holds a
// reference to the object, so it outlives the process; unpinning is unlink(2) of the file.
// Every loaded object also has a global id, which `bpftool prog show` lists and which
// BPF_*_GET_FD_BY_ID turns back into a descriptor (CAP_SYS_ADMIN).

import { readlinkSync } from "node:fs";
import { assertOnBpfFs } from "./bpffs.js";
import { BpfCommand } from "./constants.js";
import { Attr } from "./attr.js";
import { bpfCall, bpfFdCall, sysBpf, bpfError } from "./bpf.js";
import { Errno } from "./errno.js";
import { rawFd, type Fd } from "./fd.js";
import { IdAttr, ObjAttr } from "./layout.js";
import { NativeBuffer } from "./native.js";

/** BPF_OBJ_PIN: pins the object behind `fd` at `path` (inside a bpffs). */
export function pinObject(fd: Fd | number, path: string): void {
  assertOnBpfFs(path);
  const pathname = NativeBuffer.cString(path);
  const attr = new Attr(ObjAttr.file_flags);
  try {
    attr.pointer(ObjAttr.pathname, pathname).u32(ObjAttr.bpf_fd, rawFd(fd));
    bpfCall(BpfCommand.OBJ_PIN, attr, { subject: JSON.stringify(path) });
  } finally {
    attr.free();
    pathname.free();
  }
}

/** BPF_OBJ_GET: opens the object pinned at `path`; `fileFlags` may ask for BPF_F_RDONLY / BPF_F_WRONLY. */
export function getPinnedObject(path: string, fileFlags = 0): Fd {
  const pathname = NativeBuffer.cString(path);
  const attr = new Attr(ObjAttr.file_flags);
  try {
    attr.pointer(ObjAttr.pathname, pathname).u32(ObjAttr.file_flags, fileFlags);
    return bpfFdCall(BpfCommand.OBJ_GET, attr, { subject: JSON.stringify(path) });
  } finally {
    attr.free();
    pathname.free();
  }
}

/** The kinds of object that have ids. */
export type ObjectKind = "prog" | "map" | "btf";

const NEXT_ID = {
  prog: BpfCommand.PROG_GET_NEXT_ID,
  map: BpfCommand.MAP_GET_NEXT_ID,
  btf: BpfCommand.BTF_GET_NEXT_ID,
} as const;

const FD_BY_ID = {
  prog: BpfCommand.PROG_GET_FD_BY_ID,
  map: BpfCommand.MAP_GET_FD_BY_ID,
  btf: BpfCommand.BTF_GET_FD_BY_ID,
} as const;

/** BPF_*_GET_NEXT_ID: the smallest id above `start` (0 = the first), or undefined after the last. */
export function nextObjectId(kind: ObjectKind, start: number): number | undefined {
  const attr = new Attr(IdAttr.next_id);
  try {
    attr.u32(IdAttr.id, start);
    const ret = sysBpf(NEXT_ID[kind], attr.address, attr.size);
    if (ret === -Errno.ENOENT) return undefined;
    if (ret < 0) throw bpfError(NEXT_ID[kind], -ret);
    return attr.getU32(IdAttr.next_id);
  } finally {
    attr.free();
  }
}

/** All ids of one kind of object, in increasing order. */
export function objectIds(kind: ObjectKind): number[] {
  const ids: number[] = [];
  for (let id = nextObjectId(kind, 0); id !== undefined; id = nextObjectId(kind, id)) ids.push(id);
  return ids;
}

/** BPF_*_GET_FD_BY_ID: a new descriptor for the object with this id. BTF ignores openFlags. */
export function objectFdById(kind: ObjectKind, id: number, openFlags = 0): Fd {
  // BTF objects take no open_flags: the field stays zero, which every kernel accepts.
  const attr = new Attr(IdAttr.open_flags);
  try {
    attr.u32(IdAttr.id, id).u32(IdAttr.open_flags, kind === "btf" ? 0 : openFlags);
    return bpfFdCall(FD_BY_ID[kind], attr, { subject: `${kind} id ${id}` });
  } finally {
    attr.free();
  }
}

/**
 * What kind of BPF object an fd refers to, from the anonymous inode the kernel names it
 * after ("anon_inode:bpf-map", "anon_inode:bpf-prog", "anon_inode:bpf-link", ...).
 * BPF_OBJ_GET_INFO_BY_FD would not tell: it answers with whatever info the object has.
 */
export function objectKindOf(fd: Fd | number): ObjectKind | "link" | "other" {
  let target: string;
  try {
    target = readlinkSync(`/proc/self/fd/${rawFd(fd)}`);
  } catch {
    return "other";
  }
  switch (target) {
    case "anon_inode:bpf-map":
      return "map";
    case "anon_inode:bpf-prog":
      return "prog";
    case "anon_inode:btf":
      return "btf";
    case "anon_inode:bpf_link":
    case "anon_inode:bpf-link":
      return "link";
    default:
      return "other";
  }
}
