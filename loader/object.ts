// The loaded side of the API: LoadedObject owns the programs and maps that load() created;
// Program is one loaded program; XdpAttachment is a program attached to an interface.

import { SpecError } from "../common/errors.js";
import { ProgramType, XdpAction, nameOf } from "../common/uapi.js";
import { testRun, type TestRunOptions } from "../syscall/bpf-prog.js";
import { objectFdById, pinObject } from "../syscall/bpf-obj.js";
import { assertOnBpfFs } from "../syscall/bpffs.js";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Fd } from "../syscall/fd.js";
import { programInfo, type ProgramInfo } from "../syscall/info.js";
import { currentNetns, withNetns } from "../syscall/netns.js";
import { queryXdp, setXdp, xdpModeFlag, XDP_FLAGS_UPDATE_IF_NOEXIST, type XdpMode } from "../syscall/xdp.js";
import { resolveInterface } from "../syscall/netlink-link.js";
import type { BpfMap, LoadedMap } from "../maps/map.js";
import type { Codec } from "../maps/codec.js";
import { decodeAt, encodeAt, type VariableSpec } from "./variables.js";
import type { ProgramSpec } from "./programs.js";

export interface TestRunResult {
  /** What the program returned; for XDP an action number (XdpAction). */
  retval: number;
  /** For XDP programs, the action's name ("PASS", "DROP"...). */
  action: string | undefined;
  /** The packet as the program left it. */
  data: Uint8Array;
  /** Average run time in nanoseconds, as the kernel measured it. */
  duration: number;
}

export class Program {
  readonly name: string;
  /** The spec it was loaded from (editing it later changes nothing here). */
  readonly spec: ProgramSpec;
  /** enum bpf_prog_type, as loaded. */
  readonly type: number;
  readonly fd: Fd;

  constructor(spec: ProgramSpec, fd: Fd) {
    this.name = spec.name;
    this.spec = spec;
    this.type = spec.type;
    this.fd = fd;
  }

  /** BPF_OBJ_GET_INFO_BY_FD: id, tag, name, jited length... as bpftool shows them. */
  info(): ProgramInfo {
    return programInfo(this.fd);
  }

  /**
   * BPF_PROG_TEST_RUN: runs the program in the kernel on `packet` without any network.
   * `repeat` runs it that many times and reports the average duration.
   */
  testRun(packet: Uint8Array, options: Omit<TestRunOptions, "data"> = {}): TestRunResult {
    const result = testRun(this.fd, { ...options, data: packet });
    const action = this.type === ProgramType.XDP ? (nameOf(XdpAction, result.retval) as string | undefined) : undefined;
    return { retval: result.retval, action, data: result.data, duration: result.duration };
  }

  /** Pins the program in bpffs; the pin keeps it alive after this process exits. */
  pin(path: string): void {
    pinObject(this.fd, path);
  }

