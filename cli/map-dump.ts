// `tsbpf map dump PINNED_PATH [--json]`: every entry of a pinned map, as `bpftool map dump
// pinned PATH` prints a map without BTF: keys and values as hex bytes in memory order,
//
//   key: 11 00 00 00  value: 05 00 00 00 00 00 00 00
//
// and per-CPU maps with one value per possible CPU. Keys and values of 1, 2, 4 or 8 bytes
// are also shown as the unsigned number they hold in the host's byte order (the order the
// BPF program stored them in): "key: 11 00 00 00 (17)". --json prints bpftool's -j shape
// ("key"/"value" arrays of "0x.." strings, "values" per CPU) with the numbers under
// "formatted", where bpftool puts BTF-formatted data.

import { existsSync } from "node:fs";
import { BpfMap, isBpfError, onBpfFs } from "../index.js";
import { CommandError, parseCommand, print } from "./usage.js";

export const MAP_DUMP_HELP = `usage: tsbpf map dump PINNED_PATH [--json]

Prints every key and value of the map pinned at PINNED_PATH (in a BPF filesystem, e.g.
/sys/fs/bpf/NAME): hex bytes like \`bpftool map dump\`, and the number they hold when a
key or value is 1, 2, 4 or 8 bytes. Per-CPU maps show one value per possible CPU.

  --json          print JSON (bpftool's layout; numbers under "formatted")
`;

/** Flush the text output every this many lines, so a large map is not held as one string. */
const FLUSH_LINES = 4096;

type Raw = Uint8Array | Uint8Array[];

export function mapDumpCommand(args: string[]): void {
  const { values, positionals } = parseCommand("map dump", args, { json: { type: "boolean" } }, [1, 1], "PINNED_PATH");
  const path = positionals[0];
  if (existsSync(path) && !onBpfFs(path)) {
    throw new CommandError(`${path} is not in a BPF filesystem; pinned maps are files in one (mount -t bpf bpf /sys/fs/bpf)`);
  }
  const map = openPinnedMap(path);
  try {
    if (values.json === true) dumpJson(map);
    else dumpText(map);
  } finally {
    map.close();
  }
}

function openPinnedMap(path: string): BpfMap<Uint8Array, Raw> {
  try {
    return BpfMap.openPinned<Uint8Array, Raw>(path, { raw: true });
  } catch (error) {
    if (isBpfError(error)) throw error;
    // BpfMap.fromFd takes the object's bpf_map_info on trust; a program pinned there gives nonsense sizes.
    throw new CommandError(`${path} does not hold a usable map (is a program or another kind of object pinned there?)`, { cause: error });
  }
}

function dumpText(map: BpfMap<Uint8Array, Raw>): void {
  let lines: string[] = [];
  let count = 0;
  for (const [key, value] of map.entries()) {
    count++;
    if (Array.isArray(value)) {
      lines.push(`key: ${bytesAndNumber(key)}`);
      value.forEach((v, cpu) => lines.push(`  value (CPU ${String(cpu).padStart(2, "0")}): ${bytesAndNumber(v)}`));
    } else {
      lines.push(`key: ${bytesAndNumber(key)}  value: ${bytesAndNumber(value)}`);
    }
    if (lines.length >= FLUSH_LINES) {
      process.stdout.write(lines.join("\n") + "\n");
      lines = [];
    }
  }
  lines.push(`Found ${count} element${count === 1 ? "" : "s"}`);
  print(lines.join("\n"));
}

function dumpJson(map: BpfMap<Uint8Array, Raw>): void {
  const entries: unknown[] = [];
  for (const [key, value] of map.entries()) {
    if (Array.isArray(value)) {
      entries.push({
        key: hexArray(key),
        values: value.map((v, cpu) => ({ cpu, value: hexArray(v) })),
        formatted: { key: number(key), values: value.map((v, cpu) => ({ cpu, value: number(v) })) },
      });
    } else {
      entries.push({ key: hexArray(key), value: hexArray(value), formatted: { key: number(key), value: number(value) } });
    }
  }
  print(JSON.stringify(entries, null, 2));
}

/** "11 00 00 00 (17)", or just the bytes when the size is not that of a number. */
function bytesAndNumber(bytes: Uint8Array): string {
  const hex = Array.from(bytes, hexByte).join(" ");
  const n = number(bytes);
  return n === undefined ? hex : `${hex} (${n})`;
}

function hexArray(bytes: Uint8Array): string[] {
  return Array.from(bytes, (b) => `0x${hexByte(b)}`);
}

function hexByte(b: number): string {
  return b.toString(16).padStart(2, "0");
}

/**
 * The unsigned integer in 1, 2, 4 or 8 host-order bytes; undefined for other sizes. JSON
 * numbers are doubles, so a 64-bit value beyond 2^53 comes back as a decimal string.
 */
function number(bytes: Uint8Array): number | string | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = HOST_LITTLE_ENDIAN;
  switch (bytes.byteLength) {
    case 1:
      return view.getUint8(0);
    case 2:
      return view.getUint16(0, le);
    case 4:
      return view.getUint32(0, le);
    case 8: {
      const value = view.getBigUint64(0, le);
      return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
    }
    default:
      return undefined;
  }
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
