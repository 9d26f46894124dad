// Externs without the kernel: what the spec side makes of the fixtures' __kconfig and
// __ksym declarations, how kconfig text becomes map bytes (libbpf's rules), the BTF the
// kernel is given, type compatibility, and how resolved externs are written into
// instructions. test/externs-kernel.test.ts runs the same fixtures in the kernel.

import { describe, expect, it } from "vitest";
import { RelocationError, SpecError } from "../common/errors.js";
import { BtfBuilder, BtfFuncLinkage, BtfVarLinkage } from "../btf/builder.js";
import { parseBtf, type Btf } from "../btf/parse.js";
import { SlotView } from "../insn/slots.js";
import { BPF_PSEUDO_BTF_ID, BPF_PSEUDO_KFUNC_CALL, BPF_PSEUDO_MAP_VALUE } from "../insn/opcodes.js";
import { kernelReadyExternBtf } from "../loader/externs-btf.js";
import { kconfigContents, kernelVersionCode, parseKernelConfig, type KconfigFacts } from "../loader/externs-kconfig.js";
import { typesCompatible } from "../loader/externs-ksym.js";
import { kconfigLayout, objectExterns, type KconfigExtern } from "../loader/externs-spec.js";
import { link } from "../loader/link.js";
import { resolveReferences, type ResolvedExtern } from "../loader/resolve.js";
import { parseObject } from "../loader/spec.js";
import { readProg } from "./helpers/progs.js";

describe("objectExterns: the externs of the fixtures", () => {
  it("externs_kconfig: every __kconfig extern, its C type's kconfig meaning, weakness and place in the map", () => {
    const { externs, kconfigSize } = objectExterns(parseObject(readProg("externs_kconfig")));
    const summary = Object.fromEntries(
      [...externs.values()].map((e) => [e.name, e.kind === "kconfig" ? `${e.type}${e.signed ? " signed" : ""} ${e.size}${e.weak ? " weak" : ""}` : e.kind]),
    );
    expect(summary).toEqual({
      LINUX_KERNEL_VERSION: "int 4",
      LINUX_HAS_SYSCALL_WRAPPER: "bool 1",
      LINUX_HAS_BPF_COOKIE: "bool 1",
      CONFIG_BPF: "bool 1",
      CONFIG_BPF_JIT: "tristate 4",
      CONFIG_NET: "char signed 1",
      CONFIG_HZ: "int signed 4",
      CONFIG_NR_CPUS: "int 8",
      CONFIG_LOCALVERSION: "string 32",
      CONFIG_KASAN: "tristate 4 weak",
      CONFIG_TSBPF_NO_SUCH_BOOL: "bool 1 weak",
      CONFIG_TSBPF_NO_SUCH_INT: "int signed 4 weak",
    });
    // libbpf's order: alignment descending, then size ascending, then name; each aligned.
    const offsets = Object.fromEntries([...externs.values()].map((e) => [e.name, (e as KconfigExtern).offset]));
    expect(offsets).toEqual({
      CONFIG_NR_CPUS: 0,
      CONFIG_BPF_JIT: 8,
      CONFIG_HZ: 12,
      CONFIG_KASAN: 16,
      CONFIG_TSBPF_NO_SUCH_INT: 20,
      LINUX_KERNEL_VERSION: 24,
      CONFIG_BPF: 28,
      CONFIG_NET: 29,
      CONFIG_TSBPF_NO_SUCH_BOOL: 30,
      LINUX_HAS_BPF_COOKIE: 31,
      LINUX_HAS_SYSCALL_WRAPPER: 32,
      CONFIG_LOCALVERSION: 33,
    });
    expect(kconfigSize).toBe(65);
  });

  it("externs_ksym and externs_kfunc: typed and typeless ksyms, kfuncs by their kernel name", () => {
    const ksym = objectExterns(parseObject(readProg("externs_ksym"))).externs;
    expect(ksym.get("bpf_prog_put")).toMatchObject({ kind: "ksym", typeId: 0, weak: false });
    expect(ksym.get("tsbpf_no_such_symbol")).toMatchObject({ kind: "ksym", typeId: 0, weak: true });
    expect(ksym.get("tsbpf_no_such_variable")).toMatchObject({ kind: "ksym", weak: true });
    expect((ksym.get("tsbpf_no_such_variable") as { typeId: number }).typeId).toBeGreaterThan(0);
    expect(ksym.get("bpf_dynptr_from_xdp")).toMatchObject({ kind: "kfunc", kernelName: "bpf_dynptr_from_xdp", weak: false });

    const kfunc = objectExterns(parseObject(readProg("externs_kfunc")));
    expect([...kfunc.externs.values()].map((e) => `${e.kind} ${e.name}${e.weak ? " weak" : ""}`).sort()).toEqual([
      "kfunc bpf_dynptr_from_xdp",
      "kfunc bpf_dynptr_slice",
      "kfunc bpf_tsbpf_no_such_kfunc weak",
    ]);
    expect(kfunc.kconfigSize).toBe(0);
  });

  it("an object without externs has none, and removing the program that used them removes them", () => {
    expect(objectExterns(parseObject(readProg("xdp_counter"))).externs.size).toBe(0);
    const spec = parseObject(readProg("externs_kconfig"));
    spec.programs.delete("xdp_kconfig");
    expect(objectExterns(spec)).toEqual({ externs: new Map(), kconfigSize: 0 });
  });
});

