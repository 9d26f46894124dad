// parseBtfExt: the .BTF.ext section, where the compiler ties instructions to BTF.
//
//   struct btf_ext_header {      (libbpf's libbpf_internal.h; the kernel takes the records
//     __u16 magic;               0xeB9F, in the file's byte order      one by one through
//     __u8  version;             1                                     BPF_PROG_LOAD)
//     __u8  flags;
//     __u32 hdr_len;             offsets below count from the end of the header
//     __u32 func_info_off,  func_info_len;
//     __u32 line_info_off,  line_info_len;
//     __u32 core_relo_off,  core_relo_len;   only when hdr_len >= 32 (LLVM 12 and later)
//   };
//
// Each of the three blocks (absent when its len is 0) is:
//
//   __u32 rec_size;                          bytes per record, >= the size we know
//   struct btf_ext_info_sec {                one per ELF code section, back to back
//     __u32 sec_name_off;                    section name, in the .BTF string section
//     __u32 num_info;
//     __u8  records[num_info * rec_size];
//   };
//
// Records (a bigger rec_size means fields added later: we skip them):
//   bpf_func_info  { u32 insn_off; u32 type_id; }                              8 bytes
//   bpf_line_info  { u32 insn_off; u32 file_name_off; u32 line_off;            16 bytes
//                    u32 line_col; }     line = line_col >> 10, column = line_col & 0x3ff
//   bpf_core_relo  { u32 insn_off; u32 type_id; u32 access_str_off; u32 kind; } 16 bytes
//
// In an object file insn_off is a BYTE offset within the ELF section; the kernel wants an
// instruction index within the program, which btf/ext-info.ts computes per function.

import { ByteReader, type OutOfBoundsError } from "../common/reader.js";
import { BtfError } from "../common/errors.js";
import { BTF_MAGIC } from "./parse.js";

const BTF_EXT_VERSION = 1;
/** hdr_len with only func_info and line_info. */
const HEADER_V1 = 24;
/** hdr_len that also has core_relo_off/len. */
const HEADER_WITH_CORE = 32;
const INSN_SIZE = 8;

export const FUNC_INFO_SIZE = 8;
export const LINE_INFO_SIZE = 16;
export const CORE_RELO_SIZE = 16;

/** enum bpf_core_relo_kind (linux/bpf.h). */
export const CoreReloKind = {
  FIELD_BYTE_OFFSET: 0,
  FIELD_BYTE_SIZE: 1,
  FIELD_EXISTS: 2,
  FIELD_SIGNED: 3,
  FIELD_LSHIFT_U64: 4,
  FIELD_RSHIFT_U64: 5,
  TYPE_ID_LOCAL: 6,
  TYPE_ID_TARGET: 7,
  TYPE_EXISTS: 8,
  TYPE_SIZE: 9,
  ENUMVAL_EXISTS: 10,
  ENUMVAL_VALUE: 11,
  TYPE_MATCHES: 12, // LLVM 17, Linux 6.2 (libbpf-side only)
} as const;

const CORE_RELO_KIND_NAMES = Object.fromEntries(Object.entries(CoreReloKind).map(([name, kind]) => [kind, name]));

/** "FIELD_BYTE_OFFSET" for 0...; "kind N" for a kind this table does not know. */
export function coreReloKindName(kind: number): string {
  return CORE_RELO_KIND_NAMES[kind] ?? `kind ${kind}`;
}

/** struct bpf_func_info as stored in the object. */
export interface FuncInfoRecord {
  /** Byte offset of the function's first instruction in its ELF section. */
  readonly insnOffset: number;
  /** The FUNC type describing the function. */
  readonly typeId: number;
}

/** struct bpf_line_info as stored in the object. */
export interface LineInfoRecord {
  /** Byte offset of the instruction in its ELF section. */
  readonly insnOffset: number;
  /** String offset of the source file name. */
  readonly fileNameOffset: number;
  /** String offset of the source line's text. */
  readonly lineOffset: number;
  readonly line: number;
  readonly column: number;
}

