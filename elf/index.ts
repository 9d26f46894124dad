// elf/: reading ELF64 objects. Pure: no system calls, no file system.
export { elfIsLittleEndian, parseElf, type ElfFile } from "./file.js";
export { isExecutable, type ElfSection } from "./sections.js";
export { SymbolTable, type ElfSymbol } from "./symbols.js";
export type { ElfRelocation } from "./relocations.js";
export * from "./constants.js";
