// The fixed-size records of ELF64. The ELF header is read once per file through a
// typed-binary schema; section headers, symbols and relocations are read field by field at
// the offsets drawn below, because they are read by the hundred in every parse and a
// schema's per-record reader costs more than the fields themselves (bench/parse.ts).
//
//   Elf64_Ehdr (64 bytes)                 Elf64_Shdr (64 bytes)
//   0  e_ident[16]  magic, class, data    0  sh_name      u32  offset in .shstrtab
//   16 e_type       u16                   4  sh_type      u32
//   18 e_machine    u16  EM_BPF = 247     8  sh_flags     u64
//   20 e_version    u32                   16 sh_addr      u64
//   24 e_entry      u64                   24 sh_offset    u64  where the bytes are in the file
//   32 e_phoff      u64                   32 sh_size      u64
//   40 e_shoff      u64  section headers  40 sh_link      u32  e.g. symtab -> strtab
//   48 e_flags      u32                   44 sh_info      u32  e.g. rel -> section it patches
//   52 e_ehsize     u16                   48 sh_addralign u64
//   54 e_phentsize  u16                   56 sh_entsize   u64  record size of table sections
//   56 e_phnum      u16
//   58 e_shentsize  u16                   Elf64_Sym (24 bytes)
//   60 e_shnum      u16                   0  st_name u32, 4 st_info u8, 5 st_other u8,
//   62 e_shstrndx   u16                   6  st_shndx u16, 8 st_value u64, 16 st_size u64
//
//   Elf64_Rel (16 bytes): r_offset u64, r_info u64 (symbol index << 32 | type)
//   Elf64_Rela (24 bytes): Elf64_Rel + r_addend i64

import bin, { BufferReader, Schema, type ISerialInput, type ISerialOutput, type IMeasurer, Measurer, type Parsed } from "typed-binary";

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

export const ElfHeader = bin.object({
  type: bin.u16,
  machine: bin.u16,
  version: bin.u32,
  entry: u64,
  phoff: u64,
  shoff: u64,
  flags: bin.u32,
  ehsize: bin.u16,
  phentsize: bin.u16,
  phnum: bin.u16,
  shentsize: bin.u16,
  shnum: bin.u16,
  shstrndx: bin.u16,
});
/** Bytes before e_type: the identification array is read by hand (it decides the byte order). */
export const ELF_IDENT_SIZE = 16;
export const ELF_HEADER_SIZE = 64;

export const SECTION_HEADER_SIZE = 64;

export const SYMBOL_SIZE = 24;
export const REL_SIZE = 16;
export const RELA_SIZE = 24;

/** Reads one record at `offset` (relative to `bytes`) in the given byte order. */
export function readRecord<T extends Schema<unknown>>(
  schema: T,
  bytes: Uint8Array,
  offset: number,
  littleEndian: boolean,
): Parsed<T["__unwrapped"]> {
  // A reader per record, positioned through byteOffset: typed-binary's seekTo ignores the
  // offset of a view into a larger buffer (Node's pooled Buffers), so we never seek.
  const reader = new BufferReader(bytes.buffer, {
    byteOffset: bytes.byteOffset + offset,
    endianness: littleEndian ? "little" : "big",
  });
  return schema.read(reader) as Parsed<T["__unwrapped"]>;
}