/** struct bpf_core_relo as stored in the object. */
export interface CoreReloRecord {
  /** Byte offset of the instruction to patch in its ELF section. */
  readonly insnOffset: number;
  /** The local type the access starts from (a struct, a union, an enum...). */
  readonly typeId: number;
  /** String offset of the access string, e.g. "0:1:2" (see btf/ext-info.ts). */
  readonly accessStringOffset: number;
  /** enum bpf_core_relo_kind (CoreReloKind). */
  readonly kind: number;
}

/** The records of one ELF section in one block. */
export interface ExtInfoSection<R> {
  /** Offset of the ELF section's name in the .BTF string section. */
  readonly sectionNameOffset: number;
  readonly records: readonly R[];
}

export interface ExtInfoBlock<R> {
  /** rec_size as the file states it; 0 when the block is absent. */
  readonly recordSize: number;
  readonly sections: readonly ExtInfoSection<R>[];
}

export interface BtfExt {
  readonly littleEndian: boolean;
  readonly flags: number;
  readonly funcInfo: ExtInfoBlock<FuncInfoRecord>;
  readonly lineInfo: ExtInfoBlock<LineInfoRecord>;
  readonly coreRelos: ExtInfoBlock<CoreReloRecord>;
}

const extOutOfBounds: OutOfBoundsError = (message, offset) => new BtfError(`.BTF.ext: ${message} (byte ${offset})`);

/** Reads a .BTF.ext section (either byte order). Throws BtfError when anything is out of place. */
export function parseBtfExt(bytes: Uint8Array): BtfExt {
  if (bytes.byteLength < HEADER_V1) throw new BtfError(`.BTF.ext: ${bytes.byteLength} bytes is too short for a header (${HEADER_V1})`);
  let littleEndian: boolean;
  if ((bytes[0] | (bytes[1] << 8)) === BTF_MAGIC) littleEndian = true;
  else if (((bytes[0] << 8) | bytes[1]) === BTF_MAGIC) littleEndian = false;
  else throw new BtfError(`.BTF.ext: bad magic 0x${(bytes[0] | (bytes[1] << 8)).toString(16)}, expected 0xeb9f`);
  const file = new ByteReader(bytes, littleEndian, { region: ".BTF.ext", outOfBounds: extOutOfBounds });
  const version = file.u8(2);
  if (version !== BTF_EXT_VERSION) throw new BtfError(`.BTF.ext: unsupported version ${version}`);
  const headerLength = file.u32(4);
  if (headerLength < HEADER_V1 || headerLength > bytes.byteLength) {
    throw new BtfError(`.BTF.ext: header length ${headerLength} is not between ${HEADER_V1} and the section size ${bytes.byteLength}`);
  }
  // The blocks are read through `file` at their place in the section: no reader per block.
  const bodyLength = bytes.byteLength - headerLength;
  const block = <R extends { insnOffset: number }>(what: string, offsetField: number, knownSize: number, readRecord: RecordReader<R>) => {
    if (offsetField + 8 > headerLength) return noRecords<R>(); // the header predates this block
    const offset = file.u32(offsetField);
    const length = file.u32(offsetField + 4);
    if (offset + length > bodyLength) {
      throw new BtfError(`.BTF.ext: ${what} block (offset ${offset}, length ${length}) runs past the end of the section (${bodyLength} bytes after the header)`);
    }
    return readBlock(file, headerLength + offset, length, what, knownSize, readRecord);
  };
  return {
    littleEndian,
    flags: file.u8(3),
    funcInfo: block("func_info", 8, FUNC_INFO_SIZE, readFuncInfo),
    lineInfo: block("line_info", 16, LINE_INFO_SIZE, readLineInfo),
    coreRelos: block("core_relo", 24, CORE_RELO_SIZE, readCoreRelo),
  };
}

/** A block the file does not have. */
function noRecords<R>(): ExtInfoBlock<R> {
  return { recordSize: 0, sections: [] };
}

/** Reads the record at byte `at` of the section. */
type RecordReader<R> = (r: ByteReader, at: number) => R;

