/**
 * A small seeded PRNG (sfc32) and a seed mixer for the sample data (the file dataset and the hotel-SaaS
 * database): every generator stream is reproducible from its seed alone, e.g. `(seed, hotel, stream)`,
 * so the same options give the same rows whatever order tables are loaded in.
 */

/** sfc32: 128-bit state, fast, good enough for sample data (not for cryptography). */
export class SeededRandom {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /**
   * @example
   * const random = new SeededRandom(mixSeed(1, 42, 7));
   * random.below(6); // 0..5, the same on every run
   */
  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed | 0;
    for (let i = 0; i < 15; i++) this.next();
  }

  /** A uniform unsigned 32-bit integer. */
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** 0 ≤ x < 1. */
  float(): number {
    return this.next() / 4294967296;
  }

  /** An integer in 0..n-1. */
  below(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** An integer in min..max, both included. */
  between(min: number, max: number): number {
    return min + this.below(max - min + 1);
  }

  chance(probability: number): boolean {
    return this.float() < probability;
  }

  pick<T>(values: readonly T[]): T {
    return values[this.below(values.length)]!;
  }

  /** `length` deterministic bytes. */
  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i += 4) {
      const word = this.next();
      for (let j = 0; j < 4 && i + j < length; j++) out[i + j] = (word >>> (8 * j)) & 0xff;
    }
    return out;
  }
}

/** Mixes several integers into one 32-bit seed (murmur3's finaliser over a running hash). */
export function mixSeed(...parts: readonly number[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    h = Math.imul(h ^ (part | 0), 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}
