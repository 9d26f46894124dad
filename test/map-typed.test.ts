// BTF-typed map access against the real kernel: test/progs/typed_values.bpf.c is loaded,
// its program run with BPF_PROG_TEST_RUN (no network needed: the kernel runs the program
// on a packet we hand it), and its maps read and written through BpfMaps built with
// codecsFor(). Oracles: what the C source says the program writes, what the program
// returns (it returns a field of the config we wrote), and bpftool, whose `map dump`
// decodes the same values through the same BTF with libbpf's own dumper.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BpfMap, loadObject, parseObject, SpecError, type LoadedObject, type ObjectSpec } from "../index.js";
import { codecsFor } from "../maps/btf-codec.js";
import { skipWithoutRoot } from "./helpers/netns.js";
import { readProg } from "./helpers/progs.js";

type Typed = BpfMap<unknown, unknown>;

/** A second handle on a loaded map (its own dup of the fd), with codecs from the spec's BTF. */
function typedMap(obj: LoadedObject, spec: ObjectSpec, name: string): Typed {
  const map = obj.map(name);
  return new BpfMap<unknown, unknown>(map.fd.dup(), map, codecsFor(spec.btf, spec.maps.get(name)!));
}

/** What `bpftool -j map dump` prints for each entry: raw bytes and the BTF-formatted key/value. */
interface BpftoolEntry {
  formatted?: { key: unknown; value: unknown };
}

function bpftoolDump(map: BpfMap<unknown, unknown>): BpftoolEntry[] {
  return JSON.parse(execFileSync("bpftool", ["-j", "map", "dump", "id", String(map.info().id)], { encoding: "utf8" })) as BpftoolEntry[];
}

/** A zeroed frame of `size` bytes: enough for this program, which only looks at the length. */
const frame = (size: number) => new Uint8Array(size);

/** Ethernet + IPv4 + UDP to `port`, `size` bytes in all (the demo counts by protocol and port). */
function udpFrame(size: number, port: number): Uint8Array {
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint16(12, 0x0800); // ethertype IPv4
  bytes[14] = 0x45; // version 4, ihl 5
  view.setUint16(16, size - 14); // total length
  bytes[22] = 64; // ttl
  bytes[23] = 17; // protocol UDP
  bytes.set([10, 0, 0, 1, 10, 0, 0, 2], 26);
  view.setUint16(34, 40000); // source port
  view.setUint16(36, port); // destination port
  view.setUint16(38, size - 34); // UDP length
  return bytes;
}

const ZERO_HEADER = { version: 0, flags: 0, delta: 0 };

