// load() against the real kernel: every fixture in test/progs goes through parseObject and
// load(), and what the kernel then holds is checked three ways:
// - the kernel's own description (BPF_OBJ_GET_INFO_BY_FD: program type, map shape, map ids);
// - behaviour: BPF_PROG_TEST_RUN runs each program on a hand-built frame, and the map
//   contents afterwards must be what the fixture's C source says it computes;
// - bpffs: pinned maps appear where iproute2 would put them and are reused by a second load.
// No network is touched: test runs never leave the kernel. Pins go to a per-run directory
// under /sys/fs/bpf, removed in afterAll.

import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { load, loadObject, parseObject, SpecError, ProgramType, XdpAction, type LoadedObject, type ObjectSpec } from "../index.js";
import { possibleCpus } from "../syscall/cpus.js";
import { FIXTURES, MAP_TYPE_IDS } from "./helpers/fixture-manifest.js";
import { skipWithoutRoot } from "./helpers/netns.js";
import { readProg } from "./helpers/progs.js";

const FRAME_SIZE = 64;
const UDP_PORT = 4242;

/**
 * A valid 64-byte frame: Ethernet II + IPv4 (20 bytes, checksum filled in) + UDP + payload.
 *
 *   0  dst MAC 02:00:00:00:00:02   6  src MAC 02:00:00:00:00:01   12  ethertype 0x0800
 *   14 IPv4: version/ihl 0x45, total length, ttl 64, protocol 17, 10.0.0.1 -> 10.0.0.2
 *   34 UDP: source port, destination `port`, length, checksum 0 (none, allowed for IPv4)
 *   42 payload up to `size`
 */
function udpFrame(size = FRAME_SIZE, port = UDP_PORT): Uint8Array {
  const frame = new Uint8Array(size);
  const view = new DataView(frame.buffer);
  frame.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01], 0);
  view.setUint16(12, 0x0800);
  const ipLength = size - 14;
  frame.set([0x45, 0x00], 14);
  view.setUint16(16, ipLength);
  frame.set([64, 17], 22); // ttl, protocol
  frame.set([10, 0, 0, 1, 10, 0, 0, 2], 26);
  view.setUint16(24, ipChecksum(frame.subarray(14, 34)));
  view.setUint16(34, 40000);
  view.setUint16(36, port);
  view.setUint16(38, ipLength - 20);
  for (let i = 42; i < size; i++) frame[i] = i & 0xff;
  return frame;
}

