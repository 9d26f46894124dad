// .BTF.ext records for one function, as BPF_PROG_LOAD wants them.
//
// The object stores func_info, line_info and CO-RE records per ELF section, each at the
// BYTE offset of its instruction in that section. A program is loaded one function at a
// time (plus the subprograms the loader appends after it), so its records are the ones
// inside the function's byte range, each moved to an INSTRUCTION index from the start of
// the function (insn_off / 8, since every bpf_insn slot is 8 bytes, ld_imm64 two slots).
//
// The kernel takes them as arrays (union bpf_attr, BPF_PROG_LOAD):
//   func_info_rec_size, func_info, func_info_cnt      struct bpf_func_info { u32 insn_off, type_id; }
//   line_info_rec_size, line_info, line_info_cnt      struct bpf_line_info { u32 insn_off,
//                                                       file_name_off, line_off, line_col; }
// in the host's byte order, sorted by insn_off; each function's first func_info and line_info
// record is at its first instruction. The type ids and string offsets refer to the BTF
// loaded with the program, which is why a sanitized BTF keeps ids and the string section.
//
// A CO-RE access string lists indexes from the relocation's type: "0:1:2" is element 0 of
// the base pointer, then member 1, then member (or array element) 2 of that.

import { BtfError } from "../common/errors.js";
import { FUNC_INFO_SIZE, LINE_INFO_SIZE, type BtfExt, type ExtInfoBlock } from "./ext.js";
import type { Btf } from "./parse.js";

const INSN_SIZE = 8;
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface FuncInfo {
  /** Instruction index from the start of the program. */
  readonly insn: number;
  /** The FUNC type. */
  readonly typeId: number;
  /** The FUNC's name (the function's name). */
  readonly name: string;
}

export interface LineInfo {
  /** Instruction index from the start of the program. */
  readonly insn: number;
  readonly fileName: string;
  /** The text of the source line, as the compiler saw it. */
  readonly lineText: string;
  readonly line: number;
  readonly column: number;
  /** The raw string offsets, which the kernel records keep. */
  readonly fileNameOffset: number;
  readonly lineOffset: number;
}

export interface CoreRelo {
  /** Instruction index from the start of the program. */
  readonly insn: number;
  readonly typeId: number;
  /** E.g. "0:1": see the top of this file. */
  readonly accessString: string;
  /** enum bpf_core_relo_kind (CoreReloKind in btf/ext.ts). */
  readonly kind: number;
}

/** Records ready for bpf_attr: `count` records of `recordSize` bytes in host byte order. */
export interface KernelExtRecords {
  readonly recordSize: number;
  readonly count: number;
  readonly records: Uint8Array;
}

export interface FunctionExtInfo {
  readonly funcInfo: readonly FuncInfo[];
  readonly lineInfo: readonly LineInfo[];
  readonly coreRelos: readonly CoreRelo[];
  /** funcInfo as struct bpf_func_info[] for BPF_PROG_LOAD. */
  readonly funcInfoRecords: KernelExtRecords;
  /** lineInfo as struct bpf_line_info[] for BPF_PROG_LOAD. */
  readonly lineInfoRecords: KernelExtRecords;
}

/**
 * The records of the function at bytes [startByte, endByte) of ELF section `sectionName`,
 * rebased to instruction indexes from the function's start. String offsets are resolved
 * through `btf` (the object's .BTF, whose string section the records point into).
 */
export function extInfoForFunction(ext: BtfExt, btf: Btf, sectionName: string, startByte: number, endByte: number): FunctionExtInfo {
  if (ext.littleEndian !== btf.littleEndian) throw new BtfError(".BTF.ext and .BTF have different byte orders");
  if (startByte % INSN_SIZE !== 0) throw new BtfError(`function start ${startByte} in ${sectionName} is not at an instruction boundary`);
  const inRange = <R extends { insnOffset: number }>(block: ExtInfoBlock<R>) => recordsIn(block, btf, sectionName, startByte, endByte);
  const toInsn = (insnOffset: number) => (insnOffset - startByte) / INSN_SIZE;

  const funcInfo = inRange(ext.funcInfo).map((r): FuncInfo => {
    const func = btf.type(r.typeId);
    if (func.kind !== "func") throw new BtfError(`func_info for byte ${r.insnOffset} of ${sectionName} names a ${func.kind}, not a FUNC`, { typeId: r.typeId });
    return { insn: toInsn(r.insnOffset), typeId: r.typeId, name: func.name };
  });
  const lineInfo = inRange(ext.lineInfo).map(
    (r): LineInfo => ({
      insn: toInsn(r.insnOffset),
      fileName: btfString(btf, r.fileNameOffset, "line_info file name"),
      lineText: btfString(btf, r.lineOffset, "line_info source line"),
      line: r.line,
      column: r.column,
      fileNameOffset: r.fileNameOffset,
      lineOffset: r.lineOffset,
    }),
  );
  const coreRelos = inRange(ext.coreRelos).map(
    (r): CoreRelo => ({
      insn: toInsn(r.insnOffset),
      typeId: checkedType(btf, r.typeId),
      accessString: btfString(btf, r.accessStringOffset, "CO-RE access string"),
      kind: r.kind,
    }),
  );
  return withKernelRecords(funcInfo, lineInfo, coreRelos);
}

