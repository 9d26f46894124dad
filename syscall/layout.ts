// Byte layouts of the bpf(2) argument block and of the info structs, as field tables.
//
// bpf(2) takes `union bpf_attr *attr, unsigned int size`. Each command reads its own member
// of the union (include/uapi/linux/bpf.h), laid out by the C rules for x86-64: __u32 fields
// on 4-byte boundaries, __aligned_u64 (pointers and 64-bit values) on 8-byte boundaries.
// The kernel copies `size` bytes, zero-extends to its own sizeof(union bpf_attr), and
// refuses (E2BIG) a block whose bytes past what it understands are not zero. So an encoder
// zeroes a block that ends at the last field it uses (libbpf's offsetofend idea): such a
// block is accepted by any kernel that knows that field.
//
// Offsets are from the Debian 6.1 UAPI header; fields added later carry the kernel version
// that added them (from the kernel's bpf.h documentation). test/syscall-layout.test.ts
// compares every 6.1 field here with offsetof() compiled by clang from the header.

/** One field: byte offset and size inside its struct. */
export interface Field {
  readonly offset: number;
  readonly size: number;
}

const u32 = (offset: number): Field => ({ offset, size: 4 });
const u64 = (offset: number): Field => ({ offset, size: 8 });
const chars = (offset: number, size: number): Field => ({ offset, size });

/** offsetofend(): the first byte after `field`, i.e. the attr size that includes it. */
export function offsetofend(field: Field): number {
  return field.offset + field.size;
}

/** BPF_MAP_CREATE. */
export const MapCreateAttr = {
  map_type: u32(0),
  key_size: u32(4),
  value_size: u32(8),
  max_entries: u32(12),
  map_flags: u32(16),
  inner_map_fd: u32(20),
  numa_node: u32(24),
  map_name: chars(28, 16),
  map_ifindex: u32(44),
  btf_fd: u32(48),
  btf_key_type_id: u32(52),
  btf_value_type_id: u32(56),
  btf_vmlinux_value_type_id: u32(60),
  map_extra: u64(64),
} as const;

/** BPF_MAP_{LOOKUP,UPDATE,DELETE}_ELEM, BPF_MAP_GET_NEXT_KEY, BPF_MAP_LOOKUP_AND_DELETE_ELEM, BPF_MAP_FREEZE. */
export const MapElemAttr = {
  map_fd: u32(0),
  key: u64(8),
  /** `value` and `next_key` share this slot (a union). */
  value: u64(16),
  next_key: u64(16),
  flags: u64(24),
} as const;

/** BPF_MAP_*_BATCH (the `batch` member). */
export const MapBatchAttr = {
  in_batch: u64(0),
  out_batch: u64(8),
  keys: u64(16),
  values: u64(24),
  /** In: how many elements the keys/values buffers hold. Out: how many were processed. */
  count: u32(32),
  map_fd: u32(36),
  elem_flags: u64(40),
  flags: u64(48),
} as const;

/** BPF_PROG_LOAD. */
export const ProgLoadAttr = {
  prog_type: u32(0),
  insn_cnt: u32(4),
  insns: u64(8),
  license: u64(16),
  log_level: u32(24),
  log_size: u32(28),
  log_buf: u64(32),
  kern_version: u32(40),
  prog_flags: u32(44),
  prog_name: chars(48, 16),
  prog_ifindex: u32(64),
  expected_attach_type: u32(68),
  prog_btf_fd: u32(72),
  func_info_rec_size: u32(76),
  func_info: u64(80),
  func_info_cnt: u32(88),
  line_info_rec_size: u32(92),
  line_info: u64(96),
  line_info_cnt: u32(104),
  attach_btf_id: u32(108),
  /** `attach_prog_fd` and `attach_btf_obj_fd` share this slot (a union). */
  attach_prog_fd: u32(112),
  attach_btf_obj_fd: u32(112),
  core_relo_cnt: u32(116),
  fd_array: u64(120),
  core_relos: u64(128),
  core_relo_rec_size: u32(136),
  /** Linux 6.4, output: the full size the log needed, including the final NUL. */
  log_true_size: u32(140),
} as const;

/** BPF_OBJ_PIN and BPF_OBJ_GET. */
export const ObjAttr = {
  pathname: u64(0),
  bpf_fd: u32(8),
  file_flags: u32(12),
} as const;