/** RFC 791 header checksum: ones' complement of the ones' complement sum of 16-bit words. */
function ipChecksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += (header[i] << 8) | header[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The frame count an XDP program reads from a u64 map slot (0 when the slot is absent). */
function counter(obj: LoadedObject, map: string, key: number): bigint {
  return (obj.map(map).lookup(key) as bigint | undefined) ?? 0n;
}

/** Everything in a spec that load() could be tempted to rewrite, as plain data. */
function snapshot(spec: ObjectSpec): unknown {
  const programs = (table: ObjectSpec["programs"]) =>
    [...table.values()].map((p) => ({
      name: p.name,
      type: p.type,
      flags: p.flags,
      bytes: Array.from(p.bytes),
      references: structuredClone(p.references),
    }));
  return {
    programs: programs(spec.programs),
    subprograms: programs(spec.subprograms),
    maps: [...spec.maps.values()].map((m) => ({ ...m, innerMap: m.innerMap && { ...m.innerMap } })),
    data: [...spec.dataSections.values()].map((d) => ({ ...d, contents: Array.from(d.contents) })),
  };
}

describe.skipIf(skipWithoutRoot)("load(): fixtures into the kernel", () => {
  const pinRoot = `/sys/fs/bpf/tsbpf-load-${process.pid}-${randomBytes(3).toString("hex")}`;
  const open: LoadedObject[] = [];
  /** Loads a fixture with pins confined to this run's directory; closed in afterAll. */
  const loadFixture = (name: string, root = pinRoot): LoadedObject => {
    const obj = loadObject(readProg(name), { pinRoot: root });
    open.push(obj);
    return obj;
  };

  beforeAll(() => mkdirSync(pinRoot));
  afterAll(() => {
    for (const obj of open) obj.close();
    rmSync(pinRoot, { recursive: true, force: true });
  });

  describe("every fixture the verifier accepts loads, as the manifest describes it", () => {
    for (const [name, fixture] of Object.entries(FIXTURES).filter(([, f]) => f.verifierAccepts)) {
      it(name, () => {
        const obj = loadFixture(name);
        expect([...obj.programs.keys()].sort()).toEqual(fixture.programs.map((p) => p.name).sort());
        expect([...obj.maps.keys()].sort()).toEqual(fixture.maps.map((m) => m.name).sort());
        expect([...obj.dataMaps.keys()].sort()).toEqual([...fixture.dataSections, ...(fixture.loaderDataMaps ?? [])].sort());
        for (const expected of fixture.programs) {
          const info = obj.program(expected.name).info();
          expect(info.type, expected.name).toBe(ProgramType[expected.programType.toUpperCase() as keyof typeof ProgramType]);
          expect(info.name).toBe(expected.name.slice(0, 15));
          expect(info.id).toBeGreaterThan(0);
        }
        for (const expected of fixture.maps) {
          const info = obj.map(expected.name).info();
          expect(info, expected.name).toMatchObject({
            type: MAP_TYPE_IDS[expected.type],
            keySize: expected.keySize,
            valueSize: expected.valueSize,
            maxEntries: expected.maxEntries,
            flags: expected.flags,
            name: expected.name.slice(0, 15),
          });
        }
        // The kernel says which maps each program uses: all of them are the object's own.
        const mapIds = new Set([...obj.maps.values(), ...obj.dataMaps.values()].map((m) => m.info().id));
        for (const program of obj.programs.values()) {
          for (const id of program.info().mapIds) expect(mapIds.has(id), `${program.name} uses map id ${id}`).toBe(true);
        }
      });
    }
  });

  describe("BPF_PROG_TEST_RUN on a 64-byte Ethernet/IPv4/UDP frame", () => {
    it("xdp_pass returns PASS and xdp_drop returns DROP", () => {
      const pass = loadFixture("xdp_pass").program("xdp_pass").testRun(udpFrame());
      expect(pass).toMatchObject({ retval: XdpAction.PASS, action: "PASS" });
      expect(pass.data).toEqual(udpFrame()); // the program left the frame alone
      expect(loadFixture("xdp_drop").program("xdp_drop").testRun(udpFrame())).toMatchObject({ retval: XdpAction.DROP, action: "DROP" });
    });

    it("xdp_counter's stats[17] (UDP) grows by `repeat`, and nothing else is counted", () => {
      const obj = loadFixture("xdp_counter");
      expect(counter(obj, "stats", 17)).toBe(0n);
      expect(obj.program("xdp_count").testRun(udpFrame(), { repeat: 7 }).action).toBe("PASS");
      expect(counter(obj, "stats", 17)).toBe(7n);
      obj.program("xdp_count").testRun(udpFrame(), { repeat: 5 });
      expect(counter(obj, "stats", 17)).toBe(12n);
      const nonZero = [...obj.map("stats").entries()].filter(([, v]) => v !== 0n).map(([k]) => k);
      expect(nonZero).toEqual([17]);
      // A frame too short for an IPv4 header is passed uncounted.
      obj.program("xdp_count").testRun(udpFrame().subarray(0, 20));
      expect(counter(obj, "stats", 17)).toBe(12n);
    });

    it("per-CPU maps: a lookup returns one value per possible CPU, summing to the frames seen", () => {
      const obj = loadFixture("xdp_percpu");
      const cpus = possibleCpus();
      obj.program("xdp_count_percpu").testRun(udpFrame(), { repeat: 9 });
      const values = obj.map("percpu_stats").lookup(17) as bigint[];
      expect(values).toHaveLength(cpus);
      expect(values.reduce((a, b) => a + b, 0n)).toBe(9n);
      expect(obj.map("percpu_stats").lookup(6)).toEqual(new Array(cpus).fill(0n));
    });

    it("xdp_hash_saddr keys its hash map by the source address in network byte order", () => {
      const obj = loadFixture("xdp_hash_saddr");
      obj.program("xdp_count_saddr").testRun(udpFrame(), { repeat: 3 });
      // 10.0.0.1 as the bytes 0a 00 00 01, read as a little-endian u32.
      expect([...obj.map("saddr_counts").entries()]).toEqual([[0x0100000a, 3n]]);
    });

    it("subprog: bpf-to-bpf calls are linked; each program bumps the slot its C source computes", () => {
      const obj = loadFixture("subprog");
      // xdp_static_call: bump(0), XDP_PASS.
      expect(obj.program("xdp_static_call").testRun(udpFrame()).action).toBe("PASS");
      // tc_global_call: bump(1 + classify_len(skb->len)): < 128 -> 1, < 1024 -> 2, else 3. Returns TC_ACT_OK (0).
      const tc = obj.program("tc_global_call");
      expect(tc.testRun(udpFrame(64)).retval).toBe(0);
      tc.testRun(udpFrame(200), { repeat: 2 });
      tc.testRun(udpFrame(1400), { repeat: 3 });
      expect([0, 1, 2, 3].map((key) => counter(obj, "calls", key))).toEqual([1n, 1n, 2n, 3n]);
    });

    it("global_data: .rodata/.data/.bss become data maps with the section's initial contents and the program's writes", () => {
      const obj = loadFixture("global_data");
      // A data map's value is its section's bytes, whatever the size.
      expect(obj.map(".rodata").lookup(0)).toEqual(new Uint8Array(4)); // drop_all
      expect(obj.map(".bss").lookup(0)).toEqual(new Uint8Array(8)); // packets
      const data = () => {
        const value = obj.map(".data").lookup(0) as Uint8Array; // last_len (u64) then tag (u32)
        const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
        return { lastLen: view.getBigUint64(0, true), tag: view.getUint32(8, true) };
      };
      expect(data()).toEqual({ lastLen: 1n, tag: 0xc0ffee });
      expect(obj.program("xdp_globals").testRun(udpFrame(90), { repeat: 4 }).action).toBe("PASS");
      expect(obj.map(".bss").lookup(0)).toEqual(Uint8Array.from([4, 0, 0, 0, 0, 0, 0, 0]));
      expect(data()).toEqual({ lastLen: 90n, tag: 0xc0ffee });
    });

    it("global_data: a .rodata constant rewritten in the spec before load changes what the program does", () => {
      const spec = parseObject(readProg("global_data"));
      spec.dataSections.get(".rodata")!.contents = new Uint8Array([1, 0, 0, 0]); // drop_all = 1
      const obj = load(spec);
      open.push(obj);
      expect(obj.program("xdp_globals").testRun(udpFrame()).action).toBe("DROP");
      expect(obj.map(".rodata").lookup(0)).toEqual(Uint8Array.from([1, 0, 0, 0]));
      // .rodata is frozen: user space can no longer write it.
      expect(() => obj.map(".rodata").update(0, new Uint8Array(4))).toThrow(/EPERM|frozen|read-only/i);
    });

    it("two_progs: both programs of one section load and share the map", () => {
      const obj = loadFixture("two_progs");
      expect(obj.program("xdp_first").testRun(udpFrame(), { repeat: 2 }).action).toBe("PASS");
      expect(obj.program("xdp_second").testRun(udpFrame(), { repeat: 3 }).action).toBe("DROP");
      expect([counter(obj, "hits", 0), counter(obj, "hits", 1)]).toEqual([2n, 3n]);
      const hits = obj.map("hits").info().id;
      expect(obj.program("xdp_first").info().mapIds).toEqual([hits]);
      expect(obj.program("xdp_second").info().mapIds).toEqual([hits]);
    });

    it("legacy_maps: struct bpf_map_def maps work from the program", () => {
      const obj = loadFixture("legacy_maps");
      expect(obj.program("xdp_legacy").testRun(udpFrame(), { repeat: 3 }).action).toBe("PASS");
      expect(counter(obj, "legacy_array", XdpAction.PASS)).toBe(3n);
      // One ingress interface (test runs use the namespace's loopback), counted 3 times.
      const perInterface = [...obj.map("legacy_hash").entries()];
      expect(perInterface).toHaveLength(1);
      expect(perInterface[0][1]).toBe(3n);
    });
  });

  describe("pinned maps", () => {
    it("iproute2's PIN_GLOBAL_NS map is pinned under <pinRoot>/tc/globals and reused by a second load", () => {
      const root = join(pinRoot, "iproute2");
      const first = loadFixture("iproute2_elf_map", root);
      const path = join(root, "tc", "globals", "pinned_counts");
      expect(statSync(path).isFile()).toBe(true);
      expect(readdirSync(join(root, "tc", "globals"))).toEqual(["pinned_counts"]); // private_counts is PIN_NONE

      const second = loadFixture("iproute2_elf_map", root);
      expect(second.map("pinned_counts").info().id).toBe(first.map("pinned_counts").info().id);
      expect(second.map("private_counts").info().id).not.toBe(first.map("private_counts").info().id);

      // One map shared by both objects: what one program counts, the other object sees.
      first.program("xdp_count_iproute2").testRun(udpFrame(), { repeat: 2 });
      second.program("xdp_count_iproute2").testRun(udpFrame(), { repeat: 3 });
      expect(counter(second, "pinned_counts", 1)).toBe(5n);
      // cls_count (tc) counts into key 0 of the same map.
      expect(second.program("cls_count").testRun(udpFrame()).retval).toBe(0);
      expect(counter(first, "pinned_counts", 0)).toBe(1n);
    });

    it("a pinned map whose max_entries differs from the object's makes the load fail with a SpecError naming both", () => {
      const root = join(pinRoot, "mismatch");
      const first = loadFixture("iproute2_elf_map", root);
      const spec = parseObject(readProg("iproute2_elf_map"));
      spec.maps.get("pinned_counts")!.maxEntries = 4;
      let error: unknown;
      try {
        open.push(load(spec, { pinRoot: root }));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SpecError);
      const message = (error as SpecError).message;
      expect((error as SpecError).part).toBe("pinned_counts");
      expect(message).toContain(join(root, "tc", "globals", "pinned_counts"));
      expect(message).toContain("max_entries 2 (object declares 4)");
      // The pin is left as it was.
      expect(first.map("pinned_counts").info().maxEntries).toBe(2);
    });
  });

  describe("choosing what to load, and the spec afterwards", () => {
    it("load(spec, { programs: [name] }) loads only that program", () => {
      const spec = parseObject(readProg("two_progs"));
      const obj = load(spec, { programs: ["xdp_second"] });
      open.push(obj);
      expect([...obj.programs.keys()]).toEqual(["xdp_second"]);
      expect(obj.program("xdp_second").testRun(udpFrame()).action).toBe("DROP");
      expect(() => obj.program("xdp_first")).toThrow(SpecError);
    });

    it("load(spec, { programs }) with a name the object lacks fails with a SpecError listing the programs", () => {
      const spec = parseObject(readProg("two_progs"));
      expect(() => load(spec, { programs: ["xdp_third"] })).toThrow(/no program named xdp_third; the object has xdp_first, xdp_second/);
    });

    it("a loaded object does not change when its spec is edited afterwards", () => {
      const spec = parseObject(readProg("xdp_pass"));
      const obj = load(spec);
      open.push(obj);
      // Reusing the spec for another load, with the program as a tc classifier this time.
      spec.programs.get("xdp_pass")!.type = ProgramType.SCHED_CLS;
      const program = obj.program("xdp_pass");
      expect(program.info().type).toBe(ProgramType.XDP); // what the kernel holds
      expect(program.type).toBe(ProgramType.XDP);
      expect(program.testRun(udpFrame()).action).toBe("PASS");
    });

    for (const name of ["subprog", "global_data", "two_progs", "legacy_maps", "xdp_counter"]) {
      it(`loading ${name} leaves its spec exactly as parseObject made it`, () => {
        const spec = parseObject(readProg(name));
        const before = snapshot(spec);
        open.push(load(spec, { pinRoot }));
        expect(snapshot(spec)).toEqual(before);
        // And the same spec loads a second time.
        open.push(load(spec, { pinRoot }));
      });
    }
  });
});