describe("kernel config text", () => {
  it("keeps CONFIG_ lines, drops comments and lines without a value", () => {
    const config = parseKernelConfig(
      ["#", "# Automatically generated file; DO NOT EDIT.", "CONFIG_BPF=y", "# CONFIG_KASAN is not set", "CONFIG_HZ=250",
        'CONFIG_LOCALVERSION="-x"', "CONFIG_BROKEN=", "CONFIG_ALSO_BROKEN", "CONFIG_MOD=m", ""].join("\n"),
      "test",
    );
    expect(Object.fromEntries(config.values)).toEqual({ CONFIG_BPF: "y", CONFIG_HZ: "250", CONFIG_LOCALVERSION: '"-x"', CONFIG_MOD: "m" });
  });

  it("KERNEL_VERSION(a, b, c) from uname, Debian's version string or Ubuntu's signature", () => {
    expect(kernelVersionCode("6.18.44-fc-v657")).toBe((6 << 16) | (18 << 8) | 44);
    expect(kernelVersionCode("4.9.337")).toBe((4 << 16) | (9 << 8) | 255); // the sublevel saturates at 255
    expect(kernelVersionCode("6.1-rc1")).toBe((6 << 16) | (1 << 8));
    expect(kernelVersionCode("6.1.0-13-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)")).toBe((6 << 16) | (1 << 8) | 55);
    expect(kernelVersionCode("5.15.0-86-generic", "#96-Ubuntu SMP", "Ubuntu 5.15.0-86.96-generic 5.15.116")).toBe((5 << 16) | (15 << 8) | 116);
    expect(kernelVersionCode("not-a-version")).toBeUndefined();
  });
});

/** Facts of an imaginary kernel, for kconfigContents. */
function facts(lines: string[], extra: Partial<KconfigFacts> = {}): KconfigFacts {
  const config = parseKernelConfig(lines.join("\n"), "test-config");
  return { config: () => config, kernelVersion: () => 0x060112, hasSyscallWrapper: () => true, hasBpfCookie: () => false, ...extra };
}

/** Every kconfig extern of the externs_kconfig fixture, and a reader of one value in the filled bytes. */
function kconfigFixture() {
  const { externs, kconfigSize } = objectExterns(parseObject(readProg("externs_kconfig")));
  const list = [...externs.values()] as KconfigExtern[];
  const fill = (f: KconfigFacts, warnings: string[] = []) => {
    const result = kconfigContents(list, kconfigSize, f, true, (w) => warnings.push(w));
    const view = new DataView(result.bytes.buffer);
    const read = (name: string): number | bigint | string => {
      const e = externs.get(name) as KconfigExtern;
      if (e.type === "string") {
        const bytes = result.bytes.subarray(e.offset, e.offset + e.size);
        return Buffer.from(bytes.subarray(0, bytes.indexOf(0))).toString("latin1");
      }
      if (e.size === 8) return view.getBigUint64(e.offset, true);
      if (e.size === 4) return e.signed ? view.getInt32(e.offset, true) : view.getUint32(e.offset, true);
      return e.signed ? view.getInt8(e.offset) : view.getUint8(e.offset);
    };
    return { ...result, read };
  };
  return { fill };
}

