// Global variables by name: the C globals of .data, .bss and .rodata, read and written
// through their BTF types.
//
// Before load, on the spec: setting a `const volatile` variable in .rodata configures the
// program without recompiling: the loader writes the section into its map and freezes it,
// and the verifier then knows the value as a constant (dead branches disappear).
// After load, on the LoadedObject: .data and .bss variables live in mappable array maps
// shared with the program; reading and writing them goes through the map's single value.
//
// Where a variable is comes from the BTF DATASEC of its section: each entry names a VAR
// (name, type) with its offset and size inside the section.

import { SpecError } from "../common/errors.js";
import type { Btf } from "../btf/index.js";
import { btfCodec } from "../maps/btf-codec.js";
import type { Codec } from "../maps/codec.js";
import type { DataSectionSpec } from "./spec.js";

export interface VariableSpec {
  readonly name: string;
  /** The data section holding it: ".data", ".bss", ".rodata", ".data.custom"... */
  readonly section: string;
  readonly offset: number;
  readonly size: number;
  /** BTF type id of the variable's type (not of the VAR). */
  readonly typeId: number;
  /** In a read-only section: settable before load only. */
  readonly constant: boolean;
  /** The value in the spec's section contents, decoded through BTF. */
  get(): unknown;
  /** Encodes `value` (checked against the BTF type) into the spec's section contents. */
  set(value: unknown): void;
  /** The codec of the variable's BTF type (what get and set use); its size is the variable's. */
  codec(): Codec<unknown>;
}

/** The variables of every data section the object's BTF describes, by name. */
export function readVariables(btf: Btf | undefined, sections: ReadonlyMap<string, DataSectionSpec>): Map<string, VariableSpec> {
  const variables = new Map<string, VariableSpec>();
  if (btf === undefined) return variables;
  for (const section of sections.values()) {
    const datasec = btf.typeByName(section.name, "datasec");
    if (datasec?.kind !== "datasec") continue;
    for (const secinfo of datasec.vars) {
      const variable = btf.type(secinfo.type);
      // Two static variables may share a name (in different functions): the first one wins.
      if (variable.kind !== "var" || variables.has(variable.name)) continue;
      variables.set(variable.name, variableSpec(btf, section, variable.name, variable.type, secinfo.offset, secinfo.size));
    }
  }
  return variables;
}

function variableSpec(btf: Btf, section: DataSectionSpec, name: string, typeId: number, offset: number, size: number): VariableSpec {
  const part = `variable ${name}`;
  let codec: Codec<unknown> | undefined;
  const codecOf = () => (codec ??= checkedCodec(btf, typeId, size, part));
  const spec: VariableSpec = {
    codec: codecOf,
    name,
    section: section.name,
    offset,
    size,
    typeId,
    constant: section.readonly,
    get() {
      return decodeAt(codecOf(), section.contents, offset);
    },
    set(value: unknown) {
      // Copy on write: the contents may still be a view of the caller's file buffer.
      const contents = section.contents.slice();
      encodeAt(codecOf(), contents, offset, value, part);
      section.contents = contents;
    },
  };
  return spec;
}

export function checkedCodec(btf: Btf, typeId: number, size: number, part: string): Codec<unknown> {
  const codec = btfCodec(btf, typeId, { part });
  if (codec.size !== size) throw new SpecError(`BTF says ${codec.size} bytes but the section reserves ${size}`, { part });
  return codec;
}

export function decodeAt(codec: Codec<unknown>, bytes: Uint8Array, offset: number): unknown {
  return codec.decode(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset);
}

export function encodeAt(codec: Codec<unknown>, bytes: Uint8Array, offset: number, value: unknown, part: string): void {
  codec.encode(value, bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset, part);
}
