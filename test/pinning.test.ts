// Pinning: maps the object asks to pin (libbpf by name, iproute2 global and object
// namespaces), everything pinned on request, and pins outside bpffs refused.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BpfMap, load, loadObject, parseObject, SpecError, unpin } from "../index.js";
import { readProg, progPath, REPO_ROOT } from "./helpers/progs.js";
import { skipWithoutRoot } from "./helpers/netns.js";
import { fdLeaks } from "./helpers/fds.js";

describe.skipIf(skipWithoutRoot)("pinning", () => {
  const root = `/sys/fs/bpf/tsbpf-pin-${process.pid}-${randomBytes(3).toString("hex")}`;
  beforeAll(() => {
    try {
      execFileSync("mountpoint", ["-q", "/sys/fs/bpf"]);
    } catch {
      execFileSync("mount", ["-t", "bpf", "bpf", "/sys/fs/bpf"]);
    }
    mkdirSync(root);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("iproute2 PIN_OBJECT_NS pins under tc/<SHA-1 of the object>, PIN_GLOBAL_NS under tc/globals", () => {
    const spec = parseObject(readProg("iproute2_elf_map"));
    spec.maps.get("private_counts")!.pinning = "object-ns";
    using obj = load(spec, { pinRoot: root });
    expect(spec.sha1).toMatch(/^[0-9a-f]{40}$/);
    const objectDir = join(root, "tc", spec.sha1!);
    expect(readdirSync(objectDir)).toEqual(["private_counts"]);
    expect(readdirSync(join(root, "tc", "globals"))).toContain("pinned_counts");
    using pinned = BpfMap.openPinned(join(objectDir, "private_counts"));
    expect(pinned.info().id).toBe(obj.map("private_counts").info().id);
  });

  it("two objects share a map pinned by name: what one program counts, the other object reads", () => {
    const dir = join(root, "shared");
    mkdirSync(dir);
    // xdpfilt objects pin their maps by name; ours are pinned by editing the spec the same way.
    const first = parseObject(readProg("xdp_counter"));
    first.maps.get("stats")!.pinning = "by-name";
    const second = parseObject(readProg("xdp_counter"));
    second.maps.get("stats")!.pinning = "by-name";
    using a = load(first, { pinRoot: dir });
    using b = load(second, { pinRoot: dir });
    expect(b.map("stats").info().id).toBe(a.map("stats").info().id);
    a.map("stats").update(17, 41n);
    expect(b.map("stats").lookup(17)).toBe(41n);
  });

  it("refuses a pin root outside bpffs before creating anything", () => {
    const spec = parseObject(readProg("xdp_counter"));
    spec.maps.get("stats")!.pinning = "by-name";
    const elsewhere = join("/tmp", `tsbpf-not-bpffs-${process.pid}`);
    const check = fdLeaks(() => load(spec, { pinRoot: elsewhere }));
    expect(check.error).toBeInstanceOf(SpecError);
    expect((check.error as Error).message).toMatch(/is not on a BPF filesystem/);
    expect(check.opened).toEqual([]);
    expect(existsSync(elsewhere)).toBe(false);
  });

  it("refuses a pin path that climbs out of bpffs with ..", () => {
    using obj = loadObject(readProg("xdp_pass"));
    expect(() => obj.program("xdp_pass").pin(join(root, "..", "..", "..", "tmp", "escape"))).toThrow(/not on a BPF filesystem/);
  });

  it("pinAll pins programs and maps; unpin removes them and the objects go with their last holder", () => {
    const dir = join(root, "all");
    let mapId: number;
    {
      using obj = loadObject(readProg("global_data"));
      const paths = obj.pinAll(dir);
      expect(paths.map((p) => p.slice(dir.length + 1)).sort()).toEqual(["maps/bss", "maps/data", "maps/rodata", "xdp_globals"]);
      mapId = obj.dataMaps.get(".data")!.info().id;
    }
    // The object is closed: the pin alone keeps the map.
    using reopened = BpfMap.openPinned(join(dir, "maps", "data"));
    expect(reopened.info().id).toBe(mapId);
    unpin(dir);
    expect(existsSync(dir)).toBe(false);
  });

  it("tsbpf pin and tsbpf unpin", () => {
    const dir = join(root, "cli");
    const cli = (...args: string[]) => execFileSync("npx", ["tsx", "cli/main.ts", ...args], { cwd: REPO_ROOT, encoding: "utf8" });
    expect(cli("pin", progPath("two_progs"), dir)).toContain(`pinned ${join(dir, "xdp_first")}`);
    expect(readdirSync(dir).sort()).toEqual(["maps", "xdp_first", "xdp_second"]);
    expect(JSON.parse(execFileSync("bpftool", ["prog", "show", "pinned", join(dir, "xdp_second"), "--json"], { encoding: "utf8" })).name).toBe("xdp_second");
    expect(cli("unpin", dir)).toContain("unpinned");
    expect(existsSync(dir)).toBe(false);
  });
});