const COMPLETE = ["CONFIG_BPF=y", "CONFIG_BPF_JIT=y", "CONFIG_NET=y", "CONFIG_HZ=250", "CONFIG_NR_CPUS=64", 'CONFIG_LOCALVERSION="-tsbpf"'];

describe("kconfigContents: kconfig values into the .kconfig map value", () => {
  it("stores y/n/m, numbers, strings and virtual values as the C types declare them", () => {
    const { fill } = kconfigFixture();
    const { read, unresolved } = fill(facts([...COMPLETE.filter((l) => !l.startsWith("CONFIG_BPF_JIT")), "CONFIG_BPF_JIT=m", "CONFIG_KASAN=m"]));
    expect(unresolved).toEqual(new Map());
    expect(read("CONFIG_BPF")).toBe(1);
    expect(read("CONFIG_BPF_JIT")).toBe(2); // TRI_MODULE
    expect(read("CONFIG_KASAN")).toBe(2);
    expect(read("CONFIG_NET")).toBe("y".charCodeAt(0));
    expect(read("CONFIG_HZ")).toBe(250);
    expect(read("CONFIG_NR_CPUS")).toBe(64n);
    expect(read("CONFIG_LOCALVERSION")).toBe("-tsbpf");
    expect(read("LINUX_KERNEL_VERSION")).toBe(0x060112);
    expect(read("LINUX_HAS_SYSCALL_WRAPPER")).toBe(1);
    expect(read("LINUX_HAS_BPF_COOKIE")).toBe(0);
    expect(read("CONFIG_TSBPF_NO_SUCH_BOOL")).toBe(0); // weak and absent
    expect(read("CONFIG_TSBPF_NO_SUCH_INT")).toBe(0);
  });

  it("reads numbers as strtoull does: hex, octal, negative wrapping around, range-checked", () => {
    const { fill } = kconfigFixture();
    const base = COMPLETE.filter((l) => !/^CONFIG_(HZ|NR_CPUS)=/.test(l));
    expect(fill(facts([...base, "CONFIG_HZ=0x3e8", "CONFIG_NR_CPUS=010"])).read("CONFIG_HZ")).toBe(1000);
    expect(fill(facts([...base, "CONFIG_HZ=0x3e8", "CONFIG_NR_CPUS=010"])).read("CONFIG_NR_CPUS")).toBe(8n);
    expect(fill(facts([...base, "CONFIG_HZ=-5", "CONFIG_NR_CPUS=-1"])).read("CONFIG_HZ")).toBe(-5);
    expect(fill(facts([...base, "CONFIG_HZ=-5", "CONFIG_NR_CPUS=-1"])).read("CONFIG_NR_CPUS")).toBe(2n ** 64n - 1n);
    const tooBig = fill(facts([...base, "CONFIG_HZ=0x80000000", "CONFIG_NR_CPUS=1"]));
    expect(tooBig.unresolved.get("CONFIG_HZ")).toMatch(/2147483648.*does not fit a signed 4-byte integer/);
    const notNumber = fill(facts([...base, "CONFIG_HZ=25O", "CONFIG_NR_CPUS=1"]));
    expect(notNumber.unresolved.get("CONFIG_HZ")).toMatch(/25O.*not a number/);
  });

  it("cuts a string too long for its array, with a warning, and keeps the NUL", () => {
    const { fill } = kconfigFixture();
    const warnings: string[] = [];
    const long = "x".repeat(40);
    const { read } = fill(facts([...COMPLETE.slice(0, 5), `CONFIG_LOCALVERSION="${long}"`]), warnings);
    expect(read("CONFIG_LOCALVERSION")).toBe("x".repeat(31));
    expect(warnings).toEqual([expect.stringMatching(/CONFIG_LOCALVERSION.*cut to 31 bytes/)]);
  });

  it("refuses values the C type cannot hold, naming the way out", () => {
    const { fill } = kconfigFixture();
    const { unresolved } = fill(facts(["CONFIG_BPF=m", "CONFIG_BPF_JIT=250", "CONFIG_NET=y", 'CONFIG_HZ="250"', "CONFIG_NR_CPUS=y", "CONFIG_LOCALVERSION=12"]));
    expect(unresolved.get("CONFIG_BPF")).toMatch(/m \(a module\), which a bool cannot hold/);
    expect(unresolved.get("CONFIG_BPF_JIT")).toMatch(/declare it as an integer/);
    expect(unresolved.get("CONFIG_HZ")).toMatch(/string "250"; declare it as a char array/);
    expect(unresolved.get("CONFIG_NR_CPUS")).toMatch(/is y; declare it as bool, enum libbpf_tristate or char/);
    expect(unresolved.get("CONFIG_LOCALVERSION")).toMatch(/declare it as an integer/);
  });

  it("absent options: 0 when __weak, an error naming the config file when strong", () => {
    const { fill } = kconfigFixture();
    const { unresolved, read } = fill(facts(COMPLETE.filter((l) => !l.startsWith("CONFIG_HZ"))));
    expect([...unresolved.keys()]).toEqual(["CONFIG_HZ"]);
    expect(unresolved.get("CONFIG_HZ")).toMatch(/is not set in test-config; declare it __weak/);
    expect(read("CONFIG_KASAN")).toBe(0);
    const none = fill(facts([], { config: () => undefined }));
    expect([...none.unresolved.keys()].sort()).toEqual(["CONFIG_BPF", "CONFIG_BPF_JIT", "CONFIG_HZ", "CONFIG_LOCALVERSION", "CONFIG_NET", "CONFIG_NR_CPUS"]);
    expect(none.unresolved.get("CONFIG_BPF")).toMatch(/no kernel config to read it from/);
    expect(fill(facts(COMPLETE, { kernelVersion: () => undefined })).unresolved.get("LINUX_KERNEL_VERSION")).toMatch(/version/);
  });
});

