// Finding BTF types by name without decoding their names (Btf.idsByName, Btf.typeByName).
//
// A type's name is the NUL-terminated string at its name_off, so "type i is
// named N" means: the bytes at name_off are N's UTF-8 bytes followed by a NUL. NameLookup
// checks exactly that for each entry of the nameOffsets column, a few byte reads per type
// instead of decoding 100,000 strings into a Map. (Every BTF writer deduplicates strings, but
// the format does not require it: two copies of a string, or a name_off into the middle of a
// longer one, are valid; so the test is per type, never "find the one offset of N".)
// One scan costs about 0.3 ms on vmlinux. A process that looks up many different names (CO-RE
// relocations against the shared vmlinux Btf) would pay that for each, so after a few scans
// one pass hashes every name (about 2.5 ms) and later lookups follow a hash chain (1 us).

import type { Btf } from "./parse.js";

/** Names compared by decoding instead of by bytes: "" (no NUL to look for), and names with
 * U+FFFD (what invalid UTF-8 decodes to) or surrogates (which may not survive encoding). */
const NEEDS_DECODING = /^$|[\uD800-\uDFFF\uFFFD]/;
/** Hash once lookups have read the name column this many times over (on vmlinux hashing
 * costs as much as 7 to 10 scans: past this point, more lookups are likely to follow). */
const SCANS_BEFORE_HASHING = 8;
const utf8 = new TextEncoder();
const NO_IDS: readonly number[] = [];

interface NameHash {
  mask: number;
  /** The first entry (index into nameOffsets) whose name hashes to each slot; 0 for none. */
  heads: Int32Array;
  /** The next entry with the same slot, ascending. */
  next: Int32Array;
}

export class NameLookup {
  /** Names looked up so far (made on the first lookup: most BTFs of objects see none). */
  private cache: Map<string, readonly number[]> | undefined;
  private full: Map<string, number[]> | undefined;
  /** Entries of the name column the scans have read so far. */
  private scanned = 0;
  private hash: NameHash | undefined;

  constructor(
    private readonly btf: Btf,
    private readonly base: NameLookup | undefined,
  ) {}

  idsByName(name: string): readonly number[] {
    if (this.full !== undefined) return this.full.get(name) ?? NO_IDS;
    const cache = (this.cache ??= new Map());
    let ids = cache.get(name);
    if (ids === undefined) {
      const found = this.base === undefined ? [] : [...this.base.idsByName(name)];
      this.scan(name, undefined, false, found);
      ids = found.length === 0 ? NO_IDS : found;
      cache.set(name, ids);
    }
    return ids;
  }

  /** The lowest id with this name (and kind, if given), or 0. */
  first(name: string, kind: number | undefined): number {
    const known = this.full !== undefined ? this.full.get(name) ?? NO_IDS : this.cache?.get(name);
    if (known !== undefined) return known.find((id) => kind === undefined || this.btf.kindOf(id) === kind) ?? 0;
    const inBase = this.base?.first(name, kind) ?? 0;
    if (inBase !== 0) return inBase;
    const found: number[] = [];
    this.scan(name, kind, true, found);
    return found.length === 0 ? 0 : found[0];
  }

  all(): ReadonlyMap<string, readonly number[]> {
    if (this.full === undefined) {
      const full = new Map<string, number[]>();
      if (this.base !== undefined) for (const [name, ids] of this.base.all()) full.set(name, [...ids]);
      const { nameOffsets, firstTypeId } = this.btf;
      for (let i = 1; i < nameOffsets.length; i++) {
        if (nameOffsets[i] === 0) continue;
        const name = this.btf.string(nameOffsets[i]);
        const ids = full.get(name);
        if (ids === undefined) full.set(name, [firstTypeId + i - 1]);
        else ids.push(firstTypeId + i - 1);
      }
      this.full = full;
    }
    return this.full;
  }

