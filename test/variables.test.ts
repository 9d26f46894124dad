// Global variables by name: configured on the spec before load (const volatile .rodata),
// read and written on the loaded object (.data, .bss).
import { describe, expect, it } from "vitest";
import { load, loadObject, parseObject, SpecError } from "../index.js";
import { compileBpf, readProg } from "./helpers/progs.js";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseElf } from "../elf/index.js";
import { skipWithoutRoot } from "./helpers/netns.js";
import { dataMapName } from "../loader/create-maps.js";

const FRAME = new Uint8Array(60).fill(0x5a);

describe("variables on the spec", () => {
  const spec = parseObject(readProg("global_data"));

  it("lists each variable with its section, offset, size and value from the file", () => {
    const vars = spec.variables;
    expect([...vars.keys()].sort()).toEqual(["drop_all", "last_len", "packets", "tag"]);
    expect(vars.get("drop_all")).toMatchObject({ section: ".rodata", offset: 0, size: 4, constant: true });
    expect(vars.get("last_len")).toMatchObject({ section: ".data", offset: 0, size: 8, constant: false });
    expect(vars.get("tag")).toMatchObject({ section: ".data", offset: 8, size: 4 });
    expect(vars.get("packets")).toMatchObject({ section: ".bss", size: 8 });
    expect(vars.get("drop_all")!.get()).toBe(0);
    expect(vars.get("last_len")!.get()).toBe(1n);
    expect(vars.get("tag")!.get()).toBe(0xc0ffee);
  });

  it("checks values against the BTF type", () => {
    const fresh = parseObject(readProg("global_data"));
    expect(() => fresh.variables.get("drop_all")!.set("no")).toThrow(SpecError);
    expect(() => fresh.variables.get("drop_all")!.set(2 ** 40)).toThrow(/drop_all/);
  });

  it("setting a variable writes a copy of the section, not the caller's file buffer", () => {
    const bytes = readProg("global_data");
    const before = Buffer.from(bytes);
    const fresh = parseObject(bytes);
    fresh.variables.get("drop_all")!.set(1);
    expect(fresh.variables.get("drop_all")!.get()).toBe(1);
    expect(Buffer.compare(bytes, before)).toBe(0);
  });
});

describe("data map names", () => {
  it("follow libbpf: up to 8 characters of the object name, then the section", () => {
    expect(dataMapName("xdp_stats", ".rodata")).toBe("xdp_stat.rodata");
    expect(dataMapName("gd", ".bss")).toBe("gd.bss");
    expect(dataMapName("global_data", ".rodata.str1.1")).toBe("g.rodata.str1.1");
    expect(dataMapName("", ".data")).toBe(".data");
  });
});

describe.skipIf(skipWithoutRoot)("variables in the kernel", () => {
  it("a const volatile set before load is what the program sees", () => {
    const spec = parseObject(readProg("global_data"), { name: "global_data" });
    spec.variables.get("drop_all")!.set(1);
    using obj = load(spec);
    expect(obj.program("xdp_globals").testRun(FRAME).action).toBe("DROP");
    expect(obj.dataMaps.get(".rodata")!.info().name).toBe("global_d.rodata");
    expect(() => obj.variable("drop_all").set(0)).toThrow(/frozen after load: set it on the spec/);
  });

  it(".data and .bss variables are read and written where the program reads and writes them", () => {
    using obj = loadObject(readProg("global_data"));
    const run = () => obj.program("xdp_globals").testRun(FRAME);
    expect(run().action).toBe("PASS");
    run();
    expect(obj.variable("packets").get()).toBe(2n);
    expect(obj.variable("last_len").get()).toBe(60n);
    obj.variable("tag").set(1); // the program drops when tag is not 0xc0ffee
    expect(run().action).toBe("DROP");
    obj.variable("tag").set(0xc0ffee);
    expect(run().action).toBe("PASS");
    expect(obj.variable("packets").get()).toBe(4n);
    expect(() => obj.variable("nope")).toThrow(/no global variable named nope/);
  });
});

describe("DATASEC variable offsets from the ELF symbols", () => {
  // clang writes every DATASEC variable at offset 0; parseObject places each at its symbol's
  // value. With few variables per section the symbols are compared by name in place; with
  // many (here 40 in .data, 3 in .bss) the names go into a map: both must agree with the ELF.
  /** Compiles `globals` (C declarations) with a program that reads `names`; returns the object's bytes. */
  async function compileGlobals(globals: string, names: string[]): Promise<Uint8Array> {
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-globals-"));
    try {
      const source = join(dir, "globals.bpf.c");
      writeFileSync(source, [
        "#include <linux/bpf.h>",
        "#include <bpf/bpf_helpers.h>",
        globals,
        'SEC("xdp") int touch(struct xdp_md *ctx) {',
        `  return ${names.join(" + ")} > 0 ? XDP_PASS : XDP_DROP;`,
        "}",
        'char LICENSE[] SEC("license") = "GPL";',
      ].join("\n"));
      await compileBpf(source, join(dir, "globals.o"));
      return readFileSync(join(dir, "globals.o"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Every variable of the DATASECs named by `wanted` sits at its symbol's value; returns how many. */
  function expectPlacedLikeTheirSymbols(bytes: Uint8Array, wanted: (name: string) => boolean): number {
    const spec = parseObject(bytes);
    const elf = parseElf(bytes);
    const btf = spec.btf!;
    let checked = 0;
    for (let id = 1; id < btf.typeCount; id++) {
      const datasec = btf.type(id);
      if (datasec.kind !== "datasec" || !wanted(datasec.name)) continue;
      const section = elf.section(datasec.name)!;
      expect(datasec.size).toBe(section.size);
      for (const v of datasec.vars) {
        const name = btf.type(v.type).name;
        const symbol = elf.symbols.find((s) => s.name === name && s.sectionIndex === section.index)!;
        expect(v.offset, name).toBe(symbol.value);
        checked++;
      }
      expect(datasec.vars.map((v) => v.offset)).toEqual([...datasec.vars.map((v) => v.offset)].sort((a, b) => a - b));
    }
    return checked;
  }

  it("places 40 .data and 3 .bss globals where their symbols are", async () => {
    const names = Array.from({ length: 40 }, (_, i) => `g${i}`);
    const globals = names.map((name, i) => `__u${i % 2 === 0 ? 32 : 64} ${name} = ${i + 1};`).join("\n") + "\n__u64 z0, z1; __u32 z2;";
    const bytes = await compileGlobals(globals, [...names, "z0", "z1", "z2"]);
    expect(expectPlacedLikeTheirSymbols(bytes, (name) => name === ".data" || name === ".bss")).toBe(43);
    expect(parseObject(bytes).variables.get("g39")!.get()).toBe(40n);
  });

  it("places the variables of 36 data sections (more candidate symbols than the scan serves: a map)", async () => {
    const names = Array.from({ length: 36 }, (_, i) => `s${i}`);
    const globals = names.map((name, i) => `__u32 ${name} __attribute__((section(".data.${name}"))) = ${i + 1};`).join("\n");
    const bytes = await compileGlobals(globals, names);
    expect(expectPlacedLikeTheirSymbols(bytes, (name) => name.startsWith(".data."))).toBe(36);
    expect(parseObject(bytes).variables.get("s35")!.get()).toBe(36);
  });
});
