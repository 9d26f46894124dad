// BTF dumps against tools we did not write.
//
// - Raw dump: line for line what `bpftool btf dump file X` (bpftool 7.1, libbpf 1.1) prints,
//   on the running kernel's /sys/kernel/btf/vmlinux, on the .BTF section of every test
//   object (xdp-tools, cilium both byte orders, our fixtures), and on hand-made BTF holding
//   the kinds and flags compilers rarely write (ENUM64, signed enums, extern linkage...).
// - C dump: byte for byte what `bpftool btf dump file X format c` prints, except where
//   bpftool's header gets a layout wrong and ours does not (enum sizes through
//   __attribute__((mode(...))), unions larger than their members).
// - C dump, judged by clang: it compiles for the BPF target, and every struct, union, enum
//   and typedef has the BTF's size and member offsets (_Static_assert with sizeof and
//   __builtin_offsetof), and after compiling it with -g the BTF clang writes has the same
//   member bit offsets and bitfield widths as the BTF we started from.

import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CDumper, dumpBtfC } from "../btf/dump-c.js";
import { dumpBtfRawText } from "../btf/dump-raw.js";
import { sizeOrZero } from "../btf/layout.js";
import { parseBtf, type Btf } from "../btf/parse.js";
import type { BtfType } from "../btf/types.js";
import { btfDumpCommand } from "../cli/btf.js";
import { CommandError, UsageError } from "../cli/usage.js";
import { BtfError } from "../common/errors.js";
import { parseElf } from "../elf/index.js";
import { allObjects } from "./helpers/objects.js";
import { REPO_ROOT } from "./helpers/progs.js";