  /**
   * Appends to `ids` the own types named `name` (of kind `kind`, if given), ascending; with
   * `stopAtFirst`, only the first.
   */
  private scan(name: string, kind: number | undefined, stopAtFirst: boolean, ids: number[]): void {
    if (name.includes("\0")) return; // a stored string ends at its first NUL
    const { nameOffsets, firstTypeId } = this.btf;
    const keep = (i: number): boolean => {
      const id = firstTypeId + i - 1;
      if (kind !== undefined && this.btf.kindOf(id) !== kind) return false;
      ids.push(id);
      return stopAtFirst;
    };
    if (NEEDS_DECODING.test(name)) {
      for (let i = 1; i < nameOffsets.length; i++) {
        if (nameOffsets[i] !== 0 && this.btf.string(nameOffsets[i]) === name && keep(i)) return;
      }
      return;
    }
    const stored = encodeName(name);
    const bytes = stored.subarray(0, stored.length - 1);
    if (this.hash === undefined && this.scanned >= SCANS_BEFORE_HASHING * nameOffsets.length) this.hash = this.hashNames();
    if (this.hash !== undefined) {
      const { heads, next, mask } = this.hash;
      for (let i = heads[hashAt(stored, 0) & mask]; i !== 0; i = next[i]) {
        if (this.storedAt(nameOffsets[i], bytes) && keep(i)) return;
      }
      return;
    }
    const strings = this.btf.strings.bytes;
    const firstStringOffset = this.btf.firstStringOffset;
    let i = 1;
    for (; i < nameOffsets.length; i++) {
      const offset = nameOffsets[i];
      const named = offset >= firstStringOffset ? equalAt(strings, offset - firstStringOffset, bytes) : offset !== 0 && this.storedAt(offset, bytes);
      if (named && keep(i)) break;
    }
    this.scanned += i;
  }

  /** True when the string at `offset` (in this BTF or a base) is `name`'s bytes. */
  private storedAt(offset: number, name: Uint8Array): boolean {
    const [strings, local] = this.locate(offset);
    return equalAt(strings, local, name);
  }

  /** The string section holding `offset`, and the offset within it. */
  private locate(offset: number): [Uint8Array, number] {
    const local = offset - this.btf.firstStringOffset;
    return local >= 0 ? [this.btf.strings.bytes, local] : this.base!.locate(offset);
  }

  /** Chains every named own type by the hash of its name; chains run in ascending id order. */
  private hashNames(): NameHash {
    const { nameOffsets, firstStringOffset } = this.btf;
    const strings = this.btf.strings.bytes;
    const mask = (1 << (32 - Math.clz32(2 * nameOffsets.length - 1))) - 1;
    const heads = new Int32Array(mask + 1);
    const next = new Int32Array(nameOffsets.length);
    for (let i = nameOffsets.length - 1; i >= 1; i--) {
      const offset = nameOffsets[i];
      if (offset === 0) continue;
      const slot = (offset >= firstStringOffset ? hashAt(strings, offset - firstStringOffset) : hashAt(...this.locate(offset))) & mask;
      next[i] = heads[slot];
      heads[slot] = i;
    }
    return { mask, heads, next };
  }
}

/**
 * The name's UTF-8 bytes and a NUL. Usual names are written into one buffer that every scan
 * reuses, which is safe because a scan encodes once and nothing it calls looks a name up, and
 * the bytes are not kept past the scan. (TextEncoder.encode makes an ArrayBuffer per call:
 * 300 ns, as long as a whole scan of an object's BTF.) A name too long for the buffer gets
 * its own array, so that the buffer never grows.
 */
const encodedName = new Uint8Array(256);
function encodeName(name: string): Uint8Array {
  // UTF-8 needs at most 3 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2 units).
  if (name.length * 3 + 1 > encodedName.length) return utf8.encode(`${name}\0`);
  const { written } = utf8.encodeInto(name, encodedName);
  encodedName[written] = 0;
  return encodedName.subarray(0, written + 1);
}

/** True when strings[at..] holds `name` followed by a NUL. The NUL test comes first: it
 * rejects almost every other name with one read. */
function equalAt(strings: Uint8Array, at: number, name: Uint8Array): boolean {
  const length = name.length;
  if (strings[at + length] !== 0) return false;
  for (let k = 0; k < length; k++) if (strings[at + k] !== name[k]) return false;
  return true;
}

/** FNV-1a of the bytes from `at` to the next NUL. */
function hashAt(strings: Uint8Array, at: number): number {
  let hash = 0x811c9dc5;
  for (let c = strings[at]; c !== 0 && c !== undefined; c = strings[++at]) hash = Math.imul(hash ^ c, 0x01000193);
  return hash >>> 0;
}
