import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MASTER_SECRET_BYTES, PackCipher, type RepositoryKeys, computeBlobId, deriveKeys, sha256Hex } from './crypto.js';
import {
  BlobType,
  ENTRY_BYTES,
  PACK_MAGIC,
  PACK_PREFIX_BYTES,
  PackBuilder,
  type PackedBlob,
  blobAad,
  blobTypeName,
  decodeEntries,
  encodeEntries,
  packKey,
  parsePack,
} from './pack.js';
import { comparableBlob, packedBlob, outcome } from './test-arbitraries.js';

const keys: RepositoryKeys = deriveKeys(randomBytes(MASTER_SECRET_BYTES));

interface BlobInput {
  readonly type: BlobType;
  readonly codec: number;
  readonly body: Uint8Array;
  readonly rawLength: number;
}

const blobInput: fc.Arbitrary<BlobInput> = fc.record({
  type: fc.constantFrom(BlobType.Data, BlobType.Tree),
  codec: fc.constantFrom(0, 1),
  body: fc.uint8Array({ maxLength: 3000 }),
  rawLength: fc.nat({ max: 0xffffffff }),
});

function buildPack(inputs: readonly BlobInput[]) {
  const builder = new PackBuilder(keys);
  const added = inputs.map((input) => builder.add(input.type, computeBlobId(keys, input.body), input.codec, input.body, input.rawLength));
  const finished = builder.finish();
  const pack = { ...finished, bytes: Buffer.concat(finished.pieces) };
  expect(pack.bytes.length).toBe(finished.size);
  return { added, pack, size: builder.size };
}

describe('PackBuilder and parsePack', () => {
  it('round-trip packs of blobs of both types and any size, and every record decrypts to codec || body', () => {
    fc.assert(
      fc.property(fc.array(blobInput, { maxLength: 25 }), (inputs) => {
        const { added, pack } = buildPack(inputs);
        expect(pack.id).toBe(sha256Hex(pack.bytes));
        expect(pack.bytes.subarray(0, 4).equals(PACK_MAGIC)).toBe(true);
        expect(pack.bytes.subarray(4, PACK_PREFIX_BYTES).equals(pack.salt)).toBe(true);

        const parsed = parsePack(keys, pack.bytes, pack.id);
        expect(parsed.salt.equals(pack.salt)).toBe(true);
        expect(parsed.blobs.map(comparableBlob)).toEqual(added.map(comparableBlob));
        expect(pack.blobs.map(comparableBlob)).toEqual(added.map(comparableBlob));

        const cipher = new PackCipher(keys, parsed.salt);
        let expectedOffset = PACK_PREFIX_BYTES;
        for (const [i, blob] of parsed.blobs.entries()) {
          // Records are contiguous, each 1 codec byte + body + 16-byte tag.
          expect(blob.offset).toBe(expectedOffset);
          expect(blob.length).toBe(1 + inputs[i]!.body.length + 16);
          expectedOffset += blob.length;
          const record = pack.bytes.subarray(blob.offset, blob.offset + blob.length);
          const plain = cipher.decrypt(blob.offset, blobAad(blob.type, blob.id), record, 'blob');
          expect(plain[0]).toBe(inputs[i]!.codec);
          expect(plain.subarray(1).equals(inputs[i]!.body)).toBe(true);
        }
        // Then the header, then its length as u32 LE.
        const headerLength = pack.bytes.readUInt32LE(pack.bytes.length - 4);
        expect(expectedOffset + headerLength + 4).toBe(pack.bytes.length);
        expect(headerLength).toBe(4 + inputs.length * ENTRY_BYTES + 16);
      }),
      { numRuns: 60 },
    );
  });

  it('tracks size and blob count as blobs are added', () => {
    const builder = new PackBuilder(keys);
    expect(builder.size).toBe(PACK_PREFIX_BYTES);
    const blob = builder.add(BlobType.Tree, randomBytes(32), 0, Buffer.from('{"nodes":[]}'), 12);
    expect(builder.blobCount).toBe(1);
    expect(builder.size).toBe(PACK_PREFIX_BYTES + blob.length);
  });

  it('binds each record to its type and id: a record under another id or type does not decrypt', () => {
    const id = computeBlobId(keys, Buffer.from('content'));
    const { pack } = buildPack([{ type: BlobType.Data, codec: 0, body: Buffer.from('content'), rawLength: 7 }]);
    const [blob] = parsePack(keys, pack.bytes, pack.id).blobs as [PackedBlob];
    const record = pack.bytes.subarray(blob.offset, blob.offset + blob.length);
    const cipher = new PackCipher(keys, pack.salt);
    expect(cipher.decrypt(blob.offset, blobAad(BlobType.Data, id), record, 'blob').subarray(1).toString()).toBe('content');
    expect(outcome(() => cipher.decrypt(blob.offset, blobAad(BlobType.Tree, id), record, 'blob'))).toBe('CORRUPT');
    expect(outcome(() => cipher.decrypt(blob.offset, blobAad(BlobType.Data, randomBytes(32)), record, 'blob'))).toBe('CORRUPT');
  });

  it('detects any altered byte in the header or its length field', () => {
    const { pack } = buildPack([
      { type: BlobType.Data, codec: 0, body: randomBytes(500), rawLength: 500 },
      { type: BlobType.Tree, codec: 1, body: randomBytes(100), rawLength: 300 },
    ]);
    const headerLength = pack.bytes.readUInt32LE(pack.bytes.length - 4);
    const headerStart = pack.bytes.length - 4 - headerLength;
    for (let pos = headerStart; pos < pack.bytes.length; pos++) {
      for (const mask of [0x01, 0x80]) {
        const tampered = Buffer.from(pack.bytes);
        tampered[pos]! ^= mask;
        expect(outcome(() => parsePack(keys, tampered, pack.id)), `byte ${pos} ^ ${mask}`).toBe('CORRUPT');
      }
    }
    // The salt feeds the key of the header, the magic identifies the file.
    for (const pos of [0, 3, 4, PACK_PREFIX_BYTES - 1]) {
      const tampered = Buffer.from(pack.bytes);
      tampered[pos]! ^= 0x40;
      expect(outcome(() => parsePack(keys, tampered, pack.id)), `byte ${pos}`).toBe('CORRUPT');
    }
  });

  it('detects a truncated pack at every length', () => {
    const { pack } = buildPack([
      { type: BlobType.Data, codec: 0, body: randomBytes(64), rawLength: 64 },
      { type: BlobType.Data, codec: 0, body: randomBytes(64), rawLength: 64 },
    ]);
    for (let length = 0; length < pack.bytes.length; length++) {
      expect(outcome(() => parsePack(keys, pack.bytes.subarray(0, length), pack.id)), `length ${length}`).toBe('CORRUPT');
    }
  });

  it('refuses packs of another repository and arbitrary bytes as CORRUPT', () => {
    const { pack } = buildPack([{ type: BlobType.Data, codec: 0, body: randomBytes(10), rawLength: 10 }]);
    expect(outcome(() => parsePack(deriveKeys(randomBytes(MASTER_SECRET_BYTES)), pack.bytes, pack.id))).toBe('CORRUPT');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), (bytes, withMagic) => {
        const data = Buffer.from(bytes);
        if (withMagic && data.length >= 4) PACK_MAGIC.copy(data);
        expect(outcome(() => parsePack(keys, data, 'garbage'))).toBe('CORRUPT');
      }),
    );
  });

  it('refuses an authentic header that places a blob outside the pack', () => {
    // Only a writer with the key can produce this: a bug in a future writer, not an attacker.
    const cipher = new PackCipher(keys);
    const id = Buffer.alloc(32);
    const record = Buffer.concat(cipher.encrypt(PACK_PREFIX_BYTES, blobAad(BlobType.Data, id), [Buffer.of(0, 1, 2)]));
    const headerOffset = PACK_PREFIX_BYTES + record.length;
    // One byte longer than the record: it would reach into the header.
    const lying: PackedBlob = { type: BlobType.Data, id, offset: PACK_PREFIX_BYTES, length: record.length + 1, rawLength: 2 };
    const headerAad = Buffer.from('failsafe/v1/pack-header', 'latin1');
    const header = Buffer.concat(cipher.encrypt(headerOffset, headerAad, [encodeEntries([lying])]));
    const trailer = Buffer.alloc(4);
    trailer.writeUInt32LE(header.length);
    const bytes = Buffer.concat([PACK_MAGIC, cipher.salt, record, header, trailer]);
    expect(() => parsePack(keys, bytes, sha256Hex(bytes))).toThrow(/outside the pack/);
    expect(outcome(() => parsePack(keys, bytes, sha256Hex(bytes)))).toBe('CORRUPT');
  });
});

