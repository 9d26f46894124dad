// BTF-typed codecs (maps/btf-codec.ts) without a kernel: the types come from
// test/progs/typed_values.bpf.c as clang wrote them into the object's BTF, from the running
// kernel's /sys/kernel/btf/vmlinux (enum64 and signed enums, which clang 14 cannot emit),
// and from small BTF blobs built here for the corners no compiler emits (INT types with a
// bit offset, bitfields without kind_flag, malformed layouts). The expected bytes are
// written out by hand, little-endian, from the C layout the fixture's comments spell out;
// the bitfield words are also checked against a bit-by-bit reference written here.

import { existsSync, readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { parseBtf, parseObject, SpecError, type Btf, type MapSpec } from "../index.js";
import { btfCodec, codecsFor } from "../maps/btf-codec.js";
import { perCpuCodec, type Codec } from "../maps/codec.js";
import { readProg } from "./helpers/progs.js";

let btf: Btf;
let maps: ReadonlyMap<string, MapSpec>;

beforeAll(() => {
  const spec = parseObject(readProg("typed_values"));
  btf = spec.btf!;
  maps = spec.maps;
});

/** The codec of the struct with this name in the fixture's BTF. */
function structCodec(name: string, generate = true): Codec<unknown> {
  return btfCodec(btf, btf.typeByName(name, "struct")!.id, { generate });
}

function encode(codec: Codec<unknown>, value: unknown, part = "value", fill = 0): Uint8Array {
  const bytes = new Uint8Array(codec.size).fill(fill);
  codec.encode(value, bytes, new DataView(bytes.buffer), 0, part);
  return bytes;
}

function decode(codec: Codec<unknown>, bytes: Uint8Array): unknown {
  return codec.decode(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0);
}

/** The SpecError that `fn` throws. */
function specError(fn: () => unknown): SpecError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SpecError) return error;
    throw error;
  }
  throw new Error("expected a SpecError, but nothing was thrown");
}

/** A bitfield's value placed bit by bit, the slow obvious way: bit i of the struct is bit i % 8 of byte i / 8. */
function placeBits(bytes: Uint8Array, start: number, width: number, value: bigint): void {
  const bits = BigInt.asUintN(width, value);
  for (let i = 0; i < width; i++) {
    const bit = start + i;
    if ((bits >> BigInt(i)) & 1n) bytes[bit >> 3] |= 1 << (bit & 7);
    else bytes[bit >> 3] &= ~(1 << (bit & 7));
  }
}

// struct record (64 bytes): see test/progs/typed_values.bpf.c for the offsets.
const RECORD = {
  hdr: { version: 0x1234, flags: 0x81, delta: -5 },
  counts: [1, 60, 0xdeadbeef],
  mode: "MODE_SAMPLE",
  small: 5,
  mid: 300,
  neg: -7,
  level: 9,
  wide: 1234,
  big: 0xab12345678n,
  tail: 0xc0ffeen,
  name: "hello",
  history: [
    { version: 2, flags: 1, delta: 127 },
    { version: 0xffff, flags: 0xff, delta: -128 },
  ],
  total: -2n,
};

const RECORD_BYTES = Uint8Array.from([
  0x34, 0x12, 0x81, 0xfb, //                           hdr: version 0x1234, flags 0x81, delta -5
  0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x00, //   counts[0] 1, counts[1] 60
  0xef, 0xbe, 0xad, 0xde, //                           counts[2] 0xdeadbeef
  0x07, 0x00, 0x00, 0x00, //                           mode MODE_SAMPLE = 7
  // 5 | 300 << 3 | (-7 & 0x1f) << 12 | 9 << 17 | 1234 << 21 = 0x9a539965
  0x65, 0x99, 0x53, 0x9a,
  // big | tail << 40 = 0xc0ffee_ab12345678
  0x78, 0x56, 0x34, 0x12, 0xab, 0xee, 0xff, 0xc0,
  0x68, 0x65, 0x6c, 0x6c, 0x6f, 0, 0, 0, 0, 0, 0, 0, // name "hello" and NULs
  0x02, 0x00, 0x01, 0x7f, 0xff, 0xff, 0xff, 0x80, //   history[0] {2, 1, 127}, history[1] {0xffff, 0xff, -128}
  0, 0, 0, 0, //                                       padding
  0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, //   total -2
]);

