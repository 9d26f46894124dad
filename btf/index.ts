// btf/: BTF type information. Pure: no system calls.
export { Btf, parseBtf } from "./parse.js";
export { BtfKind } from "./kinds.js";
export type * from "./types.js";
export * from "./marshal.js";
export * from "./builder.js";
export * from "./ext.js";
export * from "./ext-info.js";
export { StringTable } from "./string-table.js";
