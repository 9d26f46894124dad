// What each BPF fixture in test/progs contains: programs (function name, ELF section,
// program type), maps (name, type, key/value size, entries) and the other sections worth
// knowing about. Parser and loader tests iterate over it instead of repeating these facts;
// test/fixtures.test.ts checks every line of it against llvm-readelf and, as root, against
// what libbpf (through bpftool) makes of the same objects.
//
// Names follow the kernel: programType "sched_cls" is BPF_PROG_TYPE_SCHED_CLS, map type
// "percpu_array" is BPF_MAP_TYPE_PERCPU_ARRAY (the spelling bpftool prints).

export type ProgramTypeName =
  | "socket_filter"
  | "kprobe"
  | "sched_cls"
  | "tracepoint"
  | "xdp"
  | "perf_event"
  | "cgroup_skb"
  | "raw_tracepoint"
  | "tracing";

export type MapTypeName = "hash" | "array" | "percpu_array" | "prog_array" | "array_of_maps";

/** BPF_MAP_TYPE_* numbers of the map types the fixtures use (linux/bpf.h enum bpf_map_type). */
export const MAP_TYPE_IDS: Record<MapTypeName, number> = { hash: 1, array: 2, percpu_array: 6, prog_array: 3, array_of_maps: 12 };

export interface FixtureProgram {
  /** C function name = FUNC symbol name. */
  name: string;
  /** ELF section holding it (the SEC() string). */
  section: string;
  programType: ProgramTypeName;
}

export interface FixtureMap {
  name: string;
  /** ".maps" for BTF-defined maps; "maps" for struct bpf_map_def / struct bpf_elf_map. */
  section: ".maps" | "maps";
  type: MapTypeName;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** map_flags (BPF_F_*); 0 when not given. */
  flags: number;
  /** Byte offset of the definition in a legacy "maps" section (= the symbol's st_value). */
  offset?: number;
  /** iproute2 struct bpf_elf_map only: id and pinning (PIN_NONE 0, PIN_GLOBAL_NS 2). */
  iproute2?: { id: number; pinning: number };
}

export interface Fixture {
  readonly programs: readonly FixtureProgram[];
  readonly maps: readonly FixtureMap[];
  /** Functions in .text called from programs (bpf-to-bpf calls), by address. */
  readonly subprograms: readonly { name: string; global: boolean }[];
  /** Global-data sections the loader turns into array maps. */
  readonly dataSections: readonly (".rodata" | ".data" | ".bss")[];
  /** Data maps the loader makes that are no ELF section: ".kconfig" holds __kconfig extern values. */
  readonly loaderDataMaps?: readonly ".kconfig"[];
  /** Value of the "version" section, when the fixture has one. */
  kernelVersion?: number;
  /** False for the fixture the verifier must reject. */
  verifierAccepts: boolean;
}

/** BPF_F_NO_PREALLOC from linux/bpf.h. */
export const BPF_F_NO_PREALLOC = 1;

const u32 = 4;
const u64 = 8;

function btfMap(name: string, type: MapTypeName, keySize: number, valueSize: number, maxEntries: number): FixtureMap {
  return { name, section: ".maps", type, keySize, valueSize, maxEntries, flags: 0 };
}

function xdp(name: string, section = "xdp"): FixtureProgram {
  return { name, section, programType: "xdp" };
}

const plain = { subprograms: [], dataSections: [], verifierAccepts: true } as const;