// struct sample (160 bytes).
const SAMPLE = {
  enabled: true,
  letter: 65,
  small: -2,
  byte: 200,
  ratio: 1.5,
  precise: -0.25,
  where: 0xffff888012345678n,
  huge: (1n << 127n) | 0x0102n,
  signed_huge: -3n,
  s64: -9007199254740993n,
  u64: 0xfedcba9876543210n,
  lead: 17n,
  span: 0x1abcdef01234n,
  signed_span: -1000n,
  s16: -300,
  u16: 65535,
  s32: -123456,
  raw: Uint8Array.from([1, 2, 3, 4]),
  as_u64: 0x1fffffff6n,
  as_s32: -10,
  lo: 0x1111,
  hi: 0x2222,
  mac: [2, 0, 0, 0, 0, 1],
  words: ["ab", "xyz"],
  sign: "SIGN_NEGATIVE",
  flag: 0,
  ready: true,
  packed_mode: "MODE_SAMPLE",
  stamp: 12345678901234n,
  low: 6n,
  wide: -(2n ** 59n) - 7n,
};

function sampleBytes(): Uint8Array {
  const bytes = new Uint8Array(160);
  const view = new DataView(bytes.buffer);
  bytes.set([0x01, 0x41, 0xfe, 0xc8], 0); // enabled, letter 'A', small -2, byte 200
  bytes.set([0x00, 0x00, 0xc0, 0x3f], 4); // 1.5f
  bytes.set([0, 0, 0, 0, 0, 0, 0xd0, 0xbf], 8); // -0.25
  bytes.set([0x78, 0x56, 0x34, 0x12, 0x80, 0x88, 0xff, 0xff], 16); // where
  bytes.set([0x02, 0x01], 32); // huge: low bytes of 0x0102 ...
  bytes[47] = 0x80; //           ... and bit 127
  bytes.fill(0xff, 48, 64); // signed_huge -3: all ones but the lowest byte
  bytes[48] = 0xfd;
  view.setBigInt64(64, -9007199254740993n, true);
  view.setBigUint64(72, 0xfedcba9876543210n, true);
  // lead : 5 | span : 45 | signed_span : 14, all in the __u64 at 80.
  view.setBigUint64(80, 17n | (0x1abcdef01234n << 5n) | (BigInt.asUintN(14, -1000n) << 50n), true);
  view.setInt16(88, -300, true);
  view.setUint16(90, 65535, true);
  view.setInt32(92, -123456, true);
  bytes.set([1, 2, 3, 4], 96); // raw
  view.setBigUint64(104, 0x1fffffff6n, true); // as_u64 (its low half is as_s32 = -10)
  bytes.set([0x11, 0x11, 0x22, 0x22], 112); // lo, hi
  bytes.set([2, 0, 0, 0, 0, 1], 116); // mac
  bytes.set([0x61, 0x62], 122); // words[0] "ab"
  bytes.set([0x78, 0x79, 0x7a], 128); // words[1] "xyz"
  bytes.set([0xff, 0xff, 0xff, 0xff], 136); // sign: SIGN_NEGATIVE, recorded by clang 14 as 4294967295
  bytes[140] = 0b11110; // flag 0 (bit 0), ready 1 (bit 1), packed_mode 7 (bits 2-4)
  view.setBigUint64(144, 12345678901234n, true);
  view.setBigUint64(152, 6n | (BigInt.asUintN(61, -(2n ** 59n) - 7n) << 3n), true); // low : 3 | wide : 61
  return bytes;
}

