/**
 * Buffers for reading pack records, used again instead of allocated per blob. A restore reads every
 * record into memory only to decrypt it into a new buffer; allocating each one afresh made a gigabyte
 * restore push ~430 MB more through the external heap, and every 64 MB of that forces a full GC.
 */
const GRANULE = 1 << 20;

export class ReadBufferPool {
  readonly #free: Buffer[] = [];
  #freeBytes = 0;

  /** @param maxBytes what the pool keeps between uses; buffers given back beyond it are dropped. */
  constructor(readonly maxBytes: number = 32 * GRANULE) {}

  /** A buffer of at least `length` bytes (contents undefined), the pool's own or a new one. */
  take(length: number): Buffer {
    const index = this.#free.findIndex((buffer) => buffer.length >= length);
    if (index < 0) return Buffer.allocUnsafeSlow(Math.ceil(Math.max(length, 1) / GRANULE) * GRANULE);
    const [buffer] = this.#free.splice(index, 1) as [Buffer];
    this.#freeBytes -= buffer.length;
    return buffer;
  }

  /** Hands back a buffer from {@link take}; the caller must not touch it, or any view of it, again. */
  give(buffer: Buffer): void {
    if (this.#freeBytes + buffer.length > this.maxBytes) return;
    this.#free.push(buffer);
    this.#freeBytes += buffer.length;
  }
}