/** Every fixture, by NAME (test/progs/NAME.bpf.c). */
export const FIXTURES: Readonly<Record<string, Fixture>> = {
  xdp_pass: { ...plain, programs: [xdp("xdp_pass")], maps: [] },
  xdp_drop: { ...plain, programs: [xdp("xdp_drop")], maps: [] },
  xdp_counter: {
    ...plain,
    programs: [xdp("xdp_count")],
    // key = IPv4 protocol number (17 = UDP), value = packets
    maps: [btfMap("stats", "array", u32, u64, 256)],
  },
  xdp_percpu: {
    ...plain,
    programs: [xdp("xdp_count_percpu")],
    maps: [btfMap("percpu_stats", "percpu_array", u32, u64, 256)],
  },
  xdp_hash_saddr: {
    ...plain,
    programs: [xdp("xdp_count_saddr")],
    // key = IPv4 source address in network byte order, value = packets
    maps: [btfMap("saddr_counts", "hash", u32, u64, 1024)],
  },
  legacy_maps: {
    ...plain,
    programs: [xdp("xdp_legacy")],
    maps: [
      { name: "legacy_array", section: "maps", type: "array", keySize: u32, valueSize: u64, maxEntries: 4, flags: 0, offset: 0 },
      {
        name: "legacy_hash", section: "maps", type: "hash", keySize: u32, valueSize: u64, maxEntries: 16,
        flags: BPF_F_NO_PREALLOC, offset: 20,
      },
    ],
    kernelVersion: 0x060100,
  },
  iproute2_elf_map: {
    ...plain,
    programs: [{ name: "cls_count", section: "classifier", programType: "sched_cls" }, xdp("xdp_count_iproute2")],
    maps: [
      {
        name: "pinned_counts", section: "maps", type: "array", keySize: u32, valueSize: u64, maxEntries: 2,
        flags: 0, offset: 0, iproute2: { id: 1, pinning: 2 },
      },
      {
        name: "private_counts", section: "maps", type: "hash", keySize: u32, valueSize: u64, maxEntries: 64,
        flags: 0, offset: 36, iproute2: { id: 2, pinning: 0 },
      },
    ],
  },
  two_progs: {
    ...plain,
    // Both in section "xdp", in this order.
    programs: [xdp("xdp_first"), xdp("xdp_second")],
    maps: [btfMap("hits", "array", u32, u64, 2)],
  },
  callbacks: {
    ...plain,
    programs: [xdp("xdp_callbacks")],
    // In ELF (and fixed-up DATASEC) order: clang placed `numbers` first.
    maps: [btfMap("numbers", "array", u32, u64, 4), btfMap("results", "array", u32, u64, 2)],
    subprograms: [{ name: "sum_step", global: false }, { name: "add_value", global: false }],
  },
  map_values: {
    ...plain,
    programs: [xdp("xdp_tail"), xdp("xdp_entry")],
    maps: [btfMap("inner", "array", u32, u32, 1), btfMap("outer", "array_of_maps", u32, u32, 2), btfMap("jump_table", "prog_array", u32, u32, 2)],
  },
  subprog: {
    ...plain,
    programs: [xdp("xdp_static_call"), { name: "tc_global_call", section: "tc", programType: "sched_cls" }],
    maps: [btfMap("calls", "array", u32, u64, 4)],
    subprograms: [{ name: "classify_len", global: true }, { name: "bump", global: false }],
  },
  rejected: {
    ...plain,
    programs: [xdp("xdp_unchecked_lookup")],
    maps: [btfMap("counts", "hash", u32, u64, 1)],
    verifierAccepts: false,
  },
  global_data: {
    ...plain,
    programs: [xdp("xdp_globals")],
    maps: [],
    dataSections: [".rodata", ".data", ".bss"],
  },
  core_read: {
    ...plain,
    programs: [{ name: "core_task", section: "kprobe/do_sys_openat2", programType: "kprobe" }],
    maps: [btfMap("core_results", "array", u32, u64, 3)],
  },
  core_values: {
    ...plain,
    // Socket filters returning what their CO-RE relocations computed (see the source).
    programs: [
      "offset_pid", "offset_comm_5", "size_comm", "exists_mask", "signed_mask", "bitfield_iowait", "bitfield_pkt_type",
      "old_state_guarded", "type_size", "type_exists_mask", "type_id_kernel", "type_id_missing", "type_id_local",
      "enum_values", "enum_guarded", "enum64_low", "enum64_high",
    ].map((name): FixtureProgram => ({ name, section: "socket", programType: "socket_filter" })),
    maps: [],
  },
  core_tracing: {
    ...plain,
    programs: [
      { name: "kprobe_reads", section: "kprobe/do_nanosleep", programType: "kprobe" },
      { name: "tracepoint_reads", section: "tracepoint/sched/sched_switch", programType: "tracepoint" },
      { name: "raw_tp_reads", section: "raw_tp/sched_switch", programType: "raw_tracepoint" },
      { name: "tp_btf_reads", section: "tp_btf/sched_switch", programType: "tracing" },
      { name: "iter_task_pids", section: "iter/task", programType: "tracing" },
    ],
    maps: [],
  },
  sections: {
    ...plain,
    programs: [
      { name: "socket_prog", section: "socket", programType: "socket_filter" },
      { name: "kprobe_prog", section: "kprobe/do_sys_open", programType: "kprobe" },
      { name: "kretprobe_prog", section: "kretprobe/do_sys_open", programType: "kprobe" },
      { name: "tracepoint_prog", section: "tracepoint/syscalls/sys_enter_openat", programType: "tracepoint" },
      { name: "tp_prog", section: "tp/syscalls/sys_enter_execve", programType: "tracepoint" },
      { name: "raw_tp_prog", section: "raw_tracepoint/sys_enter", programType: "raw_tracepoint" },
      { name: "perf_event_prog", section: "perf_event", programType: "perf_event" },
      { name: "tc_prog", section: "tc", programType: "sched_cls" },
      { name: "xdp_frags_prog", section: "xdp.frags", programType: "xdp" },
      { name: "cgroup_skb_prog", section: "cgroup/skb", programType: "cgroup_skb" },
      { name: "cgroup_egress_prog", section: "cgroup_skb/egress", programType: "cgroup_skb" },
    ],
    maps: [],
  },
  typed_values: {
    ...plain,
    programs: [xdp("xdp_typed")],
    // Struct keys and values for the BTF-typed codecs (maps/btf-codec.ts): struct config
    // (28 bytes), struct record (64), struct sample_key (8) -> struct sample (160).
    maps: [btfMap("config", "array", u32, 28, 1), btfMap("records", "array", u32, 64, 1), btfMap("samples", "hash", 8, 160, 16)],
  },
  // Externs (loader/externs*.ts): values the loader takes from the running kernel, stored
  // by each program in .bss. The ".kconfig" map is the loader's, not in the ELF file.
  externs_kconfig: { ...plain, programs: [xdp("xdp_kconfig")], maps: [], dataSections: [".bss"], loaderDataMaps: [".kconfig"] },
  externs_ksym: { ...plain, programs: [xdp("xdp_ksyms")], maps: [], dataSections: [".bss"] },
  externs_kfunc: { ...plain, programs: [xdp("xdp_dynptr")], maps: [], dataSections: [".bss"] },
};

/** The demo's object (demo/xdp_stats.bpf.o); values are struct counter { __u64 packets, bytes; }. */
export const DEMO_FIXTURE: Fixture = {
  ...plain,
  programs: [xdp("xdp_stats")],
  maps: [
    btfMap("proto_counts", "array", u32, 16, 256), // key = IPv4 protocol number
    btfMap("port_counts", "hash", 2, 16, 4096), // key = __u16 destination port, host order
  ],
};
