// fixupDatasecs (btf/fixup.ts): DATASEC sizes and variable offsets filled in from the ELF
// facts, in place. The loader tests cover it on compiled objects; these cover each rule on a
// built BTF, where every outcome is known in advance; the last suite compares it with libbpf's
// linker on every test object.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { BtfBuilder, BtfFuncLinkage, BtfVarLinkage } from "../btf/builder.js";
import { fixupDatasecs, markFunctionsStatic } from "../btf/fixup.js";
import { parseBtf, type Btf, type BtfType } from "../btf/index.js";
import { BtfKind } from "../btf/kinds.js";
import { parseElf } from "../elf/index.js";
import { parseObject } from "../loader/spec.js";
import { btfBlob } from "./helpers/btf-bytes.js";
import { allObjects, bpftoolBtf, objectBytes } from "./helpers/objects.js";
import { compileSources } from "./helpers/progs.js";

function datasec(btf: Btf, id: number): Extract<BtfType, { kind: "datasec" }> {
  const type = btf.type(id);
  if (type.kind !== "datasec") throw new Error(`type ${id} is a ${type.kind}`);
  return type;
}

describe("fixupDatasecs", () => {
  const b = new BtfBuilder();
  const int = b.addInt("int", 4, { signed: true });
  const long = b.addInt("long", 8, { signed: true });
  const first = b.addVar("first", int);
  const second = b.addVar("second", long);
  const local = b.addVar("local", int, BtfVarLinkage.STATIC);
  const outside = b.addVar("outside", int, BtfVarLinkage.GLOBAL_EXTERN);
  // As clang writes them: size 0 and every offset 0 (the static one's offset is its own).
  const data = b.addDatasec(".data", 0, [
    { type: first, offset: 0, size: 4 },
    { type: second, offset: 0, size: 8 },
    { type: local, offset: 16, size: 4 },
  ]);
  const kconfig = b.addDatasec(".kconfig", 0, [{ type: outside, offset: 0, size: 4 }]);
  const sized = b.addDatasec(".rodata", 24, []);
  const bytes = b.build();

  // The ELF facts: section 3 is .data, 20 bytes; section 5 is .rodata; `second` sits before
  // `first`. Names arrive as the place of their bytes in the BTF string section.
  const nameAt = (strings: Uint8Array, start: number) => Buffer.from(strings.subarray(start, strings.indexOf(0, start))).toString("latin1");
  const sectionIndices: Record<string, number> = { ".data": 3, ".rodata": 5 };
  const symbols: Record<string, number> = { first: 8, second: 0, local: 4 };
  const asked: string[] = [];
  const facts = {
    sectionIndex: (strings: Uint8Array, start: number) => {
      asked.push(nameAt(strings, start));
      return sectionIndices[nameAt(strings, start)] ?? -1;
    },
    sectionSize: (section: number) => (section === 3 ? 20 : 99),
    symbolOffset: (section: number, strings: Uint8Array, start: number) => (section === 3 ? symbols[nameAt(strings, start)] : undefined),
  };

  it("fills in sizes and offsets and sorts the variables by offset", () => {
    const btf = parseBtf(bytes.slice());
    expect(datasec(btf, data).size).toBe(0); // decoded before the fixup: reread afterwards
    asked.length = 0;
    const described = fixupDatasecs(btf, facts);
    // .kconfig is the loader's, not an ELF section: the facts are not asked about it.
    expect(asked).toEqual([".data", ".rodata"]);
    expect([...described]).toEqual([[3, data], [5, sized]]);
    const fixed = datasec(btf, data);
    expect(fixed.size).toBe(20);
    // The static variable keeps the compiler's offset whatever a symbol of its name says.
    expect(fixed.vars).toEqual([
      { type: second, offset: 0, size: 8 },
      { type: first, offset: 8, size: 4 },
      { type: local, offset: 16, size: 4 },
    ]);
    // A size the compiler wrote stays.
    expect(datasec(btf, sized).size).toBe(24);
    expect(datasec(btf, kconfig).vars).toEqual([{ type: outside, offset: 0, size: 4 }]);
  });

  it("writes into the BTF's own bytes, and a second pass changes nothing", () => {
    const own = bytes.slice();
    const btf = parseBtf(own);
    fixupDatasecs(btf, facts);
    expect(own).not.toEqual(bytes);
    const once = own.slice();
    fixupDatasecs(parseBtf(own), facts);
    expect(own).toEqual(once);
    // What was written parses back the same from a fresh copy.
    expect(datasec(parseBtf(once), data)).toEqual(datasec(btf, data));
  });

  it("writes only the words that change: the size, then the two secinfo records the sort swaps", () => {
    const changedWords = (before: Uint8Array, after: Uint8Array) => {
      const words: number[] = [];
      for (let at = 0; at < before.length; at += 4) if (before.subarray(at, at + 4).some((byte, i) => byte !== after[at + i])) words.push(at);
      return words;
    };
    for (const littleEndian of [true, false]) {
      const original = b.build({ littleEndian });
      const own = original.slice();
      const btf = parseBtf(own);
      fixupDatasecs(btf, facts);
      expect(datasec(btf, data).vars.map((v) => v.offset)).toEqual([0, 8, 16]);
      // The DATASEC's size word, then its first two btf_var_secinfo records (type, offset, size):
      // {first 0 4}, {second 0 8} became {second 0 8}, {first 8 4}: every word but the first offset.
      const record = btf.recordOffset(data);
      expect(changedWords(original, own)).toEqual([record + 8, record + 12, record + 20, record + 24, record + 28, record + 32]);
    }
  });

  it("refuses split BTF, which has no ELF sections of its own", () => {
    const base = parseBtf(bytes.slice());
    // One own type, an anonymous DATASEC with no variables: name_off, info (kind << 24), size.
    const split = parseBtf(btfBlob([0, BtfKind.DATASEC << 24, 0], new Uint8Array(1)), { base });
    expect(() => fixupDatasecs(split, facts)).toThrow(/split BTF/);
  });

  it("leaves a DATASEC without a matching ELF section at size 0 and its offsets as written", () => {
    const btf = parseBtf(bytes.slice());
    const symbolOffset = vi.fn(() => 0);
    fixupDatasecs(btf, { sectionIndex: () => -1, sectionSize: () => 20, symbolOffset });
    expect(datasec(btf, data)).toMatchObject({ size: 0, vars: [{ offset: 0 }, { offset: 0 }, { offset: 16 }] });
    expect(symbolOffset).not.toHaveBeenCalled();
  });
});