describe('pack entries', () => {
  it('round-trip through encodeEntries and decodeEntries, also at an offset inside a larger buffer', () => {
    fc.assert(
      fc.property(
        fc.array(packedBlob, { maxLength: 50 }),
        fc.uint8Array({ maxLength: 20 }),
        fc.uint8Array({ maxLength: 20 }),
        (entries, before, after) => {
          const encoded = encodeEntries(entries);
          expect(encoded).toHaveLength(4 + entries.length * ENTRY_BYTES);
          const framed = Buffer.concat([before, encoded, after]);
          const { entries: decoded, end } = decodeEntries(framed, before.length, 'entries');
          expect(end).toBe(before.length + encoded.length);
          expect(decoded.map(comparableBlob)).toEqual(entries.map(comparableBlob));
        },
      ),
    );
  });

  it('refuses truncated entry lists and unknown blob types', () => {
    const encoded = encodeEntries([
      { type: BlobType.Data, id: randomBytes(32), offset: 36, length: 100, rawLength: 90 },
      { type: BlobType.Tree, id: randomBytes(32), offset: 136, length: 50, rawLength: 40 },
    ]);
    for (let length = 0; length < encoded.length; length++) {
      expect(outcome(() => decodeEntries(encoded.subarray(0, length), 0, 'entries')), `length ${length}`).toBe('CORRUPT');
    }
    const unknownType = Buffer.from(encoded);
    unknownType[4 + ENTRY_BYTES] = 2;
    expect(() => decodeEntries(unknownType, 0, 'entries')).toThrow(/unknown blob type 2/);
    const hugeCount = Buffer.from(encoded);
    hugeCount.writeUInt32LE(0xffffffff, 0);
    expect(outcome(() => decodeEntries(hugeCount, 0, 'entries'))).toBe('CORRUPT');
  });
});

describe('pack naming', () => {
  it('stores a pack under data/<first two hex digits>/<id> and names blob types', () => {
    expect(packKey('ab12cd')).toBe('data/ab/ab12cd');
    expect([blobTypeName(0), blobTypeName(1), blobTypeName(7)]).toEqual(['data', 'tree', 'type-7']);
  });
});
