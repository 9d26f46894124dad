// CO-RE candidates: which target types a relocation's local type may stand for.
//
// A BPF program compiled against one set of headers names kernel types by name. The loader
// looks those names up in the running kernel's BTF (the target) and keeps every type whose
// name and kind agree. Names may carry a "flavor": everything from the LAST "___" separator
// on is ignored, so a program can hold two local definitions of one kernel type
//
//     struct task_struct___old { long state; } __attribute__((preserve_access_index));
//     struct task_struct       { unsigned int __state; } ...
//
// and both are looked up as `task_struct` (libbpf calls the rest the "essential name").
// A separator is "___" with a character other than "_" on both sides: `a___b` is flavored,
// `__u32` and `a____b` are not.
//
// Where to search (libbpf's order): the first target (vmlinux) alone when it has any
// candidate; otherwise every other target (kernel modules, whose split BTF holds its own
// types after vmlinux's ids).

import type { Btf } from "./parse.js";
import { BtfKind } from "./kinds.js";

/** A BTF a relocation may be resolved against, with a name for explanations ("vmlinux", a module). */
export interface CoreTarget {
  readonly btf: Btf;
  readonly name: string;
}

/** One target type a local type may stand for. */
export interface CoreCandidate {
  readonly target: CoreTarget;
  readonly typeId: number;
}

/** Length of `name` without its flavor: "task_struct___old" -> 11. */
export function essentialNameLength(name: string): number {
  for (let i = name.length - 5; i >= 0; i--) {
    if (name[i] !== "_" && name[i + 1] === "_" && name[i + 2] === "_" && name[i + 3] === "_" && name[i + 4] !== "_") return i + 1;
  }
  return name.length;
}

/** `name` without its flavor: "task_struct___old" -> "task_struct". */
export function essentialName(name: string): string {
  return name.slice(0, essentialNameLength(name));
}

/** True when two names are equal once their flavors are dropped. */
export function sameEssentialName(a: string, b: string): boolean {
  const length = essentialNameLength(a);
  return length === essentialNameLength(b) && a.slice(0, length) === b.slice(0, length);
}

/** CO-RE treats ENUM and ENUM64 as one kind (a 32-bit enum may have grown to 64 bits). */
export function kindsCompatible(a: number, b: number): boolean {
  return a === b || (isAnyEnum(a) && isAnyEnum(b));
}

function isAnyEnum(kind: number): boolean {
  return kind === BtfKind.ENUM || kind === BtfKind.ENUM64;
}

/**
 * Every target type whose essential name equals `localName`'s and whose kind is compatible
 * with `localKind`, in id order: the first target's, or if it has none, all the others'.
 */
export function findCandidates(localName: string, localKind: number, targets: readonly CoreTarget[]): CoreCandidate[] {
  const wanted = essentialName(localName);
  const search = (target: CoreTarget): CoreCandidate[] =>
    typesByEssentialName(target.btf, wanted)
      .filter((id) => kindsCompatible(localKind, target.btf.kindOf(id)))
      .map((typeId) => ({ target, typeId }));
  if (targets.length === 0) return [];
  const first = search(targets[0]);
  if (first.length > 0) return first;
  return targets.slice(1).flatMap(search);
}

/**
 * Own types of `btf` (a split BTF's base excluded) whose essential name is `wanted`:
 * those named exactly so, and those named `wanted___flavor`.
 */
export function typesByEssentialName(btf: Btf, wanted: string): number[] {
  const own = (id: number) => id >= btf.firstTypeId;
  const ids = btf.idsByName(wanted).filter(own);
  for (const name of flavoredNames(btf).get(wanted) ?? []) ids.push(...btf.idsByName(name).filter(own));
  return [...new Set(ids)].sort((a, b) => a - b);
}

const flavoredIndex = new WeakMap<Btf, Map<string, string[]>>();

/**
 * The strings of `btf`'s own string section that have a flavor, by essential name. Found by
 * scanning the section's bytes for "___" instead of decoding 70,000 names (vmlinux has one
 * or two flavored names at most); the names found are then looked up as types.
 */
function flavoredNames(btf: Btf): Map<string, string[]> {
  let index = flavoredIndex.get(btf);
  if (index !== undefined) return index;
  index = new Map();
  const bytes = btf.strings.bytes;
  // Buffer.indexOf searches natively (a view over the same memory, not a copy).
  const haystack = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const UNDERSCORE = 0x5f;
  const seen = new Set<number>();
  for (let i = haystack.indexOf("___", 1); i > 0; i = haystack.indexOf("___", i + 1)) {
    if (bytes[i - 1] === UNDERSCORE || bytes[i - 1] === 0 || bytes[i + 3] === UNDERSCORE || bytes[i + 3] === 0) continue;
    let start = i;
    while (start > 0 && bytes[start - 1] !== 0) start--;
    if (seen.has(start)) continue;
    seen.add(start);
    const name = btf.string(btf.firstStringOffset + start);
    const essential = essentialName(name);
    if (essential === name) continue;
    const names = index.get(essential);
    if (names === undefined) index.set(essential, [name]);
    else names.push(name);
  }
  flavoredIndex.set(btf, index);
  return index;
}
