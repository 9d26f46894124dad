// Statically initialized prog arrays and maps of maps: the C initializers become fds.
import { describe, expect, it } from "vitest";
import { load, loadObject, parseObject, SpecError } from "../index.js";
import { compileSources, readProg } from "./helpers/progs.js";
import { skipWithoutRoot } from "./helpers/netns.js";
import { fdLeaks } from "./helpers/fds.js";

// Any 64-byte frame will do: the programs under test do not look at the packet.
const FRAME = new Uint8Array(64).fill(0xab);

/**
 * Static tail programs and static inner maps as initial values. Clang names a static
 * function by its section's symbol (the function's offset sits in the relocated bytes), a
 * static map by its own local symbol.
 */
const STATIC_TARGETS = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") static int tail_0(struct xdp_md *ctx) { return XDP_PASS; }
SEC("xdp") static int tail_1(struct xdp_md *ctx) { return XDP_DROP; }
struct inner { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); };
static struct inner in0 SEC(".maps"), in1 SEC(".maps");
struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 4);
  __uint(key_size, 4);
  __array(values, int (void *));
} jt SEC(".maps") = { .values = { [1] = (void *)&tail_1, [3] = (void *)&tail_0 } };
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 3);
  __type(key, __u32);
  __array(values, struct inner);
} outer SEC(".maps") = { .values = { [0] = &in1, [2] = &in0 } };
SEC("xdp") int main_prog(struct xdp_md *ctx) {
  bpf_tail_call(ctx, &jt, 1);
  return bpf_map_lookup_elem(&outer, &(__u32){0}) ? XDP_PASS : XDP_ABORTED;
}
char LICENSE[] SEC("license") = "GPL";
`;

/** STATIC_TARGETS compiled with the test suite's clang. */
function staticTargets(): Uint8Array {
  return compileSources({ "static_targets.bpf.c": STATIC_TARGETS })["static_targets.bpf.o"];
}

/**
 * iproute2's maps of maps (struct bpf_elf_map): `outer` names its inner maps' definition by
 * id (inner_id 7); inner_a (id 7, inner_idx 3) starts in slot 3, inner_b (id 7, inner_idx -1)
 * in none, and `shape` (id 9) is in no outer map's inner_id.
 */
const IPROUTE2_MAPS_OF_MAPS = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct bpf_elf_map { __u32 type, size_key, size_value, max_elem, flags, id, pinning, inner_id, inner_idx; };
struct bpf_elf_map inner_a SEC("maps") = { .type = BPF_MAP_TYPE_ARRAY, .size_key = 4, .size_value = 4, .max_elem = 1, .id = 7, .inner_idx = 3 };
struct bpf_elf_map inner_b SEC("maps") = { .type = BPF_MAP_TYPE_ARRAY, .size_key = 4, .size_value = 4, .max_elem = 1, .id = 7, .inner_idx = -1 };
struct bpf_elf_map shape SEC("maps") = { .type = BPF_MAP_TYPE_HASH, .size_key = 4, .size_value = 8, .max_elem = 2, .id = 9 };
struct bpf_elf_map outer SEC("maps") = { .type = BPF_MAP_TYPE_ARRAY_OF_MAPS, .size_key = 4, .size_value = 4, .max_elem = 4, .inner_id = 7 };
SEC("xdp") int xdp_outer(struct xdp_md *ctx) {
  __u32 key = 3;
  void *inner = bpf_map_lookup_elem(&outer, &key);
  return inner ? XDP_PASS : XDP_DROP;
}
char LICENSE[] SEC("license") = "GPL";
`;

describe("iproute2 maps of maps (inner_id, inner_idx)", () => {
  it("give the outer map its inner maps' definition and the maps that start in its slots", () => {
    const spec = parseObject(compileSources({ "mim.bpf.c": IPROUTE2_MAPS_OF_MAPS })["mim.bpf.o"]);
    const outer = spec.maps.get("outer")!;
    expect(outer.innerMap).toMatchObject({ name: "outer.inner", type: 2 /* ARRAY */, keySize: 4, valueSize: 4, maxEntries: 1 });
    expect(outer.initialValues).toEqual([{ index: 3, kind: "map", name: "inner_a" }]);
    expect(spec.maps.get("shape")!.initialValues).toBeUndefined();
  });

  it("refuses an outer map whose inner_id names no map, or none at all", () => {
    const bad = (outer: string) => IPROUTE2_MAPS_OF_MAPS.replace(".max_elem = 4, .inner_id = 7", outer);
    expect(() => parseObject(compileSources({ "mim.bpf.c": bad(".max_elem = 4, .inner_id = 8") })["mim.bpf.o"])).toThrow(/inner_id 8 names no map/);
    expect(() => parseObject(compileSources({ "mim.bpf.c": bad(".max_elem = 4") })["mim.bpf.o"])).toThrow(/a map of maps needs inner_id/);
    expect(() => parseObject(compileSources({ "mim.bpf.c": bad(".max_elem = 2, .inner_id = 7") })["mim.bpf.o"])).toThrow(/inner_idx 3 is past the 2 slots of outer/);
  });

  it.skipIf(skipWithoutRoot)("load as iproute2 loads them: inner_a in slot 3 of outer", () => {
    using obj = loadObject(compileSources({ "mim.bpf.c": IPROUTE2_MAPS_OF_MAPS })["mim.bpf.o"]);
    expect(obj.map("outer").lookup(3)).toBe(obj.map("inner_a").info().id);
    expect([0, 1, 2].map((key) => obj.map("outer").lookup(key))).toEqual([undefined, undefined, undefined]);
    expect(obj.program("xdp_outer").testRun(FRAME).action).toBe("PASS");
  });
});