describe("markFunctionsStatic", () => {
  it("makes the global FUNCs of the given names static, writing one word each, and leaves other FUNCs alone", () => {
    const b = new BtfBuilder();
    const int = b.addInt("int", 4, { signed: true });
    const proto = b.addFuncProto(int, []);
    const helper = b.addFunc("helper", proto, BtfFuncLinkage.GLOBAL);
    const other = b.addFunc("other", proto, BtfFuncLinkage.GLOBAL);
    const extern = b.addFunc("kfunc", proto, BtfFuncLinkage.EXTERN);
    const bytes = b.build();
    const own = bytes.slice();
    const btf = parseBtf(own);
    expect(btf.type(helper)).toMatchObject({ linkage: BtfFuncLinkage.GLOBAL }); // decoded first: reread after
    markFunctionsStatic(btf, ["helper", "kfunc", "missing"]);
    expect([btf.type(helper), btf.type(other), btf.type(extern)].map((t) => (t.kind === "func" ? t.linkage : -1))).toEqual([
      BtfFuncLinkage.STATIC, BtfFuncLinkage.GLOBAL, BtfFuncLinkage.EXTERN,
    ]);
    // Only helper's info word changed (its vlen bits hold the linkage).
    const infoWord = btf.recordOffset(helper) + 4;
    const changed = [...Array(own.length / 4).keys()].map((w) => w * 4).filter((at) => own.subarray(at, at + 4).some((byte, i) => byte !== bytes[at + i]));
    expect(changed).toEqual([infoWord]);
  });
});

