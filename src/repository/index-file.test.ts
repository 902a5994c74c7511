import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type IndexedPack, decodeIndex, encodeIndex, encodedPacksSize, readPacks, writePacks } from './index-file.js';
import { BlobType, ENTRY_BYTES } from './pack.js';
import { comparablePacks, indexedPack, outcome } from './test-arbitraries.js';

describe('index files', () => {
  it('round-trip any list of packs', () => {
    fc.assert(
      fc.property(fc.array(indexedPack, { maxLength: 8 }), (packs) => {
        const encoded = encodeIndex(packs);
        expect(encoded.subarray(0, 4).toString('latin1')).toBe('FSi1');
        expect(encoded).toHaveLength(4 + 4 + encodedPacksSize(packs));
        expect(comparablePacks(decodeIndex(encoded, 'index'))).toEqual(comparablePacks(packs));
      }),
    );
  });

  it('encodes the documented layout: pack id, salt, size, blob count, 45-byte entries', () => {
    const pack: IndexedPack = {
      id: 'ab'.repeat(32),
      salt: Buffer.alloc(32, 0xcd),
      size: 0x01020304,
      blobs: [{ type: BlobType.Tree, id: Buffer.alloc(32, 0xef), offset: 36, length: 100, rawLength: 200 }],
    };
    const encoded = encodeIndex([pack]);
    expect(encoded.readUInt32LE(4)).toBe(1);
    expect(encoded.subarray(8, 40).toString('hex')).toBe(pack.id);
    expect(encoded.subarray(40, 72).equals(pack.salt)).toBe(true);
    expect(encoded.readUInt32LE(72)).toBe(0x01020304);
    expect(encoded.readUInt32LE(76)).toBe(1);
    expect(encoded[80]).toBe(BlobType.Tree);
    expect(encoded).toHaveLength(80 + ENTRY_BYTES);
  });

  it('refuses every truncation, appended bytes and a wrong magic as CORRUPT', () => {
    fc.assert(
      fc.property(fc.array(indexedPack, { minLength: 1, maxLength: 3 }), fc.nat(), (packs, cut) => {
        const encoded = encodeIndex(packs);
        expect(outcome(() => decodeIndex(encoded.subarray(0, cut % encoded.length), 'index'))).toBe('CORRUPT');
        expect(outcome(() => decodeIndex(Buffer.concat([encoded, Buffer.of(0)]), 'index'))).toBe('CORRUPT');
        const otherMagic = Buffer.from(encoded);
        otherMagic[3] = 0x32; // "FSi2"
        expect(outcome(() => decodeIndex(otherMagic, 'index'))).toBe('CORRUPT');
      }),
    );
  });

  it('never fails with anything but CORRUPT on arbitrary bytes after the magic', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (garbage) => {
        const result = outcome(() => decodeIndex(Buffer.concat([Buffer.from('FSi1'), garbage]), 'index'));
        expect(['ok', 'CORRUPT']).toContain(result);
      }),
    );
    // Counts far beyond the data must not allocate or loop for long.
    const huge = Buffer.alloc(4 + 4 + 72);
    huge.write('FSi1');
    huge.writeUInt32LE(0xffffffff, 4);
    huge.writeUInt32LE(0xffffffff, 4 + 4 + 68);
    expect(outcome(() => decodeIndex(huge, 'index'))).toBe('CORRUPT');
  });

  it('reads and writes the pack list at an offset (as deletion marks embed it)', () => {
    fc.assert(
      fc.property(fc.array(indexedPack, { maxLength: 4 }), fc.nat({ max: 16 }), (packs, at) => {
        const out = Buffer.alloc(at + 4 + encodedPacksSize(packs) + 3, 0x55);
        const end = writePacks(out, at, packs);
        expect(end).toBe(at + 4 + encodedPacksSize(packs));
        const read = readPacks(out, at, 'packs');
        expect(read.end).toBe(end);
        expect(comparablePacks(read.packs)).toEqual(comparablePacks(packs));
      }),
    );
  });
});
