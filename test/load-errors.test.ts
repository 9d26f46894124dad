// Failures a user can cause, through the public API against the real kernel: each must
// be a BpfError whose message names the part concerned and says what went wrong, and
// each must leave this process with exactly the file descriptors it had before (a failed
// load closes every map and program it created on the way; see test/helpers/fds.ts).
//
// The XDP cases run inside a network namespace of our own (NetnsPair), so that even the
// interface lookups happen where nothing but our veth exists.

import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BpfError,
  load,
  loadObject,
  NetlinkError,
  parseObject,
  RelocationError,
  SpecError,
  SyscallError,
  VerifierError,
  withNetns,
  parseBtf,
  type LoadedObject,
} from "../index.js";
import { BtfBuilder } from "../btf/index.js";
import { fdLeaks, type FdCheck } from "./helpers/fds.js";
import { NetnsPair, skipWithoutRoot } from "./helpers/netns.js";
import { compileSources, readProg } from "./helpers/progs.js";

/** Asserts that `check` failed with an error of `type`, opened and closed nothing; returns the error. */
function failedCleanly<E>(check: FdCheck<unknown>, type: abstract new (...args: never[]) => E): E {
  expect(check.error, "the call should have thrown").toBeInstanceOf(type);
  expect(check.opened, "descriptors left open by the failure").toEqual([]);
  expect(check.closed, "descriptors the failure closed that it did not own").toEqual([]);
  return check.error as E;
}