/**
 * iproute2's tail calls: programs in sections "<map id>/<key>" go into the prog array whose
 * bpf_elf_map has that id, and take the type of the object's other programs.
 */
const IPROUTE2_TAIL_CALLS = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct bpf_elf_map { __u32 type, size_key, size_value, max_elem, flags, id, pinning, inner_id, inner_idx; };
struct bpf_elf_map jmp SEC("maps") = { .type = BPF_MAP_TYPE_PROG_ARRAY, .size_key = 4, .size_value = 4, .max_elem = 2, .id = 1 };
SEC("1/0") int case_drop(struct xdp_md *ctx) { return XDP_DROP; }
SEC("0x1/1") int case_tx(struct xdp_md *ctx) { return XDP_TX; }
SEC("5/0") int no_such_map(struct xdp_md *ctx) { return XDP_ABORTED; }
SEC("xdp") int entry(struct xdp_md *ctx) { bpf_tail_call(ctx, &jmp, 0); return XDP_PASS; }
char LICENSE[] SEC("license") = "GPL";
`;

describe("iproute2 tail-call sections (<map id>/<key>)", () => {
  it("fill the prog array with that id, and take the type of the object's other programs", () => {
    const spec = parseObject(compileSources({ "tail.bpf.c": IPROUTE2_TAIL_CALLS })["tail.bpf.o"]);
    expect(spec.maps.get("jmp")!.initialValues).toEqual([
      { index: 0, kind: "program", name: "case_drop" },
      { index: 1, kind: "program", name: "case_tx" },
    ]);
    expect(["case_drop", "case_tx", "no_such_map"].map((name) => spec.programs.get(name)!.type)).toEqual([6, 6, 6]); // BPF_PROG_TYPE_XDP
  });

  it("refuse a key past the prog array's size", () => {
    const source = IPROUTE2_TAIL_CALLS.replace('SEC("0x1/1")', 'SEC("1/2")');
    expect(() => parseObject(compileSources({ "tail.bpf.c": source })["tail.bpf.o"])).toThrow(/asks for slot 2 of jmp, which has 2/);
  });

  it.skipIf(skipWithoutRoot)("load as iproute2 loads them: the tail call reaches case_drop", () => {
    using obj = loadObject(compileSources({ "tail.bpf.c": IPROUTE2_TAIL_CALLS })["tail.bpf.o"]);
    expect([obj.map("jmp").lookup(0), obj.map("jmp").lookup(1)]).toEqual([obj.program("case_drop").info().id, obj.program("case_tx").info().id]);
    expect(obj.program("entry").testRun(FRAME).action).toBe("DROP");
  });
});

describe("static map initial values in the spec", () => {
  it("names static programs (relocated through their section's symbol) and static maps", () => {
    const spec = parseObject(staticTargets());
    expect(spec.maps.get("jt")!.initialValues).toEqual([
      { index: 1, kind: "program", name: "tail_1" },
      { index: 3, kind: "program", name: "tail_0" },
    ]);
    expect(spec.maps.get("outer")!.initialValues).toEqual([
      { index: 0, kind: "map", name: "in1" },
      { index: 2, kind: "map", name: "in0" },
    ]);
  });

  it("records the slot and target of each initializer", () => {
    const spec = parseObject(readProg("map_values"));
    expect(spec.maps.get("jump_table")!.initialValues).toEqual([{ index: 1, kind: "program", name: "xdp_tail" }]);
    expect(spec.maps.get("outer")!.initialValues).toEqual([{ index: 0, kind: "map", name: "inner" }]);
    expect(spec.maps.get("inner")!.initialValues).toBeUndefined();
  });
});

describe.skipIf(skipWithoutRoot)("static map initial values in the kernel", () => {
  it("fills the prog array and the map of maps: the tail call reaches xdp_tail, which reads inner through outer", () => {
    using obj = loadObject(readProg("map_values"));
    obj.map("inner").update(0, 2); // XDP_PASS
    expect(obj.program("xdp_entry").testRun(FRAME).action).toBe("PASS");
    obj.map("inner").update(0, 1); // XDP_DROP
    expect(obj.program("xdp_entry").testRun(FRAME).action).toBe("DROP");
    // The kernel holds the program's id in slot 1 and the inner map's id in outer[0].
    expect(obj.map("jump_table").lookup(1)).toBe(obj.program("xdp_tail").info().id);
    expect(obj.map("jump_table").lookup(0)).toBeUndefined();
    expect(obj.map("outer").lookup(0)).toBe(obj.map("inner").info().id);
  });

  it("fills slots with static programs and static inner maps", () => {
    using obj = loadObject(staticTargets());
    expect([obj.map("jt").lookup(1), obj.map("jt").lookup(3), obj.map("jt").lookup(0)]).toEqual([
      obj.program("tail_1").info().id,
      obj.program("tail_0").info().id,
      undefined,
    ]);
    expect([obj.map("outer").lookup(0), obj.map("outer").lookup(2)]).toEqual([obj.map("in1").info().id, obj.map("in0").info().id]);
    // The tail call lands in tail_1, which drops.
    expect(obj.program("main_prog").testRun(FRAME).action).toBe("DROP");
  });

  it("refuses to leave a slot empty because its program was not selected, and leaks nothing", () => {
    const spec = parseObject(readProg("map_values"));
    const check = fdLeaks(() => load(spec, { programs: ["xdp_entry"] }));
    expect(check.error).toBeInstanceOf(SpecError);
    expect((check.error as Error).message).toContain("jump_table: values[1] refers to program xdp_tail, which was not loaded");
    expect(check.opened).toEqual([]);
  });
});