/** BPF_PROG_TEST_RUN (the `test` member). */
export const TestRunAttr = {
  prog_fd: u32(0),
  retval: u32(4),
  data_size_in: u32(8),
  /** In: size of data_out. Out: size of the output packet (ENOSPC if it did not fit). */
  data_size_out: u32(12),
  data_in: u64(16),
  data_out: u64(24),
  repeat: u32(32),
  duration: u32(36),
  ctx_size_in: u32(40),
  ctx_size_out: u32(44),
  ctx_in: u64(48),
  ctx_out: u64(56),
  flags: u32(64),
  cpu: u32(68),
  batch_size: u32(72),
} as const;

/** BPF_*_GET_NEXT_ID and BPF_*_GET_FD_BY_ID. */
export const IdAttr = {
  /** start_id, prog_id, map_id, btf_id and link_id share this slot (a union). */
  id: u32(0),
  next_id: u32(4),
  open_flags: u32(8),
} as const;

/** BPF_OBJ_GET_INFO_BY_FD (the `info` member). */
export const InfoAttr = {
  bpf_fd: u32(0),
  /** In: size of the info buffer. Out: how much the kernel filled. */
  info_len: u32(4),
  info: u64(8),
} as const;

/** BPF_BTF_LOAD. */
export const BtfLoadAttr = {
  btf: u64(0),
  btf_log_buf: u64(8),
  btf_size: u32(16),
  btf_log_size: u32(20),
  btf_log_level: u32(24),
  /** Linux 6.4, output: the full size the log needed, including the final NUL. */
  btf_log_true_size: u32(28),
} as const;

/** struct bpf_prog_info (6.1: 232 bytes). */
export const ProgInfo = {
  type: u32(0),
  id: u32(4),
  tag: chars(8, 8),
  jited_prog_len: u32(16),
  xlated_prog_len: u32(20),
  jited_prog_insns: u64(24),
  xlated_prog_insns: u64(32),
  load_time: u64(40),
  created_by_uid: u32(48),
  nr_map_ids: u32(52),
  map_ids: u64(56),
  name: chars(64, 16),
  ifindex: u32(80),
  /** Bit 0 is gpl_compatible; the other 31 bits are padding. */
  gpl_compatible: u32(84),
  netns_dev: u64(88),
  netns_ino: u64(96),
  nr_jited_ksyms: u32(104),
  nr_jited_func_lens: u32(108),
  jited_ksyms: u64(112),
  jited_func_lens: u64(120),
  btf_id: u32(128),
  func_info_rec_size: u32(132),
  func_info: u64(136),
  nr_func_info: u32(144),
  nr_line_info: u32(148),
  line_info: u64(152),
  jited_line_info: u64(160),
  nr_jited_line_info: u32(168),
  line_info_rec_size: u32(172),
  jited_line_info_rec_size: u32(176),
  nr_prog_tags: u32(180),
  prog_tags: u64(184),
  run_time_ns: u64(192),
  run_cnt: u64(200),
  recursion_misses: u64(208),
  verified_insns: u32(216),
  attach_btf_obj_id: u32(220),
  attach_btf_id: u32(224),
} as const;
export const PROG_INFO_SIZE = 232;

/** struct bpf_map_info (6.1: 88 bytes). */
export const MapInfo = {
  type: u32(0),
  id: u32(4),
  key_size: u32(8),
  value_size: u32(12),
  max_entries: u32(16),
  map_flags: u32(20),
  name: chars(24, 16),
  ifindex: u32(40),
  btf_vmlinux_value_type_id: u32(44),
  netns_dev: u64(48),
  netns_ino: u64(56),
  btf_id: u32(64),
  btf_key_type_id: u32(68),
  btf_value_type_id: u32(72),
  map_extra: u64(80),
} as const;
export const MAP_INFO_SIZE = 88;

/** struct bpf_btf_info (6.1: 32 bytes). */
export const BtfInfo = {
  btf: u64(0),
  btf_size: u32(8),
  id: u32(12),
  name: u64(16),
  name_len: u32(24),
  kernel_btf: u32(28),
} as const;
export const BTF_INFO_SIZE = 32;
