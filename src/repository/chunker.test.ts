import { createCipheriv, createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isErrorCode } from '../core/errors.js';
import {
  Chunker,
  DEFAULT_CHUNKER_PARAMS,
  createGearTable,
  validateChunkerParams,
  type ChunkerParams,
} from './chunker.js';

const MiB = 1024 * 1024;
const SMALL: ChunkerParams = { minSize: 64, avgSize: 256, maxSize: 1024 };
/** Same proportions as the defaults (min = avg / 2, max = 8 × avg), 128 times smaller. */
const SCALED: ChunkerParams = { minSize: 4096, avgSize: 8192, maxSize: 65536 };

/** Deterministic pseudo-random bytes (AES-CTR keystream), so failures reproduce. */
function randomData(seed: string, length: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

function secret(seed: string): Buffer {
  return createHash('sha256').update(`secret ${seed}`).digest();
}

const GEAR = createGearTable(secret('a'));

/** Chunks `data` pushed in the given pieces (lengths; the rest goes in one last push). */
function chunk(data: Uint8Array, params: ChunkerParams, pieces: readonly number[] = [], gear = GEAR): Buffer[] {
  const chunker = new Chunker(gear, params);
  const chunks: Buffer[] = [];
  let at = 0;
  for (const length of [...pieces, data.length]) {
    const end = Math.min(data.length, at + length);
    chunks.push(...chunker.push(data.subarray(at, end)));
    at = end;
  }
  const tail = chunker.finish();
  if (tail) chunks.push(tail);
  return chunks;
}

const lengths = (chunks: readonly Uint8Array[]): number[] => chunks.map((c) => c.length);
const digest = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('createGearTable', () => {
  it('derives the same 256 words from the same secret and different ones from another', () => {
    const again = createGearTable(secret('a'));
    const other = createGearTable(secret('b'));
    expect(GEAR).toHaveLength(256);
    expect([...again]).toEqual([...GEAR]);
    expect(other.filter((word, i) => word === GEAR[i]).length).toBeLessThan(3);
    expect(new Set(GEAR).size).toBeGreaterThan(250);
  });

  it('rejects a secret that is not 32 bytes', () => {
    expect(() => createGearTable(new Uint8Array(31))).toThrow(/32 bytes/);
  });
});

describe('validateChunkerParams', () => {
  it('accepts the defaults (restic sizes)', () => {
    expect(validateChunkerParams(DEFAULT_CHUNKER_PARAMS)).toEqual({ minSize: 512 * 1024, avgSize: MiB, maxSize: 8 * MiB });
  });

  it.each([
    { minSize: 1000, avgSize: 3000, maxSize: 9000 },
    { minSize: 4096, avgSize: 4096, maxSize: 65536 },
    { minSize: 2048, avgSize: 4096, maxSize: 4096 },
    { minSize: 8192, avgSize: 4096, maxSize: 65536 },
    { minSize: 16, avgSize: 4096, maxSize: 65536 },
    { minSize: 2048.5, avgSize: 4096, maxSize: 65536 },
    { minSize: 2048, avgSize: 4096, maxSize: 2 ** 40 },
  ])('rejects %j with CONFIG', (params) => {
    expect(() => validateChunkerParams(params)).toThrow(expect.objectContaining({ code: 'CONFIG' }));
    try {
      new Chunker(GEAR, params);
      expect.unreachable();
    } catch (err) {
      expect(isErrorCode(err, 'CONFIG')).toBe(true);
    }
  });
});

describe('Chunker', () => {
  it('is deterministic and loses no byte', () => {
    const data = randomData('determinism', 3 * MiB + 17);
    const first = chunk(data, DEFAULT_CHUNKER_PARAMS);
    const second = chunk(data, DEFAULT_CHUNKER_PARAMS);
    expect(first.length).toBeGreaterThan(1);
    expect(lengths(second)).toEqual(lengths(first));
    expect(Buffer.concat(first).equals(data)).toBe(true);
  });

  it('keeps every chunk but the last between minSize and maxSize', () => {
    const data = randomData('bounds', 4 * MiB);
    for (const params of [SMALL, SCALED, DEFAULT_CHUNKER_PARAMS]) {
      const sizes = lengths(chunk(data, params));
      const last = sizes.pop()!;
      expect(sizes.length).toBeGreaterThan(0);
      expect(Math.min(...sizes)).toBeGreaterThanOrEqual(params.minSize);
      expect(Math.max(...sizes, last)).toBeLessThanOrEqual(params.maxSize);
      expect(last).toBeGreaterThan(0);
    }
  });

  it('cuts at maxSize when the content never matches (constant bytes)', () => {
    const data = new Uint8Array(5 * SCALED.maxSize + 123);
    expect(lengths(chunk(data, SCALED))).toEqual([...Array(5).fill(SCALED.maxSize), 123]);
  });

  it('returns nothing for an empty stream and one chunk for a stream shorter than minSize', () => {
    expect(chunk(new Uint8Array(0), SCALED)).toEqual([]);
    const short = randomData('short', SCALED.minSize - 1);
    expect(chunk(short, SCALED, [10, 1, 100])).toEqual([short]);
  });

  it('averages within ±25 % of avgSize on random data', () => {
    const data = randomData('average', 16 * MiB);
    for (const params of [SMALL, SCALED]) {
      const sizes = lengths(chunk(data, params)).slice(0, -1);
      const mean = sizes.reduce((sum, size) => sum + size, 0) / sizes.length;
      expect(sizes.length).toBeGreaterThan(200);
      expect(mean / params.avgSize).toBeGreaterThan(0.75);
      expect(mean / params.avgSize).toBeLessThan(1.25);
    }
  });

  it('produces the same chunks however the input is split (property)', () => {
    const piece = fc.record({ length: fc.integer({ min: 0, max: 3000 }), misalign: fc.integer({ min: 0, max: 7 }) });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40_000 }),
        fc.string(),
        fc.array(piece, { maxLength: 40 }),
        fc.constantFrom(SMALL, SCALED),
        (length, seed, pieces, params) => {
          const data = randomData(seed, length);
          const whole = chunk(data, params);
          const chunker = new Chunker(GEAR, params);
          const split: Buffer[] = [];
          let at = 0;
          for (const { length: size, misalign } of [...pieces, { length: data.length, misalign: 3 }]) {
            const end = Math.min(data.length, at + size);
            // Copy into a buffer at an odd offset: exercises every alignment of the word-wise scan.
            const copy = new Uint8Array(end - at + misalign).subarray(misalign);
            copy.set(data.subarray(at, end));
            split.push(...chunker.push(copy));
            at = end;
          }
          const tail = chunker.finish();
          if (tail) split.push(tail);
          expect(lengths(split)).toEqual(lengths(whole));
          expect(Buffer.concat(split).equals(data)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('gives the same chunks for one-byte pushes as for one big push', () => {
    const data = randomData('bytewise', 300_000);
    const chunker = new Chunker(GEAR, SCALED);
    const chunks: Buffer[] = [];
    for (let i = 0; i < data.length; i++) chunks.push(...chunker.push(data.subarray(i, i + 1)));
    chunks.push(chunker.finish()!);
    expect(lengths(chunks)).toEqual(lengths(chunk(data, SCALED)));
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
  });

  it('returns chunks that stay intact when the caller reuses its read buffer', () => {
    const data = randomData('reuse', MiB);
    const chunker = new Chunker(GEAR, SCALED);
    const readBuffer = Buffer.alloc(10_000);
    const chunks: Buffer[] = [];
    for (let at = 0; at < data.length; at += readBuffer.length) {
      const n = data.copy(readBuffer, 0, at, at + readBuffer.length);
      chunks.push(...chunker.push(readBuffer.subarray(0, n)));
      readBuffer.fill(0xee);
    }
    chunks.push(chunker.finish()!);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    expect(chunks.map(digest)).toEqual(chunk(data, SCALED).map(digest));
  });

  it('can be reused for another stream after finish()', () => {
    const a = randomData('stream a', 200_000);
    const b = randomData('stream b', 150_000);
    const chunker = new Chunker(GEAR, SCALED);
    const first = [...chunker.push(a.subarray(0, 123_457)), ...chunker.push(a.subarray(123_457)), chunker.finish()!];
    const second = [...chunker.push(b), chunker.finish()!];
    expect(lengths(first)).toEqual(lengths(chunk(a, SCALED)));
    expect(lengths(second)).toEqual(lengths(chunk(b, SCALED)));
    expect(chunker.finish()).toBeUndefined();
  });

  it('resynchronises after a change near the start (20 MiB, default sizes)', () => {
    const original = randomData('resync', 20 * MiB);
    const overwritten = Buffer.from(original);
    overwritten[1000] = overwritten[1000]! ^ 0xff;
    const inserted = Buffer.concat([original.subarray(0, 1000), Buffer.from([42]), original.subarray(1000)]);
    const before = chunk(original, DEFAULT_CHUNKER_PARAMS, [4 * MiB, 4 * MiB, 4 * MiB]).map(digest);
    expect(before.length).toBeGreaterThan(10);
    for (const edited of [overwritten, inserted]) {
      const after = chunk(edited, DEFAULT_CHUNKER_PARAMS, [4 * MiB, 4 * MiB, 4 * MiB]).map(digest);
      expect(after[0]).not.toBe(before[0]);
      const reused = after.slice(1).filter((id) => before.includes(id)).length;
      expect(reused / (after.length - 1)).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('cuts at different places under different secrets', () => {
    const data = randomData('secrets', 2 * MiB);
    const a = lengths(chunk(data, SCALED, [], createGearTable(secret('a'))));
    const b = lengths(chunk(data, SCALED, [], createGearTable(secret('b'))));
    const boundaries = (sizes: number[]): Set<number> => new Set(sizes.map((_, i) => sizes.slice(0, i + 1).reduce((s, x) => s + x)));
    const shared = [...boundaries(a)].filter((offset) => boundaries(b).has(offset));
    // Only the end of the stream (and chance) is common.
    expect(shared.length).toBeLessThan(Math.min(a.length, b.length) / 10);
  });
});