describe("kernelReadyExternBtf: the BTF BPF_BTF_LOAD is given", () => {
  const kinds = (btf: Btf) => Array.from({ length: btf.typeCount - 1 }, (_, i) => btf.type(i + 1));

  it("lays .kconfig out like the map, makes extern VARs and FUNCs global, keeps every id and string", () => {
    for (const name of ["externs_kconfig", "externs_ksym", "externs_kfunc"]) {
      const original = parseObject(readProg(name)).btf!;
      const ready = kernelReadyExternBtf(original);
      expect(ready).not.toBe(original);
      expect(ready.typeCount).toBeGreaterThanOrEqual(original.typeCount);
      // Strings kept byte for byte (line_info points into them); types keep their ids and names.
      expect(Buffer.from(ready.strings.bytes.subarray(0, original.strings.length)).equals(Buffer.from(original.strings.bytes))).toBe(true);
      for (let id = 1; id < original.typeCount; id++) expect(ready.type(id).name, `[${id}]`).toBe(original.type(id).name);
      for (const type of kinds(ready)) {
        if (type.kind === "var") expect(type.linkage, type.name).not.toBe(BtfVarLinkage.GLOBAL_EXTERN);
        if (type.kind === "func") expect(type.linkage, type.name).not.toBe(BtfFuncLinkage.EXTERN);
        if (type.kind === "datasec") {
          expect(type.size, type.name).toBeGreaterThan(0);
          for (const v of type.vars) expect(ready.type(v.type).kind).toBe("var");
        }
      }
    }
    const original = parseObject(readProg("externs_kconfig")).btf!;
    const kconfig = kernelReadyExternBtf(original).typeByName(".kconfig", "datasec");
    const layout = kconfigLayout(original);
    expect(kconfig).toMatchObject({ size: 65 });
    expect(kconfig!.kind === "datasec" && kconfig!.vars.map((v) => [original.type(v.type).name, v.offset])).toEqual(
      [...layout.offsets].sort((a, b) => a[1] - b[1]),
    );
  });

  it("returns the same Btf when there is nothing to rewrite", () => {
    const btf = parseObject(readProg("xdp_counter")).btf!;
    expect(kernelReadyExternBtf(btf)).toBe(btf);
  });
});

