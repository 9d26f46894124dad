// Every BPF object Debian ships, through loadObject() into the kernel, side by side with
// libbpf (bpftool prog loadall) on the same object.
//
// Objects: xdp-tools and xdp-tests (/usr/lib/x86_64-linux-gnu/bpf/*.o,
// /usr/libexec/xdp-tools/*.o) and golang-github-cilium-ebpf-dev's test objects (every *.elf
// under /usr/share/gocode/src/github.com/cilium/ebpf, -el little-endian and -eb big-endian;
// the tree has no other .o or .elf, and its testdata/vdso*.bin are x86-64 ELF, not BPF).
//
// The rule: an object either loads with every program it has accepted by the kernel, or
// loadObject() throws a BpfError whose message names the object part at fault (program, map,
// section) and says what to do, and leaves no descriptor open. EXPECTATIONS below says which,
// per object, with what libbpf 1.1 (bpftool 7.1) does with the same file next to it; each
// test checks both columns against reality, and the last one checks the promise between
// them: we load everything libbpf loads (the exceptions are listed, with the reason), and
// some of what it refuses (legacy `maps` sections, iproute2's bpf_elf_map, section names
// libbpf 1.x no longer guesses). On failure the whole table is printed, both columns.
//
// Several cilium objects are "not valid BPF programs" by design (see the .c next to each
// .elf): their row expects the error that says why, e.g. a verifier rejection naming the
// program.
//
// Pending rows (`pending:`) fail today for a loader feature in progress (CO-RE relocations,
// extern resolution): when it lands, the row's test fails with "now loads" or with the new
// message; update the row (its comment says what libbpf does, the likely new outcome).
//
// Kernel objects: maps pin under a per-run directory in bpffs (pinRoot), removed in
// afterAll; libbpf runs in a private mount namespace with its own bpffs (see
// helpers/xlated.ts), so its pins never touch /sys/fs/bpf. Nothing is attached.

import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BpfError,
  RelocationError,
  SpecError,
  SyscallError,
  VerifierError,
  loadObject,
  parseObject,
} from "../index.js";
import { fdLeaks } from "./helpers/fds.js";
import { skipWithoutRoot } from "./helpers/netns.js";
import { ciliumObjects, xdpToolsObjects, type TestObject } from "./helpers/objects.js";
import { libbpfLoadAll, libbpfObjectName, runDirName } from "./helpers/xlated.js";

type ErrorClass = typeof RelocationError | typeof SpecError | typeof SyscallError | typeof VerifierError;

/** What loadObject() does with the object. */
type Ours =
  | { readonly loads: readonly string[] }
  | {
      readonly fails: ErrorClass;
      /** The object part the message must name (program, map, section). */
      readonly part: string;
      /** What the message must say (the reason and what to do). */
      readonly says: RegExp;
    };

interface Row {
  readonly ours: Ours;
  /** What `bpftool prog loadall` does: "loads", or refuses with stderr matching the pattern. */
  readonly libbpf: "loads" | RegExp;
  /** `type T` for bpftool, where libbpf 1.x does not guess the type from the section name. */
  readonly libbpfType?: string;
  /** Fails today for a loader feature in progress; when it lands, update the row. */
  readonly pending?: "CO-RE" | "externs";
  /** We refuse what libbpf loads, on purpose: why. */
  readonly stricterThanLibbpf?: string;
  /** Our outcome is not yet what it should be: what should change (see the helper's report). */
  readonly finding?: string;
}

const loads = (...programs: string[]): Ours => ({ loads: programs });
const fails = (error: ErrorClass, part: string, says: RegExp): Ours => ({ fails: error, part, says });

const LEGACY_MAPS = /legacy map definitions in 'maps' section are not supported by libbpf v1\.0\+/;
const STATIC_PROGRAM = /sec 'static': program 'static_fn' is static and not supported/;

/** A big-endian object on this little-endian machine: refused before anything is created. */
const bigEndian = (): Row => ({
  ours: fails(SpecError, "ELF header", /the object is big-endian but this machine is little-endian; compile it with -target bpfel/),
  libbpf: /elf: endianness mismatch/,
});

