// Native (C heap) memory for the bpf(2) argument block and everything it points to.
//
// union bpf_attr carries pointers as __aligned_u64 fields: the kernel reads keys, values,
// instructions and log buffers through them while the call runs. Those addresses must not
// move, and memory owned by the JS heap can (V8 keeps small typed arrays inside the heap
// and moves them during garbage collection). So every buffer the kernel reaches through
// a pointer lives in memory from koffi.alloc (malloc), which never moves; JS reads and
// writes it through an ArrayBuffer view over the same bytes (koffi.view, no copy).

import koffi from "koffi";

/** A block of zeroed C heap memory with a stable address and JS views over it. */
export class NativeBuffer {
  /** Address of the first byte, as a number: x86-64 user addresses fit in 47 bits. */
  readonly address: number;
  readonly length: number;
  /** The bytes, readable and writable from JS without copying. */
  readonly bytes: Uint8Array;
  readonly view: DataView;
  #pointer: unknown;

  constructor(length: number) {
    // malloc(0) may return NULL; keep at least one byte so the address is always real.
    const size = Math.max(1, length);
    this.#pointer = koffi.alloc("uint8_t", size);
    this.address = Number(koffi.address(this.#pointer));
    this.length = length;
    const buffer = koffi.view(this.#pointer, size);
    this.bytes = new Uint8Array(buffer, 0, length);
    this.view = new DataView(buffer, 0, size);
    this.bytes.fill(0);
    freeOnCollect.register(this, this.#pointer, this);
  }

  /** A native copy of `source` (for instructions, BTF blobs, packets handed to the kernel). */
  static from(source: Uint8Array): NativeBuffer {
    const buffer = new NativeBuffer(source.byteLength);
    buffer.bytes.set(source);
    return buffer;
  }

  /** A NUL-terminated UTF-8 string, as the kernel wants for paths and licenses. */
  static cString(text: string): NativeBuffer {
    const encoded = new TextEncoder().encode(text);
    const buffer = new NativeBuffer(encoded.byteLength + 1);
    buffer.bytes.set(encoded);
    return buffer;
  }

  get freed(): boolean {
    return this.#pointer === undefined;
  }

  /** Releases the memory. The views must not be touched afterwards; owners check `freed`. */
  free(): void {
    if (this.#pointer === undefined) return;
    freeOnCollect.unregister(this);
    koffi.free(this.#pointer);
    this.#pointer = undefined;
  }

  [Symbol.dispose](): void {
    this.free();
  }
}

// Safety net only: memory of a NativeBuffer that was dropped without free() is released
// when the buffer is collected. The held value is the raw pointer, never the buffer.
const freeOnCollect = new FinalizationRegistry<unknown>((pointer) => koffi.free(pointer));

/** Frees every buffer it handed out when the scope ends: `using mem = new NativeScope()`. */
export class NativeScope {
  readonly #buffers: NativeBuffer[] = [];

  alloc(length: number): NativeBuffer {
    return this.#keep(new NativeBuffer(length));
  }

  copy(source: Uint8Array): NativeBuffer {
    return this.#keep(NativeBuffer.from(source));
  }

  cString(text: string): NativeBuffer {
    return this.#keep(NativeBuffer.cString(text));
  }

  free(): void {
    for (const buffer of this.#buffers) buffer.free();
    this.#buffers.length = 0;
  }

  [Symbol.dispose](): void {
    this.free();
  }

  #keep(buffer: NativeBuffer): NativeBuffer {
    this.#buffers.push(buffer);
    return buffer;
  }
}
