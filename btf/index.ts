// btf/: BTF type information. Pure: no system calls.
export { Btf, parseBtf } from "./parse.js";
export { BtfKind } from "./kinds.js";
export type * from "./types.js";
export * from "./marshal.js";
export * from "./builder.js";
export * from "./ext.js";
export * from "./ext-info.js";
export { StringTable } from "./string-table.js";
export { dumpBtfRaw, dumpBtfRawText } from "./dump-raw.js";
export { dumpBtfC, type DumpCOptions } from "./dump-c.js";
export { fixupDatasecs, type DataSectionFacts } from "./fixup.js";
export type { BtfOptions } from "./parse.js";
