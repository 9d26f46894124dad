// Programs through the bpf(2) layer on the real kernel: BPF_PROG_LOAD with the verifier
// log retry, VerifierError, BPF_PROG_TEST_RUN, program info and ids, and BPF_BTF_LOAD.
//
// Oracles: bpftool (ids, tags, names, sizes, the translated instructions as raw bytes),
// /proc/self/fd (no descriptor may survive a failure), and the kernel's behaviour itself
// (the action and packet a program returns). Programs are assembled by hand, 8 bytes per
// instruction.

import { cleanFailure, fdCount } from "./helpers/fds.js";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BtfError, SyscallError, VerifierError } from "../common/errors.js";
import { createMap } from "../syscall/bpf-map.js";
import { BtfLoadError, loadBtf } from "../syscall/bpf-btf.js";
import { nextObjectId, objectFdById, objectIds } from "../syscall/bpf-obj.js";
import { testRun } from "../syscall/bpf-prog.js";
import { MapType, ProgramType, XdpAction } from "../syscall/constants.js";
import { haveFeature } from "../syscall/features.js";
import { btfInfo, mapInfo, programInfo } from "../syscall/info.js";
import { loadProgram } from "../syscall/prog-load.js";
import { summarizeVerifierLog } from "../syscall/verifier-log.js";
import { skipWithoutRoot } from "./helpers/netns.js";

// ---- hand assembly: struct bpf_insn { u8 code; u8 dst:4, src:4; s16 off; s32 imm; } ----
function insn(code: number, dst: number, src: number, off: number, imm: number): number[] {
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  bytes[0] = code;
  bytes[1] = (src << 4) | dst;
  view.setInt16(2, off, true);
  view.setInt32(4, imm, true);
  return [...bytes];
}
const program = (...insns: number[][]) => new Uint8Array(insns.flat());
const movImm = (dst: number, imm: number) => insn(0xb7, dst, 0, 0, imm); // BPF_ALU64|BPF_MOV|BPF_K
const movReg = (dst: number, src: number) => insn(0xbf, dst, src, 0, 0); // BPF_ALU64|BPF_MOV|BPF_X
const addImm = (dst: number, imm: number) => insn(0x07, dst, 0, 0, imm); // BPF_ALU64|BPF_ADD|BPF_K
const ldxW = (dst: number, src: number, off: number) => insn(0x61, dst, src, off, 0); // BPF_LDX|BPF_MEM|BPF_W
const stB = (dst: number, off: number, imm: number) => insn(0x72, dst, 0, off, imm); // BPF_ST|BPF_MEM|BPF_B
const jgtReg = (dst: number, src: number, off: number) => insn(0x2d, dst, src, off, 0); // BPF_JMP|BPF_JGT|BPF_X
const exit = () => insn(0x95, 0, 0, 0, 0);
/** ld_imm64 with src = BPF_PSEUDO_MAP_FD: two slots, the map fd in the first imm. */
const ldMapFd = (dst: number, fd: number) => [...insn(0x18, dst, 1, 0, fd), ...insn(0, 0, 0, 0, 0)];

const returning = (action: number) => program(movImm(0, action), exit());
/** Writes 0xab into the first packet byte after the bounds check the verifier demands. */
const WRITE_FIRST_BYTE = program(
  ldxW(2, 1, 0), // r2 = ctx->data
  ldxW(3, 1, 4), // r3 = ctx->data_end
  movReg(4, 2),
  addImm(4, 1),
  jgtReg(4, 3, 1), // if data + 1 > data_end skip the store
  stB(2, 0, 0xab),
  movImm(0, XdpAction.PASS),
  exit(),
);

const xdp = (insns: Uint8Array, name: string) => ({ type: ProgramType.XDP, insns, license: "GPL", name });
const bpftool = (...args: string[]) => JSON.parse(execFileSync("bpftool", [...args, "--json"], { encoding: "utf8" }));

const failure = (fn: () => unknown): unknown => cleanFailure(fn);

function packet(): Uint8Array {
  return Uint8Array.from({ length: 64 }, (_, i) => i);
}

/**
 * BTF for one function: [1] INT int, [2] FUNC_PROTO int (void), [3] FUNC xdp_main (global),
 * plus the file name and source text that line info points at.
 */
