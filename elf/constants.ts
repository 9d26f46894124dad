// Constants of the ELF64 format (from <elf.h>) that a BPF object uses.

/** e_ident[EI_CLASS]: only 64-bit objects exist for BPF. */
export const ELFCLASS64 = 2;
/** e_ident[EI_DATA]: byte order of the whole file. */
export const ELFDATA2LSB = 1;
export const ELFDATA2MSB = 2;
/** e_machine of BPF objects (clang -target bpf, gcc-bpf). */
export const EM_BPF = 247;
/** e_type of relocatable objects: what compilers write for BPF. */
export const ET_REL = 1;

/** Section header types (sh_type). */
export const SectionType = {
  NULL: 0,
  PROGBITS: 1,
  SYMTAB: 2,
  STRTAB: 3,
  RELA: 4,
  HASH: 5,
  DYNAMIC: 6,
  NOTE: 7,
  NOBITS: 8,
  REL: 9,
  DYNSYM: 11,
  SYMTAB_SHNDX: 18,
  /** LLVM's address-significance table; harmless for BPF. */
  LLVM_ADDRSIG: 0x6fff4c03,
} as const;

/** Section header flags (sh_flags). */
export const SectionFlags = {
  WRITE: 0x1,
  ALLOC: 0x2,
  EXECINSTR: 0x4,
  MERGE: 0x10,
  STRINGS: 0x20,
} as const;

/** Special section indices (st_shndx). */
export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
/** The real index is in the SHT_SYMTAB_SHNDX table (or, in the ELF header, in section 0). */
export const SHN_XINDEX = 0xffff;

/** Symbol binding (high nibble of st_info). */
export const SymbolBinding = { LOCAL: 0, GLOBAL: 1, WEAK: 2 } as const;
/** Symbol type (low nibble of st_info). */
export const SymbolType = { NOTYPE: 0, OBJECT: 1, FUNC: 2, SECTION: 3, FILE: 4 } as const;
/** Symbol visibility (low two bits of st_other). */
export const SymbolVisibility = { DEFAULT: 0, INTERNAL: 1, HIDDEN: 2, PROTECTED: 3 } as const;

/** BPF relocation types (r_info low 32 bits), from LLVM's ELFRelocs/BPF.def. */
export const BpfRelocationType = {
  NONE: 0,
  /** 64-bit immediate of ld_imm64: maps, global data, function pointers. */
  R_BPF_64_64: 1,
  /** 64-bit absolute data, in DWARF/BTF sections. */
  R_BPF_64_ABS64: 2,
  /** 32-bit absolute data, in DWARF/BTF sections. */
  R_BPF_64_ABS32: 3,
  R_BPF_64_NODYLD32: 4,
  /** 32-bit pc-relative call immediate: bpf-to-bpf calls and kfuncs. */
  R_BPF_64_32: 10,
} as const;
