// Which BTF kinds the running kernel's BTF loader accepts: each probe loads a tiny BTF
// using one kind and sees whether BPF_BTF_LOAD takes it. Probed once per process, on first
// use; the answers feed sanitizeBtf (btf/sanitize.ts).

import { endianness } from "node:os";
import { BtfBuilder, BtfFuncLinkage } from "../btf/builder.js";
import type { BtfFeatures } from "../btf/sanitize.js";
import { loadBtf } from "../syscall/bpf-btf.js";
import { BtfError, SyscallError } from "../common/errors.js";

const PROBES: Record<keyof BtfFeatures, (b: BtfBuilder, int: number) => void> = {
  declTag: (b, int) => b.addDeclTag("tag", b.addTypedef("t", int)),
  typeTag: (b, int) => b.addPtr(b.addTypeTag("tag", int)),
  float: (b) => b.addFloat("float", 4),
  enum64: (b) => b.addEnum64("e", [{ name: "E", value: 1n << 40n }]),
  globalFunc: (b, int) => b.addFunc("f", b.addFuncProto(int, []), BtfFuncLinkage.GLOBAL),
  datasec: (b, int) => b.addDatasec(".data", 4, [{ type: b.addVar("v", int), offset: 0, size: 4 }]),
};

let probed: BtfFeatures | undefined;

export function btfFeatures(): BtfFeatures {
  if (probed !== undefined) return probed;
  const features = {} as BtfFeatures;
  for (const [name, add] of Object.entries(PROBES) as [keyof BtfFeatures, (b: BtfBuilder, int: number) => void][]) {
    const builder = new BtfBuilder({ littleEndian: endianness() === "LE" });
    add(builder, builder.addInt("int", 4, { signed: true }));
    features[name] = accepts(builder.build());
  }
  return (probed = features);
}

function accepts(bytes: Uint8Array): boolean {
  try {
    loadBtf(bytes).close();
    return true;
  } catch (error) {
    if (error instanceof BtfError || error instanceof SyscallError) return false;
    throw error;
  }
}