describe("struct values from the fixture's BTF", () => {
  for (const generate of [true, false]) {
    describe(generate ? "generated code" : "loops (no code generation)", () => {
      it("decodes struct record: nested struct, arrays, enum, bitfields, string, signed 64-bit", () => {
        expect(decode(structCodec("record", generate), RECORD_BYTES)).toEqual(RECORD);
      });

      it("encodes struct record back to the same bytes, padding zero whatever the buffer held", () => {
        const codec = structCodec("record", generate);
        expect(codec.size).toBe(64);
        expect(encode(codec, RECORD)).toEqual(RECORD_BYTES);
        expect(encode(codec, RECORD, "value", 0xaa)).toEqual(RECORD_BYTES);
      });

      it("round-trips struct sample: bool, chars, floats, pointer, 128-bit, unions, u8 and 2-D char arrays, odd bitfields", () => {
        const codec = structCodec("sample", generate);
        expect(codec.size).toBe(160);
        const decoded = decode(codec, sampleBytes());
        expect(decoded).toEqual(SAMPLE);
        expect(Object.keys(decoded as object)).toEqual(Object.keys(SAMPLE)); // declaration order, anonymous members in place
        expect(encode(codec, SAMPLE, "value", 0x55)).toEqual(sampleBytes());
      });

      it("round-trips struct config (an enum from linux/bpf.h, bitfields in a __u8, UTF-8 text) and the padded struct key", () => {
        const config = structCodec("config", generate);
        const value = { action: "XDP_TX", mode: "MODE_COUNT", scale: 1000, level: 15, verbose: 1, tag: "héllo" };
        const bytes = Uint8Array.from([
          3, 0, 0, 0, 1, 0, 0, 0, 0xe8, 0x03, 0, 0, // XDP_TX = 3, MODE_COUNT = 1, 1000
          0x1f, //                                     level 15 | verbose << 4
          0x68, 0xc3, 0xa9, 0x6c, 0x6c, 0x6f, 0, 0, 0, 0, 0, 0, // "héllo": é is c3 a9
          0, 0, 0, //                                  tail padding
        ]);
        expect(encode(config, value, "value", 0xff)).toEqual(bytes);
        expect(decode(config, bytes)).toEqual(value);

        const key = structCodec("sample_key", generate);
        const keyBytes = Uint8Array.from([7, 0, 0, 0, 0xbb, 0x01, 6, 0]);
        expect(encode(key, { protocol: 6, port: 443, ifindex: 7 }, "key", 0xff)).toEqual(keyBytes);
        expect(decode(key, keyBytes)).toEqual({ ifindex: 7, port: 443, protocol: 6 });
      });
    });
  }

  it("reads and writes every bitfield exactly where a bit-by-bit reference puts it", () => {
    // [struct, member, first bit, width, signed, JS bigint]; bit positions from clang's BTF (bpftool btf dump).
    const fields: [string, string, number, number, boolean, boolean][] = [
      ["record", "small", 160, 3, false, false], ["record", "mid", 163, 9, false, false], ["record", "neg", 172, 5, true, false],
      ["record", "level", 177, 4, false, false], ["record", "wide", 181, 11, false, false], ["record", "big", 192, 40, false, true],
      ["record", "tail", 232, 24, false, true], ["sample", "lead", 640, 5, false, true], ["sample", "span", 645, 45, false, true],
      ["sample", "signed_span", 690, 14, true, true], ["sample", "flag", 1120, 1, false, false], ["sample", "low", 1216, 3, false, true],
      ["sample", "wide", 1219, 61, true, true],
    ];
    let seed = 12345;
    const random = (width: number): bigint => {
      let n = 0n;
      for (let i = 0; i < width; i += 16) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        n = (n << 16n) | BigInt(seed >>> 16);
      }
      return BigInt.asUintN(width, n);
    };
    for (const [struct, member, start, width, signed, bigint] of fields) {
      const codec = structCodec(struct);
      for (let round = 0; round < 20; round++) {
        const bits = round === 0 ? 0n : round === 1 ? (1n << BigInt(width)) - 1n : random(width);
        const value = signed ? BigInt.asIntN(width, bits) : bits;
        // The reference: a buffer of random bytes with just this field's bits replaced.
        const background = Uint8Array.from({ length: codec.size }, () => Number(random(8)));
        const expected = background.slice();
        placeBits(expected, start, width, value);
        const decoded = (decode(codec, expected) as Record<string, unknown>)[member];
        expect(decoded, `${struct}.${member} = ${value}`).toBe(bigint ? value : Number(value));
        // Encoding just this member writes its bits and zeroes everything else.
        const alone = new Uint8Array(codec.size);
        placeBits(alone, start, width, value);
        expect(encode(codec, { [member]: decoded }, "value", 0xff), `${struct}.${member} = ${value}`).toEqual(alone);
      }
    }
  });

  it("builds each codec once: encoding and decoding never walk the BTF again", () => {
    const record = structCodec("record");
    expect(structCodec("record")).toBe(record);
    const sample = structCodec("sample");
    const original = { type: btf.type, resolve: btf.resolve };
    let walks = 0;
    btf.type = (id) => (walks++, original.type.call(btf, id));
    btf.resolve = (id) => (walks++, original.resolve.call(btf, id));
    try {
      for (let i = 0; i < 100; i++) {
        decode(record, encode(record, RECORD));
        decode(sample, encode(sample, SAMPLE));
      }
    } finally {
      btf.type = original.type;
      btf.resolve = original.resolve;
    }
    expect(walks).toBe(0);
  });

  it("fits inside perCpuCodec like any codec", () => {
    const codec = perCpuCodec(structCodec("record"), 2);
    const bytes = encode(codec, [RECORD, { counts: [9] }]);
    expect(bytes.byteLength).toBe(128);
    expect(bytes.subarray(0, 64)).toEqual(RECORD_BYTES);
    expect(decode(codec, bytes)).toEqual([RECORD, { ...decode(structCodec("record"), new Uint8Array(64)) as object, counts: [9, 0, 0] }]);
  });
});

