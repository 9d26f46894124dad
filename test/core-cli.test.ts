// `tsbpf core explain` (cli/core.ts), called as the command's module: what it prints for
// our fixtures against the running kernel (type ids and offsets as bpftool reads them)
// and for cilium's relocs_read against the BTF file it is meant for (--btf).

import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { coreExplainCommand } from "../cli/core.js";
import { CommandError, UsageError } from "../cli/usage.js";
import { VMLINUX_BTF_PATH } from "../loader/kernel-btf.js";
import { Oracle } from "./helpers/core-oracle.js";
import { CILIUM_ROOT } from "./helpers/objects.js";
import { progPath } from "./helpers/progs.js";

function explain(args: string[]): string {
  let out = "";
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
    return true;
  });
  try {
    coreExplainCommand(args);
  } finally {
    write.mockRestore();
  }
  return out;
}

describe("tsbpf core explain", () => {
  afterEach(() => vi.restoreAllMocks());

  it("spells out each relocation of core_read against the running kernel", () => {
    const oracle = new Oracle(VMLINUX_BTF_PATH);
    const task = oracle.byName("task_struct", "STRUCT").id;
    const tgid = oracle.offsetof("task_struct", "tgid");
    const text = explain([progPath("core_read")]);
    expect(text).toContain("program core_task (kprobe/do_sys_openat2): 3 relocations, 3 patched");
    expect(text).toContain("relo #0  insn 1  FIELD_BYTE_OFFSET  task_struct.tgid");
    expect(text).toContain(`candidate: vmlinux [${task}] struct task_struct: matches task_struct.tgid`);
    expect(text).toContain(`result:    patched to ${tgid}: ${tgid} from task_struct.tgid (struct task_struct [${task}] in vmlinux)`);
    expect(text).toContain(`insn:      r1 = 4  ->  r1 = ${tgid}`);
    expect(text).toMatch(/source: +\.\/test\/progs\/core_read\.bpf\.c:\d+: /);
    expect(text).toMatch(/relo #2 .*FIELD_EXISTS  task_struct\.tsbpf_missing[\s\S]*no match: no member tsbpf_missing in struct task_struct[\s\S]*patched to 0/);
  });

  it("shows poisoned relocations and why (--prog)", () => {
    const text = explain([progPath("core_values"), "--prog", "enum_guarded"]);
    expect(text).toContain("program enum_guarded (socket): 2 relocations, 1 patched, 1 poisoned");
    expect(text).toMatch(/ENUMVAL_VALUE  pid_type::TSBPF_NO_SUCH_PIDTYPE[\s\S]*result: +poisoned: no candidate matches: the enum value does not exist in the target[\s\S]*->  call 195896080/);
  });

  it.skipIf(!existsSync(join(CILIUM_ROOT, "btf/testdata/relocs_read-el.elf")))("takes the target from --btf, and prints JSON with --json", () => {
    const testdata = join(CILIUM_ROOT, "btf/testdata");
    const args = [join(testdata, "relocs_read-el.elf"), "--btf", join(testdata, "relocs_read_tgt-el.elf")];
    const text = explain(args);
    expect(text).toMatch(/program reads \(socket\): \d+ relocations, \d+ patched\n/);
    expect(text).toContain("FIELD_BYTE_OFFSET  s.a");
    expect(text).toContain("relocs_read_tgt-el.elf [2] struct s: matches s.a (0:0) = 0");
    const [report] = explain([...args, "--json"]).trim().split("\n").map((line) => JSON.parse(line));
    expect(report.program).toBe("reads");
    expect(report.results[0]).toMatchObject({ kindName: "FIELD_BYTE_OFFSET", access: "s.a", status: "patched", value: "0", localValue: "1" });
  });

  it("refuses what it cannot explain", () => {
    expect(() => explain([progPath("core_values"), "--prog", "nope"])).toThrow(CommandError);
    expect(() => explain([progPath("core_values"), "--bogus"])).toThrow(UsageError);
    expect(() => explain([])).toThrow(/missing argument: expected OBJ/);
  });
});
