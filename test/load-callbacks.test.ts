// Callbacks (BPF_PSEUDO_FUNC), tail calls filled from the API, and a spec adjusted before load.
import { describe, expect, it } from "vitest";
import { load, loadObject, parseObject, MapType, ProgramType } from "../index.js";
import { BPF_PSEUDO_FUNC } from "../insn/opcodes.js";
import { link } from "../loader/link.js";
import { decodeInstructions } from "../insn/instruction.js";
import { readProg } from "./helpers/progs.js";
import { skipWithoutRoot } from "./helpers/netns.js";

const FRAME = new Uint8Array(64);

describe("callbacks in the spec", () => {
  it("a callback's address is a function reference, linked as BPF_PSEUDO_FUNC to the callee's position", () => {
    const spec = parseObject(readProg("callbacks"));
    const program = spec.programs.get("xdp_callbacks")!;
    const functions = program.references.filter((r) => r.kind === "function").map((r) => (r as { target: string }).target);
    expect(functions.sort()).toEqual(["add_value", "sum_step"]);
    const linked = link(spec, program);
    const starts = new Map(linked.layout.map((f) => [f.start, f.name]));
    const loads = decodeInstructions(linked.bytes, true).filter((i) => i.isLdImm64 && i.src === BPF_PSEUDO_FUNC);
    expect(loads.map((i) => starts.get(i.slot + i.imm + 1)).sort()).toEqual(["add_value", "sum_step"]);
  });
});

describe.skipIf(skipWithoutRoot)("callbacks, tail calls and adjusted specs in the kernel", () => {
  it("bpf_loop and bpf_for_each_map_elem call back into our functions", () => {
    using obj = loadObject(readProg("callbacks"));
    [5n, 6n, 7n, 8n].forEach((value, key) => obj.map("numbers").update(key, value));
    expect(obj.program("xdp_callbacks").testRun(FRAME).action).toBe("PASS");
    expect(obj.map("results").lookup(0)).toBe(45n);
    expect(obj.map("results").lookup(1)).toBe(26n);
  });

  it("a prog array filled from the API: the tail call goes where user space points it", () => {
    using obj = loadObject(readProg("map_values"));
    using other = loadObject(readProg("xdp_drop"));
    obj.map("inner").update(0, 2); // xdp_tail returns inner[0]: PASS
    expect(obj.program("xdp_entry").testRun(FRAME).action).toBe("PASS");
    obj.map("jump_table").update(1, other.program("xdp_drop").fd.raw);
    expect(obj.program("xdp_entry").testRun(FRAME).action).toBe("DROP");
    obj.map("jump_table").delete(1); // an empty slot: the tail call falls through
    expect(obj.program("xdp_entry").testRun(FRAME).action).toBe("ABORTED");
  });

  it("max_entries, map type and program type set on the spec before load", () => {
    const spec = parseObject(readProg("xdp_hash_saddr"));
    const map = spec.maps.get("saddr_counts")!;
    map.maxEntries = 16;
    map.type = MapType.LRU_HASH;
    using obj = load(spec);
    expect(obj.map("saddr_counts").info()).toMatchObject({ maxEntries: 16, type: MapType.LRU_HASH });

    // A section name no loader knows: the caller says what the program is.
    const custom = parseObject(readProg("xdp_pass"));
    const program = custom.programs.get("xdp_pass")!;
    program.section = "my_custom_section";
    program.type = ProgramType.SOCKET_FILTER;
    program.expectedAttachType = undefined;
    using socket = load(custom);
    expect(socket.program("xdp_pass").info().type).toBe(ProgramType.SOCKET_FILTER);
  });
});