describe("what encoding accepts", () => {
  const record = () => structCodec("record");
  const sample = () => structCodec("sample");
  const zeroRecord = () => decode(record(), new Uint8Array(64)) as Record<string, unknown>;

  it("leaves out members as zero, like a C designated initializer, and ignores keys set to undefined", () => {
    const bytes = encode(record(), { hdr: { flags: 3 }, counts: [7], name: undefined }, "value", 0xff);
    const expected = new Uint8Array(64);
    expected[2] = 3;
    expected[4] = 7;
    expect(bytes).toEqual(expected);
    expect(decode(record(), bytes)).toEqual({ ...zeroRecord(), hdr: { version: 0, flags: 3, delta: 0 }, counts: [7, 0, 0] });
  });

  it("takes either reading of an integer's bits, bigints for number fields and safe numbers for bigint fields", () => {
    const bytes = encode(record(), { hdr: { version: -1, flags: 255n, delta: 200 }, total: 5, big: 3 });
    expect([...bytes.subarray(0, 4)]).toEqual([0xff, 0xff, 0xff, 0xc8]);
    expect(decode(record(), bytes)).toMatchObject({ hdr: { version: 65535, flags: 255, delta: -56 }, total: 5n, big: 3n });
  });

  it("takes enumerators by name or by number, and decodes values without a name as numbers", () => {
    const codec = record();
    expect(encode(codec, { mode: 7 })[16]).toBe(7);
    expect(encode(codec, { mode: "MODE_COUNT" })[16]).toBe(1);
    const odd = encode(codec, { mode: 5 });
    expect(decode(codec, odd)).toMatchObject({ mode: 5 });
    // clang 14 records SIGN_NEGATIVE = -1 as 4294967295; both spellings store the same bits.
    expect(encode(sample(), { sign: -1 })).toEqual(encode(sample(), { sign: "SIGN_NEGATIVE" }));
    expect(encode(sample(), { sign: 4294967295 })).toEqual(encode(sample(), { sign: "SIGN_NEGATIVE" }));
  });

  it("takes Uint8Arrays of the exact size for structs, arrays, char arrays and unions", () => {
    expect(encode(record(), RECORD_BYTES)).toEqual(RECORD_BYTES);
    const viaBytes = encode(record(), { hdr: Uint8Array.from([1, 2, 3, 4]), counts: new Uint8Array(12).fill(1), name: new Uint8Array(12).fill(0x41) });
    expect(decode(record(), viaBytes)).toMatchObject({
      hdr: { version: 0x0201, flags: 3, delta: 4 },
      counts: [0x01010101, 0x01010101, 0x01010101],
      name: new Uint8Array(12).fill(0x41), // no NUL: not text, so bytes come back
    });
    expect(specError(() => encode(sample(), { raw: new Uint8Array(3) })).part).toBe("value.raw");
  });

  it("reads only a value's own properties for members named like Object.prototype's", () => {
    const tiny = new TinyBtf();
    const int = tiny.int("int", 4, { signed: true });
    const odd = tiny.struct("odd", 8, [["constructor", int, 0], ["__proto__", int, 32]]);
    const codec = btfCodec(parseBtf(tiny.bytes()), odd);
    const bytes = Uint8Array.from([1, 0, 0, 0, 2, 0, 0, 0]);
    const decoded = decode(codec, bytes) as Record<string, unknown>;
    expect(Object.keys(decoded)).toEqual(["constructor", "__proto__"]);
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect([decoded.constructor, Object.getOwnPropertyDescriptor(decoded, "__proto__")?.value]).toEqual([1, 2]);
    expect(encode(codec, {})).toEqual(new Uint8Array(8)); // {}.constructor is Object: not a member value
    expect(encode(codec, decoded)).toEqual(bytes);
    expect(encode(codec, JSON.parse('{"__proto__": 2}'))).toEqual(Uint8Array.from([0, 0, 0, 0, 2, 0, 0, 0]));
  });

  it("writes the given alternatives of an anonymous union in declaration order", () => {
    // as_u64 first, then as_s32 over its low half.
    const bytes = encode(sample(), { as_u64: 0x1122334455667788n, as_s32: -1 });
    expect([...bytes.subarray(104, 112)]).toEqual([0xff, 0xff, 0xff, 0xff, 0x44, 0x33, 0x22, 0x11]);
  });
});

