import { createCipheriv, createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isErrorCode } from '../core/errors.js';
import { BlobIndex, hexToId, idToHex, type BlobLocation } from './blob-index.js';
import { BlobType } from './pack.js';

/** `count` pseudo-random 32-byte ids in one buffer (AES-CTR keystream, so failures reproduce). */
function randomIds(seed: string, count: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(count * 32));
}

const idAt = (ids: Buffer, i: number): Buffer => ids.subarray(i * 32, (i + 1) * 32);

function locationFor(i: number): BlobLocation {
  return {
    type: i % 3 === 0 ? BlobType.Tree : BlobType.Data,
    pack: Math.floor(i / 100),
    offset: (i * 7919) >>> 0,
    length: 1000 + (i % 5000),
    rawLength: 0xffffffff - i,
  };
}

describe('BlobIndex', () => {
  it('finds every blob it was given and nothing else', () => {
    const ids = randomIds('round trip', 10_000);
    const others = randomIds('absent', 1000);
    const index = new BlobIndex();
    for (let i = 0; i < 10_000; i++) expect(index.add(idAt(ids, i), locationFor(i))).toBe(true);
    expect(index.size).toBe(10_000);
    for (let i = 0; i < 10_000; i++) {
      // A copy, so equality of contents is what counts, not identity of the slice.
      expect(index.get(Buffer.from(idAt(ids, i)))).toEqual(locationFor(i));
      expect(index.has(idAt(ids, i))).toBe(true);
    }
    for (let i = 0; i < 1000; i++) {
      expect(index.get(idAt(others, i))).toBeUndefined();
      expect(index.has(idAt(others, i))).toBe(false);
    }
  });

  it('keeps the first location of a duplicate id', () => {
    const id = idAt(randomIds('duplicate', 1), 0);
    const index = new BlobIndex();
    expect(index.add(id, locationFor(1))).toBe(true);
    expect(index.add(Buffer.from(id), locationFor(2))).toBe(false);
    expect(index.size).toBe(1);
    expect(index.get(id)).toEqual(locationFor(1));
  });

  it('tells ids apart that share their first bytes (same home slot)', () => {
    const ids = randomIds('collisions', 500);
    for (let i = 0; i < 500; i++) ids.copy(ids, i * 32, 0, i % 2 === 0 ? 4 : 31);
    const index = new BlobIndex();
    for (let i = 0; i < 500; i++) index.add(idAt(ids, i), locationFor(i));
    // Ids that differ in byte 31 only collide on every slot; the unique ones are added despite that.
    const expected = new Set(Array.from({ length: 500 }, (_, i) => idToHex(idAt(ids, i))));
    expect(index.size).toBe(expected.size);
    for (let i = 0; i < 500; i++) expect(index.has(idAt(ids, i))).toBe(true);
    const probe = Buffer.from(idAt(ids, 1));
    probe[31] = probe[31]! ^ 1;
    expect(index.has(probe)).toBe(expected.has(idToHex(probe)));
  });

  it('grows across many doublings without losing an entry', () => {
    const count = 300_000;
    const ids = randomIds('growth', count);
    const index = new BlobIndex();
    const sizes = new Set<number>();
    for (let i = 0; i < count; i++) {
      index.add(idAt(ids, i), locationFor(i));
      sizes.add(index.byteLength);
      // Entries take pages of 65,536; the rest is the hash table, which must stay at most 70 % full.
      const tableBytes = index.byteLength - Math.ceil(index.size / 65_536) * 65_536 * BlobIndex.ENTRY_BYTES;
      if (tableBytes < (index.size * 4) / 0.7) expect.fail(`hash table over 70 % full at ${index.size} blobs`);
    }
    expect(sizes.size).toBeGreaterThan(15);
    for (let i = 0; i < count; i += 7) expect(index.get(idAt(ids, i))).toEqual(locationFor(i));
    expect([...index.entries()].length).toBe(count);
  });

  it('drops the blobs of deleted packs and keeps the rest in order', () => {
    const ids = randomIds('prune', 5000);
    const index = new BlobIndex();
    for (let i = 0; i < 5000; i++) index.add(idAt(ids, i), locationFor(i));
    const doomed = new Set([0, 3, 7, 49]);
    expect(index.deletePacks((pack) => doomed.has(pack))).toBe(400);
    expect(index.size).toBe(4600);
    for (let i = 0; i < 5000; i++) {
      expect(index.has(idAt(ids, i))).toBe(!doomed.has(locationFor(i).pack));
    }
    const remaining = [...index.entries()];
    expect(remaining.map((entry) => entry.pack)).toEqual(
      Array.from({ length: 5000 }, (_, i) => locationFor(i).pack).filter((pack) => !doomed.has(pack)),
    );
    expect(index.deletePacks(() => false)).toBe(0);
    // A deleted blob can be added again (prune puts packs back from a deletion mark).
    expect(index.add(idAt(ids, 0), locationFor(0))).toBe(true);
    expect(index.get(idAt(ids, 0))).toEqual(locationFor(0));
    expect(index.deletePacks(() => true)).toBe(4601);
    expect(index.size).toBe(0);
    expect(index.has(idAt(ids, 1))).toBe(false);
  });

  it('yields entries with ids the caller owns', () => {
    const ids = randomIds('entries', 3);
    const index = new BlobIndex();
    for (let i = 0; i < 3; i++) index.add(idAt(ids, i), locationFor(i));
    const entries = [...index.entries()];
    expect(entries.map((entry) => idToHex(entry.id))).toEqual([0, 1, 2].map((i) => idToHex(idAt(ids, i))));
    expect(entries[1]).toMatchObject(locationFor(1));
    entries[0]!.id.fill(0);
    expect(index.has(idAt(ids, 0))).toBe(true);
  });

  it('rejects ids of the wrong length and out-of-range fields', () => {
    const index = new BlobIndex();
    const id = idAt(randomIds('invalid', 1), 0);
    const bad = (fn: () => unknown): boolean => {
      try {
        fn();
        return false;
      } catch (err) {
        return isErrorCode(err, 'INTERNAL');
      }
    };
    expect(bad(() => index.add(id.subarray(1), locationFor(0)))).toBe(true);
    expect(bad(() => index.get(new Uint8Array(33)))).toBe(true);
    expect(bad(() => index.add(id, { ...locationFor(0), type: 256 }))).toBe(true);
    expect(bad(() => index.add(id, { ...locationFor(0), pack: -1 }))).toBe(true);
    expect(bad(() => index.add(id, { ...locationFor(0), offset: 2 ** 32 }))).toBe(true);
    expect(bad(() => index.add(id, { ...locationFor(0), length: 1.5 }))).toBe(true);
    expect(index.size).toBe(0);
  });

  it(`stays under ${BlobIndex.MAX_BYTES_PER_BLOB.toFixed(1)} bytes per blob at one million blobs`, () => {
    const count = 1_000_000;
    const ids = randomIds('million', count);
    const index = new BlobIndex();
    for (let i = 0; i < count; i++) index.add(idAt(ids, i), locationFor(i));
    expect(index.size).toBe(count);
    expect(index.bytesPerBlob).toBeLessThanOrEqual(BlobIndex.MAX_BYTES_PER_BLOB);
    // And the hash table is never more than 70 % full: at least 4 / 0.7 bytes of slots per blob.
    expect(index.bytesPerBlob).toBeGreaterThanOrEqual(BlobIndex.ENTRY_BYTES + 4 / 0.7);
    for (let i = 0; i < count; i += 9973) expect(index.get(idAt(ids, i))).toEqual(locationFor(i));
  });

  it('behaves like a Map keyed by hex id (property)', () => {
    // A small pool of ids, some sharing their first four bytes, so operations hit duplicates and probing.
    const pool = randomIds('model', 24);
    for (let i = 12; i < 24; i++) pool.copy(pool, i * 32, (i - 12) * 32, (i - 12) * 32 + 4);
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), id: fc.nat(23), pack: fc.nat(5), offset: fc.nat() }),
      fc.record({ kind: fc.constant('get' as const), id: fc.nat(23) }),
      fc.record({ kind: fc.constant('delete' as const), packs: fc.uniqueArray(fc.nat(5), { maxLength: 3 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const index = new BlobIndex();
        const model = new Map<string, BlobLocation>();
        for (const step of ops) {
          if (step.kind === 'add') {
            const id = idAt(pool, step.id);
            const location = { type: step.id % 2, pack: step.pack, offset: step.offset, length: 1, rawLength: 2 };
            const fresh = !model.has(idToHex(id));
            if (fresh) model.set(idToHex(id), location);
            expect(index.add(id, location)).toBe(fresh);
          } else if (step.kind === 'get') {
            const id = idAt(pool, step.id);
            expect(index.get(id)).toEqual(model.get(idToHex(id)));
          } else {
            let removed = 0;
            for (const [key, location] of model) {
              if (step.packs.includes(location.pack)) {
                model.delete(key);
                removed++;
              }
            }
            expect(index.deletePacks((pack) => step.packs.includes(pack))).toBe(removed);
          }
          expect(index.size).toBe(model.size);
        }
        const entries = new Map([...index.entries()].map(({ id, ...location }) => [idToHex(id), location]));
        expect(entries).toEqual(model);
      }),
      { numRuns: 300 },
    );
  });
});

describe('idToHex / hexToId', () => {
  it('round-trip and reject malformed ids', () => {
    const id = idAt(randomIds('hex', 2), 1);
    const hex = idToHex(id);
    expect(hex).toMatch(/^[0-9a-f]{64}$/);
    expect(hexToId(hex).equals(id)).toBe(true);
    expect(hexToId(hex.toUpperCase()).equals(id)).toBe(true);
    for (const bad of [hex.slice(1), `${hex}0`, `${hex.slice(1)}g`, '']) {
      expect(() => hexToId(bad)).toThrow(expect.objectContaining({ code: 'USAGE' }));
    }
  });
});
