// The object's BTF in the kernel: maps with key/value types, programs with func_info and
// line_info, and loading without BTF (with a warning) when the kernel refuses it.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { loadObject, parseObject, parseBtf, load } from "../index.js";
import { BtfBuilder } from "../btf/index.js";
import { compileSources, readProg, DEMO_OBJECT, REPO_ROOT } from "./helpers/progs.js";
import { skipWithoutRoot } from "./helpers/netns.js";
import { join } from "node:path";

const bpftool = (...args: string[]) => execFileSync("bpftool", args, { encoding: "utf8" });

/**
 * A `__hidden` global subprogram that dereferences a pointer argument: checked as a global
 * function (from its declared types alone) the pointer may be NULL and the verifier refuses;
 * checked as static (in its caller's context, where it points to the stack) it loads.
 */
const HIDDEN_SUBPROGRAM = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
__attribute__((visibility("hidden"))) __noinline int helper(struct xdp_md *ctx, int *p) { return *p + ctx->ingress_ifindex; }
SEC("xdp") int prog(struct xdp_md *ctx) { int v = 3; return helper(ctx, &v) & 1; }
char LICENSE[] SEC("license") = "GPL";
`;

function hiddenSubprogram(): Uint8Array {
  return compileSources({ "hidden.bpf.c": HIDDEN_SUBPROGRAM })["hidden.bpf.o"];
}

/** A legacy map with key and value types declared as libbpf 0.x and iproute2 read them. */
const ANNOTATED_LEGACY_MAP = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct bpf_elf_map { __u32 type, size_key, size_value, max_elem, flags, id, pinning, inner_id, inner_idx; };
#define BPF_ANNOTATE_KV_PAIR(name, type_key, type_val) \\
  struct ____btf_map_##name { type_key key; type_val value; }; \\
  struct ____btf_map_##name __attribute__((section(".maps." #name), used)) ____btf_map_##name = {}
struct flow { __u32 saddr, daddr; };
struct counters { __u64 packets, bytes; };
struct bpf_elf_map flows SEC("maps") = { .type = BPF_MAP_TYPE_HASH, .size_key = 8, .size_value = 16, .max_elem = 16 };
BPF_ANNOTATE_KV_PAIR(flows, struct flow, struct counters);
struct bpf_elf_map wrong SEC("maps") = { .type = BPF_MAP_TYPE_HASH, .size_key = 4, .size_value = 16, .max_elem = 16 };
BPF_ANNOTATE_KV_PAIR(wrong, struct flow, struct counters);
SEC("xdp") int count(struct xdp_md *ctx) {
  struct flow key = {};
  return bpf_map_lookup_elem(&flows, &key) || bpf_map_lookup_elem(&wrong, &key.saddr) ? XDP_DROP : XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`;

describe("legacy maps annotated with BPF_ANNOTATE_KV_PAIR", () => {
  it("get the key and value types of struct ____btf_map_<name>, when their sizes are the map's", () => {
    const spec = parseObject(compileSources({ "annotated.bpf.c": ANNOTATED_LEGACY_MAP })["annotated.bpf.o"]);
    const btf = spec.btf!;
    const flows = spec.maps.get("flows")!;
    expect([btf.type(flows.keyTypeId).name, btf.type(flows.valueTypeId).name]).toEqual(["flow", "counters"]);
    // key_size 4 is not struct flow's 8: no types, as libbpf 0.x and iproute2 left it.
    expect([spec.maps.get("wrong")!.keyTypeId, spec.maps.get("wrong")!.valueTypeId]).toEqual([0, 0]);
  });
});

describe("hidden global subprograms", () => {
  it("get static BTF linkage, as libbpf gives them; the caller's bytes stay as they were", () => {
    const bytes = hiddenSubprogram();
    const given = createHash("sha1").update(bytes).digest("hex");
    const spec = parseObject(bytes);
    expect(spec.btf!.typeByName("helper", "func")).toMatchObject({ kind: "func", linkage: 0 /* BTF_FUNC_STATIC */ });
    expect(spec.btf!.typeByName("prog", "func")).toMatchObject({ kind: "func", linkage: 1 /* BTF_FUNC_GLOBAL */ });
    expect(spec.subprograms.get("helper")!.linkage).toBe("global");
    expect(createHash("sha1").update(bytes).digest("hex")).toBe(given);
  });
});

describe.skipIf(skipWithoutRoot)("object BTF in the kernel", () => {
  it("a legacy map annotated with BPF_ANNOTATE_KV_PAIR is created with its key and value types", () => {
    using obj = loadObject(compileSources({ "annotated.bpf.c": ANNOTATED_LEGACY_MAP })["annotated.bpf.o"]);
    const info = obj.map("flows").info();
    expect(info.btfKeyTypeId).toBeGreaterThan(0);
    expect(info.btfValueTypeId).toBeGreaterThan(0);
    expect(obj.map("wrong").info().btfValueTypeId).toBe(0);
  });

  it("a hidden global subprogram is verified as static: in its caller's context", () => {
    using obj = loadObject(hiddenSubprogram());
    expect(obj.program("prog").info().nrFuncInfo).toBe(2);
  });

  it("programs carry func_info and line_info: bpftool shows their source lines", () => {
    using obj = loadObject(readProg("subprog"));
    const info = obj.program("tc_global_call").info();
    expect(info.btfId).toBeGreaterThan(0);
    expect(info.nrFuncInfo).toBe(3); // tc_global_call, classify_len, bump
    expect(info.nrLineInfo).toBeGreaterThan(3);
    const xlated = bpftool("prog", "dump", "xlated", "id", String(info.id), "linum");
    expect(xlated).toContain("int tc_global_call(struct __sk_buff * skb):");
    expect(xlated).toMatch(/; bump\(1 \+ classify_len\(skb->len\)\); \[file:.*subprog\.bpf\.c line_num:\d+/);
    expect(xlated).toContain("int classify_len(__u32 len):");
  });

  it("maps carry their key and value types: bpftool prints field names", () => {
    using obj = loadObject(readFileSync(join(REPO_ROOT, DEMO_OBJECT)));
    const map = obj.map("proto_counts");
    const info = map.info();
    expect(info.btfId).toBeGreaterThan(0);
    expect(info.btfValueTypeId).toBeGreaterThan(0);
    const dump = JSON.parse(bpftool("map", "dump", "id", String(info.id), "--json")) as { formatted?: { value: unknown } }[];
    expect(dump[0].formatted?.value).toEqual({ packets: 0, bytes: 0 });
  });

  it("loads without BTF, and says so, when the kernel refuses the object's BTF", () => {
    const spec = parseObject(readProg("xdp_counter"));
    // An INT wider than its size: our parser reads it, the kernel's BTF checker refuses it.
    const builder = BtfBuilder.from(spec.btf!);
    builder.addInt("too_wide", 1, { bits: 64 });
    const refused = parseBtf(builder.build());
    const edited = Object.create(spec, { btf: { value: refused } }) as typeof spec;
    const warnings: string[] = [];
    using obj = load(edited, { onWarning: (m) => warnings.push(m) });
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toMatch(/^loading without BTF: .*nr_bits/);
    expect(obj.program("xdp_count").info().btfId).toBe(0);
    expect(obj.map("stats").info().btfId).toBe(0);
  });
});
