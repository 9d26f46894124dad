// Externs against the running kernel (root): the values programs read must be what the
// kernel itself says (/proc/config.gz, uname, /proc/kallsyms), the instructions must be
// the ones libbpf produces from the same object (bpftool prog loadall, xlated instructions
// compared with map ids masked, the .kconfig map compared byte for byte), and every way an
// extern can be missing must fail with an error that names it, leaking no descriptor.
//
// The fixtures test/progs/externs_*.bpf.c load on any kernel with BTF. The cases that
// cannot load (on purpose, or on a kernel without CONFIG_KALLSYMS_ALL) would break the
// fixture suite's "libbpf loads it" check, so this file compiles them itself, from SOURCES.

import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { release } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RelocationError, SpecError, VerifierError } from "../common/errors.js";
import { BtfBuilder, BtfFuncLinkage } from "../btf/builder.js";
import { parseBtf } from "../btf/parse.js";
import { BPF_LD_IMM64, BPF_PSEUDO_BTF_ID, BPF_PSEUDO_KFUNC_CALL, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE } from "../insn/opcodes.js";
import { SlotView } from "../insn/slots.js";
import { loadObject, type LoadedObject } from "../index.js";
import { resolveExterns } from "../loader/externs.js";
import { objectExterns, type KconfigExtern } from "../loader/externs-spec.js";
import { runningKernel, type KernelFacts } from "../loader/externs-kernel.js";
import { loadKernelBtf } from "../loader/kernel-btf.js";
import { link } from "../loader/link.js";
import { resolveReferences } from "../loader/resolve.js";
import { parseObject } from "../loader/spec.js";
import { BpfMap } from "../maps/map.js";
import { loadBtf } from "../syscall/bpf-btf.js";
import { getPinnedObject } from "../syscall/bpf-obj.js";
import { loadProgram } from "../syscall/prog-load.js";
import { programInfo } from "../syscall/info.js";
import { ProgramType } from "../common/uapi.js";
import { fdLeaks } from "./helpers/fds.js";
import { skipWithoutRoot } from "./helpers/netns.js";
import { PROGS_BUILD_DIR, REPO_ROOT, compileBpf, progPath, readProg } from "./helpers/progs.js";

const PREAMBLE = `#include <linux/bpf.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
`;

/** Offset of `cpu` in the kernel's struct rq: compiled into the program, which only knows a stub. */
function rqCpuOffset(): number {
  const rq = loadKernelBtf().typeByName("rq", "struct");
  const cpu = rq?.kind === "struct" ? rq.members.find((m) => m.name === "cpu") : undefined;
  if (cpu === undefined) throw new Error("the kernel's struct rq has no member cpu");
  return cpu.bitOffset / 8;
}

