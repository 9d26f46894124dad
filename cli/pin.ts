// `tsbpf pin OBJ DIR` and `tsbpf unpin PATH`: keep an object's programs and maps in bpffs
// after this process exits, like `bpftool prog loadall OBJ DIR pinmaps DIR/maps`, and
// remove such pins again.

import { basename } from "node:path";
import { load, parseObject, unpin } from "../index.js";
import { parseCommand, print, readInputFile } from "./usage.js";

export const PIN_HELP = `usage: tsbpf pin OBJ DIR [--pin-root ROOT]

Loads every program and map of OBJ and pins programs at DIR/<program> and maps at
DIR/maps/<map> (global data maps as DIR/maps/data, DIR/maps/rodata...). DIR must be in a
BPF filesystem (e.g. /sys/fs/bpf/NAME). Maps the object itself asks to pin (LIBBPF_PIN_BY_NAME,
iproute2 PIN_GLOBAL_NS) are pinned under --pin-root as well (default /sys/fs/bpf).
`;

export const UNPIN_HELP = `usage: tsbpf unpin PATH

Removes a pin, or a directory of pins, from a BPF filesystem. The program or map lives on
while something still holds it (an attachment, an open fd, a program using the map).
`;

export function pinCommand(args: string[]): void {
  const { values, positionals } = parseCommand("pin", args, { "pin-root": { type: "string" } }, [2, 2], "OBJ DIR");
  const [path, dir] = positionals;
  const spec = parseObject(readInputFile(path, "object"), { name: basename(path).replace(/\.b?p?f?\.?o$/, "") });
  const obj = load(spec, { pinRoot: values["pin-root"] ?? "/sys/fs/bpf" });
  try {
    for (const pinned of obj.pinAll(dir)) print(`pinned ${pinned}`);
  } finally {
    obj.close(); // the pins hold the objects now
  }
}

export function unpinCommand(args: string[]): void {
  const { positionals } = parseCommand("unpin", args, {}, [1, 1], "PATH");
  unpin(positionals[0]);
  print(`unpinned ${positionals[0]}`);
}
