import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMPRESSION_LEVELS, Codec, decodeBlob, decodePayload, encodeBlob, encodePayload } from './compression.js';
import { outcomeAsync } from './test-arbitraries.js';

/** Table-like text, as most database dumps and logs are. */
function rows(count: number): Buffer {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const day = String((i % 28) + 1).padStart(2, '0');
    lines.push(`${i}\thotel-${i % 97}\tguest-${(i * 7919) % 10007}\t2026-01-${day}\tconfirmed\n`);
  }
  return Buffer.from(lines.join(''));
}

/** What a pack record holds: codec || body. */
const plainOf = (encoded: { codec: number; body: Uint8Array }): Buffer => Buffer.concat([Buffer.of(encoded.codec), encoded.body]);

describe('blob compression', () => {
  it('compresses compressible data with zstd and restores it exactly', async () => {
    const data = rows(20_000);
    const encoded = await encodeBlob(data);
    expect(encoded.codec).toBe(Codec.Zstd);
    expect(encoded.body.length).toBeLessThan(data.length / 4);
    expect((await decodeBlob(plainOf(encoded), data.length, 'blob')).equals(data)).toBe(true);
  });

  it('keeps random data stored as is, without copying it', async () => {
    const data = randomBytes(256 * 1024);
    const encoded = await encodeBlob(data);
    expect(encoded.codec).toBe(Codec.Stored);
    expect(encoded.body).toBe(data);
    expect((await decodeBlob(plainOf(encoded), data.length, 'blob')).equals(data)).toBe(true);
  });

  it('keeps tiny blobs stored, however compressible', async () => {
    for (const size of [0, 1, 100, 255]) {
      const data = Buffer.alloc(size, 'a');
      const encoded = await encodeBlob(data);
      expect(encoded.codec, `size ${size}`).toBe(Codec.Stored);
      expect((await decodeBlob(plainOf(encoded), size, 'blob')).equals(data)).toBe(true);
    }
    expect((await encodeBlob(Buffer.alloc(256, 'a'))).codec).toBe(Codec.Zstd);
  });

  it('keeps the compressed form only when it saves at least 1/32, and always round-trips', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 8192 }),
        fc.nat({ max: 8192 }),
        fc.constantFrom(...Object.values(COMPRESSION_LEVELS)),
        async (random, zeros, level) => {
          // A mix of incompressible and compressible bytes, so both outcomes occur.
          const data = Buffer.concat([random, Buffer.alloc(zeros)]);
          const encoded = await encodeBlob(data, level);
          if (encoded.codec === Codec.Zstd) expect(encoded.body.length).toBeLessThan(data.length - (data.length >> 5));
          else expect(Buffer.from(encoded.body).equals(data)).toBe(true);
          expect((await decodeBlob(plainOf(encoded), data.length, 'blob')).equals(data)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('honours the level: max compresses table text better than fast', async () => {
    const data = rows(8000);
    const fast = await encodeBlob(data, COMPRESSION_LEVELS.fast);
    const max = await encodeBlob(data, COMPRESSION_LEVELS.max);
    expect(max.body.length).toBeLessThan(fast.body.length);
    expect((await decodeBlob(plainOf(max), data.length, 'blob')).equals(data)).toBe(true);
  });

  it('reports a wrong raw length as CORRUPT, for both codecs', async () => {
    const text = rows(1000);
    const compressed = plainOf(await encodeBlob(text));
    expect(compressed[0]).toBe(Codec.Zstd);
    expect(await outcomeAsync(() => decodeBlob(compressed, text.length + 1, 'blob'))).toBe('CORRUPT');
    expect(await outcomeAsync(() => decodeBlob(compressed, text.length - 1, 'blob'))).toBe('CORRUPT');
    const stored = Buffer.concat([Buffer.of(Codec.Stored), randomBytes(10)]);
    expect(await outcomeAsync(() => decodeBlob(stored, 11, 'blob'))).toBe('CORRUPT');
    await expect(decodeBlob(stored, 9, 'data blob 12ab')).rejects.toThrow(/data blob 12ab: 10 bytes after decoding, expected 9/);
  });

  it('reports garbage zstd data, an unknown codec and an empty record as CORRUPT', async () => {
    expect(await outcomeAsync(() => decodeBlob(Buffer.concat([Buffer.of(Codec.Zstd), randomBytes(100)]), 100, 'blob'))).toBe('CORRUPT');
    expect(await outcomeAsync(() => decodeBlob(Buffer.of(Codec.Zstd), 0, 'blob'))).toBe('CORRUPT');
    // A valid zstd frame cut short.
    const compressed = plainOf(await encodeBlob(rows(1000)));
    expect(await outcomeAsync(() => decodeBlob(compressed.subarray(0, compressed.length - 5), 1000, 'blob'))).toBe('CORRUPT');
    expect(await outcomeAsync(() => decodeBlob(Buffer.of(2, 1, 2, 3), 3, 'blob'))).toBe('CORRUPT');
    expect(await outcomeAsync(() => decodeBlob(Buffer.alloc(0), 0, 'blob'))).toBe('CORRUPT');
  });

  it('never fails with anything but CORRUPT on arbitrary zstd-tagged bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 1000 }), async (bytes, rawLength) => {
        const result = await outcomeAsync(() => decodeBlob(Buffer.concat([Buffer.of(Codec.Zstd), bytes]), rawLength, 'blob'));
        expect(['ok', 'CORRUPT']).toContain(result);
      }),
      { numRuns: 200 },
    );
  });
});

describe('sealed-file payloads', () => {
  it('round-trip through encodePayload and decodePayload, compressed when it helps', async () => {
    const text = rows(2000);
    const payload = await encodePayload(text);
    expect(payload[0]).toBe(Codec.Zstd);
    expect((await decodePayload(payload, 'snapshot')).equals(text)).toBe(true);
    const random = randomBytes(4000);
    const stored = await encodePayload(random);
    expect(stored[0]).toBe(Codec.Stored);
    expect((await decodePayload(stored, 'snapshot')).equals(random)).toBe(true);
    expect((await decodePayload(await encodePayload(Buffer.alloc(0)), 'x')).length).toBe(0);
  });
});