function funcBtf(): { btf: Uint8Array; strings: Record<string, number> } {
  const strings: Record<string, number> = {};
  const table: number[] = [0];
  for (const text of ["int", "xdp_main", "prog.bpf.c", "return r0;"]) {
    strings[text] = table.length;
    table.push(...new TextEncoder().encode(text), 0);
  }
  const btf = new Uint8Array(24 + 40 + table.length);
  const v = new DataView(btf.buffer);
  v.setUint16(0, 0xeb9f, true); // magic
  btf[2] = 1; // version
  v.setUint32(4, 24, true); // hdr_len
  v.setUint32(12, 40, true); // type_len (type_off 0)
  v.setUint32(16, 40, true); // str_off
  v.setUint32(20, table.length, true); // str_len
  const t = 24;
  v.setUint32(t, strings.int, true); // [1] INT
  v.setUint32(t + 4, 1 << 24, true);
  v.setUint32(t + 8, 4, true);
  v.setUint32(t + 12, (1 << 24) | 32, true); // BTF_INT_SIGNED, 32 bits
  v.setUint32(t + 20, 13 << 24, true); // [2] FUNC_PROTO, no parameters
  v.setUint32(t + 24, 1, true); // returns [1]
  v.setUint32(t + 28, strings.xdp_main, true); // [3] FUNC
  v.setUint32(t + 32, (12 << 24) | 1, true); // linkage global
  v.setUint32(t + 36, 2, true); // type [2]
  btf.set(table, 64);
  return { btf, strings };
}

describe("verifier log summaries", () => {
  it("keeps the failing instruction and reason, drops statistics, finds the source line", () => {
    const log = [
      "func#0 @0",
      "0: R1=ctx() R10=fp0",
      "; int x = *(int *)(ctx + 100); @ prog.bpf.c:17",
      "0: (61) r2 = *(u32 *)(r1 +100)",
      "invalid bpf_context access off=100 size=4",
      "processed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0",
      "",
    ].join("\n");
    expect(summarizeVerifierLog(log)).toEqual({
      summary: "; int x = *(int *)(ctx + 100); @ prog.bpf.c:17\n0: (61) r2 = *(u32 *)(r1 +100)\ninvalid bpf_context access off=100 size=4",
      sourceLine: "prog.bpf.c:17",
    });
  });

  it("falls back to the last lines when no instruction was printed", () => {
    expect(summarizeVerifierLog("a\nb\nback-edge from insn 1 to 0\nprocessed 0 insns\n").summary).toBe(
      "a\nb\nback-edge from insn 1 to 0",
    );
  });
});