describe("typesCompatible: libbpf's loose rule for a declaration against the kernel's type", () => {
  const b = new BtfBuilder();
  const int = b.addInt("int", 4, { signed: true });
  const u64 = b.addInt("unsigned long long", 8);
  const constInt = b.addConst(int);
  const typedef = b.addTypedef("u32", int);
  const rq = b.addStruct("rq", 4, [{ name: "cpu", type: int, bitOffset: 0 }]);
  const other = b.addStruct("other", 8, []);
  const union = b.addUnion("rq", 4, []);
  const enum32 = b.addEnum("e", [{ name: "A", value: 0 }]);
  const enum64 = b.addEnum64("e", [{ name: "A", value: 0n }]);
  const ptrRq = b.addPtr(rq);
  const ptrInt = b.addPtr(int);
  const ptrOther = b.addPtr(other);
  const proto2 = b.addFuncProto(int, [{ name: "a", type: ptrRq }, { name: "b", type: u64 }]);
  const proto2b = b.addFuncProto(typedef, [{ name: "x", type: ptrOther }, { name: "y", type: int }]);
  const proto1 = b.addFuncProto(int, [{ name: "a", type: ptrRq }]);
  const proto2c = b.addFuncProto(int, [{ name: "a", type: ptrInt }, { name: "b", type: u64 }]);
  const btf = parseBtf(b.build());
  const compatible = (a: number, c: number) => typesCompatible(btf, a, btf, c);

  it("matches kinds after typedefs and qualifiers; any int any int, any struct any struct", () => {
    expect(compatible(int, u64)).toBe(true);
    expect(compatible(constInt, typedef)).toBe(true);
    expect(compatible(rq, other)).toBe(true);
    expect(compatible(enum32, enum64)).toBe(true);
    expect(compatible(rq, union)).toBe(false);
    expect(compatible(int, rq)).toBe(false);
    expect(compatible(ptrRq, ptrOther)).toBe(true);
    expect(compatible(ptrRq, ptrInt)).toBe(false);
  });

  it("compares prototypes parameter by parameter and by return type", () => {
    expect(compatible(proto2, proto2b)).toBe(true);
    expect(compatible(proto2, proto1)).toBe(false);
    expect(compatible(proto2, proto2c)).toBe(false);
  });
});