const VMLINUX = "/sys/kernel/btf/vmlinux";
const work = mkdtempSync(join(tmpdir(), "tsbpf-btf-dump-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The .BTF section of an object, or the file itself when it is raw BTF. */
function btfBytes(path: string): Uint8Array | undefined {
  const bytes = readFileSync(path);
  return bytes[0] === 0x7f ? parseElf(bytes).section(".BTF")?.data : bytes;
}

function bpftool(path: string, ...args: string[]): string {
  return execFileSync("bpftool", ["btf", "dump", "file", path, ...args], { encoding: "utf8", maxBuffer: 1 << 30 });
}

/** Equal line for line; on a difference the message shows the first differing line. */
function expectSameLines(ours: string, theirs: string): void {
  if (ours === theirs) return;
  const a = ours.split("\n");
  const b = theirs.split("\n");
  const i = a.findIndex((line, n) => line !== b[n]);
  expect(a[i === -1 ? a.length : i], `line ${(i === -1 ? a.length : i) + 1}`).toBe(b[i === -1 ? a.length : i]);
  expect(a.length).toBe(b.length);
}

/** Our C output with the two deliberate departures from bpftool 7.1 taken out. */
function asBpftool71(c: string): string {
  return c.replace(/ __attribute__\(\(mode\((?:byte|HI|word)\)\)\)/g, "");
}

/** clang -target bpf on `source`; returns clang's stderr on failure. */
function clang(source: string, args: string[]): string {
  const file = join(work, "check.c");
  writeFileSync(file, source);
  const run = spawnSync("clang", ["-target", "bpf", ...args, "-x", "c", file], { encoding: "utf8", maxBuffer: 1 << 28 });
  return run.status === 0 ? "" : run.stderr.slice(0, 4000);
}

// ---------------------------------------------------------------------------------------
// Layout checks generated from the BTF itself.

/** va_list is a 24-byte array on x86-64 but a pointer on the BPF target: no header can agree. */
const VA_LIST = new Set(["va_list", "__builtin_va_list", "__gnuc_va_list"]);

function embedsVaList(btf: Btf, id: number, memo: Map<number, boolean>): boolean {
  const known = memo.get(id);
  if (known !== undefined) return known;
  memo.set(id, false);
  const t = btf.type(id);
  let result = false;
  if (t.kind === "typedef") result = VA_LIST.has(t.name) || embedsVaList(btf, t.type, memo);
  else if (t.kind === "const" || t.kind === "volatile" || t.kind === "restrict" || t.kind === "type_tag" || t.kind === "array") result = embedsVaList(btf, t.type, memo);
  else if (t.kind === "struct" || t.kind === "union") result = t.members.some((m) => embedsVaList(btf, m.type, memo));
  memo.set(id, result);
  return result;
}

/** A dumper that has written every type, so each type's C name (with ___N suffixes) is fixed. */
function namedDumper(btf: Btf): CDumper {
  const dumper = new CDumper(btf);
  for (let id = 1; id < btf.typeCount; id++) dumper.dumpType(id);
  return dumper;
}

/** _Static_assert lines: sizes of named types, byte offsets of ordinary members (through anonymous members too). */
function layoutAsserts(btf: Btf): string {
  const dumper = namedDumper(btf);
  const memo = new Map<number, boolean>();
  const out: string[] = [];
  const members = (tag: string, type: Extract<BtfType, { kind: "struct" | "union" }>, base: number, path: string): void => {
    for (const m of type.members) {
      if (m.bitfieldSize !== 0) continue; // bitfields: checked by the round trip below
      const mt = btf.type(m.type);
      const offset = base + m.bitOffset;
      const anonymous = (mt.kind === "struct" || mt.kind === "union") && mt.name === "";
      if (m.name !== "") out.push(`_Static_assert(__builtin_offsetof(${tag}, ${path}${m.name}) == ${offset / 8}, "${tag}.${path}${m.name}");`);
      if (anonymous) members(tag, mt, offset, m.name === "" ? path : `${path}${m.name}.`);
    }
  };
  for (let id = 1; id < btf.typeCount; id++) {
    const t = btf.type(id);
    if (t.name === "" || embedsVaList(btf, id, memo)) continue;
    if (t.kind === "struct" || t.kind === "union") {
      const tag = `${t.kind} ${dumper.tagName(id)}`;
      out.push(`_Static_assert(sizeof(${tag}) == ${t.size}, "${tag}");`);
      members(tag, t, 0, "");
    } else if ((t.kind === "enum" || t.kind === "enum64") && t.values.length > 0) {
      out.push(`_Static_assert(sizeof(enum ${dumper.tagName(id)}) == ${t.size}, "enum ${t.name}");`);
    } else if (t.kind === "typedef") {
      const target = btf.resolve(id).kind;
      const size = sizeOrZero(btf, id);
      if (size > 0 && target !== "fwd" && target !== "func_proto") out.push(`_Static_assert(sizeof(${dumper.identName(id)}) == ${size}, "typedef ${t.name}");`);
    }
  }
  return `${out.join("\n")}\n`;
}

/**
 * Compiles the header with one global of every named struct and union, then compares the
 * BTF clang writes for them with the original: size, and every member's name, bit offset
 * and bitfield width. Returns the differences ("" when none) and how many were compared.
 */
function roundTrip(btf: Btf): { differences: string[]; compared: number } {
  const dumper = namedDumper(btf);
  const memo = new Map<number, boolean>();
  const byName = new Map<string, number>();
  const globals: string[] = [];
  for (let id = 1; id < btf.typeCount; id++) {
    const t = btf.type(id);
    if ((t.kind === "struct" || t.kind === "union") && t.name !== "" && !embedsVaList(btf, id, memo)) {
      const tag = `${t.kind} ${dumper.tagName(id)}`;
      byName.set(tag, id);
      globals.push(`${tag} __round_trip_${id};`);
    }
  }
  if (globals.length === 0) return { differences: [], compared: 0 };
  const object = join(work, "round-trip.o");
  const error = clang(`${dumpBtfC(btf)}${globals.join("\n")}\n`, ["-g", "-O2", "-c", "-o", object]);
  if (error !== "") return { differences: [error], compared: 0 };
  const back = parseBtf(btfBytes(object)!);
  const layout = (t: Extract<BtfType, { kind: "struct" | "union" }>) => JSON.stringify([t.size, t.members.map((m) => [m.name, m.bitOffset, m.bitfieldSize])]);
  const differences: string[] = [];
  let compared = 0;
  for (let id = 1; id < back.typeCount; id++) {
    const t = back.type(id);
    if (t.kind !== "struct" && t.kind !== "union") continue;
    const original = byName.get(`${t.kind} ${t.name}`);
    if (original === undefined) continue;
    compared++;
    const expected = layout(btf.type(original) as typeof t);
    if (layout(t) !== expected) differences.push(`${t.kind} ${t.name}: ${layout(t)}, BTF says ${expected}`);
  }
  return { differences, compared };
}

// ---------------------------------------------------------------------------------------

describe("the running kernel's BTF (/sys/kernel/btf/vmlinux)", () => {
  const btf = parseBtf(readFileSync(VMLINUX));

  it("raw dump equals bpftool btf dump, line for line", () => {
    expectSameLines(dumpBtfRawText(btf), bpftool(VMLINUX));
  });

  it("C dump equals bpftool's vmlinux.h but for its wrong enum and union sizes", () => {
    const ours = dumpBtfC(btf);
    const theirs = bpftool(VMLINUX, "format", "c");
    // The only union bpftool leaves too small: BTF lost its members, kept its 8 bytes.
    const unionPadding = /^typedef union \{\n\tlong: 64;\n\} release_pages_arg;$/m;
    expectSameLines(asBpftool71(ours).replace(unionPadding, "typedef union {\n} release_pages_arg;"), theirs);
  });

  it("C dump compiles for BPF with every size and member offset the BTF gives", () => {
    const asserts = layoutAsserts(btf);
    expect(asserts.split("\n").length).toBeGreaterThan(50_000);
    expect(clang(dumpBtfC(btf) + asserts, ["-fsyntax-only"])).toBe("");
  });

  it("C dump compiled with -g gives back every struct's member and bitfield offsets", () => {
    const { differences, compared } = roundTrip(btf);
    expect(differences).toEqual([]);
    expect(compared).toBeGreaterThan(5000);
  });
});

describe("objects' .BTF sections", () => {
  const objects = allObjects().filter((o) => btfBytes(o.path) !== undefined);

  it("covers every object with BTF", () => {
    // Only cilium's loader-clang-7 pair predates BTF.
    expect(allObjects().length - objects.length).toBe(2);
    expect(objects.length).toBeGreaterThan(60);
  });

  for (const object of objects) {
    describe(object.label, () => {
      const btf = parseBtf(btfBytes(object.path)!);

      it("raw dump equals bpftool btf dump", () => {
        expectSameLines(dumpBtfRawText(btf), bpftool(object.path));
      });

      it("C dump equals bpftool btf dump format c", () => {
        expectSameLines(asBpftool71(dumpBtfC(btf)), bpftool(object.path, "format", "c"));
      });

      it("C dump compiles, sizes and offsets as in the BTF, bitfields through a round trip", () => {
        expect(clang(dumpBtfC(btf) + layoutAsserts(btf), ["-fsyntax-only"])).toBe("");
        const { differences, compared } = roundTrip(btf);
        expect(differences).toEqual([]);
        expect(compared).toBe(namedAggregates(btf));
      });

      if (object.path.endsWith("-eb.elf")) {
        it("big-endian BTF dumps as its little-endian twin", () => {
          const twin = parseBtf(btfBytes(object.path.replace(/-eb\.elf$/, "-el.elf"))!);
          expect(btf.littleEndian).toBe(false);
          expect(dumpBtfRawText(btf)).toBe(dumpBtfRawText(twin));
          expect(dumpBtfC(btf)).toBe(dumpBtfC(twin));
        });
      }
    });
  }
});

function namedAggregates(btf: Btf): number {
  let count = 0;
  for (let id = 1; id < btf.typeCount; id++) {
    const t = btf.type(id);
    if ((t.kind === "struct" || t.kind === "union") && t.name !== "") count++;
  }
  return count;
}

// ---------------------------------------------------------------------------------------
// Inputs made for this test: a C file using the constructs a header must spell right, and
// BTF written by hand for what clang 14 never writes.

const KINDS_C = `
typedef int (*binop_t)(int, int);
typedef int (*printf_t)(const char *fmt, ...);
typedef void (*handlers_t[4])(void *ctx);
typedef char matrix_t[3][5];
typedef int (*(*returns_array_t)(int))[8];
enum color { RED, GREEN = 5, BLUE = -1 };
enum { TOP_A = 1, TOP_B = 2 };
enum byte_sized { ONE = 1 } __attribute__((packed));
struct __attribute__((packed)) packed_s { char c; int i; short s; };
struct bits { unsigned int a: 3; unsigned int b: 7; int : 0; unsigned char c: 2; long long d: 40; char tail; };
struct over_aligned { char c; long l __attribute__((aligned(16))); char end; };
struct tagged { int __attribute__((btf_type_tag("user"))) *uptr; int plain __attribute__((btf_decl_tag("member"))); };
struct node { struct node *next; struct peer *peer; union { int i; float f; } u; struct { char x; double y; } pair; enum { IN_A, IN_B } inner; };
struct peer { struct node n; const volatile int cv; int *restrict rp; _Bool flag; signed char sc; __int128 big; long double ld; };
struct empty {};
struct flex { int n; char data[]; };
union all { unsigned long long x; binop_t op; handlers_t hs; matrix_t m; returns_array_t r; printf_t p; };
struct holder { struct packed_s p; struct bits b; struct over_aligned a; struct tagged t; struct peer o; struct empty e;
	union all u; enum color col; enum byte_sized small; struct flex f; };
struct holder holder;
static volatile int counter;
extern int weak_var __attribute__((weak));
static __attribute__((noinline)) int add(int a, int b) { return a + b + counter; }
int __attribute__((btf_decl_tag("entry"))) entry(void *ctx) { return add(holder.col, TOP_B) + (int)(long)&weak_var; }
`;

describe("a C file with the declarators, layouts and tags a header must reproduce", () => {
  const object = join(work, "kinds.o");
  writeFileSync(join(work, "kinds.c"), KINDS_C);
  execFileSync("clang", ["-O2", "-g", "-target", "bpf", "-c", join(work, "kinds.c"), "-o", object]);
  const btf = parseBtf(btfBytes(object)!);

  it("dumps like bpftool, raw and C", () => {
    expectSameLines(dumpBtfRawText(btf), bpftool(object));
    expectSameLines(asBpftool71(dumpBtfC(btf)), bpftool(object, "format", "c"));
  });

  it("C dump keeps every layout, the 1-byte enum included (bpftool 7.1 makes it 4 bytes)", () => {
    const c = dumpBtfC(btf);
    expect(c).toContain("enum byte_sized {\n\tONE = 1,\n} __attribute__((mode(byte)));");
    expect(c).toContain("} __attribute__((packed));");
    expect(c).toContain("typedef int (* (*returns_array_t)(int))[8];");
    expect(c).toContain("typedef int (*printf_t)(const char *, ...);");
    expect(clang(c + layoutAsserts(btf), ["-fsyntax-only"])).toBe("");
    const { differences, compared } = roundTrip(btf);
    expect(differences).toEqual([]);
    expect(compared).toBe(namedAggregates(btf));
  });
});

/** Writes little-endian BTF from records: the 12-byte btf_type header plus trailing u32 words. */
class BtfBlob {
  private readonly words: number[] = [];
  private strings = "\0";
  private count = 0;

  /** Offset of `name` in the string section (0 for ""). */
  str(name: string): number {
    if (name === "") return 0;
    const offset = Buffer.byteLength(this.strings);
    this.strings += `${name}\0`;
    return offset;
  }

  /** Appends a type record and returns its id. */
  add(name: string, kind: number, vlen: number, kindFlag: boolean, sizeOrType: number, ...trailing: number[]): number {
    this.words.push(this.str(name), ((kindFlag ? 1 : 0) << 31) | (kind << 24) | vlen, sizeOrType, ...trailing);
    return ++this.count;
  }

  bytes(): Uint8Array {
    const strings = Buffer.from(this.strings);
    const out = Buffer.alloc(24 + this.words.length * 4 + strings.length);
    out.writeUInt16LE(0xeb9f, 0);
    out.writeUInt8(1, 2);
    out.writeUInt32LE(24, 4);
    out.writeUInt32LE(0, 8);
    out.writeUInt32LE(this.words.length * 4, 12);
    out.writeUInt32LE(this.words.length * 4, 16);
    out.writeUInt32LE(strings.length, 20);
    this.words.forEach((w, i) => out.writeUInt32LE(w >>> 0, 24 + i * 4));
    strings.copy(out, 24 + this.words.length * 4);
    return out;
  }
}

describe("hand-made BTF with the kinds and flags compilers rarely write", () => {
  // Kinds (BTF_KIND_*): INT 1, PTR 2, STRUCT 4, UNION 5, ENUM 6, FWD 7, TYPEDEF 8, FUNC 12,
  // FUNC_PROTO 13, VAR 14, DATASEC 15, FLOAT 16, DECL_TAG 17, TYPE_TAG 18, ENUM64 19.
  const b = new BtfBlob();
  const int = b.add("int", 1, 0, false, 4, (1 << 24) | 32); // SIGNED
  b.add("char", 1, 0, false, 1, (2 << 24) | 8); // CHAR
  b.add("_Bool", 1, 0, false, 1, (4 << 24) | 8); // BOOL
  b.add("mixed", 1, 0, false, 4, (3 << 24) | 32); // SIGNED|CHAR: no single name
  b.add("signed_e", 6, 2, true, 4, b.str("NEG"), -5 >>> 0, b.str("POS"), 7);
  b.add("wide_e", 6, 1, false, 8, b.str("WIDE_ONE"), 1); // 8-byte ENUM: mode(word)
  const split = (v: bigint) => [Number(BigInt.asUintN(64, v) & 0xffffffffn), Number(BigInt.asUintN(64, v) >> 32n)];
  b.add("big64", 19, 2, false, 8, b.str("HUGE"), ...split(2n ** 63n + 1n), b.str("SMALL"), ...split(1n));
  b.add("sbig64", 19, 2, true, 8, b.str("MINUS_BIG"), ...split(-(2n ** 40n)), b.str("MINUS_ONE"), ...split(-1n));
  b.add("small64", 19, 1, false, 8, b.str("ONLY"), ...split(3n)); // values fit 32 bits: mode(word)
  b.add("fu", 7, 0, true, 0);
  b.add("fs", 7, 0, false, 0);
  const float = b.add("float", 16, 0, false, 4);
  const tag = b.add("user", 18, 0, false, int);
  const ptr = b.add("", 2, 0, false, tag);
  const tagged = b.add("tagged", 4, 2, false, 16, b.str("p"), ptr, 0, b.str("f"), float, 64);
  b.add("member_tag", 17, 0, false, tagged, 1);
  b.add("struct_tag", 17, 0, false, tagged, -1 >>> 0);
  const proto = b.add("", 13, 2, false, int, b.str("a"), int, 0, 0); // int (int a, ...)
  b.add("ext_fn", 12, 2, false, proto);
  b.add("odd_fn", 12, 7, false, proto);
  const extVar = b.add("ext_var", 14, 0, false, int, 2);
  const oddVar = b.add("odd_var", 14, 0, false, int, 9);
  b.add(".data", 15, 2, false, 8, extVar, 0, 4, oddVar, 4, 4);
  b.add("vfn_t", 8, 0, false, b.add("", 2, 0, false, proto));
  b.add("bf", 4, 2, true, 4, b.str("lo"), int, (3 << 24) | 0, b.str("hi"), int, (5 << 24) | 3);
  const file = join(work, "hand-made.btf");
  writeFileSync(file, b.bytes());
  const btf = parseBtf(readFileSync(file));

  it("raw dump equals bpftool's, the wording of each flag included", () => {
    const raw = dumpBtfRawText(btf);
    expectSameLines(raw, bpftool(file));
    for (const line of [
      "[4] INT 'mixed' size=4 bits_offset=0 nr_bits=32 encoding=UNKN",
      "\t'NEG' val=-5",
      "\t'HUGE' val=9223372036854775809ULL",
      "\t'MINUS_ONE' val=-1LL",
      "[10] FWD 'fu' fwd_kind=union",
      "[17] DECL_TAG 'struct_tag' type_id=15 component_idx=-1",
      "[20] FUNC 'odd_fn' type_id=18 linkage=(unknown)",
      "[21] VAR 'ext_var' type_id=1, linkage=extern",
      "\ttype_id=22 offset=4 size=4 (VAR 'odd_var')",
      "\t'hi' type_id=1 bits_offset=3 bitfield_size=5",
    ]) expect(raw.split("\n")).toContain(line);
  });

  it("C dump equals bpftool's but for the enum modes, and compiles with the BTF's sizes", () => {
    const c = dumpBtfC(btf);
    expectSameLines(asBpftool71(c), bpftool(file, "format", "c"));
    expect(c).toContain("\tWIDE_ONE = 1,\n} __attribute__((mode(word)));");
    expect(c).toContain("\tSMALL = 1ULL,\n};");
    expect(c).toContain("\tONLY = 3ULL,\n} __attribute__((mode(word)));");
    expect(c).toContain("\tMINUS_ONE = -1LL,\n};");
    expect(c).toContain('int __attribute__((btf_type_tag("user"))) *p;');
    expect(c).toContain("typedef int (*vfn_t)(int a, ...);");
    expect(clang(c + layoutAsserts(btf), ["-fsyntax-only"])).toBe("");
  });

  it("pads a union whose BTF is larger than its members, which bpftool 7.1 does not", () => {
    const u = new BtfBlob();
    const i = u.add("int", 1, 0, false, 4, (1 << 24) | 32);
    u.add("u8", 5, 1, false, 8, u.str("x"), i, 0);
    u.add("u18", 5, 1, false, 18, u.str("x"), i, 0); // size not a multiple of 4: packed
    u.add("empty_u", 5, 0, false, 16);
    const padded = parseBtf(u.bytes());
    const c = dumpBtfC(padded);
    expect(c).toContain("union u8 {\n\tint x;\n\tlong: 64;\n};");
    expect(c).toContain("union u18 {\n\tint x;\n\tstruct {\n\t\tlong: 64;\n\t\tlong: 64;\n\t\tshort: 16;\n\t};\n} __attribute__((packed));");
    expect(c).toContain("union empty_u {\n\tstruct {\n\t\tlong: 64;\n\t\tlong: 64;\n\t};\n};");
    expect(clang(c + layoutAsserts(padded), ["-fsyntax-only"])).toBe("");
  });
});

describe("malformed BTF", () => {
  it("a loop of qualifiers is a BtfError in the C dump, not a stack overflow or a hang", () => {
    const b = new BtfBlob();
    b.add("", 10, 0, false, 2); // [1] CONST -> [2]
    b.add("", 10, 0, false, 1); // [2] CONST -> [1]
    b.add("t", 8, 0, false, 1); // [3] TYPEDEF t -> [1]
    const btf = parseBtf(b.bytes());
    expect(dumpBtfRawText(btf)).toBe("[1] CONST '(anon)' type_id=2\n[2] CONST '(anon)' type_id=1\n[3] TYPEDEF 't' type_id=1\n");
    expect(() => dumpBtfC(btf)).toThrow(BtfError);
  });
});

describe("tsbpf btf dump", () => {
  /** Runs cli/btf.ts in its own process, as main.ts will once the command is wired. */
  function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
    const script = 'import { btfDumpCommand } from "./cli/btf.ts"; btfDumpCommand(process.argv.slice(1));';
    const result = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, ...args], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      maxBuffer: 1 << 30,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  it("prints vmlinux as bpftool does, raw by default", () => {
    const result = run([VMLINUX]);
    expect(result.status, result.stderr).toBe(0);
    expectSameLines(result.stdout, bpftool(VMLINUX));
  });

  it("prints an object's BTF as C with --format c", () => {
    const object = allObjects().find((o) => o.label === "fixture/global_data.o")!;
    const result = run([object.path, "--format", "c"]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe(dumpBtfC(parseBtf(btfBytes(object.path)!)));
    expect(result.stdout).toBe(bpftool(object.path, "format", "c"));
  });

  it("refuses files without BTF and unknown formats", () => {
    const noBtf = allObjects().find((o) => o.label.endsWith("loader-clang-7-el.elf"))!;
    expect(() => btfDumpCommand([noBtf.path])).toThrow(CommandError);
    expect(() => btfDumpCommand([join(REPO_ROOT, "package.json")])).toThrow(/neither raw BTF/);
    expect(() => btfDumpCommand([VMLINUX, "--format", "json"])).toThrow(UsageError);
    expect(() => btfDumpCommand([join(work, "missing")])).toThrow(/no such file/);
  });
});