describe("char arrays", () => {
  const name = (bytes: number[]) => {
    const record = new Uint8Array(64);
    record.set(bytes, 32);
    return (decode(structCodec("record"), record) as { name: unknown }).name;
  };

  it("are strings when the bytes are text, a NUL and only NULs after it", () => {
    expect(name([])).toBe("");
    expect(name([0x61, 0x09, 0x62, 0x0a])).toBe("a\tb\n");
    expect(name([0xe2, 0x82, 0xac, 0x31])).toBe("€1");
  });

  it("are bytes otherwise, so that decoding then encoding never changes them", () => {
    const cases = [
      [0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c], // no NUL
      [0x61, 0, 0x62], // something after the NUL
      [0x61, 0x07], // a control character (BEL)
      [0x61, 0x7f], // DEL
      [0xc3, 0x28], // not UTF-8
      [0xc2, 0x85], // U+0085, a C1 control character
    ];
    const codec = structCodec("record");
    for (const bytes of cases) {
      const record = new Uint8Array(64);
      record.set(bytes, 32);
      const decoded = decode(codec, record) as { name: unknown };
      expect(decoded.name, bytes.join(",")).toEqual(record.slice(32, 44));
      expect(encode(codec, decoded)).toEqual(record);
    }
  });

  it("take strings whose UTF-8 and NUL fit, and refuse longer ones naming the member", () => {
    const codec = structCodec("record");
    expect(name([...encode(codec, { name: "x".repeat(11) }).subarray(32, 44)])).toBe("x".repeat(11));
    const tooLong = specError(() => encode(codec, { name: "x".repeat(12) }, 'map "records" value'));
    expect(tooLong.part).toBe('map "records" value.name');
    expect(tooLong.message).toContain("at most 11 UTF-8 bytes");
    expect(specError(() => encode(codec, { name: "ééééé€" })).message).toContain("is 13 bytes"); // 6 characters, 13 bytes
    expect(specError(() => encode(codec, { name: "a\0b" })).message).toContain("contains a NUL");
    expect(encode(codec, { name: [0x61, 0x62] }).subarray(32, 35)).toEqual(Uint8Array.from([0x61, 0x62, 0]));
  });

  it("are only arrays of plain char: __u8 arrays stay numbers even when they look like text", () => {
    const bytes = new Uint8Array(160);
    bytes.set([0x61, 0x62, 0], 116); // mac
    expect(decode(structCodec("sample"), bytes)).toMatchObject({ mac: [0x61, 0x62, 0, 0, 0, 0], words: ["", ""] });
  });
});