/** Objects that must not (or may not) load, compiled by this file; name -> C after PREAMBLE. */
const SOURCES: Record<string, () => string> = {
  missing_config: () => `
extern int CONFIG_TSBPF_NO_SUCH_OPTION __kconfig;
SEC("xdp") int xdp_missing_config(struct xdp_md *ctx) { return CONFIG_TSBPF_NO_SUCH_OPTION ? XDP_DROP : XDP_PASS; }`,
  missing_kfunc: () => `
extern int bpf_tsbpf_no_such_kfunc(struct xdp_md *ctx) __ksym;
SEC("xdp") int xdp_missing_kfunc(struct xdp_md *ctx) { return bpf_tsbpf_no_such_kfunc(ctx); }`,
  weak_kfunc_reached: () => `
extern int bpf_tsbpf_no_such_kfunc(struct xdp_md *ctx) __ksym __weak;
SEC("xdp") int xdp_weak_reached(struct xdp_md *ctx) { bpf_tsbpf_no_such_kfunc(ctx); return XDP_PASS; }`,
  wrong_prototype: () => `
extern int bpf_dynptr_from_xdp(struct xdp_md *xdp) __ksym; /* the kernel's takes three parameters */
SEC("xdp") int xdp_wrong_prototype(struct xdp_md *ctx) { return bpf_dynptr_from_xdp(ctx) ? XDP_DROP : XDP_PASS; }`,
  typeless_data: () => `
extern const void bpf_prog_active __ksym;
__u64 address;
SEC("xdp") int xdp_typeless_data(struct xdp_md *ctx) { address = (__u64)&bpf_prog_active; return XDP_PASS; }`,
  struct_kconfig: () => `
struct pair { int a, b; };
extern struct pair CONFIG_HZ __kconfig;
SEC("xdp") int xdp_struct_kconfig(struct xdp_md *ctx) { return CONFIG_HZ.a ? XDP_PASS : XDP_DROP; }`,
  weak_typed_var: () => `
extern const int cpu_number __ksym __weak;
__u64 present = 2;
SEC("xdp") int xdp_weak_typed(struct xdp_md *ctx) { present = &cpu_number != 0; return XDP_PASS; }`,
  // Returns XDP_PASS when every per-CPU variable reads as it should.
  typed_vars: () => `
#define RQ_CPU_OFFSET ${rqCpuOffset()}
struct rq { int stub; }; /* only the kind is checked against the kernel's */
extern const int cpu_number __ksym;
extern const int bpf_prog_active __ksym;
extern const struct rq runqueues __ksym;
SEC("xdp") int xdp_typed_vars(struct xdp_md *ctx)
{
	const struct rq *rq0 = bpf_per_cpu_ptr(&runqueues, 0);
	const struct rq *here = bpf_this_cpu_ptr(&runqueues);
	int cpu = *(const int *)bpf_this_cpu_ptr(&cpu_number);

	if (!rq0 || *(const int *)((const char *)rq0 + RQ_CPU_OFFSET) != 0)
		return XDP_DROP;
	if (*(const int *)((const char *)here + RQ_CPU_OFFSET) != cpu || cpu != bpf_get_smp_processor_id())
		return XDP_DROP;
	return *(const int *)bpf_this_cpu_ptr(&bpf_prog_active) == 0 ? XDP_PASS : XDP_DROP;
}`,
  module_kfunc: () => `
extern int tsbpf_module_kfunc(struct xdp_md *ctx) __ksym;
SEC("xdp") int xdp_module_kfunc(struct xdp_md *ctx) { return tsbpf_module_kfunc(ctx); }`,
};

/** An Ethernet frame of 64 bytes with this EtherType. */
function frame(etherType: number): Uint8Array {
  const bytes = new Uint8Array(64);
  bytes[12] = etherType >> 8;
  bytes[13] = etherType & 0xff;
  return bytes;
}

/** The kernel config as text, read with zcat: nothing of ours. */
function kernelConfigText(): string {
  try {
    return execFileSync("zcat", ["/proc/config.gz"], { encoding: "latin1" });
  } catch {
    return readFileSync(`/boot/config-${release()}`, "latin1");
  }
}

function configValue(name: string): string | undefined {
  return new RegExp(`^${name}=(.*)$`, "m").exec(kernelConfigText())?.[1];
}

/** Addresses /proc/kallsyms lists for `name`. */
function kallsymsAddresses(name: string): bigint[] {
  const lines = readFileSync("/proc/kallsyms", "latin1").split("\n");
  return lines.filter((l) => l.split(/\s+/)[2] === name).map((l) => BigInt(`0x${l.split(" ")[0]}`));
}

/** The xlated instructions with map ids (the imm of ld_imm64 map references) zeroed. */
function xlatedWithoutMapIds(xlated: Uint8Array): Buffer {
  const bytes = Buffer.from(xlated);
  const slots = new SlotView(bytes, true);
  for (let slot = 0; slot < slots.count; slot++) {
    if (slots.opcode(slot) !== BPF_LD_IMM64) continue;
    if (slots.src(slot) === BPF_PSEUDO_MAP_FD || slots.src(slot) === BPF_PSEUDO_MAP_VALUE) slots.setImm(slot, 0);
    slot++;
  }
  return bytes;
}