// The record readers: struct bpf_func_info, bpf_line_info and bpf_core_relo at `at`.
const readFuncInfo = (r: ByteReader, at: number): FuncInfoRecord => ({ insnOffset: r.u32(at), typeId: r.u32(at + 4) });

const readLineInfo = (r: ByteReader, at: number): LineInfoRecord => {
  // line_col: the line number in the high 22 bits, the column in the low 10.
  const lineCol = r.u32(at + 12);
  return { insnOffset: r.u32(at), fileNameOffset: r.u32(at + 4), lineOffset: r.u32(at + 8), line: lineCol >>> 10, column: lineCol & 0x3ff };
};

const readCoreRelo = (r: ByteReader, at: number): CoreReloRecord => ({
  insnOffset: r.u32(at),
  typeId: r.u32(at + 4),
  accessStringOffset: r.u32(at + 8),
  kind: r.u32(at + 12),
});

/**
 * One block, the `length` bytes at `start` in `file`: rec_size, then btf_ext_info_sec
 * entries until the block's bytes are used up.
 */
function readBlock<R extends { insnOffset: number }>(
  file: ByteReader,
  start: number,
  length: number,
  what: string,
  knownSize: number,
  readRecord: RecordReader<R>,
): ExtInfoBlock<R> {
  if (length === 0) return noRecords<R>();
  if (length < 4) throw file.fail(`${what} block of ${length} bytes has no room for rec_size`, start);
  const recordSize = file.u32(start);
  // The kernel and libbpf accept bigger records (fields added later) but need 4-byte alignment.
  if (recordSize < knownSize || recordSize % 4 !== 0) {
    throw file.fail(`${what} rec_size ${recordSize} is ${recordSize < knownSize ? `smaller than a record (${knownSize} bytes)` : "not a multiple of 4"}`, start);
  }
  const end = start + length;
  const sections: ExtInfoSection<R>[] = [];
  let at = start + 4;
  while (at < end) {
    if (at + 8 > end) throw file.fail(`${what} section entry ${sections.length} header (8 bytes) runs past the block`, at);
    const sectionNameOffset = file.u32(at);
    const count = file.u32(at + 4);
    at += 8;
    if (count * recordSize > end - at) {
      throw file.fail(`${what} section entry ${sections.length} claims ${count} records of ${recordSize} bytes, more than the ${end - at} bytes left`, at - 4);
    }
    // Checked now, decoded into objects only when someone reads the records: a loader reads
    // those of the programs it loads, and line_info alone is often hundreds of records.
    // insn_off (each record's first u32) is a multiple of 8 when its lowest-order byte is: the
    // records were bounds-checked as a whole just above, so this reads that byte directly.
    const bytes = file.bytes;
    const lowByte = file.littleEndian ? 0 : 3;
    for (let i = 0, record = at; i < count; i++, record += recordSize) {
      if ((bytes[record + lowByte] & (INSN_SIZE - 1)) !== 0) {
        const insnOffset = file.u32(record);
        throw file.fail(`${what} section entry ${sections.length} record ${i}: insn_off ${insnOffset} is not a multiple of ${INSN_SIZE} (a byte offset of an instruction)`, record);
      }
    }
    sections.push(new RecordsOfSection(sectionNameOffset, file, at, count, recordSize, readRecord));
    at += count * recordSize;
  }
  return { recordSize, sections };
}

/** One btf_ext_info_sec whose records are decoded on first use. */
class RecordsOfSection<R> implements ExtInfoSection<R> {
  #decoded: R[] | undefined;

  constructor(
    readonly sectionNameOffset: number,
    /** The whole section; the records start at byte `start` of it. */
    private readonly block: ByteReader,
    private readonly start: number,
    private readonly count: number,
    private readonly recordSize: number,
    private readonly readRecord: RecordReader<R>,
  ) {}

  get records(): readonly R[] {
    if (this.#decoded === undefined) {
      const records: R[] = new Array(this.count);
      for (let i = 0; i < this.count; i++) records[i] = this.readRecord(this.block, this.start + i * this.recordSize);
      this.#decoded = records;
    }
    return this.#decoded;
  }
}
