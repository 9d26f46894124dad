// Statically initialized prog arrays and maps of maps: the C initializers become fds.
import { describe, expect, it } from "vitest";
import { load, loadObject, parseObject, SpecError } from "../index.js";
import { readProg } from "./helpers/progs.js";
import { skipWithoutRoot } from "./helpers/netns.js";
import { fdLeaks } from "./helpers/fds.js";

// Any 64-byte frame will do: the programs under test do not look at the packet.
const FRAME = new Uint8Array(64).fill(0xab);

describe("static map initial values in the spec", () => {
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

  it("refuses to leave a slot empty because its program was not selected, and leaks nothing", () => {
    const spec = parseObject(readProg("map_values"));
    const check = fdLeaks(() => load(spec, { programs: ["xdp_entry"] }));
    expect(check.error).toBeInstanceOf(SpecError);
    expect((check.error as Error).message).toContain("jump_table: values[1] refers to program xdp_tail, which was not loaded");
    expect(check.opened).toEqual([]);
  });
});
