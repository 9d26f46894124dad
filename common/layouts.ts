// Fixed binary layouts (C structs) through typed-binary schemas: one declaration per struct,
// read and written field by field in the byte order the caller names.
//
// For records read once per message or per file (a netlink header, an ELF header in tests)
// a schema is the clearest form. Records read by the thousand (ELF section headers and
// symbols, BTF types) are read at fixed offsets instead, because a schema's reader costs more
// than the fields it reads (bench/parse.ts measured 0.5 to 1 us per ELF header).

import bin, { BufferReader, BufferWriter, Measurer, Schema, type IMeasurer, type ISerialInput, type ISerialOutput, type Parsed } from "typed-binary";

/**
 * typed-binary has no 64-bit integer: this one reads and writes two 32-bit halves in the
 * stream's byte order and yields a bigint.
 */
class Uint64Schema extends Schema<bigint> {
  read(input: ISerialInput): bigint {
    const first = BigInt(input.readUint32());
    const second = BigInt(input.readUint32());
    return input.endianness === "little" ? (second << 32n) | first : (first << 32n) | second;
  }

  write(output: ISerialOutput, value: bigint): void {
    const low = Number(value & 0xffffffffn);
    const high = Number((value >> 32n) & 0xffffffffn);
    if (output.endianness === "little") {
      output.writeUint32(low);
      output.writeUint32(high);
    } else {
      output.writeUint32(high);
      output.writeUint32(low);
    }
  }

  measure(_value: bigint | typeof bin.MaxValue, measurer: IMeasurer = new Measurer()): IMeasurer {
    return measurer.add(8);
  }
}

export const u64 = new Uint64Schema();

/** Reads one record at `offset` of `bytes` in the given byte order. The caller checks the bounds. */
export function readRecord<T extends Schema<unknown>>(schema: T, bytes: Uint8Array, offset: number, littleEndian: boolean): Parsed<T["__unwrapped"]> {
  // A reader per record, positioned through byteOffset: typed-binary's seekTo ignores the
  // offset of a view into a larger buffer (Node's pooled Buffers), so we never seek.
  const reader = new BufferReader(bytes.buffer, { byteOffset: bytes.byteOffset + offset, endianness: littleEndian ? "little" : "big" });
  return schema.read(reader) as Parsed<T["__unwrapped"]>;
}

/** Writes one record at `offset` of `bytes` in the given byte order. The caller checks the bounds. */
export function writeRecord<T extends Schema<unknown>>(
  schema: T,
  bytes: Uint8Array,
  offset: number,
  littleEndian: boolean,
  value: Parsed<T["__unwrapped"]>,
): void {
  const writer = new BufferWriter(bytes.buffer, { byteOffset: bytes.byteOffset + offset, endianness: littleEndian ? "little" : "big" });
  schema.write(writer, value as never);
}