// The oracle: libbpf's static linker (`bpftool gen object`) finalizes the BTF of the object it
// writes, with the sizes and variable offsets of its data sections, as the loader must.
describe("parseObject's DATASEC fixup against libbpf's linker", () => {
  it("every DATASEC of every object bpftool links has libbpf's size and variables (name, offset, size)", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-fixup-"));
    try {
      let compared = 0;
      let linked = 0;
      for (const object of allObjects()) {
        let spec;
        try {
          spec = parseObject(objectBytes(object.path));
        } catch {
          continue; // objects meant to fail have their own tests
        }
        const btf = spec.btf;
        if (btf === undefined) continue;
        const output = join(dir, `${linked + compared}.o`);
        try {
          execFileSync("bpftool", ["gen", "object", output, object.path], { stdio: "pipe" });
        } catch {
          continue; // the linker refuses some objects (legacy maps sections, other byte orders)
        }
        linked++;
        const theirs = bpftoolBtf(output);
        const elfSections = new Set(parseElf(objectBytes(object.path)).sections.map((section) => section.name));
        for (const type of theirs.values()) {
          if (type.kind !== "DATASEC" || !elfSections.has(type.name)) continue;
          const ours = btf.typeByName(type.name, "datasec");
          if (ours === undefined || ours.kind !== "datasec") throw new Error(`${object.label}: no DATASEC ${type.name}`);
          const describe = (name: (id: number) => string, vars: readonly { type: number; offset: number; size: number }[]) =>
            vars.map((v) => `${name(v.type)}@${v.offset}+${v.size}`).sort();
          expect([object.label, type.name, ours.size, describe((id) => btf.type(id).name, ours.vars)]).toEqual([
            object.label,
            type.name,
            type.size,
            describe((id) => theirs.get(id)!.name, (type.vars ?? []).map((v) => ({ type: v.type_id, offset: v.offset, size: v.size }))),
          ]);
          compared++;
        }
      }
      // Here: 50 objects linked (fixtures, xdp-tools, cilium's little-endian ones), 114 DATASECs.
      expect(linked).toBeGreaterThanOrEqual(45);
      expect(compared).toBeGreaterThanOrEqual(100);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it("a global and a static variable of one name (two files linked into one object) each keep their own offset", () => {
    const header = "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n";
    const { "linked.o": linked } = compileSources(
      {
        "a.bpf.c": `${header}static volatile int shared_name = 1;\nint a_only = 7;\n` +
          'SEC("xdp") int prog_a(struct xdp_md *ctx) { return (shared_name + a_only) & 1; }\nchar LICENSE[] SEC("license") = "GPL";\n',
        "b.bpf.c": `${header}volatile int shared_name = 2;\nSEC("xdp") int prog_b(struct xdp_md *ctx) { return shared_name & 1; }\n`,
      },
      { link: true },
    );
    // The linker wrote the finished DATASEC (the static at 4, by its local symbol; the global
    // at 8): read raw, without the fixup, it is the oracle.
    const btfSection = parseElf(linked).section(".BTF")!;
    const written = parseBtf(btfSection.data.slice());
    const offsets = (btf: Btf) => {
      const datasec = btf.typeByName(".data", "datasec");
      return datasec?.kind === "datasec" ? datasec.vars.map((v) => [btf.type(v.type).name, v.offset]) : [];
    };
    expect(offsets(written)).toEqual([["a_only", 0], ["shared_name", 4], ["shared_name", 8]]);
    expect(offsets(parseObject(linked).btf!)).toEqual(offsets(written));
  });
});