describe.skipIf(skipWithoutRoot)("load and attach errors: clear messages, no leaked descriptors", () => {
  const pinRoot = `/sys/fs/bpf/tsbpf-errors-${process.pid}-${randomBytes(3).toString("hex")}`;
  const loaded: LoadedObject[] = [];
  const keep = (obj: LoadedObject) => (loaded.push(obj), obj);

  beforeAll(() => {
    mkdirSync(pinRoot);
    // Warm up: the first load opens descriptors that live for the whole process (koffi's
    // libc handle, the possible-CPU count...); they must not count as a leak of the first test.
    loadObject(readProg("xdp_counter")).close();
  });

  afterAll(() => {
    for (const obj of loaded) obj.close();
    rmSync(pinRoot, { recursive: true, force: true });
  });

  describe("CO-RE", () => {
    it("a relocation the target kernel cannot satisfy poisons its instruction; reached, the error names the relocation", () => {
      // A "kernel" whose task_struct has pid but no tgid: core_task's BPF_CORE_READ(task, tgid)
      // cannot be relocated, and that read is on the program's only path.
      const kernel = new BtfBuilder({ littleEndian: true });
      const int = kernel.addInt("int", 4, { signed: true });
      kernel.addStruct("task_struct", 8, [{ name: "pid", type: int, bitOffset: 0 }, { name: "comm", type: int, bitOffset: 32 }]);
      const error = failedCleanly(fdLeaks(() => loadObject(readProg("core_read"), { kernelBtf: parseBtf(kernel.build()) })), RelocationError);
      expect(error.program).toBe("core_task");
      expect(error.message).toContain("poisoned by CO-RE relocation #0 (FIELD_BYTE_OFFSET of task_struct.tgid");
      expect(error.message).toContain("core_read.bpf.c:39");
      expect(error.message).toContain("no candidate matches: the field does not exist in the target");
      expect(error.message).toContain("guard the access with bpf_core_field_exists()");
    });
  });

  describe("programs tsbpf cannot load yet", () => {
    it("a struct_ops program is refused before any syscall, saying why and how to leave it out", () => {
      const source = '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("struct_ops/init") int init(void *ctx) { return 0; }\nchar LICENSE[] SEC("license") = "GPL";\n';
      const bytes = compileSources({ "struct_ops.bpf.c": source })["struct_ops.bpf.o"];
      const error = failedCleanly(fdLeaks(() => loadObject(bytes)), SpecError);
      expect(error.message).toMatch(/section "struct_ops\/init" makes a struct_ops program.*tsbpf does not create struct_ops maps yet: leave it out/);
    });
  });

  describe("the verifier", () => {
    it("rejects the `rejected` fixture with a VerifierError carrying its reason and the full log", () => {
      const check = fdLeaks(() => loadObject(readProg("rejected")));
      // The map `counts` was created before the program was refused: it must be closed again.
      const error = failedCleanly(check, VerifierError);
      expect(error.program).toBe("xdp_unchecked_lookup");
      expect(error.errnoName).toBe("EACCES");
      expect(error.message).toContain("the verifier rejected program xdp_unchecked_lookup");
      expect(error.message).toContain("R0 invalid mem access 'map_value_or_null'");
      expect(error.message).toContain("r1 = *(u64 *)(r0 +0)"); // the failing instruction
      // The whole log, from the first instruction to the verifier's closing statistics.
      expect(error.log).toMatch(/^0: R1=ctx\(\) R10=fp0$/m);
      expect(error.log).toContain("call bpf_map_lookup_elem#1");
      expect(error.log).toContain("R0=map_value_or_null(");
      expect(error.log).toMatch(/^processed \d+ insns/m);
      expect(error.log.length).toBeGreaterThan(error.summary.length);
      expect(error.log).toContain(error.summary.split("\n").at(-1));
    });

    it("points at the source line through the object's BTF line info", () => {
      const error = failedCleanly(fdLeaks(() => loadObject(readProg("rejected"))), VerifierError);
      // rejected.bpf.c line 28 is `*count += 1;`: the kernel logs it from line_info.
      expect(error.sourceLine).toBe("rejected.bpf.c:28");
      expect(error.message).toContain("at rejected.bpf.c:28");
      expect(error.message).toContain("*count += 1;");
    });

    it("a program refused after another loaded closes both the maps and the loaded program", () => {
      const spec = parseObject(readProg("two_progs"));
      const second = spec.programs.get("xdp_second")!;
      second.bytes = Uint8Array.from([0x95, 0, 0, 0, 0, 0, 0, 0]); // exit, with r0 never set
      second.references = [];
      const error = failedCleanly(fdLeaks(() => load(spec)), VerifierError);
      expect(error.program).toBe("xdp_second");
      expect(error.message).toContain("R0 !read_ok");
    });
  });

  describe("map creation and contents", () => {
    it("a map the kernel refuses, after another was created, fails naming the map and closes the first", () => {
      const spec = parseObject(readProg("legacy_maps"));
      spec.maps.get("legacy_hash")!.maxEntries = 0;
      const error = failedCleanly(fdLeaks(() => load(spec)), SyscallError);
      expect(error.operation).toBe("BPF_MAP_CREATE");
      expect(error.message).toContain('map "legacy_hash"');
      expect(error.message).toContain("max_entries is 0");
    });

    it("global data whose contents do not match the section size fails naming the data map", () => {
      const spec = parseObject(readProg("global_data"));
      spec.dataSections.get(".data")!.contents = new Uint8Array(3);
      const error = failedCleanly(fdLeaks(() => load(spec)), SpecError);
      expect(error.message).toBe('map ".data" value: must be 12 bytes, got 3 bytes');
    });

    it("a map removed from the spec but still used by a program is a RelocationError naming both", () => {
      const spec = parseObject(readProg("xdp_counter"));
      spec.maps.delete("stats");
      const error = failedCleanly(fdLeaks(() => load(spec)), RelocationError);
      expect(error.program).toBe("xdp_count");
      expect(error.symbol).toBe("stats");
      expect(error.message).toMatch(/^program xdp_count, instruction \d+, symbol "stats": refers to a map that was not created/);
    });

    it("a pinned map that differs from the object's definition: SpecError naming the map, the pin and the field", () => {
      const root = join(pinRoot, "mismatch");
      keep(loadObject(readProg("iproute2_elf_map"), { pinRoot: root }));
      const spec = parseObject(readProg("iproute2_elf_map"));
      spec.maps.get("pinned_counts")!.maxEntries = 8;
      const error = failedCleanly(fdLeaks(() => load(spec, { pinRoot: root })), SpecError);
      expect(error.part).toBe("pinned_counts");
      expect(error.message).toContain(`the map pinned at ${join(root, "tc/globals/pinned_counts")} differs`);
      expect(error.message).toContain("max_entries 2 (object declares 8)");
      expect(error.message).toContain("rm ");
    });

    it("a failed load removes the pins it made (a pin would keep the new map alive in the kernel)", () => {
      const root = join(pinRoot, "rollback");
      const pin = join(root, "tc/globals/pinned_counts");
      const spec = parseObject(readProg("iproute2_elf_map"));
      const program = spec.programs.get("xdp_count_iproute2")!;
      program.bytes = Uint8Array.from([0x95, 0, 0, 0, 0, 0, 0, 0]); // exit, r0 never set: refused
      program.references = [];
      failedCleanly(fdLeaks(() => load(spec, { pinRoot: root })), VerifierError);
      expect(existsSync(pin), `${pin} left behind`).toBe(false);
    });

    it("a failed load keeps the pins it reused", () => {
      const root = join(pinRoot, "rollback-reused");
      const pin = join(root, "tc/globals/pinned_counts");
      const first = keep(loadObject(readProg("iproute2_elf_map"), { pinRoot: root }));
      const spec = parseObject(readProg("iproute2_elf_map"));
      spec.programs.get("xdp_count_iproute2")!.bytes = Uint8Array.from([0x95, 0, 0, 0, 0, 0, 0, 0]);
      spec.programs.get("xdp_count_iproute2")!.references = [];
      failedCleanly(fdLeaks(() => load(spec, { pinRoot: root })), VerifierError);
      expect(existsSync(pin)).toBe(true);
      expect(first.map("pinned_counts").info().id).toBeGreaterThan(0);
    });

    it("a pin root outside bpffs: the message names the path and says to mount bpffs", () => {
      const root = mkdtempSync(join(tmpdir(), "tsbpf-not-bpffs-"));
      try {
        // Checked before any map is created: the kernel's own answer would be a bare EPERM.
        const error = failedCleanly(fdLeaks(() => loadObject(readProg("iproute2_elf_map"), { pinRoot: root })), SpecError);
        expect(error.message).toContain(join(root, "tc/globals/pinned_counts"));
        expect(error.message).toContain("is not on a BPF filesystem: pins can only live in one (mount -t bpf bpf /sys/fs/bpf");
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });

    it("asking for a program the object does not have fails before anything is created", () => {
      const spec = parseObject(readProg("two_progs"));
      const error = failedCleanly(fdLeaks(() => load(spec, { programs: ["xdp_first", "nope"] })), SpecError);
      expect(error.message).toBe("nope: no program named nope; the object has xdp_first, xdp_second");
    });
  });

  describe("map operations with the wrong shapes", () => {
    let obj: LoadedObject;
    beforeAll(() => {
      obj = keep(loadObject(readProg("xdp_counter")));
    });

    it("a key of the wrong size names the map, the key and both sizes", () => {
      const stats = obj.map("stats");
      const error = failedCleanly(fdLeaks(() => stats.update(new Uint8Array(8), 1n)), SpecError);
      expect(error.message).toBe('map "stats" key: must be 4 bytes, got 8 bytes');
      expect(failedCleanly(fdLeaks(() => stats.lookup(new Uint8Array(2))), SpecError).message).toBe(
        'map "stats" key: must be 4 bytes, got 2 bytes',
      );
    });

    it("a value of the wrong size names the map, the value and both sizes", () => {
      const error = failedCleanly(fdLeaks(() => obj.map("stats").update(1, new Uint8Array(4))), SpecError);
      expect(error.message).toBe('map "stats" value: must be 8 bytes, got 4 bytes');
    });

    it("a number too large for the key names the map and the range", () => {
      const error = failedCleanly(fdLeaks(() => obj.map("stats").update(2 ** 40, 1n)), SpecError);
      expect(error.message).toMatch(/^map "stats" key: 1099511627776 does not fit in 4 bytes/);
    });

    it("an array index past max_entries says so, not that the map is full", () => {
      const error = failedCleanly(fdLeaks(() => obj.map("stats").update(256, 1n)), SyscallError);
      expect(error.errnoName).toBe("E2BIG");
      expect(error.message).toContain('map "stats"');
      // E2BIG from an array map's update means the index is not below max_entries (256 here).
      expect(error.message).toMatch(/index|out of range|below max_entries/i);
    });
  });

  describe("XDP attach", () => {
    let pair: NetnsPair;
    beforeAll(() => {
      pair = NetnsPair.create();
    });
    afterAll(() => pair?.cleanup());

    it("a missing interface: the message names it, nothing is attached or leaked", () => {
      const obj = keep(loadObject(readProg("xdp_pass")));
      const error = failedCleanly(fdLeaks(() => withNetns(pair.b.ns, () => obj.attachXdp("nosuchdev0", { mode: "skb" }))), BpfError);
      expect(error.message).toContain('"nosuchdev0"');
      expect(error.message).toContain("no interface named");
      expect(failedCleanly(fdLeaks(() => withNetns(pair.b.ns, () => obj.attachXdp(0x7ffffff0))), BpfError).message).toContain(
        String(0x7ffffff0),
      );
    });

    it("attaching twice without replace: NetlinkError saying what to do, no descriptor leaked", () => {
      const first = keep(loadObject(readProg("xdp_pass")));
      const second = keep(loadObject(readProg("xdp_drop")));
      const attachment = withNetns(pair.b.ns, () => first.attachXdp(pair.b.dev, { mode: "native" }));
      try {
        for (const options of [{ mode: "native" as const }, {}]) {
          const error = failedCleanly(fdLeaks(() => withNetns(pair.b.ns, () => second.attachXdp(pair.b.dev, options))), NetlinkError);
          expect(error.message).toContain(pair.b.dev);
          expect(error.message).toContain("XDP program already attached");
          expect(error.message).toContain("detach it, or replace it");
        }
      } finally {
        attachment.detach();
      }
    });

    it("an object without XDP programs cannot be attached, and says so", () => {
      const obj = keep(loadObject(readProg("sections"), { programs: ["tc_prog"] }));
      const error = failedCleanly(fdLeaks(() => withNetns(pair.b.ns, () => obj.attachXdp(pair.b.dev))), SpecError);
      expect(error.message).toBe("attachXdp: the object has no XDP program to attach");
    });
  });
});
