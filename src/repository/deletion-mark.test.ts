import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DeletionMark, decodeDeletionMark, encodeDeletionMark } from './deletion-mark.js';
import { comparablePacks, indexedPack, outcome } from './test-arbitraries.js';

const mark: fc.Arbitrary<DeletionMark> = fc.record({
  // Marks are written "now"; any time from the epoch to year 9999 must survive.
  created: fc.date({ min: new Date(0), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }),
  // Real lock ids are 32 hex digits; any UTF-8 text must survive as well.
  liveLocks: fc.array(
    fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.uint8Array({ minLength: 16, maxLength: 16 }).map((bytes) => Buffer.from(bytes).toString('hex')),
    ),
    { maxLength: 6 },
  ),
  packs: fc.array(indexedPack, { maxLength: 4 }),
});

const comparable = (m: DeletionMark) => ({ created: m.created.getTime(), liveLocks: m.liveLocks, packs: comparablePacks(m.packs) });

describe('deletion marks', () => {
  it('round-trip creation time, live locks and packs', () => {
    fc.assert(
      fc.property(mark, (m) => {
        const encoded = encodeDeletionMark(m);
        expect(encoded.subarray(0, 4).toString('latin1')).toBe('FSd1');
        expect(comparable(decodeDeletionMark(encoded, 'mark'))).toEqual(comparable(m));
      }),
    );
  });

  it('encodes the documented header: u64 ms, u32 lock count, u16-prefixed UTF-8 lock ids', () => {
    const encoded = encodeDeletionMark({ created: new Date(1_700_000_000_123), liveLocks: ['ab', 'é'], packs: [] });
    expect(encoded.readBigUInt64LE(4)).toBe(1_700_000_000_123n);
    expect(encoded.readUInt32LE(12)).toBe(2);
    expect(encoded.readUInt16LE(16)).toBe(2);
    expect(encoded.toString('utf8', 18, 20)).toBe('ab');
    expect(encoded.readUInt16LE(20)).toBe(2); // "é" is two bytes of UTF-8
    expect(encoded.readUInt32LE(24)).toBe(0); // no packs
    expect(encoded).toHaveLength(28);
  });

  it('refuses every truncation and a wrong magic as CORRUPT', () => {
    fc.assert(
      fc.property(mark, fc.nat(), (m, cut) => {
        const encoded = encodeDeletionMark(m);
        expect(outcome(() => decodeDeletionMark(encoded.subarray(0, cut % encoded.length), 'mark'))).toBe('CORRUPT');
        const otherMagic = Buffer.from(encoded);
        otherMagic[0] = 0x66;
        expect(outcome(() => decodeDeletionMark(otherMagic, 'mark'))).toBe('CORRUPT');
      }),
    );
  });

  it('never fails with anything but CORRUPT on arbitrary bytes after the magic', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (garbage) => {
        const result = outcome(() => decodeDeletionMark(Buffer.concat([Buffer.from('FSd1'), garbage]), 'mark'));
        expect(['ok', 'CORRUPT']).toContain(result);
      }),
      { numRuns: 500 },
    );
    // A lock count far beyond the data.
    const huge = Buffer.alloc(4 + 8 + 4 + 6);
    huge.write('FSd1');
    huge.writeUInt32LE(0xffffffff, 12);
    expect(outcome(() => decodeDeletionMark(huge, 'mark'))).toBe('CORRUPT');
  });
});
