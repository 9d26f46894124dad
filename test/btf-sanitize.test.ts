// BTF the kernel refuses, made acceptable: gcc's encodings, and kinds an older kernel lacks.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadObject, parseObject, parseBtf, SpecError } from "../index.js";
import { sanitizeBtf, ALL_BTF_FEATURES, type BtfFeatures } from "../btf/sanitize.js";
import { loadBtf } from "../syscall/bpf-btf.js";
import { loadObjectBtf } from "../loader/btf-load.js";
import { readProg, REPO_ROOT } from "./helpers/progs.js";
import { skipWithoutRoot } from "./helpers/netns.js";

const NONE: BtfFeatures = { declTag: false, typeTag: false, float: false, enum64: false, globalFunc: false, datasec: false };

describe("sanitizeBtf (pure)", () => {
  it("changes nothing for a current kernel and clang's BTF", () => {
    const btf = parseObject(readProg("global_data")).btf!;
    expect(sanitizeBtf(btf, ALL_BTF_FEATURES)).toEqual({ btf, changes: [] });
  });

  it("replaces every kind an old kernel lacks, keeping ids and sizes", () => {
    const btf = parseObject(readProg("global_data")).btf!;
    const { btf: out, changes } = sanitizeBtf(btf, NONE);
    expect(changes.join("; ")).toMatch(/VARs replaced by INTs/);
    expect(changes.join("; ")).toMatch(/DATASECs replaced by empty STRUCTs/);
    expect(changes.join("; ")).toMatch(/global FUNCs made static/);
    const sanitized = parseBtf(out as Uint8Array);
    expect(sanitized.typeCount).toBe(btf.typeCount);
    const rodata = btf.typeByName(".rodata", "datasec")!;
    expect(sanitized.type(rodata.id)).toMatchObject({ kind: "struct", name: "_rodata", size: 4, members: [] });
  });
});

describe.skipIf(skipWithoutRoot)("sanitized BTF in the kernel", () => {
  it("BTF rewritten for a kernel without VAR, DATASEC, global FUNC... is accepted", () => {
    const btf = parseObject(readProg("subprog")).btf!;
    const { btf: out } = sanitizeBtf(btf, NONE);
    loadBtf(out as Uint8Array).close();
  });

  it("the loader says what it replaced", () => {
    const spec = parseObject(readProg("global_data"));
    const warnings: string[] = [];
    const fd = loadObjectBtf(spec, (m) => warnings.push(m), { ...ALL_BTF_FEATURES, datasec: false });
    expect(fd).toBeDefined();
    fd!.close();
    expect(warnings).toEqual([expect.stringMatching(/^this kernel does not know every BTF kind the object uses: \d+ VARs replaced by INTs, \d+ DATASECs replaced/)]);
  });

  describe("an object compiled by gcc (Debian gcc-bpf)", () => {
    let dir: string;
    let object: Buffer;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "tsbpf-gcc-"));
      const out = join(dir, "xdp_gcc.o");
      const multiarch = execFileSync("gcc", ["-print-multiarch"], { encoding: "utf8" }).trim();
      execFileSync("bpf-gcc", ["-O2", "-gbtf", "-c", join(REPO_ROOT, "test/gcc/xdp_gcc.c"), "-I/usr/include", `-I/usr/include/${multiarch}`, "-o", out]);
      object = readFileSync(out);
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("has BTF the kernel refuses as gcc wrote it", () => {
      const btf = parseObject(object).btf!;
      expect(() => loadBtf(btf.bytes).close()).toThrow(/Unsupported encoding|Invalid arg/);
    });

    it("loads with its BTF sanitized, silently, and runs", () => {
      const warnings: string[] = [];
      using obj = loadObject(object, { onWarning: (m) => warnings.push(m) });
      expect(warnings).toEqual([]);
      const program = obj.program("xdp_gcc");
      expect(program.testRun(new Uint8Array(64), { repeat: 3 }).action).toBe("PASS");
      expect(obj.map("counts").lookup(0)).toBe(3n);
    });
  });

  it("an object of the other byte order parses, and loading it names the mismatch", () => {
    const bytes = readFileSync("/usr/share/gocode/src/github.com/cilium/ebpf/testdata/loader-eb.elf");
    expect(parseObject(bytes).littleEndian).toBe(false);
    expect(() => loadObject(bytes)).toThrow(SpecError);
    expect(() => loadObject(bytes)).toThrow(/the object is big-endian but this machine is little-endian; compile it with -target bpfel/);
  });
});