describe("errors name the map and the member path", () => {
  const part = 'map "records" value';
  const record = () => structCodec("record");

  const cases: [string, unknown, string, RegExp][] = [
    ["an integer out of range", { hdr: { flags: 256 } }, ".hdr.flags", /256 is not an integer that fits __u8 \(0 to 255\)/],
    ["a negative value out of range", { hdr: { delta: -129 } }, ".hdr.delta", /fits __s8 \(-128 to 127\)/],
    ["a string for an integer", { counts: [1, "2"] }, ".counts[1]", /"2" is not an integer/],
    ["a fraction", { counts: [1.5] }, ".counts[0]", /1.5 is not an integer/],
    ["an unsafe number for a bigint field", { total: 2 ** 60 }, ".total", /pass a bigint/],
    ["a bitfield value too wide", { mid: 512 }, ".mid", /fits __u32 : 9 \(0 to 511\)/],
    ["a signed bitfield value too small", { neg: -17 }, ".neg", /fits __s32 : 5 \(-16 to 15\)/],
    ["an unknown enumerator", { mode: "MODE_LOUD" }, ".mode", /enum mode has no enumerator "MODE_LOUD" \(it has MODE_OFF, MODE_COUNT, MODE_SAMPLE\)/],
    ["an unknown member", { hdr: { version: 1, colour: 2 } }, ".hdr.colour", /struct header has no member "colour" \(its members: version, flags, delta\)/],
    ["an unknown member at the top", { totl: 1n }, ".totl", /struct record has no member "totl"/],
    ["an array element of the wrong kind", { history: [{}, 5] }, ".history[1]", /struct header takes an object with members version, flags, delta/],
    ["a nested member of an array element", { history: [{}, { delta: 1000 }] }, ".history[1].delta", /fits __s8/],
    ["too many array elements", { counts: [1, 2, 3, 4] }, ".counts", /__u32\[3\] holds 3 elements, got an array of 4/],
    ["a struct that is not an object", 42, "", /struct record takes an object/],
    ["an array for a struct", [], "", /got an array of 0/],
  ];
  for (const [what, value, path, message] of cases) {
    it(what, () => {
      const error = specError(() => encode(record(), value, part));
      expect(error.part).toBe(part + path);
      expect(error.message).toMatch(message);
      expect(error.message.startsWith(`${part}${path}: `)).toBe(true);
    });
  }

  it("for the other scalar kinds too", () => {
    const sample = structCodec("sample");
    expect(specError(() => encode(sample, { enabled: "yes" })).message).toMatch(/_Bool takes true or false, got "yes"/);
    expect(specError(() => encode(sample, { ready: 2 })).part).toBe("value.ready");
    expect(specError(() => encode(sample, { ratio: 1n })).message).toMatch(/float takes a number, got 1n/);
    expect(specError(() => encode(sample, { huge: -(2n ** 127n) - 1n })).part).toBe("value.huge");
    expect(specError(() => encode(sample, { packed_mode: "MODE_X" })).part).toBe("value.packed_mode");
    expect(encode(sample, { enabled: 1, ready: 0 })[0]).toBe(1);
  });
});

describe("codecsFor", () => {
  it("gives typed codecs for struct keys and values and keeps the defaults for integers", () => {
    const config = codecsFor(btf, maps.get("config")!)!;
    expect(config.keyCodec).toBeUndefined(); // __u32: lookup(0) keeps working
    expect(config.valueCodec).toBe(structCodec("config"));
    const samples = codecsFor(btf, maps.get("samples")!)!;
    expect(samples.keyCodec).toBe(structCodec("sample_key"));
    expect(samples.valueCodec).toBe(structCodec("sample"));
  });

  it("types integers too when asked", () => {
    const typed = codecsFor(btf, maps.get("config")!, { scalars: true })!;
    expect(typed.keyCodec?.size).toBe(4);
    expect(specError(() => encode(typed.keyCodec!, -(2 ** 31) - 1, 'map "config" key')).part).toBe('map "config" key');
  });

  it("names the map in layout errors and checks the size the map declares", () => {
    const wrong = { ...maps.get("records")!, valueSize: 60 };
    const error = specError(() => codecsFor(btf, wrong));
    expect(error.part).toBe('map "records" value');
    expect(error.message).toMatch(/64 bytes, but the map says 60/);
  });

  it("returns nothing for maps without BTF types, and no typed codec for integer-only maps", () => {
    const counter = parseObject(readProg("xdp_counter"));
    expect(codecsFor(counter.btf, counter.maps.get("stats")!)).toEqual({});
    const legacy = parseObject(readProg("legacy_maps"));
    for (const map of legacy.maps.values()) expect(codecsFor(legacy.btf, map)).toBeUndefined();
    expect(codecsFor(undefined, maps.get("config")!)).toBeUndefined();
  });

  it("decodes the demo's struct counter { packets, bytes } as bigints", () => {
    const demo = parseObject(readFileSync(new URL("../demo/xdp_stats.bpf.o", import.meta.url)));
    for (const name of ["proto_counts", "port_counts"]) {
      const { valueCodec } = codecsFor(demo.btf, demo.maps.get(name)!)!;
      const bytes = new Uint8Array(16);
      bytes.set([3, 0, 0, 0, 0, 0, 0, 0, 0xb4, 0, 0, 0, 0, 0, 0, 0]);
      expect(decode(valueCodec!, bytes)).toEqual({ packets: 3n, bytes: 180n });
      expect(encode(valueCodec!, { packets: 3n, bytes: 180n })).toEqual(bytes);
    }
  });
});

// The running kernel's BTF: pahole writes ENUM64 and signed enums (kind_flag) into it.
const VMLINUX = "/sys/kernel/btf/vmlinux";

