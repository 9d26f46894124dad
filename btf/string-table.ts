// The BTF string section as it is being written.
//
//   offset 0: "\0"               every table starts with the empty string (anonymous types)
//   then NUL-terminated strings, back to back; a name_off is the offset of the first byte.
//
// Two ways to start a table:
// - empty (a fresh, deduplicated table: each distinct string is stored once);
// - from the string section of an existing BTF, kept byte for byte. New strings are appended
//   after it, and a string already present is found at its old offset. Offsets that other
//   records hold into the old table stay valid: .BTF.ext refers to file names, source lines,
//   section names and CO-RE access strings by offset into this same section, so a loader
//   that rewrites types must not move them.
//
// Split BTF (a kernel module's, on top of vmlinux, Linux 5.11) has its own string section
// whose offsets continue after the end of the base's: a string the base holds is used from
// there (as libbpf does), anything else is added to the split BTF's own section, which does
// not start with a NUL of its own.

import { decodeAscii } from "../common/reader.js";
import { BtfError } from "../common/errors.js";

const encoder = new TextEncoder();

export class StringTable {
  private readonly chunks: Uint8Array[] = [];
  /** Bytes in this table (kept prefix plus appended strings), the base's not included. */
  private size: number;
  /** String -> offset (within this table) of its first whole occurrence; filled on first use. */
  private index: Map<string, number> | undefined;
  private readonly kept: Uint8Array;
  /** The base's table for split BTF, and where this table's offsets start. */
  private readonly base: StringTable | undefined;
  private readonly firstOffset: number;

  /**
   * @param kept an existing string section to keep as the table's prefix (copied only by
   *   `bytes()`); empty or absent for a fresh table.
   * @param base the base BTF's string table, for a split BTF's own strings.
   */
  constructor(kept: Uint8Array = new Uint8Array(0), base?: StringTable) {
    if (kept.byteLength > 0 && kept[kept.byteLength - 1] !== 0) throw new BtfError("string section does not end with NUL");
    if (base === undefined && kept.byteLength > 0 && kept[0] !== 0) throw new BtfError("string section does not start with the empty string (byte 0 must be NUL)");
    // A table of its own starts with "" at offset 0; a split table finds "" in its base.
    this.kept = kept.byteLength > 0 || base !== undefined ? kept : new Uint8Array(1);
    this.size = this.kept.byteLength;
    this.base = base;
    this.firstOffset = base === undefined ? 0 : base.end;
  }

  /** The offset just past this table, where a split BTF's strings on top of it would start. */
  get end(): number {
    return this.firstOffset + this.size;
  }

  /** Size in bytes of this table's own section, as it would be written now. */
  get length(): number {
    return this.size;
  }

  /** The offset of `text`, appending it if neither this table nor its base holds it. "" is offset 0. */
  add(text: string): number {
    if (text === "") return 0;
    const known = this.find(text);
    if (known !== undefined) return known;
    const encoded = encoder.encode(text);
    if (encoded.includes(0)) throw new BtfError(`string ${JSON.stringify(text)} contains a NUL byte`);
    const local = this.size;
    const chunk = new Uint8Array(encoded.byteLength + 1);
    chunk.set(encoded);
    this.chunks.push(chunk);
    this.size += chunk.byteLength;
    this.getIndex().set(text, local);
    return this.firstOffset + local;
  }

  /** The offset of `text` if the table (or its base) already holds it. */
  find(text: string): number | undefined {
    if (text === "") return 0;
    const inBase = this.base?.find(text);
    if (inBase !== undefined) return inBase;
    const local = this.getIndex().get(text);
    return local === undefined ? undefined : this.firstOffset + local;
  }

  /** This table's own section: the kept prefix, then every appended string. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    out.set(this.kept);
    let at = this.kept.byteLength;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.byteLength;
    }
    return out;
  }

  /** Indexes the kept prefix: every string that starts it or follows a NUL, first occurrence wins. */
  private getIndex(): Map<string, number> {
    if (this.index !== undefined) return this.index;
    const index = new Map<string, number>();
    const kept = this.kept;
    let start = 0;
    while (start < kept.byteLength) {
      const end = kept.indexOf(0, start);
      if (end > start) {
        const text = decodeAscii(kept, start, end);
        if (!index.has(text)) index.set(text, start);
      }
      start = end + 1;
    }
    this.index = index;
    return index;
  }
}
