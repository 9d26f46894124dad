// Walking a map's keys with BPF_MAP_GET_NEXT_KEY, one syscall per key (BpfMap.keys()).

import { Errno } from "../syscall/errno.js";
import type { NextKeyCursor } from "../syscall/bpf-map.js";
import type { Codec } from "./codec.js";

/**
 * One walk over a map's keys (BpfMap.keys). A hand-written iterator rather than a generator:
 * a key costs one syscall, and the generator protocol added a tenth to that (bench/maps,
 * iterate). It hands back the same result object each step, which the iterator protocol
 * allows. The cursor's native block is freed at the end, on break (return), or on error.
 */
export class KeyWalk<K> implements IterableIterator<K> {
  readonly #result: IteratorResult<K> = { done: false, value: undefined as K };
  #cursor: NextKeyCursor | undefined;

  constructor(
    cursor: NextKeyCursor,
    private readonly codec: Codec<K>,
    private readonly ready: () => void,
    private readonly fail: (ret: number) => Error,
  ) {
    this.#cursor = cursor;
  }

  next(): IteratorResult<K> {
    const cursor = this.#cursor;
    if (cursor === undefined) return { done: true, value: undefined };
    try {
      this.ready();
    } catch (error) {
      this.#finish();
      throw error;
    }
    const ret = cursor.step();
    if (ret < 0) {
      this.#finish();
      if (ret === -Errno.ENOENT) return { done: true, value: undefined };
      throw this.fail(ret);
    }
    this.#result.value = this.codec.decode(cursor.key, cursor.keyView, 0);
    return this.#result;
  }

  return(): IteratorResult<K> {
    this.#finish();
    return { done: true, value: undefined };
  }

  [Symbol.iterator](): IterableIterator<K> {
    return this;
  }

  #finish(): void {
    this.#cursor?.free();
    this.#cursor = undefined;
  }
}