/**
 * Joins the records of functions laid out one after another in a single program: each
 * part's instruction indexes move by its `startSlot` (the slot where the loader placed that
 * function). Parts are taken in slot order, as the kernel wants insn_off increasing.
 */
export function concatExtInfo(parts: readonly { readonly info: FunctionExtInfo; readonly startSlot: number }[]): FunctionExtInfo {
  const ordered = [...parts].sort((a, b) => a.startSlot - b.startSlot);
  const funcInfo: FuncInfo[] = [];
  const lineInfo: LineInfo[] = [];
  const coreRelos: CoreRelo[] = [];
  for (const { info, startSlot } of ordered) {
    if (!Number.isInteger(startSlot) || startSlot < 0) throw new BtfError(`a function cannot start at slot ${startSlot}`);
    for (const r of info.funcInfo) funcInfo.push({ ...r, insn: r.insn + startSlot });
    for (const r of info.lineInfo) lineInfo.push({ ...r, insn: r.insn + startSlot });
    for (const r of info.coreRelos) coreRelos.push({ ...r, insn: r.insn + startSlot });
  }
  return withKernelRecords(funcInfo, lineInfo, coreRelos);
}

/** struct bpf_func_info[] in host byte order. */
export function encodeFuncInfo(records: readonly FuncInfo[]): KernelExtRecords {
  const bytes = new Uint8Array(records.length * FUNC_INFO_SIZE);
  const view = new DataView(bytes.buffer);
  records.forEach((r, i) => {
    view.setUint32(i * FUNC_INFO_SIZE, r.insn, HOST_LITTLE_ENDIAN);
    view.setUint32(i * FUNC_INFO_SIZE + 4, r.typeId, HOST_LITTLE_ENDIAN);
  });
  return { recordSize: FUNC_INFO_SIZE, count: records.length, records: bytes };
}

/** struct bpf_line_info[] in host byte order. */
export function encodeLineInfo(records: readonly LineInfo[]): KernelExtRecords {
  const bytes = new Uint8Array(records.length * LINE_INFO_SIZE);
  const view = new DataView(bytes.buffer);
  records.forEach((r, i) => {
    const at = i * LINE_INFO_SIZE;
    view.setUint32(at, r.insn, HOST_LITTLE_ENDIAN);
    view.setUint32(at + 4, r.fileNameOffset, HOST_LITTLE_ENDIAN);
    view.setUint32(at + 8, r.lineOffset, HOST_LITTLE_ENDIAN);
    // line_col: line number in the upper 22 bits, column in the lower 10 (BPF_LINE_INFO_LINE_NUM).
    view.setUint32(at + 12, ((r.line << 10) | (r.column & 0x3ff)) >>> 0, HOST_LITTLE_ENDIAN);
  });
  return { recordSize: LINE_INFO_SIZE, count: records.length, records: bytes };
}

function withKernelRecords(funcInfo: FuncInfo[], lineInfo: LineInfo[], coreRelos: CoreRelo[]): FunctionExtInfo {
  return { funcInfo, lineInfo, coreRelos, funcInfoRecords: encodeFuncInfo(funcInfo), lineInfoRecords: encodeLineInfo(lineInfo) };
}

/** The block's records for `sectionName` with start <= insnOffset < end, in file order. */
function recordsIn<R extends { insnOffset: number }>(block: ExtInfoBlock<R>, btf: Btf, sectionName: string, start: number, end: number): R[] {
  const found: R[] = [];
  for (const section of block.sections) {
    if (btfString(btf, section.sectionNameOffset, ".BTF.ext section name") !== sectionName) continue;
    for (const record of section.records) if (record.insnOffset >= start && record.insnOffset < end) found.push(record);
  }
  return found;
}

function btfString(btf: Btf, offset: number, what: string): string {
  if (offset >= btf.strings.length) throw new BtfError(`${what} at string offset ${offset} is past the .BTF string section (${btf.strings.length} bytes)`);
  return btf.string(offset);
}

function checkedType(btf: Btf, id: number): number {
  if (id >= btf.typeCount) throw new BtfError(`CO-RE relocation refers to type ${id}, but the last type is ${btf.typeCount - 1}`, { typeId: id });
  return id;
}
