// A zeroed bpf_attr block in native memory, written and read field by field.
//
// Encoders build one per call (cold paths: create, load, pin, info) sized with
// offsetofend() of the last field they use; map handles keep theirs for their lifetime.
// Writes check the field's size so that a table entry and its use cannot disagree.

import { BPF_OBJ_NAME_LEN } from "./constants.js";
import { offsetofend, type Field } from "./layout.js";
import { NativeBuffer } from "./native.js";

const TWO_32 = 2 ** 32;

export class Attr {
  readonly buffer: NativeBuffer;

  /** A zeroed block that ends right after `last`. */
  constructor(last: Field) {
    this.buffer = new NativeBuffer(offsetofend(last));
  }

  get address(): number {
    return this.buffer.address;
  }

  get size(): number {
    return this.buffer.length;
  }

  u32(field: Field, value: number): this {
    expectSize(field, 4);
    this.buffer.view.setUint32(field.offset, value >>> 0, true);
    return this;
  }

  u64(field: Field, value: number | bigint): this {
    expectSize(field, 8);
    writeU64(this.buffer.view, field.offset, value);
    return this;
  }

  /** An __aligned_u64 that holds a user-space address; undefined writes NULL. */
  pointer(field: Field, target: NativeBuffer | undefined): this {
    return this.u64(field, target === undefined ? 0 : target.address);
  }

  /** A char[BPF_OBJ_NAME_LEN] object name (see objectName for the kernel's rules). */
  name(field: Field, name: string | undefined): this {
    expectSize(field, BPF_OBJ_NAME_LEN);
    if (name !== undefined) this.buffer.bytes.set(objectName(name), field.offset);
    return this;
  }

  getU32(field: Field): number {
    expectSize(field, 4);
    return this.buffer.view.getUint32(field.offset, true);
  }

  free(): void {
    this.buffer.free();
  }
}

/** Writes a u64 little-endian from a number (without allocating a bigint) or a bigint. */
export function writeU64(view: DataView, offset: number, value: number | bigint): void {
  if (typeof value === "bigint") {
    view.setBigUint64(offset, BigInt.asUintN(64, value), true);
    return;
  }
  view.setUint32(offset, value % TWO_32, true);
  view.setUint32(offset + 4, Math.floor(value / TWO_32), true);
}

function expectSize(field: Field, size: number): void {
  if (field.size !== size) throw new RangeError(`attr field at offset ${field.offset} is ${field.size} bytes, not ${size}`);
}

/**
 * The bytes the kernel accepts as an object name: at most 15 characters from
 * [A-Za-z0-9_.] (kernel/bpf/syscall.c bpf_obj_name_cpy rejects anything else with
 * EINVAL), NUL-terminated. Other characters become '_' and longer names are cut, so
 * "my-map" is sent as "my_map"; the full name stays in tsbpf's own messages.
 */
export function objectName(name: string): Uint8Array {
  const out = new Uint8Array(BPF_OBJ_NAME_LEN);
  const limit = Math.min(name.length, BPF_OBJ_NAME_LEN - 1);
  for (let i = 0; i < limit; i++) {
    const c = name.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2e;
    out[i] = ok ? c : 0x5f;
  }
  return out;
}

/** A NUL-terminated name field as a string. */
export function readName(bytes: Uint8Array, field: Field): string {
  const region = bytes.subarray(field.offset, field.offset + field.size);
  const end = region.indexOf(0);
  return new TextDecoder().decode(end < 0 ? region : region.subarray(0, end));
}