describe("resolveReferences: externs into instructions", () => {
  /** The program of a fixture linked, its extern references resolved by `resolve`. */
  function resolveFixture(name: string, resolve: (symbol: string) => ResolvedExtern | undefined) {
    const spec = parseObject(readProg(name));
    const linked = link(spec, [...spec.programs.values()][0]);
    const bytes = resolveReferences(linked, { mapFd: () => undefined, dataFd: () => 7, extern: resolve });
    const slots = new SlotView(bytes, true);
    const at = (symbol: string) => linked.references.filter((r) => r.kind === "extern" && r.symbol === symbol).map((r) => r.insn);
    return { slots, at, linked };
  }

  it("kconfig: BPF_PSEUDO_MAP_VALUE with the .kconfig map fd and the value's offset", () => {
    const { slots, at } = resolveFixture("externs_kconfig", (symbol) => ({ kind: "map-value", fd: 99, offset: symbol.length }));
    for (const slot of at("CONFIG_HZ")) {
      expect(slots.fields(slot)).toMatchObject({ opcode: 0x18, src: BPF_PSEUDO_MAP_VALUE, imm: 99 });
      expect(slots.imm(slot + 1)).toBe("CONFIG_HZ".length);
    }
  });

  it("ksyms: BTF id and module BTF fd, an address, or 0", () => {
    const values: Record<string, ResolvedExtern> = {
      bpf_prog_put: { kind: "address", address: 0xffffffff814d38f0n },
      bpf_dynptr_from_xdp: { kind: "btf-id", id: 63865, func: true, btfFd: 0, fdIndex: 0 },
      tsbpf_no_such_variable: { kind: "absent" },
      tsbpf_no_such_symbol: { kind: "absent" },
    };
    const { slots, at } = resolveFixture("externs_ksym", (symbol) => values[symbol]);
    const [put] = at("bpf_prog_put");
    expect(slots.src(put)).toBe(0);
    expect(BigInt.asUintN(64, slots.imm64(put))).toBe(0xffffffff814d38f0n);
    const [dynptr] = at("bpf_dynptr_from_xdp");
    expect(slots.fields(dynptr)).toMatchObject({ src: BPF_PSEUDO_BTF_ID, imm: 63865 });
    expect(slots.imm(dynptr + 1)).toBe(0);
    for (const slot of [...at("tsbpf_no_such_variable"), ...at("tsbpf_no_such_symbol")]) {
      expect(slots.src(slot)).toBe(0);
      expect(slots.imm64(slot)).toBe(0n);
    }
  });

  it("kfunc calls: BPF_PSEUDO_KFUNC_CALL with the BTF id and fd_array index; an absent __weak one with imm 0", () => {
    const values: Record<string, ResolvedExtern> = {
      bpf_dynptr_from_xdp: { kind: "btf-id", id: 100, func: true, btfFd: 0, fdIndex: 0 },
      bpf_dynptr_slice: { kind: "btf-id", id: 200, func: true, btfFd: 55, fdIndex: 3 },
      bpf_tsbpf_no_such_kfunc: { kind: "absent" },
    };
    const { slots, at, linked } = resolveFixture("externs_kfunc", (symbol) => values[symbol]);
    const call = (symbol: string) => linked.references.find((r) => r.kind === "extern" && r.call && r.symbol === symbol)!.insn;
    expect(slots.fields(call("bpf_dynptr_from_xdp"))).toMatchObject({ opcode: 0x85, src: BPF_PSEUDO_KFUNC_CALL, imm: 100, off: 0 });
    expect(slots.fields(call("bpf_dynptr_slice"))).toMatchObject({ opcode: 0x85, src: BPF_PSEUDO_KFUNC_CALL, imm: 200, off: 3 });
    expect(slots.fields(call("bpf_tsbpf_no_such_kfunc"))).toMatchObject({ opcode: 0x85, src: BPF_PSEUDO_KFUNC_CALL, imm: 0, off: 0 });
    // The `if (bpf_tsbpf_no_such_kfunc)` test loads its address: 0.
    const address = at("bpf_tsbpf_no_such_kfunc").find((slot) => slots.opcode(slot) === 0x18)!;
    expect(slots.imm64(address)).toBe(0n);
  });

  it("a strong extern the kernel lacks fails at its first instruction, with the reason and the symbol", () => {
    const attempt = () =>
      resolveFixture("externs_kfunc", (symbol) =>
        symbol === "bpf_dynptr_slice" ? { kind: "unresolved", reason: "no kernel function bpf_dynptr_slice" } : { kind: "absent" },
      );
    expect(attempt).toThrow(RelocationError);
    expect(attempt).toThrow(/program xdp_dynptr, instruction \d+, symbol "bpf_dynptr_slice": no kernel function/);
  });

  it("refuses a call to a variable, and externs nobody resolved", () => {
    expect(() => resolveFixture("externs_kfunc", () => ({ kind: "map-value", fd: 3, offset: 0 }))).toThrow(/is called, but it is a variable/);
    const spec = parseObject(readProg("externs_kfunc"));
    const linked = link(spec, [...spec.programs.values()][0]);
    expect(() => resolveReferences(linked, { mapFd: () => undefined, dataFd: () => 7 })).toThrow(/extern the loader did not resolve/);
  });
});

describe("objectExterns: declarations the loader cannot fill", () => {
  it("refuses externs of an object without BTF", () => {
    const spec = parseObject(readProg("externs_kfunc"));
    Object.defineProperty(spec, "btf", { value: undefined });
    expect(() => objectExterns(spec)).toThrow(SpecError);
    expect(() => objectExterns(spec)).toThrow(/no BTF to say what they are/);
  });
});