describe.skipIf(!existsSync(VMLINUX))("enums from vmlinux BTF", () => {
  let vmlinux: Btf;
  beforeAll(() => {
    vmlinux = parseBtf(readFileSync(VMLINUX));
  });

  it("decodes a signed 32-bit enum (perf_event_state) to names, negative values included", () => {
    const type = vmlinux.typeByName("perf_event_state", "enum")!;
    expect(type.kind === "enum" && type.signed).toBe(true);
    const codec = btfCodec(vmlinux, type.id);
    expect(decode(codec, Uint8Array.from([0xff, 0xff, 0xff, 0xff]))).toBe("PERF_EVENT_STATE_OFF"); // -1
    expect(decode(codec, Uint8Array.from([1, 0, 0, 0]))).toBe("PERF_EVENT_STATE_ACTIVE");
    expect(decode(codec, Uint8Array.from([0x39, 0x05, 0, 0]))).toBe(1337);
    expect(encode(codec, "PERF_EVENT_STATE_OFF")).toEqual(Uint8Array.from([0xff, 0xff, 0xff, 0xff]));
    expect(encode(codec, -1)).toEqual(Uint8Array.from([0xff, 0xff, 0xff, 0xff]));
  });

  it("decodes an enum64 (perf_callchain_context) to names, bigints otherwise", () => {
    const type = vmlinux.typeByName("perf_callchain_context", "enum64")!;
    const codec = btfCodec(vmlinux, type.id);
    expect(codec.size).toBe(8);
    const user = Uint8Array.from([0x00, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]); // (__u64)-512
    expect(decode(codec, user)).toBe("PERF_CONTEXT_USER");
    expect(encode(codec, "PERF_CONTEXT_USER")).toEqual(user);
    expect(encode(codec, 2n ** 64n - 512n)).toEqual(user);
    expect(decode(codec, Uint8Array.from([5, 0, 0, 0, 0, 0, 0, 0]))).toBe(5n);
  });
});

/**
 * A BTF blob built by hand, for what compilers do not emit. Records as in
 * include/uapi/linux/btf.h: name_off, info (vlen | kind << 24 | kind_flag << 31),
 * size or type, then the kind's own data; ids count from 1.
 */
class TinyBtf {
  readonly #words: number[] = [];
  #strings = "\0";
  #count = 0;

  #name(name: string): number {
    if (name === "") return 0;
    const offset = Buffer.byteLength(this.#strings);
    this.#strings += `${name}\0`;
    return offset;
  }

