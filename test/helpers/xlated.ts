// What the kernel holds for a program after verification (its "xlated" instructions), as
// libbpf loaded it (through bpftool) and as tsbpf loaded it, in a form where the two can be
// compared line by line.
//
// libbpf's side. `bpftool prog loadall OBJ DIR [type T]` opens the object with libbpf,
// loads every program and pins each one at DIR/<program name>. It runs in a private mount
// namespace (`unshare --mount`) on a bpffs mounted there for the occasion, with DIR a
// per-run directory inside it:
// - libbpf pins LIBBPF_PIN_BY_NAME maps (xdp-filter's, say) at /sys/fs/bpf/<map name> and
//   bpftool 7.1 cannot move that root; in the namespace that path is the private bpffs,
//   so nothing lands in the machine's /sys/fs/bpf, and nothing there is reused either;
// - when the namespace ends (the shell exits), its bpffs goes and with it every pin: the
//   programs and maps are freed without any cleanup that could be skipped.
// So the shell that loads also reads what we need while the programs live, into files:
//
//     <out>/loadall.rc, loadall.stderr      bpftool's exit status and libbpf's messages
//     <out>/<prog>.show.json                bpftool -j prog show pinned DIR/<prog>
//     <out>/<prog>.xlated                   bpftool prog dump xlated pinned ... file (raw bytes)
//     <out>/<prog>.xlated.json              bpftool -j prog dump xlated pinned ... (text)
//     <out>/map.<id>.json                   bpftool -j map show id <id>, for each map it uses
//
// tsbpf's side: BPF_OBJ_GET_INFO_BY_FD with xlated_prog_insns (programInfo(fd, { xlated:
// true })) for the bytes and map ids, the maps' own info for their names, and the same two
// bpftool commands on the program's id for the text.
//
// The raw dump is the kernel's bpf_insn_prepare_dump() (kernel/bpf/syscall.c) applied to
// the program after verification, fixups and JIT:
// - ld_imm64 of a map (BPF_PSEUDO_MAP_FD) or of an address in a map's value
//   (BPF_PSEUDO_MAP_VALUE) holds the map's global id in imm (and the offset in the second
//   slot's imm): ids differ between any two loads, see normalizedInstructions();
// - helper calls hold the helper's address as an offset from __bpf_call_base, bpf-to-bpf
//   calls the callee's subprogram index in imm and the relative jump in off; callbacks'
//   ld_imm64 (BPF_PSEUDO_FUNC) the relative offset: all of it a function of this kernel
//   and of the program's own layout, the same for any loader;
// - BPF_PROBE_MEM loads are shown as the BPF_MEM loads they were, tail calls as the call.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { Program } from "../../loader/object.js";
import { objectFdById } from "../../syscall/bpf-obj.js";
import { mapInfo, programInfo } from "../../syscall/info.js";

/** A program in the kernel, as either loader left it. */
export interface KernelProgram {
  /** The program's full name: tsbpf's key and libbpf's pin name (the kernel keeps 15 characters). */
  readonly name: string;
  readonly id: number;
  /** The kernel's tag: a hash of the instructions as loaded, map fds zeroed (bpf_prog_calc_tag). */
  readonly tag: string;
  /** bpftool's name of the program type ("xdp", "sched_cls"). */
  readonly type: string;
  readonly gplCompatible: boolean;
  /** The xlated instructions, 8-byte slots. */
  readonly insns: Uint8Array;
  /** Id to name of every map the program uses. */
  readonly mapNames: ReadonlyMap<number, string>;
  /** `bpftool -j prog dump xlated`: one entry per instruction (an ld_imm64 is one). */
  readonly dump: readonly BpftoolXlatedLine[];
}

/** One instruction as `bpftool -j prog dump xlated` prints it, with the BTF line info above it. */
export interface BpftoolXlatedLine {
  readonly disasm: string;
  /** The function's prototype (func_info), on a function's first instruction. */
  readonly proto?: string;
  /** The source line (line_info) that starts at this instruction. */
  readonly src?: string;
}

export interface LibbpfLoad {
  /** bpftool exited 0: libbpf loaded every program of the object. */
  readonly loaded: boolean;
  readonly status: number;
  /** libbpf's and bpftool's messages (stderr) without bpftool's banner about strict mode. */
  readonly messages: string;
  /** The programs it loaded, by name (empty when it failed: libbpf unloads everything then). */
  readonly programs: ReadonlyMap<string, KernelProgram>;
}