  close(): void {
    this.fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

export interface AttachXdpOptions {
  /** Which program, when the object has more than one XDP program. */
  program?: string;
  /**
   * "native" (driver), "skb" (generic, works everywhere), "offload" (NIC). Without it the
   * kernel chooses: native when the driver supports XDP, generic otherwise.
   */
  mode?: XdpMode;
  /** Replace a program already attached (atomically: only the one seen when replacing). */
  replace?: boolean;
}

export class LoadedObject {
  constructor(
    readonly programs: ReadonlyMap<string, Program>,
    readonly maps: ReadonlyMap<string, LoadedMap>,
    /** Global data maps by section name (".data", ".rodata", ".bss"...). */
    readonly dataMaps: ReadonlyMap<string, LoadedMap>,
    /** The object's BTF in the kernel (BPF_BTF_LOAD), when it has BTF the kernel accepted. */
    readonly btfFd: Fd | undefined = undefined,
    private readonly variables: ReadonlyMap<string, VariableSpec> = new Map(),
  ) {}

  /**
   * A global variable of .data, .bss or .rodata by name, read and written in the kernel's
   * map (so the program sees writes at once). .rodata is frozen: set it on the spec before
   * load instead.
   */
  variable(name: string): LoadedVariable {
    const spec = this.variables.get(name);
    if (spec === undefined) {
      throw new SpecError(`no global variable named ${name}; the object has: ${[...this.variables.keys()].join(", ") || "none"}`, { part: name });
    }
    const map = this.dataMaps.get(spec.section);
    if (map === undefined) throw new SpecError(`its section ${spec.section} has no map`, { part: name });
    return new LoadedVariable(spec, map);
  }

  program(name: string): Program {
    const program = this.programs.get(name);
    if (program === undefined) throw new SpecError(`no program named ${name}; loaded: ${[...this.programs.keys()].join(", ") || "none"}`, { part: name });
    return program;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  map<K = any, V = any>(name: string): BpfMap<K, V> {
    const map = this.maps.get(name) ?? this.dataMaps.get(name);
    if (map === undefined) throw new SpecError(`no map named ${name}; the object has: ${[...this.maps.keys()].join(", ") || "none"}`, { part: name });
    return map;
  }

  /**
   * Attaches an XDP program to an interface (name or ifindex) of the calling thread's
   * network namespace through rtnetlink (RTM_SETLINK, IFLA_XDP). Refuses to replace a
   * program already there unless `replace` is set.
   */
  attachXdp(ifindexOrName: number | string, options: AttachXdpOptions = {}): XdpAttachment {
    const program = this.xdpProgram(options.program);
    const iface = resolveInterface(ifindexOrName);
    const existing = options.replace ? attachedProgram(iface.ifindex, options.mode) : undefined;
    const requestedMode = options.mode ?? existing?.mode;
    const modeFlag = requestedMode === undefined ? 0 : xdpModeFlag(requestedMode);
    if (existing !== undefined) {
      // Replace exactly the program we saw: if another replaced it meanwhile, the kernel refuses.
      const expected = objectFdById("prog", existing.id);
      try {
        setXdp(iface.ifindex, { fd: program.fd, flags: modeFlag, expectedFd: expected, interfaceName: iface.name });
      } finally {
        expected.close();
      }
    } else {
      setXdp(iface.ifindex, { fd: program.fd, flags: modeFlag | XDP_FLAGS_UPDATE_IF_NOEXIST, interfaceName: iface.name });
    }
    const mode = requestedMode ?? attachedMode(iface.ifindex, program);
    return new XdpAttachment(iface.ifindex, iface.name, mode, program);
  }

  private xdpProgram(name: string | undefined): Program {
    if (name !== undefined) return this.program(name);
    const xdp = [...this.programs.values()].filter((p) => p.type === ProgramType.XDP);
    if (xdp.length === 1) return xdp[0];
    throw new SpecError(
      xdp.length === 0
        ? "the object has no XDP program to attach"
        : `the object has ${xdp.length} XDP programs (${xdp.map((p) => p.name).join(", ")}); say which with { program }`,
      { part: "attachXdp" },
    );
  }

  /**
   * Pins every program at `<dir>/<name>` and every map at `<dir>/maps/<name>` (data maps by
   * section, without the dot: "maps/rodata"), like `bpftool prog loadall OBJ DIR pinmaps
   * DIR/maps`. The pins keep programs and maps alive after this process: unpin() them.
   * Returns the paths pinned.
   */
  pinAll(dir: string): string[] {
    const paths: string[] = [];
    const pin = (object: { pin(path: string): void }, path: string) => {
      object.pin(path);
      paths.push(path);
    };
    assertOnBpfFs(join(dir, "maps"));
    try {
      mkdirSync(join(dir, "maps"), { recursive: true });
      for (const [name, program] of this.programs) pin(program, join(dir, name));
      for (const [name, map] of this.maps) pin(map, join(dir, "maps", name));
      // bpffs refuses names with a dot in them.
      for (const [section, map] of this.dataMaps) pin(map, join(dir, "maps", section.replace(/\./g, "_").replace(/^_/, "")));
    } catch (error) {
      for (const path of paths) unpin(path);
      throw error;
    }
    return paths;
  }

  /** Closes every program and map. Attachments stay in place (like `ip link set xdp`): detach them first. */
  close(): void {
    for (const program of this.programs.values()) program.close();
    for (const map of this.maps.values()) map.close();
    for (const map of this.dataMaps.values()) map.close();
    this.btfFd?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** The program attached in `mode` (or in any single mode when none is given), if any. */
function attachedProgram(ifindex: number, mode: XdpMode | undefined): { id: number; mode: XdpMode } | undefined {
  const { programs } = queryXdp(ifindex);
  for (const candidate of ["native", "skb", "offload"] as const) {
    const id = programs[candidate];
    if (id !== undefined && (mode === undefined || mode === candidate)) return { id, mode: candidate };
  }
  return undefined;
}

/**
 * Removes a pin (a program, map or directory of pins under bpffs). The object lives on
 * while something else holds it: an fd, an attachment, a program using the map.
 */
export function unpin(path: string): void {
  assertOnBpfFs(path);
  rmSync(path, { recursive: true, force: true });
}

/** A global variable in its data map. Every get and set is one map lookup (and update). */
export class LoadedVariable {
  private readonly codec: Codec<unknown>;

  constructor(
    readonly spec: VariableSpec,
    private readonly map: LoadedMap,
  ) {
    // The map's value is the whole section, laid out as the spec's contents.
    this.codec = spec.codec();
  }

  get name(): string {
    return this.spec.name;
  }

  get(): unknown {
    return decodeAt(this.codec, this.section(), this.spec.offset);
  }

  set(value: unknown): void {
    if (this.spec.constant) {
      throw new SpecError(`is in ${this.spec.section}, which is frozen after load: set it on the spec before loading`, { part: this.spec.name });
    }
    const bytes = this.section();
    encodeAt(this.codec, bytes, this.spec.offset, value, `variable ${this.spec.name}`);
    this.map.update(0, bytes);
  }

  private section(): Uint8Array {
    return this.map.lookup(0) as Uint8Array;
  }
}

/** After a mode-less attach, which mode the kernel chose. */
function attachedMode(ifindex: number, program: Program): XdpMode {
  const info = queryXdp(ifindex);
  const id = program.info().id;
  if (info.programs.native === id) return "native";
  if (info.programs.offload === id) return "offload";
  return "skb";
}

/**
 * An XDP program attached to an interface. It remembers the network namespace it was made
 * in and holds its own fd of the attached program, so that it can still detach after the
 * LoadedObject was closed.
 */
export class XdpAttachment {
  private readonly netns: Fd;
  /** Our own reference to the attached program: the IFLA_XDP_EXPECTED_FD of replace and detach. */
  private expected: Fd;
  private attached = true;

  constructor(
    readonly ifindex: number,
    readonly interfaceName: string,
    readonly mode: XdpMode,
    private current: Program,
  ) {
    this.netns = currentNetns();
    this.expected = current.fd.dup();
  }

  get program(): Program {
    return this.current;
  }

  /** Atomically swaps in another program: fails if someone else replaced ours meanwhile. */
  replace(program: Program): void {
    const next = program.fd.dup();
    try {
      withNetns(this.netns, () =>
        setXdp(this.ifindex, { fd: next, flags: xdpModeFlag(this.mode), expectedFd: this.expected, interfaceName: this.interfaceName }),
      );
    } catch (error) {
      next.close();
      throw error;
    }
    this.expected.close();
    this.expected = next;
    this.current = program;
  }

  /**
   * Removes the program, only if it is still ours (IFLA_XDP_EXPECTED_FD); idempotent. If
   * another program replaced ours, the kernel refuses (EEXIST) and that program stays.
   */
  detach(): void {
    if (!this.attached) return;
    try {
      withNetns(this.netns, () =>
        setXdp(this.ifindex, { fd: -1, flags: xdpModeFlag(this.mode), expectedFd: this.expected, interfaceName: this.interfaceName }),
      );
    } finally {
      this.attached = false;
      this.expected.close();
      this.netns.close();
    }
  }

  /**
   * Leaves the program attached for good (as `ip link set dev X xdp obj ...` does) and
   * releases what this handle holds; detach() afterwards does nothing.
   */
  keep(): void {
    if (!this.attached) return;
    this.attached = false;
    this.expected.close();
    this.netns.close();
  }

  [Symbol.dispose](): void {
    this.detach();
  }
}