  #add(name: string, kind: number, vlen: number, kindFlag: boolean, sizeOrType: number, data: number[]): number {
    this.#words.push(this.#name(name), (vlen | (kind << 24) | (kindFlag ? 1 << 31 : 0)) >>> 0, sizeOrType, ...data);
    return ++this.#count;
  }

  int(name: string, size: number, options: { signed?: boolean; bits?: number; offset?: number } = {}): number {
    const encoding = options.signed ? 1 : 0;
    return this.#add(name, 1, 0, false, size, [(encoding << 24) | ((options.offset ?? 0) << 16) | (options.bits ?? size * 8)]);
  }

  /** Members: [name, type, bit offset, bitfield size (kind_flag structs only)]. */
  struct(name: string, size: number, members: [string, number, number, number?][], kindFlag = false): number {
    const data = members.flatMap(([member, type, bit, bitfield]) => [this.#name(member), type, kindFlag ? ((bitfield ?? 0) << 24) | bit : bit]);
    return this.#add(name, 4, members.length, kindFlag, size, data);
  }

  enum64(name: string, signed: boolean, values: [string, bigint][]): number {
    const data = values.flatMap(([value, n]) => {
      const bits = BigInt.asUintN(64, n);
      return [this.#name(value), Number(bits & 0xffffffffn), Number(bits >> 32n)];
    });
    return this.#add(name, 19, values.length, signed, 8, data);
  }

  fwd(name: string): number {
    return this.#add(name, 7, 0, false, 0, []);
  }

  array(element: number, index: number, count: number): number {
    return this.#add("", 3, 0, false, 0, [element, index, count]);
  }

  bytes(littleEndian = true): Uint8Array {
    const strings = Buffer.from(this.#strings, "utf8");
    const typeLength = this.#words.length * 4;
    const out = new Uint8Array(24 + typeLength + strings.byteLength);
    const view = new DataView(out.buffer);
    view.setUint16(0, 0xeb9f, littleEndian);
    out[2] = 1; // version
    [24, 0, typeLength, typeLength, strings.byteLength].forEach((word, i) => view.setUint32(4 + 4 * i, word, littleEndian));
    this.#words.forEach((word, i) => view.setUint32(24 + 4 * i, word, littleEndian));
    out.set(strings, 24 + typeLength);
    return out;
  }
}

describe("BTF that compilers do not emit", () => {
  it("reads an INT whose value is some bits at a bit offset of its bytes", () => {
    const tiny = new TinyBtf();
    const id = tiny.int("u5", 4, { bits: 5, offset: 11 }); // bits 11-15: byte 1, from bit 3
    const codec = btfCodec(parseBtf(tiny.bytes()), id);
    expect(codec.size).toBe(4);
    expect(decode(codec, Uint8Array.from([0xff, 0x07 | (21 << 3), 0xff, 0xff]))).toBe(21);
    expect(encode(codec, 21, "value", 0xff)).toEqual(Uint8Array.from([0, 21 << 3, 0, 0]));
  });

  it("reads bitfields of a struct without kind_flag, whose INT member types carry the widths", () => {
    const tiny = new TinyBtf();
    const u3 = tiny.int("unsigned int", 4, { bits: 3 });
    const s6 = tiny.int("int", 4, { signed: true, bits: 6 });
    const s40 = tiny.int("long long", 8, { signed: true, bits: 40 });
    // struct old { unsigned a : 3; int b : 6; long long c : 40; } with c at bit 9 (byte 1, shift 1).
    const id = tiny.struct("old", 8, [["a", u3, 0], ["b", s6, 3], ["c", s40, 9]]);
    const codec = btfCodec(parseBtf(tiny.bytes()), id);
    const value = { a: 5, b: -20, c: -(2n ** 39n) + 3n };
    const expected = new Uint8Array(8);
    placeBits(expected, 0, 3, 5n);
    placeBits(expected, 3, 6, -20n);
    placeBits(expected, 9, 40, value.c);
    expect(encode(codec, value)).toEqual(expected);
    expect(decode(codec, expected)).toEqual(value);
  });

  it("decodes a signed enum64 (kind_flag) to names", () => {
    const tiny = new TinyBtf();
    const id = tiny.enum64("wide", true, [["NEG", -5n], ["BIG", 1n << 62n]]);
    const codec = btfCodec(parseBtf(tiny.bytes()), id);
    expect(decode(codec, Uint8Array.from([0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toBe("NEG");
    expect(encode(codec, "BIG")).toEqual(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0x40]));
    expect(decode(codec, Uint8Array.from([0xfa, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toBe(-6n);
  });

  it("refuses layouts it cannot decode, naming the type and the member", () => {
    const tiny = new TinyBtf();
    const int = tiny.int("int", 4, { signed: true });
    const later = tiny.fwd("later");
    const broken = tiny.struct("broken", 8, [["ok", int, 0], ["later", later, 32]]);
    const self = tiny.struct("loop", 8, [["again", 4, 0]]); // id 4 is struct loop: a member of itself
    expect(self).toBe(4);
    const anon = tiny.struct("", 4, [["x", int, 0]]);
    const dup = tiny.struct("dup", 8, [["x", int, 0], ["", anon, 32]]);
    const past = tiny.struct("past", 4, [["x", int, 32]]);
    const unaligned = tiny.struct("unaligned", 8, [["x", int, 3]]);
    const huge = tiny.array(int, int, 0x40000000);
    const parsed = parseBtf(tiny.bytes());
    const errorOf = (id: number) => specError(() => btfCodec(parsed, id));

    expect(errorOf(broken).part).toBe("struct broken.later");
    expect(errorOf(broken).message).toMatch(/struct later is only declared/);
    expect(errorOf(self).message).toMatch(/struct loop contains itself/);
    expect(errorOf(dup).part).toBe("struct dup.x");
    expect(errorOf(past).message).toMatch(/lie past the end of the struct \(4 bytes\)/);
    expect(errorOf(unaligned).message).toMatch(/bit 3, which is neither a byte boundary nor a bitfield/);
    expect(errorOf(huge).message).toMatch(/larger than 2 GiB/);
    expect(specError(() => btfCodec(parsed, broken, { part: 'map "m" value' })).part).toBe('map "m" value.later');
  });

  it("refuses big-endian BTF", () => {
    const tiny = new TinyBtf();
    const id = tiny.int("int", 4);
    expect(specError(() => btfCodec(parseBtf(tiny.bytes(false)), id)).message).toMatch(/big-endian/);
  });
});