describe.skipIf(skipWithoutRoot)("typed maps on the kernel (typed_values)", () => {
  let spec: ObjectSpec;
  let obj: LoadedObject;
  let config: Typed;
  let records: Typed;
  let samples: Typed;

  beforeAll(() => {
    const bytes = readProg("typed_values");
    spec = parseObject(bytes);
    obj = loadObject(bytes);
    config = typedMap(obj, spec, "config");
    records = typedMap(obj, spec, "records");
    samples = typedMap(obj, spec, "samples");
  });

  afterAll(() => {
    for (const map of [config, records, samples]) map?.close();
    obj?.close();
  });

  afterEach(() => {
    // Every test starts from a zeroed record and an empty samples map.
    records.update(0, {});
    for (const key of [...samples.keys()]) samples.delete(key);
  });

  const run = (size: number) => obj.program("xdp_typed").testRun(frame(size));

  it("writes the config as the C layout says, and the program returns its action", () => {
    config.update(0, { action: "XDP_DROP", mode: "MODE_SAMPLE", scale: 3, level: 9, verbose: 1, tag: "typed" });
    // The same bytes through a raw handle on the same map (28 bytes: a Uint8Array).
    using raw = BpfMap.fromId(obj.map("config").info().id, { raw: true });
    expect(raw.lookup(new Uint8Array(4))).toEqual(Uint8Array.from([
      1, 0, 0, 0, 7, 0, 0, 0, 3, 0, 0, 0, // XDP_DROP, MODE_SAMPLE, scale 3
      9 | (1 << 4), //                       level 9, verbose 1
      0x74, 0x79, 0x70, 0x65, 0x64, 0, 0, 0, 0, 0, 0, 0, // "typed"
      0, 0, 0,
    ]));
    expect(config.lookup(0)).toEqual({ action: "XDP_DROP", mode: "MODE_SAMPLE", scale: 3, level: 9, verbose: 1, tag: "typed" });
    expect(run(60)).toMatchObject({ retval: 1, action: "DROP" });
    config.update(0, { action: "XDP_PASS" });
    expect(run(60)).toMatchObject({ retval: 2, action: "PASS" });
  });

  it("decodes the record the program writes on each packet", () => {
    config.update(0, { action: "XDP_PASS", mode: "MODE_SAMPLE", scale: 3, level: 9, tag: "typed" });
    expect(run(60).action).toBe("PASS");
    const first = {
      hdr: { version: 1, flags: 0x81, delta: -5 },
      counts: [1, 60, 180],
      mode: "MODE_SAMPLE",
      small: 5,
      mid: 300,
      neg: -7,
      level: 9,
      wide: 1234,
      big: 0xab12345678n,
      tail: 0xc0ffeen,
      name: "typed",
      history: [ZERO_HEADER, ZERO_HEADER],
      total: -60n,
    };
    expect(records.lookup(0)).toEqual(first);

    config.update(0, { action: "XDP_PASS", mode: 1, scale: 2, level: 3, tag: "second run" });
    run(100);
    expect(records.lookup(0)).toEqual({
      ...first,
      hdr: { version: 2, flags: 0x81, delta: -5 },
      counts: [2, 100, 200],
      mode: "MODE_COUNT",
      level: 3,
      name: "second run",
      history: [{ version: 1, flags: 0x81, delta: -5 }, ZERO_HEADER],
      total: -160n,
    });
  });

  it("decodes the record as bpftool does through the same BTF", () => {
    config.update(0, { action: "XDP_PASS", mode: "MODE_COUNT", scale: 7, level: 15, tag: "oracle" });
    run(61);
    run(75);
    const ours = records.lookup(0) as Record<string, unknown>;
    const [entry] = bpftoolDump(records);
    expect(entry?.formatted, "bpftool prints formatted values only for maps created with BTF types").toBeDefined();
    // bpftool prints bitfields as hex of their bits and 64-bit integers as JSON numbers.
    const bitfields: Record<string, number> = { small: 3, mid: 9, neg: 5, level: 4, wide: 11, big: 40, tail: 24 };
    const asBpftool = Object.fromEntries(Object.entries(ours).map(([key, value]) => {
      if (key in bitfields) return [key, `0x${BigInt.asUintN(bitfields[key], BigInt(value as number | bigint)).toString(16)}`];
      return [key, typeof value === "bigint" ? Number(value) : value];
    }));
    expect(entry!.formatted!.value).toEqual(asBpftool);
    expect(ours).toMatchObject({ counts: [2, 75, 525], total: -136n, name: "oracle", neg: -7 });
  });

  it("writes a record object that the program then reads", () => {
    config.update(0, { action: "XDP_PASS", scale: 1 });
    records.update(0, {
      hdr: { version: 41, flags: 7, delta: 2 },
      counts: [41],
      history: [{ version: 9, flags: 8, delta: -1 }],
      total: 1000n,
    });
    run(64);
    // The program moved our hdr into history[0] and our history[0] into history[1].
    expect(records.lookup(0)).toMatchObject({
      hdr: { version: 42, flags: 0x81, delta: -5 },
      counts: [42, 64, 64],
      history: [{ version: 41, flags: 7, delta: 2 }, { version: 9, flags: 8, delta: -1 }],
      total: 936n,
    });
  });

  it("uses struct keys with padding in a hash map, whatever the property order", () => {
    const value = {
      enabled: true, letter: 0x41, ratio: 0.5, precise: Math.PI, where: 0xffff888000001000n, huge: 2n ** 100n, signed_huge: -1n,
      raw: Uint8Array.from([9, 8, 7, 6]), as_u64: 5n, lo: 1, hi: 2, mac: [2, 0, 0, 0, 0, 1], words: ["one", "two"],
      sign: "SIGN_POSITIVE", ready: true, packed_mode: "MODE_SAMPLE", span: 2n ** 44n + 1n, wide: -(2n ** 60n),
    };
    samples.update({ ifindex: 3, port: 53, protocol: 17 }, value);
    const found = samples.lookup({ protocol: 17, port: 53, ifindex: 3 }) as Record<string, unknown>;
    expect(found).toMatchObject({ ...value, as_s32: 5 });
    expect(samples.lookup({ ifindex: 3, port: 53, protocol: 6 })).toBeUndefined();
    expect([...samples.keys()]).toEqual([{ ifindex: 3, port: 53, protocol: 17 }]);
    // bpftool 7.1 cannot format floats (its JSON then is not JSON), so read its raw key bytes:
    // padding byte 7 is zero, as the kernel's hash of the whole key needs it to be.
    const dump = execFileSync("bpftool", ["-j", "map", "dump", "id", String(samples.info().id)], { encoding: "utf8" });
    const keys = [...dump.matchAll(/"key":\[([^\]]*)\]/g)].map((m) => JSON.parse(`[${m[1]}]`).map(Number));
    expect(keys).toEqual([[3, 0, 0, 0, 53, 0, 17, 0]]);
    expect(samples.delete({ port: 53, ifindex: 3, protocol: 17 })).toBe(true);
  });

  it("refuses values that do not fit, naming the map and the member", () => {
    const error = (() => {
      try {
        config.update(0, { tag: "far too long for twelve" });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(SpecError);
    expect((error as SpecError).part).toBe('map "config" value.tag');
    expect(() => samples.update({ ifindex: 1, port: 70000 }, {})).toThrow(/map "samples" key\.port: 70000 is not an integer that fits __u16/);
  });
});

describe.skipIf(skipWithoutRoot)("typed maps on the kernel (the demo)", () => {
  it("decodes struct counter { packets, bytes } as bigints", () => {
    const bytes = readFileSync(new URL("../demo/xdp_stats.bpf.o", import.meta.url));
    const spec = parseObject(bytes);
    const obj = loadObject(bytes);
    const opened: Typed[] = [];
    try {
      const open = (name: string) => {
        const map = BpfMap.fromId<unknown, unknown>(obj.map(name).info().id, codecsFor(spec.btf, spec.maps.get(name)!));
        opened.push(map);
        return map;
      };
      const protocols = open("proto_counts");
      const ports = open("port_counts");
      for (let i = 0; i < 3; i++) expect(obj.program("xdp_stats").testRun(udpFrame(80, 5353)).action).toBe("PASS");
      expect(protocols.lookup(17)).toEqual({ packets: 3n, bytes: 240n });
      expect(protocols.lookup(6)).toEqual({ packets: 0n, bytes: 0n });
      // The key is a plain __u16: it keeps the default number codec.
      expect([...ports.entries()]).toEqual([[5353, { packets: 3n, bytes: 240n }]]);
    } finally {
      for (const map of opened) map.close();
      obj.close();
    }
  });
});