describe.skipIf(skipWithoutRoot)("programs and BTF on the running kernel", () => {
  describe("programs", () => {
    it("loads XDP_PASS and XDP_DROP and runs them on a 64-byte packet", () => {
      for (const action of [XdpAction.PASS, XdpAction.DROP]) {
        const fd = loadProgram(xdp(returning(action), `ret_${action}`));
        const run = testRun(fd, { data: packet(), repeat: 3 });
        expect(run.retval).toBe(action);
        expect([...run.data]).toEqual([...packet()]);
        expect(run.ctx).toBeUndefined();
        fd.close();
      }
    });

    it("returns the packet as the program changed it, growing a too small output buffer", () => {
      const fd = loadProgram(xdp(WRITE_FIRST_BYTE, "write_byte"));
      const run = testRun(fd, { data: packet(), dataOutSize: 16 });
      expect(run.retval).toBe(XdpAction.PASS);
      expect(run.data.length).toBe(64);
      expect(run.data[0]).toBe(0xab);
      expect([...run.data.subarray(1)]).toEqual([...packet().subarray(1)]);
      const tooShort = failure(() => testRun(fd, { data: new Uint8Array(4) }));
      expect(tooShort).toMatchObject({ operation: "BPF_PROG_TEST_RUN", errnoName: "EINVAL" });
      expect((tooShort as Error).message).toMatch(/at least 14 bytes/);
      fd.close();
    });

    it("reports id, tag, name, sizes and map ids as bpftool does, and the translated instructions byte for byte", () => {
      const map = createMap({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, name: "used" });
      const fd = loadProgram(xdp(program(ldMapFd(1, map.raw), movImm(0, XdpAction.PASS), exit()), "info_prog"));
      const info = programInfo(fd, { xlated: true });
      const tool = bpftool("prog", "show", "id", String(info.id));
      expect(info.id).toBeGreaterThan(0);
      expect(info.tag).toMatch(/^[0-9a-f]{16}$/);
      expect({ id: info.id, tag: info.tag, name: info.name, type: "xdp", bytes_xlated: info.xlatedProgLen }).toEqual({
        id: tool.id,
        tag: tool.tag,
        name: tool.name,
        type: tool.type,
        bytes_xlated: tool.bytes_xlated,
      });
      expect(info.jitedProgLen).toBe(tool.bytes_jited);
      expect(info.mapIds).toEqual(tool.map_ids);
      expect(info.mapIds).toEqual([mapInfo(map).id]);
      expect(info.gplCompatible).toBe(true);
      expect(info.verifiedInsns).toBe(3);
      const dumpDir = join(tmpdir(), `tsbpf-xlated-${process.pid}`);
      mkdirSync(dumpDir, { recursive: true });
      try {
        execFileSync("bpftool", ["prog", "dump", "xlated", "id", String(info.id), "file", join(dumpDir, "x.bin")]);
        expect([...info.xlatedInsns!]).toEqual([...readFileSync(join(dumpDir, "x.bin"))]);
      } finally {
        rmSync(dumpDir, { recursive: true, force: true });
      }
      fd.close();
      map.close();
    });

    it("finds programs by id", () => {
      const fd = loadProgram(xdp(returning(XdpAction.PASS), "by_id"));
      const { id, tag } = programInfo(fd);
      expect(objectIds("prog")).toContain(id);
      expect(nextObjectId("prog", id - 1)).toBe(id);
      const other = objectFdById("prog", id);
      expect(programInfo(other).tag).toBe(tag);
      other.close();
      fd.close();
      const gone = failure(() => objectFdById("prog", id));
      expect(gone).toMatchObject({ operation: "BPF_PROG_GET_FD_BY_ID", errnoName: "ENOENT" });
      expect((gone as Error).message).toMatch(/no object with that id exists/);
    });

    it("turns a verifier refusal into a VerifierError with the log and its summary", () => {
      const error = failure(() => loadProgram(xdp(program(exit()), "no_r0")));
      expect(error).toBeInstanceOf(VerifierError);
      const v = error as VerifierError;
      expect(v.program).toBe("no_r0");
      expect(v.errnoName).toBe("EACCES");
      expect(v.summary).toBe("0: (95) exit\nR0 !read_ok");
      expect(v.message).toBe("the verifier rejected program no_r0 (EACCES):\n0: (95) exit\nR0 !read_ok");
      expect(v.log).toMatch(/^processed 1 insns/m);
      expect(v.cause).toBeInstanceOf(SyscallError);
    });

    it("grows the log buffer until the whole log fits", () => {
      // 300 instructions before the faulty exit: a level-1 log of several kilobytes.
      const long = program(...Array.from({ length: 300 }, () => movImm(2, 1)), exit());
      const error = failure(() => loadProgram(xdp(long, "long_log"), { logSize: 256 })) as VerifierError;
      expect(error).toBeInstanceOf(VerifierError);
      expect(error.log.length).toBeGreaterThan(4096);
      expect(error.log).toMatch(/^0: R1=ctx\(\) R10=fp0$/m); // the start survived
      expect(error.log).toMatch(/^1: \(b7\) r2 = 1/m);
      expect(error.summary).toBe("300: (95) exit\nR0 !read_ok");
      expect(haveFeature("logTrueSize")).toBe(true);
    });

    it("passes the log of a successful load to onLog", () => {
      let log = "";
      const fd = loadProgram(xdp(returning(XdpAction.PASS), "with_log"), { onLog: (text) => (log = text) });
      expect(log).toMatch(/processed 2 insns/);
      fd.close();
    });

    it("loads with BTF func_info and line_info; a refusal names the source line", () => {
      const { btf, strings } = funcBtf();
      const btfFd = loadBtf(btf);
      // struct bpf_func_info { u32 insn_off; u32 type_id; }: instruction 0 is FUNC [3].
      const func = new Uint8Array(8);
      new DataView(func.buffer).setUint32(4, 3, true);
      // struct bpf_line_info { u32 insn_off, file_name_off, line_off, line_col; }, line 42 column 5.
      const line = new Uint8Array(16);
      const lv = new DataView(line.buffer);
      lv.setUint32(4, strings["prog.bpf.c"], true);
      lv.setUint32(8, strings["return r0;"], true);
      lv.setUint32(12, (42 << 10) | 5, true);
      const attrs = {
        ...xdp(returning(XdpAction.PASS), "xdp_main"),
        btfFd,
        funcInfo: { recordSize: 8, records: func },
        lineInfo: { recordSize: 16, records: line },
      };
      const fd = loadProgram(attrs);
      const info = programInfo(fd);
      expect({ btfId: info.btfId, nrFuncInfo: info.nrFuncInfo, nrLineInfo: info.nrLineInfo }).toEqual({
        btfId: btfInfo(btfFd).id,
        nrFuncInfo: 1,
        nrLineInfo: 1,
      });
      fd.close();
      const error = failure(() => loadProgram({ ...attrs, insns: program(exit()) })) as VerifierError;
      expect(error.sourceLine).toBe("prog.bpf.c:42");
      expect(error.message).toBe(
        "the verifier rejected program xdp_main at prog.bpf.c:42 (EACCES):\n; return r0; @ prog.bpf.c:42\n0: (95) exit\nR0 !read_ok",
      );
      btfFd.close();
    });

    it("reports failures without a log as SyscallError with a hint", () => {
      const error = failure(() => loadProgram({ type: 999, insns: returning(2), license: "GPL", name: "bad_type" }));
      expect(error).toBeInstanceOf(SyscallError);
      expect(error).not.toBeInstanceOf(VerifierError);
      expect((error as Error).message).toMatch(/^BPF_PROG_LOAD for program "bad_type" failed with EINVAL: .*unknown program type/);
    });
  });

  describe("BTF", () => {
    /** struct btf_header + INT "int" (size 4, `bits` bits, signed) + strings. */
    function intBtf(bits: number): Uint8Array {
      const bytes = new Uint8Array(24 + 16 + 5);
      const view = new DataView(bytes.buffer);
      view.setUint16(0, 0xeb9f, true);
      bytes[2] = 1;
      view.setUint32(4, 24, true);
      view.setUint32(12, 16, true);
      view.setUint32(16, 16, true);
      view.setUint32(20, 5, true);
      view.setUint32(24, 1, true);
      view.setUint32(28, 1 << 24, true);
      view.setUint32(32, 4, true);
      view.setUint32(36, (1 << 24) | bits, true);
      bytes.set([0, 0x69, 0x6e, 0x74, 0], 40);
      return bytes;
    }

    it("loads a BTF blob, which bpftool then lists", () => {
      const fd = loadBtf(intBtf(32));
      const info = btfInfo(fd);
      expect(info).toMatchObject({ size: 45, kernelBtf: false, name: "" });
      const listed = bpftool("btf", "show", "id", String(info.id));
      expect(listed.id).toBe(info.id);
      expect(listed.size).toBe(45);
      fd.close();
    });

    it("names the refused type and keeps the kernel's log", () => {
      const error = failure(() => loadBtf(intBtf(33)));
      expect(error).toBeInstanceOf(BtfError);
      const e = error as BtfLoadError;
      expect(e.typeId).toBe(1);
      expect(e.message).toBe(
        "BTF: type [1]: the kernel rejected the BTF (EINVAL): [1] INT int size=4 bits_offset=0 nr_bits=33 encoding=SIGNED nr_bits exceeds type_size",
      );
      expect(e.log).toMatch(/^magic: 0xeb9f$/m);
    });

    it("opens the kernel's own BTF by id", () => {
      const vmlinux = objectIds("btf")
        .map((id) => {
          const fd = objectFdById("btf", id);
          try {
            return btfInfo(fd);
          } finally {
            fd.close();
          }
        })
        .find((info) => info.name === "vmlinux");
      expect(vmlinux?.kernelBtf).toBe(true);
    });
  });
});