/** The static function in section "static" (cilium's loader.c) is a program of no known type. */
const ciliumLoader = (libbpf: RegExp): Row => ({
  // loader.c exercises cilium's ELF reader: static_fn sits alone in section "static" and
  // global_fn3 in "other", called from xdp_prog through global_fn. Both become programs of
  // unknown type here. libbpf refuses the static one outright.
  ours: fails(SpecError, "static_fn", /section "static" does not say what kind of program this is; set spec\.programs\.get\("static_fn"\)\.type before loading/),
  libbpf,
});

const xdpfilt = (name: string): Row => ({ ours: loads(name), libbpf: "loads" });

/** Keyed by the label helpers/objects.ts gives each object. */
const EXPECTATIONS: Readonly<Record<string, Row>> = {
  // ---- xdp-tools and xdp-tests ----
  "xdp-tools/xdp-dispatcher.o": { ours: loads("xdp_dispatcher", "xdp_pass"), libbpf: "loads" },
  "xdp-tools/xdpdump_bpf.o": {
    // fentry/fexit programs with CO-RE reads of the XDP context. Their SEC("fentry/func")
    // names a placeholder that xdpdump replaces with the XDP program to trace just before
    // loading; libbpf, asked to load the file as is, finds no kernel function "func", and
    // neither do we.
    ours: fails(SpecError, "trace_on_entry", /fentry\/func: the kernel's BTF \(vmlinux\) has no function of that name/),
    libbpf: /prog 'trace_on_entry': failed to find kernel BTF type ID of 'func'/,
  },
  "xdp-tools/xdpdump_xdp.o": { ours: loads("xdpdump"), libbpf: "loads" },
  "xdp-tools/xdpfilt_alw_all.o": xdpfilt("xdpfilt_alw_all"),
  "xdp-tools/xdpfilt_alw_eth.o": xdpfilt("xdpfilt_alw_eth"),
  "xdp-tools/xdpfilt_alw_ip.o": xdpfilt("xdpfilt_alw_ip"),
  "xdp-tools/xdpfilt_alw_tcp.o": xdpfilt("xdpfilt_alw_tcp"),
  "xdp-tools/xdpfilt_alw_udp.o": xdpfilt("xdpfilt_alw_udp"),
  "xdp-tools/xdpfilt_dny_all.o": xdpfilt("xdpfilt_dny_all"),
  "xdp-tools/xdpfilt_dny_eth.o": xdpfilt("xdpfilt_dny_eth"),
  "xdp-tools/xdpfilt_dny_ip.o": xdpfilt("xdpfilt_dny_ip"),
  "xdp-tools/xdpfilt_dny_tcp.o": xdpfilt("xdpfilt_dny_tcp"),
  "xdp-tools/xdpfilt_dny_udp.o": xdpfilt("xdpfilt_dny_udp"),
  "xdp-tools/xsk_def_xdp_prog.o": { ours: loads("xsk_def_prog"), libbpf: "loads" },
  "xdp-tools/xsk_def_xdp_prog_5.3.o": { ours: loads("xsk_def_prog"), libbpf: "loads" },
  "xdp-tools/test_long_func_name.o": {
    ours: loads("xdp_test_prog_with_a_long_name", "xdp_test_prog_with_a_long_name_too"),
    libbpf: "loads",
  },
  "xdp-tools/xdp_drop.o": { ours: loads("xdp_drop"), libbpf: "loads" },
  "xdp-tools/xdp_pass.o": { ours: loads("xdp_pass"), libbpf: "loads" },

  // ---- cilium/ebpf, little-endian ----
  "cilium/btf/testdata/relocs-el.elf": {
    // CO-RE test programs (relocs.c) meant to run against their own BTF as the target
    // (cilium's tests); against vmlinux some relocations cannot resolve (struct s is not a
    // kernel type): both loaders poison them, and the verifier refuses the first program
    // that reaches one; we name the relocation and its source line.
    ours: fails(RelocationError, "fields", /poisoned by CO-RE relocation #0 \(FIELD_BYTE_OFFSET of s\._1/),
    libbpf: /failed to resolve CO-RE relocation/,
    libbpfType: "socket", // SEC("socket_filter/...") is not a libbpf 1.x section name
  },
  "cilium/btf/testdata/relocs_read-el.elf": {
    // Same story (relocs_read.c reads struct s, which only relocs_read_tgt.elf defines).
    ours: fails(RelocationError, "reads", /poisoned by CO-RE relocation #0 \(FIELD_BYTE_OFFSET of s\.a/),
    libbpf: /failed to resolve CO-RE relocation <byte_off> \[4\] struct s\.a/,
  },
  "cilium/btf/testdata/relocs_read_tgt-el.elf": { ours: loads(), libbpf: "loads" }, // BTF only
  "cilium/testdata/btf_map_init-el.elf": {
    // A prog array initialized with tail_1 and a map of maps initialized with inner_map.
    ours: loads("tail_1", "tail_main"),
    libbpf: "loads",
    libbpfType: "socket", // "socket/tail", "socket/main": libbpf 1.x wants exactly "socket"
  },
  "cilium/testdata/freplace-el.elf": {
    // SEC("freplace/subprog"): an extension program, loadable only with the program whose
    // function it replaces (attach_prog_fd) and that function's BTF id (attach_btf_id).
    // Both refuse before the syscall.
    ours: fails(SpecError, "replacement", /extension program \(freplace\)/),
    libbpf: /prog 'replacement': failed to prepare load attributes: -22/,
  },
  "cilium/testdata/fwd_decl-el.elf": {
    // `int fwd();` declared, called, never defined.
    ours: fails(SpecError, "fwd", /is an undefined symbol that is neither a __kconfig nor a __ksym extern/),
    libbpf: /failed to find BTF for extern 'fwd'/,
  },
  "cilium/testdata/invalid_btf_map_init-el.elf": {
    // `.key = (void *)1` in a BTF map definition puts a non-zero byte in .maps.
    ours: fails(SpecError, "hash_map", /byte 8 of \.maps is initialized; a BTF map definition can only initialize \.values with pointers/),
    libbpf: "loads",
    stricterThanLibbpf: "libbpf ignores the initialized bytes of a BTF map definition; we refuse them, as cilium/ebpf does",
  },
  "cilium/testdata/invalid_map-el.elf": {
    ours: fails(SpecError, "invalid_map", /struct bpf_map_def has 4 bytes past map_flags.*remove it or use a BTF-defined map in \.maps/),
    libbpf: LEGACY_MAPS,
  },
  "cilium/testdata/invalid_map_static-el.elf": { ours: loads("xdp_prog"), libbpf: LEGACY_MAPS },
  "cilium/testdata/iproute2_map_compat-el.elf": { ours: loads(), libbpf: LEGACY_MAPS }, // a bpf_elf_map, pinned PIN_GLOBAL_NS
  "cilium/testdata/loader-clang-14-el.elf": ciliumLoader(STATIC_PROGRAM),
  "cilium/testdata/loader-clang-7-el.elf": ciliumLoader(LEGACY_MAPS),
  "cilium/testdata/loader-clang-9-el.elf": ciliumLoader(STATIC_PROGRAM),
  "cilium/testdata/loader-el.elf": ciliumLoader(STATIC_PROGRAM),
  "cilium/testdata/map_spin_lock-el.elf": { ours: loads(), libbpf: "loads" }, // one map, no program
  "cilium/testdata/raw_tracepoint-el.elf": { ours: loads("sched_process_exec"), libbpf: "loads" },
  "cilium/testdata/strings-el.elf": {
    // MIT-licensed, calls bpf_trace_printk, which is GPL-only.
    ours: fails(VerifierError, "filter", /cannot call GPL-restricted function from non-GPL compatible program/),
    libbpf: /cannot call GPL-restricted function from non-GPL compatible program/,
  },
  "cilium/testdata/subprog_reloc-el.elf": { ours: loads("fp_relocation"), libbpf: LEGACY_MAPS },

  // ---- cilium/ebpf, big-endian ----
  "cilium/btf/testdata/relocs-eb.elf": bigEndian(),
  "cilium/btf/testdata/relocs_read-eb.elf": bigEndian(),
  "cilium/btf/testdata/relocs_read_tgt-eb.elf": bigEndian(),
  "cilium/testdata/btf_map_init-eb.elf": bigEndian(),
  "cilium/testdata/freplace-eb.elf": bigEndian(),
  "cilium/testdata/fwd_decl-eb.elf": bigEndian(),
  "cilium/testdata/invalid_btf_map_init-eb.elf": bigEndian(),
  "cilium/testdata/invalid_map-eb.elf": bigEndian(),
  "cilium/testdata/invalid_map_static-eb.elf": bigEndian(),
  "cilium/testdata/iproute2_map_compat-eb.elf": bigEndian(),
  "cilium/testdata/loader-clang-14-eb.elf": bigEndian(),
  "cilium/testdata/loader-clang-7-eb.elf": bigEndian(),
  "cilium/testdata/loader-clang-9-eb.elf": bigEndian(),
  "cilium/testdata/loader-eb.elf": bigEndian(),
  "cilium/testdata/map_spin_lock-eb.elf": bigEndian(),
  "cilium/testdata/raw_tracepoint-eb.elf": bigEndian(),
  "cilium/testdata/strings-eb.elf": bigEndian(),
  "cilium/testdata/subprog_reloc-eb.elf": bigEndian(),
};

/** What actually happened, per object, for the table printed on failure. */
interface Observed {
  ours?: string;
  libbpf?: string;
}

const LIBBPF_REASON =
  /^(libbpf: .*(mismatch|not supported|unrecognized|failed to (find|prepare|resolve|guess|load)|load failed|is static).*|Error: .*)$/m;

function describeOurs(ours: Ours): string {
  return "loads" in ours ? `loads [${ours.loads.join(", ")}]` : `${ours.fails.name} naming ${ours.part}`;
}

function firstLine(text: string): string {
  return text.split("\n").find((line) => line.trim() !== "")?.trim() ?? "";
}

const objects: TestObject[] = [...xdpToolsObjects(), ...ciliumObjects()];
const observed = new Map<string, Observed>();

describe.skipIf(skipWithoutRoot || objects.length === 0)("Debian's BPF objects: tsbpf and libbpf side by side", () => {
  const pinRoot = `/sys/fs/bpf/${runDirName("tsbpf-debian-objects")}`;
  // What the loader did differently from what an object asks (BTF sanitized, say) is not
  // the subject here: the other suites check the warnings.
  const onWarning = () => {};

  beforeAll(() => mkdirSync(pinRoot));
  afterAll(() => rmSync(pinRoot, { recursive: true, force: true }));

  it("every object installed has a row, and every row an object", () => {
    const labels = objects.map((o) => o.label);
    expect(labels.filter((label) => EXPECTATIONS[label] === undefined), "objects without a row: add them").toEqual([]);
    // Rows of a package that is not installed are not missing objects.
    const packages = new Set(objects.map((o) => o.origin));
    const orphans = Object.keys(EXPECTATIONS).filter((label) => packages.has(label.split("/")[0] as TestObject["origin"]) && !labels.includes(label));
    expect(orphans, "rows without an object").toEqual([]);
  });

  for (const object of objects) {
    const row = EXPECTATIONS[object.label];
    if (row === undefined) continue;
    const seen: Observed = {};
    observed.set(object.label, seen);
    const tags = [row.pending && `pending ${row.pending}`, row.finding && "finding", row.stricterThanLibbpf && "stricter than libbpf"].filter(Boolean);
    const suffix = tags.length === 0 ? "" : ` [${tags.join(", ")}]`;

    describe(object.label, () => {
      it(`tsbpf: ${describeOurs(row.ours)}${suffix}`, () => {
        const bytes = readFileSync(object.path);
        const check = fdLeaks(() => loadObject(bytes, { pinRoot, onWarning }));
        const error = check.error;
        seen.ours = error === undefined ? `loads [${[...check.result!.programs.keys()].join(", ")}]` : `${(error as Error).name}: ${firstLine((error as Error).message)}`;
        try {
          if ("loads" in row.ours) {
            expect(error, `${object.label} was expected to load: ${(error as Error | undefined)?.message}`).toBeUndefined();
            const loaded = check.result!;
            // Every program of the object, each one accepted by the kernel as the type its section says.
            expect([...loaded.programs.keys()]).toEqual(row.ours.loads);
            expect([...loaded.programs.keys()]).toEqual([...parseObject(bytes).programs.keys()]);
            for (const program of loaded.programs.values()) {
              const info = program.info();
              expect(info.id, program.name).toBeGreaterThan(0);
              expect(info.type, program.name).toBe(program.type);
            }
          } else {
            expect(error, `${object.label} loads now: make its row loads(...)${row.pending ? ` (${row.pending} landed)` : ""}`).toBeDefined();
            expect(error).toBeInstanceOf(BpfError);
            expect(error, (error as Error).message).toBeInstanceOf(row.ours.fails);
            const message = (error as Error).message;
            expect(message).toContain(row.ours.part);
            expect(message).toMatch(row.ours.says);
            // A failed load closes everything it created.
            expect(check.opened).toEqual([]);
          }
        } finally {
          check.result?.close();
        }
      });

      it(`libbpf: ${row.libbpf === "loads" ? "loads" : "refuses"}${row.libbpfType ? ` (type ${row.libbpfType})` : ""}`, () => {
        const result = libbpfLoadAll(object.path, { pinDir: `/sys/fs/bpf/${runDirName("tsbpf-libbpf")}/${libbpfObjectName(object.path)}`, type: row.libbpfType });
        const reason = LIBBPF_REASON.exec(result.messages)?.[0];
        seen.libbpf = result.loaded ? `loads [${[...result.programs.keys()].join(", ")}]` : `refuses: ${reason ?? firstLine(result.messages)}`;
        if (row.libbpf === "loads") {
          expect(result.loaded, result.messages).toBe(true);
          // bpftool pins each program under its name: the same programs as ours.
          if ("loads" in row.ours) expect([...result.programs.keys()].sort()).toEqual([...row.ours.loads].sort());
        } else {
          expect(result.loaded).toBe(false);
          expect(result.messages).toMatch(row.libbpf);
        }
      });
    });
  }

  it("loads every object libbpf loads, except the ones refused on purpose, and some that libbpf refuses", () => {
    const table = formatTable();
    const libbpfOnly = Object.entries(EXPECTATIONS).filter(([, row]) => row.libbpf === "loads" && !("loads" in row.ours) && row.stricterThanLibbpf === undefined);
    expect(libbpfOnly.map(([label]) => label), `libbpf loads these and we do not:\n${table}`).toEqual([]);
    const oursOnly = Object.entries(EXPECTATIONS).filter(([, row]) => row.libbpf !== "loads" && "loads" in row.ours);
    expect(oursOnly.length, table).toBeGreaterThan(0);
    // The table's columns are what the per-object tests saw (they ran first).
    for (const [label, seen] of observed) {
      const row = EXPECTATIONS[label]!;
      if (seen.ours !== undefined) expect(seen.ours.startsWith("loads"), `${label}\n${table}`).toBe("loads" in row.ours);
      if (seen.libbpf !== undefined) expect(seen.libbpf.startsWith("loads"), `${label}\n${table}`).toBe(row.libbpf === "loads");
    }
  });
});

/** Both columns, as observed, one object per line. */
function formatTable(): string {
  const rows = [...observed].map(([label, seen]) => {
    const row = EXPECTATIONS[label]!;
    const flags = [row.pending && `pending ${row.pending}`, row.finding && `finding: ${row.finding}`, row.stricterThanLibbpf && `stricter: ${row.stricterThanLibbpf}`].filter(Boolean);
    return `${label}\n    tsbpf:  ${seen.ours ?? "(not run)"}\n    libbpf: ${seen.libbpf ?? "(not run)"}${flags.length ? `\n    ${flags.join("; ")}` : ""}`;
  });
  return rows.join("\n");
}

// Sanity of the table itself, without a kernel.
describe("the expectations table", () => {
  it("names an object part for every failure and a pattern for every refusal", () => {
    for (const [label, row] of Object.entries(EXPECTATIONS)) {
      if (!("loads" in row.ours)) expect(row.ours.part, label).not.toBe("");
      if (row.pending !== undefined) expect("loads" in row.ours, `${label}: a pending row fails today`).toBe(false);
    }
  });

  it.skipIf(!existsSync("/usr/share/gocode/src/github.com/cilium/ebpf"))("has a big-endian row for every little-endian cilium object", () => {
    const labels = Object.keys(EXPECTATIONS);
    for (const label of labels.filter((l) => l.endsWith("-el.elf"))) expect(labels, label).toContain(label.replace(/-el\.elf$/, "-eb.elf"));
  });
});