describe.skipIf(skipWithoutRoot)("externs in the running kernel", () => {
  const run = `${process.pid}-${randomBytes(3).toString("hex")}`;
  const pinRoot = `/sys/fs/bpf/tsbpf-externs-${run}`;
  const scratch = `${PROGS_BUILD_DIR}/externs-${run}`;
  const compiled = new Map<string, Buffer>();
  const open: LoadedObject[] = [];
  const keep = (obj: LoadedObject) => (open.push(obj), obj);

  /** bpftool prog loadall into a fresh pin directory (programs) and its -maps sibling. */
  const bpftoolLoadall = (label: string, path: string) => {
    const progs = join(pinRoot, label);
    const maps = join(pinRoot, `${label}-maps`);
    const result = spawnSync("bpftool", ["prog", "loadall", path, progs, "pinmaps", maps], { encoding: "utf8" });
    return { ...result, progs, maps };
  };

  beforeAll(async () => {
    mkdirSync(pinRoot);
    mkdirSync(join(REPO_ROOT, scratch), { recursive: true });
    await Promise.all(
      Object.entries(SOURCES).map(async ([name, source]) => {
        writeFileSync(join(REPO_ROOT, scratch, `${name}.c`), PREAMBLE + source());
        await compileBpf(`${scratch}/${name}.c`, `${scratch}/${name}.o`);
        compiled.set(name, readFileSync(join(REPO_ROOT, scratch, `${name}.o`)));
      }),
    );
    // Warm up: descriptors that live as long as the process (libc handle, CPU count) must not count as leaks.
    loadObject(readProg("xdp_pass")).close();
  });

  afterAll(() => {
    for (const obj of open) obj.close();
    rmSync(pinRoot, { recursive: true, force: true });
    rmSync(join(REPO_ROOT, scratch), { recursive: true, force: true });
  });

  describe("__kconfig", () => {
    it("a program reads the kernel's config, version and virtual values", () => {
      const warnings: string[] = [];
      const obj = keep(loadObject(readProg("externs_kconfig"), { name: "externs_kconfig", onWarning: (w) => warnings.push(w) }));
      expect(warnings).toEqual([]); // the object's BTF, externs included, was accepted
      expect(obj.btfFd).toBeDefined();
      expect(obj.program("xdp_kconfig").testRun(frame(0x0800)).action).toBe("PASS");
      const values = obj.variable("values").get() as Record<string, bigint | string>;

      const [major, minor, patch] = execFileSync("uname", ["-r"], { encoding: "utf8" }).split(/[.-]/).map(Number);
      const tristate = (name: string) => ({ y: 1n, m: 2n }[configValue(name) ?? ""] ?? 0n);
      expect(values).toEqual({
        kernel_version: BigInt((major << 16) + (minor << 8) + Math.min(patch, 255)),
        has_syscall_wrapper: kallsymsAddresses(`__x64_sys_bpf`).length > 0 ? 1n : 0n,
        has_bpf_cookie: 1n, // Linux 5.15 and later
        bpf: configValue("CONFIG_BPF") === "y" ? 1n : 0n,
        bpf_jit: tristate("CONFIG_BPF_JIT"),
        net: BigInt((configValue("CONFIG_NET") ?? "\0").charCodeAt(0)),
        hz: BigInt(configValue("CONFIG_HZ")!),
        nr_cpus: BigInt(configValue("CONFIG_NR_CPUS")!),
        localversion: JSON.parse(configValue("CONFIG_LOCALVERSION")!),
        kasan: tristate("CONFIG_KASAN"),
        no_such_bool: 0n,
        no_such_int: 0n,
      });
      expect(values.bpf).toBe(1n);
      expect(configValue("CONFIG_KASAN")).toBeUndefined(); // "# CONFIG_KASAN is not set"
    });

    it("the .kconfig map is read-only for programs, frozen, and holds the bytes libbpf puts there", () => {
      const obj = keep(loadObject(readProg("externs_kconfig"), { name: "externs_kconfig" }));
      const ours = obj.dataMaps.get(".kconfig")!;
      expect(ours.name).toBe("externs.kconfig");
      expect(() => ours.update(0, new Uint8Array(65))).toThrow(/EPERM/); // frozen
      const libbpf = bpftoolLoadall("kconfig", progPath("externs_kconfig"));
      expect(libbpf.status, libbpf.stderr).toBe(0);
      // libbpf names the map "externs.kconfig" too; bpftool pins it as externs_kconfig.
      const theirs = BpfMap.openPinned(join(libbpf.maps, "externs_kconfig"));
      try {
        expect(theirs.valueSize).toBe(ours.valueSize);
        expect((theirs.flags & 0x80) !== 0).toBe(true); // BPF_F_RDONLY_PROG
        expect(ours.flags).toBe(theirs.flags);
        const ourBytes = Buffer.from(ours.lookup(0) as Uint8Array);
        const theirBytes = Buffer.from(theirs.lookup(0) as Uint8Array);
        // One value may differ: libbpf answers LINUX_HAS_SYSCALL_WRAPPER by opening a kprobe on
        // __<arch>_sys_bpf, which fails on a kernel without CONFIG_KPROBES; we look for the
        // wrapper itself in /proc/kallsyms. Where kprobes work, the two agree.
        const wrapper = objectExterns(parseObject(readProg("externs_kconfig"))).externs.get("LINUX_HAS_SYSCALL_WRAPPER") as KconfigExtern;
        expect(ourBytes[wrapper.offset]).toBe(kallsymsAddresses("__x64_sys_bpf").length > 0 ? 1 : 0);
        expect(theirBytes[wrapper.offset]).toBe(existsSync("/sys/bus/event_source/devices/kprobe") ? ourBytes[wrapper.offset] : 0);
        ourBytes[wrapper.offset] = theirBytes[wrapper.offset] = 0;
        expect(ourBytes.toString("hex")).toBe(theirBytes.toString("hex"));
      } finally {
        theirs.close();
      }
    });

    it("a missing strong CONFIG_ is a RelocationError naming it (libbpf refuses the object too)", () => {
      const check = fdLeaks(() => loadObject(compiled.get("missing_config")!));
      expect(check.error).toBeInstanceOf(RelocationError);
      expect(check.opened).toEqual([]);
      const error = check.error as RelocationError;
      expect(error.symbol).toBe("CONFIG_TSBPF_NO_SUCH_OPTION");
      expect(error.program).toBe("xdp_missing_config");
      expect(error.message).toMatch(/is not set in \/(proc|boot)\/config.*declare it __weak/);
      expect(bpftoolLoadall("missing_config", join(REPO_ROOT, scratch, "missing_config.o")).status).not.toBe(0);
    });

    it("a kconfig extern of a type with no kconfig meaning is a SpecError", () => {
      const check = fdLeaks(() => loadObject(compiled.get("struct_kconfig")!));
      expect(check.error).toBeInstanceOf(SpecError);
      expect(check.opened).toEqual([]);
      expect((check.error as Error).message).toMatch(/CONFIG_HZ.*struct pair.*bool, char, an integer, enum libbpf_tristate or a char array/);
    });
  });

  describe("__ksym", () => {
    it("typeless ksyms and a kfunc's address are the addresses /proc/kallsyms lists; missing __weak ones are 0", () => {
      const obj = keep(loadObject(readProg("externs_ksym"), { onWarning: (w) => expect.fail(w) }));
      expect(obj.program("xdp_ksyms").testRun(frame(0x0800)).action).toBe("PASS");
      expect(obj.variable("values").get()).toEqual({
        prog_put: kallsymsAddresses("bpf_prog_put")[0],
        dynptr_from_xdp: kallsymsAddresses("bpf_dynptr_from_xdp")[0],
        no_such_variable: 0n,
        no_such_symbol: 0n,
      });
    });

    it("a strong typeless ksym of kernel data fails clearly: kallsyms lists no data without CONFIG_KALLSYMS_ALL", () => {
      const check = fdLeaks(() => loadObject(compiled.get("typeless_data")!));
      expect(check.opened).toEqual([]);
      if (kallsymsAddresses("bpf_prog_active").length > 0) {
        expect(check.error).toBeUndefined();
        return;
      }
      expect(check.error).toBeInstanceOf(RelocationError);
      expect((check.error as RelocationError).symbol).toBe("bpf_prog_active");
      expect((check.error as Error).message).toMatch(/not in \/proc\/kallsyms.*CONFIG_KALLSYMS_ALL.*extern const int bpf_prog_active __ksym/);
    });

    it("typed ksyms of per-CPU variables: BTF VAR ids in the instructions, and the kernel's verdict", () => {
      const bytes = compiled.get("typed_vars")!;
      const kernelHasData = kallsymsAddresses("cpu_number").length > 0;
      if (kernelHasData) {
        const obj = keep(loadObject(bytes));
        expect(obj.program("xdp_typed_vars").testRun(frame(0x0800)).action).toBe("PASS");
        return;
      }
      // This kernel cannot resolve them (the verifier looks their addresses up in kallsyms):
      // we say so before loading, and libbpf, which does not check, fails in the verifier.
      const check = fdLeaks(() => loadObject(bytes));
      expect(check.error).toBeInstanceOf(RelocationError);
      expect(check.opened).toEqual([]);
      expect(["cpu_number", "bpf_prog_active", "runqueues"]).toContain((check.error as RelocationError).symbol);
      expect((check.error as Error).message).toMatch(/in the kernel's BTF but not in \/proc\/kallsyms.*CONFIG_KALLSYMS_ALL/);
      const libbpf = bpftoolLoadall("typed_vars", join(REPO_ROOT, scratch, "typed_vars.o"));
      expect(libbpf.status).not.toBe(0);
      expect(libbpf.stderr).toMatch(/failed to find the address for kernel symbol '(cpu_number|runqueues|bpf_prog_active)'/);

      // Pretending kallsyms lists them shows the instructions libbpf sends: the ids bpftool
      // reads from vmlinux BTF, and the kernel refuses them with the message libbpf got.
      const real = runningKernel();
      const pretend: KernelFacts = { ...real, kallsyms: (names) => new Map([...names].map((n) => [n, [0xffffffff81000000n]])) };
      const spec = parseObject(bytes);
      const externs = resolveExterns(spec, { warn: expect.fail, kernel: pretend });
      const linked = link(spec, spec.programs.get("xdp_typed_vars")!);
      const insns = resolveReferences(linked, { mapFd: () => undefined, dataFd: () => undefined, extern: externs.resolve });
      const slots = new SlotView(insns, true);
      const vmlinuxDump = execFileSync("bpftool", ["btf", "dump", "file", "/sys/kernel/btf/vmlinux"], { encoding: "utf8", maxBuffer: 1 << 30 });
      const varId = (name: string) => Number(new RegExp(`^\\[(\\d+)\\] VAR '${name}'`, "m").exec(vmlinuxDump)![1]);
      for (const reference of linked.references) {
        if (reference.kind !== "extern") continue;
        expect(slots.fields(reference.insn), reference.symbol).toMatchObject({ opcode: BPF_LD_IMM64, src: BPF_PSEUDO_BTF_ID, imm: varId(reference.symbol) });
        expect(slots.imm(reference.insn + 1)).toBe(0); // vmlinux: no module BTF fd
      }
      const refused = fdLeaks(() => loadProgram({ type: ProgramType.XDP, insns, license: "GPL", name: "xdp_typed_vars" }));
      expect(refused.error).toBeInstanceOf(VerifierError);
      expect((refused.error as VerifierError).log).toMatch(/failed to find the address for kernel symbol '(cpu_number|runqueues|bpf_prog_active)'/);
    });

    it("a __weak typed ksym the kernel cannot give an address for loads as 0", () => {
      const obj = keep(loadObject(compiled.get("weak_typed_var")!));
      obj.program("xdp_weak_typed").testRun(frame(0x0800));
      expect(obj.variable("present").get()).toBe(kallsymsAddresses("cpu_number").length > 0 ? 1n : 0n);
    });
  });

  describe("kfuncs", () => {
    it("bpf_dynptr_from_xdp and bpf_dynptr_slice read the frame under BPF_PROG_TEST_RUN", () => {
      const obj = keep(loadObject(readProg("externs_kfunc"), { onWarning: (w) => expect.fail(w) }));
      const program = obj.program("xdp_dynptr");
      expect(program.testRun(frame(0x86dd)).action).toBe("DROP");
      expect(obj.variable("ethertype").get()).toBe(0x86ddn);
      expect(program.testRun(frame(0x0800)).action).toBe("PASS");
      expect(obj.variable("ethertype").get()).toBe(0x0800n);
      expect(obj.variable("weak_kfunc_called").get()).toBe(0n);
      // The kernel removed the dead call to the missing __weak kfunc: two kfunc calls are left.
      const xlated = new SlotView(programInfo(program.fd, { xlated: true }).xlatedInsns!, true);
      const kfuncCalls = Array.from({ length: xlated.count }, (_, i) => i).filter((i) => xlated.opcode(i) === 0x85 && xlated.src(i) === BPF_PSEUDO_KFUNC_CALL);
      expect(kfuncCalls).toHaveLength(2);
    });

    it("a missing strong kfunc is a RelocationError naming it (libbpf refuses the object too)", () => {
      const check = fdLeaks(() => loadObject(compiled.get("missing_kfunc")!));
      expect(check.error).toBeInstanceOf(RelocationError);
      expect(check.opened).toEqual([]);
      expect((check.error as RelocationError).symbol).toBe("bpf_tsbpf_no_such_kfunc");
      expect((check.error as Error).message).toMatch(/program xdp_missing_kfunc, instruction \d+.*no kernel function bpf_tsbpf_no_such_kfunc/);
      const libbpf = bpftoolLoadall("missing_kfunc", join(REPO_ROOT, scratch, "missing_kfunc.o"));
      expect(libbpf.status).not.toBe(0);
      expect(libbpf.stderr).toMatch(/bpf_tsbpf_no_such_kfunc/);
    });

    it("a call to a missing __weak kfunc that the verifier cannot prove dead is refused by the kernel", () => {
      const check = fdLeaks(() => loadObject(compiled.get("weak_kfunc_reached")!));
      expect(check.error).toBeInstanceOf(VerifierError);
      expect(check.opened).toEqual([]);
      expect((check.error as VerifierError).log).toMatch(/invalid kernel function call not eliminated in verifier pass/);
    });

    it("a strong kfunc declared with another prototype than the kernel's is a RelocationError", () => {
      const check = fdLeaks(() => loadObject(compiled.get("wrong_prototype")!));
      expect(check.error).toBeInstanceOf(RelocationError);
      expect(check.opened).toEqual([]);
      expect((check.error as Error).message).toMatch(/bpf_dynptr_from_xdp.*prototype incompatible with the kernel's prototype with 3 parameter/);
    });

    it("a module's kfunc is called through fd_array: off = its index, the module BTF fd at that index", () => {
      // No module of this kernel has kfuncs, so a BTF of our own stands in for one.
      const b = new BtfBuilder();
      const int = b.addInt("int", 4, { signed: true });
      const ctx = b.addPtr(b.addStruct("xdp_md", 24, []));
      const func = b.addFunc("tsbpf_module_kfunc", b.addFuncProto(int, [{ name: "ctx", type: ctx }]), BtfFuncLinkage.GLOBAL);
      const moduleBtfBytes = b.build();
      const moduleBtf = parseBtf(moduleBtfBytes);
      const opened: number[] = [];
      const pretend: KernelFacts = {
        ...runningKernel(),
        modules: () => ["tsbpf_fake"],
        module: () => moduleBtf,
        moduleBtfFd: () => {
          const fd = loadBtf(moduleBtfBytes);
          opened.push(fd.raw);
          return fd;
        },
      };
      const spec = parseObject(compiled.get("module_kfunc")!);
      const check = fdLeaks(() => {
        const externs = resolveExterns(spec, { warn: expect.fail, kernel: pretend });
        try {
          expect(externs.fdArray).toEqual([0, opened[0]]);
          const linked = link(spec, spec.programs.get("xdp_module_kfunc")!);
          const insns = resolveReferences(linked, { mapFd: () => undefined, dataFd: () => undefined, extern: externs.resolve });
          const call = linked.references.find((r) => r.kind === "extern" && r.call)!.insn;
          expect(new SlotView(insns, true).fields(call)).toMatchObject({ src: BPF_PSEUDO_KFUNC_CALL, imm: func, off: 1 });
          // The kernel reads fd_array[1] as the kfunc's BTF, and finds it is not a module's.
          return loadProgram({ type: ProgramType.XDP, insns, license: "GPL", name: "xdp_module_kfunc", fdArray: externs.fdArray });
        } finally {
          externs.closeModuleBtfs();
        }
      });
      expect(check.opened).toEqual([]);
      expect(check.error).toBeInstanceOf(VerifierError);
      expect((check.error as VerifierError).log).toMatch(/BTF fd for kfunc is not a module BTF/);
    });
  });

  describe("the same instructions as libbpf", () => {
    const fixtures = { externs_kconfig: "xdp_kconfig", externs_ksym: "xdp_ksyms", externs_kfunc: "xdp_dynptr" };
    for (const [fixture, program] of Object.entries(fixtures)) {
      it(`${fixture}: xlated instructions equal bpftool prog loadall's, map ids aside`, () => {
        const libbpf = bpftoolLoadall(`same-${fixture}`, progPath(fixture));
        expect(libbpf.status, libbpf.stderr).toBe(0);
        const obj = keep(loadObject(readProg(fixture), { name: fixture }));
        const theirs = getPinnedObject(join(libbpf.progs, program));
        try {
          const theirInfo = programInfo(theirs, { xlated: true });
          const ourInfo = programInfo(obj.program(program).fd, { xlated: true });
          expect(ourInfo.xlatedInsns!.length).toBeGreaterThan(0);
          expect(xlatedWithoutMapIds(ourInfo.xlatedInsns!).equals(xlatedWithoutMapIds(theirInfo.xlatedInsns!))).toBe(true);
          // Both carry BTF: func_info for the program (the object's BTF with its externs was accepted).
          expect(ourInfo.btfId).toBeGreaterThan(0);
          expect(ourInfo.nrFuncInfo).toBe(theirInfo.nrFuncInfo);
        } finally {
          theirs.close();
        }
      });
    }
  });
});
