// An oracle for CO-RE tests: BTF as bpftool reads it (`bpftool btf dump file F`, raw format),
// so expected field offsets, sizes and enum values come from a parser we did not write.
//
//   [114] STRUCT 'task_struct' size=3264 vlen=247
//   	'pid' type_id=75 bits_offset=10112
//   	'in_iowait' type_id=9 bits_offset=9544 bitfield_size=1
//   [384] ENUM 'pid_type' encoding=UNSIGNED size=4 vlen=5
//   	'PIDTYPE_PID' val=0
//   [13574] ENUM64 'perf_callchain_context' encoding=UNSIGNED size=8 vlen=7
//   	'PERF_CONTEXT_KERNEL' val=18446744073709551488ULL

import { execFileSync } from "node:child_process";

export interface OracleMember {
  name: string;
  type: number;
  bitOffset: number;
  bitfieldSize: number;
}

export interface OracleType {
  id: number;
  kind: string;
  name: string;
  size?: number;
  /** PTR, TYPEDEF, CONST, ..., ARRAY element. */
  type?: number;
  nelems?: number;
  encoding?: string;
  members: OracleMember[];
  values: { name: string; value: bigint }[];
}

const cache = new Map<string, Map<number, OracleType>>();

/** Every type of the BTF in `path` (raw BTF or an ELF object), by id. */
export function bpftoolTypes(path: string): Map<number, OracleType> {
  let types = cache.get(path);
  if (types !== undefined) return types;
  types = new Map();
  const text = execFileSync("bpftool", ["btf", "dump", "file", path], { encoding: "utf8", maxBuffer: 1 << 28 });
  let current: OracleType | undefined;
  for (const line of text.split("\n")) {
    const head = /^\[(\d+)\] (\w+) '([^']*)'(.*)$/.exec(line);
    if (head !== null) {
      const [, id, kind, name, rest] = head;
      const field = (key: string) => new RegExp(`\\b${key}=(\\S+)`).exec(rest)?.[1];
      const number = (key: string) => (field(key) === undefined ? undefined : Number(field(key)));
      current = {
        id: Number(id),
        kind,
        name: name === "(anon)" ? "" : name,
        size: number("size"),
        type: number("type_id"),
        nelems: number("nr_elems"),
        encoding: field("encoding"),
        members: [],
        values: [],
      };
      types.set(current.id, current);
      continue;
    }
    const member = /^\t'([^']*)' type_id=(\d+)(?: bits_offset=(\d+))?(?: bitfield_size=(\d+))?/.exec(line);
    if (member !== null && current !== undefined) {
      current.members.push({
        name: member[1] === "(anon)" ? "" : member[1],
        type: Number(member[2]),
        bitOffset: Number(member[3] ?? 0),
        bitfieldSize: Number(member[4] ?? 0),
      });
      continue;
    }
    const value = /^\t'([^']*)' val=(-?\d+)(?:ULL|LL)?$/.exec(line);
    if (value !== null && current !== undefined) current.values.push({ name: value[1], value: BigInt(value[2]) });
  }
  cache.set(path, types);
  return types;
}

const MODIFIERS = new Set(["TYPEDEF", "CONST", "VOLATILE", "RESTRICT", "TYPE_TAG"]);

export class Oracle {
  readonly types: Map<number, OracleType>;

  constructor(path: string) {
    this.types = bpftoolTypes(path);
  }

  /** The first type named `name` of kind `kind` (bpftool's spelling: STRUCT, ENUM, ...). */
  byName(name: string, kind: string): OracleType {
    for (const type of this.types.values()) if (type.name === name && type.kind === kind) return type;
    throw new Error(`bpftool shows no ${kind} ${name}`);
  }

  resolve(id: number): OracleType {
    let type = this.types.get(id)!;
    while (MODIFIERS.has(type.kind)) type = this.types.get(type.type!)!;
    return type;
  }

  sizeof(id: number): number {
    const type = this.resolve(id);
    if (type.kind === "PTR") return 8;
    if (type.kind === "ARRAY") return type.nelems! * this.sizeof(type.type!);
    return type.size!;
  }

  /** A member of a struct or union, found through anonymous members; its offset from the outer struct. */
  member(structId: number, name: string): OracleMember | undefined {
    for (const m of this.resolve(structId).members) {
      if (m.name === name) return m;
      if (m.name === "") {
        const inner = this.member(m.type, name);
        if (inner !== undefined) return { ...inner, bitOffset: inner.bitOffset + m.bitOffset };
      }
    }
    return undefined;
  }

  /** offsetof(struct NAME, field) in bytes. */
  offsetof(structName: string, field: string): number {
    const m = this.member(this.byName(structName, "STRUCT").id, field);
    if (m === undefined) throw new Error(`no ${field} in struct ${structName}`);
    return m.bitOffset / 8;
  }

  enumValue(enumName: string, value: string): bigint {
    for (const type of this.types.values()) {
      if (type.name !== enumName || (type.kind !== "ENUM" && type.kind !== "ENUM64")) continue;
      const found = type.values.find((v) => v.name === value);
      if (found !== undefined) return found.value;
    }
    throw new Error(`no ${enumName}::${value}`);
  }
}
