// btf/: BTF type information. Pure: no system calls.
export { Btf, parseBtf } from "./parse.js";
export { BtfKind } from "./kinds.js";
export type * from "./types.js";