const BPFTOOL_BANNER = /^(Warning: bpftool is now running in libbpf strict mode|If it used to work for this object file but now doesn't).*\n?/gm;

// $1 object, $2 pin directory (inside the private bpffs), $3 output directory, $4... extra
// loadall arguments ("type xdp"). The mount is private to the namespace unshare made.
const LIBBPF_SCRIPT = String.raw`
set -u
obj=$1; dir=$2; out=$3; shift 3
mount -t bpf bpf /sys/fs/bpf || exit 90
mkdir -p "$dir" || exit 91
bpftool prog loadall "$obj" "$dir" "$@" 2>"$out/loadall.stderr"
echo $? >"$out/loadall.rc"
for pin in "$dir"/*; do
  [ -e "$pin" ] || continue
  prog=$(basename "$pin")
  bpftool -j prog show pinned "$pin" >"$out/$prog.show.json" || exit 92
  bpftool prog dump xlated pinned "$pin" file "$out/$prog.xlated" >/dev/null || exit 93
  bpftool -j prog dump xlated pinned "$pin" >"$out/$prog.xlated.json" || exit 94
  for id in $(sed -n 's/.*"map_ids":\[\([0-9,]*\)\].*/\1/p' "$out/$prog.show.json" | tr ',' ' '); do
    bpftool -j map show id "$id" >"$out/map.$id.json" || exit 95
  done
done
`;

interface BpftoolProgShow {
  id: number;
  type: string;
  name: string;
  tag: string;
  gpl_compatible: boolean;
  map_ids?: number[];
}

/**
 * Loads `objectPath` with libbpf (`bpftool prog loadall`, program types from the section
 * names unless `type` is given) in a private mount namespace, reads what the kernel holds
 * for each program, and lets it all go. `pinDir` is the per-run directory to pin under, a
 * path inside the namespace's own bpffs.
 */
export function libbpfLoadAll(objectPath: string, options: { pinDir: string; type?: string }): LibbpfLoad {
  const out = mkdtempSync(join(tmpdir(), "tsbpf-libbpf-"));
  try {
    const extra = options.type === undefined ? [] : ["type", options.type];
    const run = spawnSync(
      "unshare",
      ["--mount", "--propagation", "private", "sh", "-c", LIBBPF_SCRIPT, "tsbpf-libbpf", objectPath, options.pinDir, out, ...extra],
      { encoding: "utf8" },
    );
    if (run.error !== undefined || run.status !== 0) {
      throw new Error(`the libbpf oracle failed for ${objectPath} (status ${run.status}): ${run.error?.message ?? run.stderr}`);
    }
    const status = Number(readFileSync(join(out, "loadall.rc"), "utf8").trim());
    const messages = readFileSync(join(out, "loadall.stderr"), "utf8").replace(BPFTOOL_BANNER, "");
    const programs = new Map<string, KernelProgram>();
    for (const file of readdirSync(out).filter((f) => f.endsWith(".show.json")).sort()) {
      const name = file.slice(0, -".show.json".length);
      const show = readJson<BpftoolProgShow>(join(out, file));
      const mapNames = new Map((show.map_ids ?? []).map((id) => [id, readJson<{ name: string }>(join(out, `map.${id}.json`)).name]));
      programs.set(name, {
        name,
        id: show.id,
        tag: show.tag,
        type: show.type,
        gplCompatible: show.gpl_compatible,
        insns: Uint8Array.from(readFileSync(join(out, `${name}.xlated`))),
        mapNames,
        dump: readJson<BpftoolXlatedLine[]>(join(out, `${name}.xlated.json`)),
      });
    }
    return { loaded: status === 0, status, messages, programs };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** The same facts about a program tsbpf loaded: its kernel info, and bpftool's view of its id. */
export function ourKernelProgram(program: Program): KernelProgram {
  const info = programInfo(program.fd, { xlated: true });
  const mapNames = new Map<number, string>();
  for (const id of info.mapIds) {
    const fd = objectFdById("map", id);
    try {
      mapNames.set(id, mapInfo(fd).name);
    } finally {
      fd.close();
    }
  }
  const show = bpftoolJson<BpftoolProgShow>(["prog", "show", "id", String(info.id)]);
  return {
    name: program.name,
    id: info.id,
    tag: info.tag,
    type: show.type,
    gplCompatible: info.gplCompatible,
    insns: info.xlatedInsns ?? new Uint8Array(0),
    mapNames,
    dump: bpftoolJson<BpftoolXlatedLine[]>(["prog", "dump", "xlated", "id", String(info.id)]),
  };
}

/** The name libbpf gives an object opened from a file: the base name up to its first dot. */
export function libbpfObjectName(path: string): string {
  return basename(path).split(".")[0]!;
}

const LD_IMM64 = 0x18; // BPF_LD | BPF_IMM | BPF_DW
const BPF_PSEUDO_MAP_FD = 1;
const BPF_PSEUDO_MAP_VALUE = 2;

/**
 * One line per instruction: its fields, then bpftool's text of it. The one rewrite, on both
 * sides alike: a map's global id (imm of an ld_imm64 with src_reg BPF_PSEUDO_MAP_FD or
 * BPF_PSEUDO_MAP_VALUE, which is how the kernel dumps every map reference, whatever form
 * the loader used) becomes the map's name; ids are handed out per map creation, so no two
 * loads share them. Nothing else is rewritten: helper call immediates are offsets of the
 * helper from __bpf_call_base in this kernel, the same for both loaders, and a different
 * one would mean a different helper (the kernel picks some by program type and flags).
 */
export function normalizedInstructions(program: KernelProgram): string[] {
  const { insns, dump } = program;
  const view = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  const lines: string[] = [];
  let line = 0;
  for (let slot = 0; slot < insns.length / 8; slot++, line++) {
    const at = slot * 8;
    const code = view.getUint8(at);
    const regs = view.getUint8(at + 1);
    const dst = regs & 0x0f;
    const src = regs >> 4;
    const off = view.getInt16(at + 2, true);
    let imm: string = String(view.getInt32(at + 4, true));
    let second = "";
    if (code === LD_IMM64 && at + 16 <= insns.length) {
      if (src === BPF_PSEUDO_MAP_FD || src === BPF_PSEUDO_MAP_VALUE) imm = `map[${mapName(program, view.getUint32(at + 4, true))}]`;
      // The second slot: code, registers and off are zero; imm is the upper half (the offset for a map value).
      second = ` ; ${view.getUint8(at + 8).toString(16)} ${view.getUint8(at + 9)} ${view.getInt16(at + 10, true)} ${view.getInt32(at + 12, true)}`;
      slot++;
    }
    const text = dump[line] === undefined ? "(bpftool printed nothing here)" : normalizeText(program, dump[line]!.disasm);
    lines.push(`${code.toString(16).padStart(2, "0")} r${dst} r${src} off=${off} imm=${imm}${second}  | ${text}`);
  }
  return lines;
}

/**
 * bpftool's annotated dump: every instruction's text with the function prototypes
 * (func_info) and source lines (line_info) the kernel attached, map ids as names.
 */
export function normalizedDump(program: KernelProgram): string[] {
  const lines: string[] = [];
  for (const entry of program.dump) {
    if (entry.proto !== undefined) lines.push(`proto: ${entry.proto}`);
    if (entry.src !== undefined) lines.push(`src: ${entry.src}`);
    lines.push(normalizeText(program, entry.disasm));
  }
  return lines;
}

/** bpftool prints a map reference as map[id:N] (and map[id:N][0]+off for a value address). */
function normalizeText(program: KernelProgram, text: string): string {
  return text.replace(/map\[id:(\d+)\]/g, (_, id: string) => `map[${mapName(program, Number(id))}]`);
}

function mapName(program: KernelProgram, id: number): string {
  return program.mapNames.get(id) ?? `unknown map id ${id}`;
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

function bpftoolJson<T>(args: string[]): T {
  const run = spawnSync("bpftool", ["-j", ...args], { encoding: "utf8", maxBuffer: 64 << 20 });
  if (run.status !== 0) throw new Error(`bpftool ${args.join(" ")} failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** A unique directory name for this run under a bpffs: `<prefix>-<pid>-<random>`. */
export function runDirName(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}
