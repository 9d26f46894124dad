// The fixed-size records of ELF64, as drawn below. parseElf reads them at these offsets, field
// by field: it runs for every object a loader opens, and a typed-binary schema's reader cost
// 0.5 to 1 us per ELF header, a fifth of the time libbpf needs to open a small object
// (bench/parse.ts). The ElfHeader schema is the same layout declared as data: the ELF tests
// read every test object's header through it and compare with parseElf.
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

import bin from "typed-binary";
import { u64 } from "../common/layouts.js";

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
