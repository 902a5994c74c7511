import { createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CRYPTO_SIZES,
  MASTER_SECRET_BYTES,
  PackCipher,
  type RepositoryKeys,
  type SealedKind,
  computeBlobId,
  deriveKeys,
  seal,
  sha256Hex,
  unseal,
} from './crypto.js';
import { outcome } from './test-arbitraries.js';

const KINDS: readonly SealedKind[] = ['config', 'index', 'snapshot', 'lock', 'deletion'];
const HEADER = 4 + CRYPTO_SIZES.salt;

const newKeys = (): RepositoryKeys => deriveKeys(randomBytes(MASTER_SECRET_BYTES));

function flipBit(data: Uint8Array, bit: number): Buffer {
  const copy = Buffer.from(data);
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

/** HKDF-SHA-256 exactly as docs/repository-format.md describes it, independent of crypto.ts. */
const hkdf = (ikm: Uint8Array, salt: Uint8Array, info: string): Buffer => Buffer.from(hkdfSync('sha256', ikm, salt, info, 32));

describe('deriveKeys', () => {
  it('derives the encryption and blob-id keys with HKDF-SHA-256 and the documented info strings', () => {
    const master = randomBytes(MASTER_SECRET_BYTES);
    const keys = deriveKeys(master);
    expect(keys.encryption.equals(hkdf(master, Buffer.alloc(0), 'failsafe/v1/encryption'))).toBe(true);
    expect(keys.blobId.equals(hkdf(master, Buffer.alloc(0), 'failsafe/v1/blob-id'))).toBe(true);
    expect(Object.isFrozen(keys)).toBe(true);
  });

  it('refuses a master secret of the wrong length as CORRUPT', () => {
    expect(outcome(() => deriveKeys(randomBytes(MASTER_SECRET_BYTES - 1)))).toBe('CORRUPT');
    expect(outcome(() => deriveKeys(Buffer.alloc(0)))).toBe('CORRUPT');
  });
});

describe('seal and unseal', () => {
  it('round-trip any payload of any kind', () => {
    const keys = newKeys();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), fc.constantFrom(...KINDS), (payload, kind) => {
        const stored = seal(keys, kind, payload);
        expect(stored.length).toBe(HEADER + payload.length + CRYPTO_SIZES.tag);
        expect(unseal(keys, kind, stored, 'test').equals(payload)).toBe(true);
      }),
    );
  });

  it('writes the documented layout: magic, salt, AES-256-GCM under HKDF(enc, salt, "failsafe/v1/file"), nonce 0', () => {
    const keys = newKeys();
    const payload = Buffer.from('{"version":1}');
    const stored = seal(keys, 'snapshot', payload);
    expect(stored.subarray(0, 4).toString('latin1')).toBe('FSv1');
    const salt = stored.subarray(4, HEADER);
    const decipher = createDecipheriv('aes-256-gcm', hkdf(keys.encryption, salt, 'failsafe/v1/file'), Buffer.alloc(12));
    decipher.setAAD(Buffer.from('failsafe/v1/snapshot'));
    decipher.setAuthTag(stored.subarray(stored.length - 16));
    const plain = Buffer.concat([decipher.update(stored.subarray(HEADER, stored.length - 16)), decipher.final()]);
    expect(plain.equals(payload)).toBe(true);
  });

  it('detects a flipped bit anywhere: magic, salt, ciphertext or tag', () => {
    const keys = newKeys();
    const stored = seal(keys, 'index', randomBytes(40));
    for (let bit = 0; bit < stored.length * 8; bit++) {
      expect(outcome(() => unseal(keys, 'index', flipBit(stored, bit), 'index/x')), `bit ${bit}`).toBe('CORRUPT');
    }
  });

  it('detects truncation and appended bytes', () => {
    const keys = newKeys();
    const stored = seal(keys, 'lock', randomBytes(100));
    for (let length = 0; length < stored.length; length++) {
      expect(outcome(() => unseal(keys, 'lock', stored.subarray(0, length), 'lock')), `length ${length}`).toBe('CORRUPT');
    }
    expect(outcome(() => unseal(keys, 'lock', Buffer.concat([stored, Buffer.of(0)]), 'lock'))).toBe('CORRUPT');
  });

  it('binds the kind: a file sealed as one kind does not unseal as another', () => {
    const keys = newKeys();
    for (const sealedAs of KINDS) {
      const stored = seal(keys, sealedAs, Buffer.from('payload'));
      for (const openedAs of KINDS.filter((kind) => kind !== sealedAs)) {
        expect(outcome(() => unseal(keys, openedAs, stored, 'x')), `${sealedAs} as ${openedAs}`).toBe('CORRUPT');
      }
    }
  });

  it('does not unseal under another repository key', () => {
    const stored = seal(newKeys(), 'config', Buffer.from('payload'));
    expect(outcome(() => unseal(newKeys(), 'config', stored, 'config'))).toBe('CORRUPT');
  });

  it('draws a fresh salt for every seal, so equal payloads give different files', () => {
    const keys = newKeys();
    const payload = Buffer.from('the same snapshot manifest');
    const a = seal(keys, 'snapshot', payload);
    const b = seal(keys, 'snapshot', payload);
    expect(a.equals(b)).toBe(false);
    expect(a.subarray(4, HEADER).equals(b.subarray(4, HEADER))).toBe(false);
    expect(unseal(keys, 'snapshot', a, 'a').equals(unseal(keys, 'snapshot', b, 'b'))).toBe(true);
  });

  it('names the file in its error message', () => {
    const keys = newKeys();
    const stored = flipBit(seal(keys, 'snapshot', Buffer.from('x')), 300);
    expect(() => unseal(keys, 'snapshot', stored, 'snapshots/abc123')).toThrow(/snapshots\/abc123/);
  });
});

describe('PackCipher', () => {
  it('round-trips records at their offsets, with the parts of a record encrypted as one message', () => {
    const keys = newKeys();
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.uint8Array({ minLength: 1, maxLength: 40 }),
        (parts, offset, aad) => {
          const cipher = new PackCipher(keys);
          const record = Buffer.concat(cipher.encrypt(offset, aad, parts));
          const plain = Buffer.concat(parts);
          expect(record.length).toBe(plain.length + CRYPTO_SIZES.tag);
          // A reader knows only the salt, as stored in the pack.
          const reader = new PackCipher(keys, Buffer.from(cipher.salt));
          expect(reader.decrypt(offset, aad, record, 'blob').equals(plain)).toBe(true);
          // Splitting into parts is invisible in the ciphertext.
          expect(Buffer.concat(cipher.encrypt(offset, aad, [plain])).equals(record)).toBe(true);
        },
      ),
    );
  });

  it('refuses a record decrypted at another offset, with other AAD, another salt or altered bytes', () => {
    const keys = newKeys();
    const cipher = new PackCipher(keys);
    const aad = Buffer.concat([Buffer.of(0), randomBytes(32)]);
    const record = Buffer.concat(cipher.encrypt(36, aad, [Buffer.of(1), randomBytes(1000)]));
    expect(cipher.decrypt(36, aad, record, 'blob')).toHaveLength(1001);

    expect(outcome(() => cipher.decrypt(37, aad, record, 'blob'))).toBe('CORRUPT');
    expect(outcome(() => cipher.decrypt(36 + 2 ** 32, aad, record, 'blob'))).toBe('CORRUPT');
    const otherType = Buffer.from(aad);
    otherType[0] = 1;
    expect(outcome(() => cipher.decrypt(36, otherType, record, 'blob'))).toBe('CORRUPT');
    expect(outcome(() => cipher.decrypt(36, aad.subarray(0, 32), record, 'blob'))).toBe('CORRUPT');
    expect(outcome(() => new PackCipher(keys).decrypt(36, aad, record, 'blob'))).toBe('CORRUPT');
    expect(outcome(() => new PackCipher(newKeys(), cipher.salt).decrypt(36, aad, record, 'blob'))).toBe('CORRUPT');
    for (const bit of [0, 8 * 500 + 3, record.length * 8 - 1]) {
      expect(outcome(() => cipher.decrypt(36, aad, flipBit(record, bit), 'blob')), `bit ${bit}`).toBe('CORRUPT');
    }
    expect(outcome(() => cipher.decrypt(36, aad, record.subarray(0, 15), 'blob'))).toBe('CORRUPT');
    expect(outcome(() => cipher.decrypt(36, aad, record.subarray(0, record.length - 1), 'blob'))).toBe('CORRUPT');
  });

  it('derives a different key per salt: the same record at the same offset encrypts differently', () => {
    const keys = newKeys();
    const parts = [Buffer.from('identical content')];
    const a = Buffer.concat(new PackCipher(keys).encrypt(36, Buffer.of(0), parts));
    const b = Buffer.concat(new PackCipher(keys).encrypt(36, Buffer.of(0), parts));
    expect(a.equals(b)).toBe(false);
  });

  it('uses the documented key and nonce: HKDF(enc, salt, "failsafe/v1/pack"), offset as 96-bit big-endian', () => {
    const keys = newKeys();
    const cipher = new PackCipher(keys);
    const offset = 0x0102_0304_05;
    const record = Buffer.concat(cipher.encrypt(offset, Buffer.from('aad'), [Buffer.from('hello')]));
    const nonce = Buffer.alloc(12);
    nonce.writeUIntBE(offset, 6, 6);
    const decipher = createDecipheriv('aes-256-gcm', hkdf(keys.encryption, cipher.salt, 'failsafe/v1/pack'), nonce);
    decipher.setAAD(Buffer.from('aad'));
    decipher.setAuthTag(record.subarray(record.length - 16));
    expect(Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]).toString()).toBe('hello');
  });

  it('refuses a salt of the wrong length', () => {
    expect(outcome(() => new PackCipher(newKeys(), randomBytes(31)))).toBe('CORRUPT');
  });
});

describe('blob ids', () => {
  it('are HMAC-SHA-256 of the plaintext under the blob-id key', () => {
    const master = randomBytes(MASTER_SECRET_BYTES);
    const data = randomBytes(1000);
    const expected = createHmac('sha256', hkdf(master, Buffer.alloc(0), 'failsafe/v1/blob-id')).update(data).digest();
    expect(computeBlobId(deriveKeys(master), data).equals(expected)).toBe(true);
  });

  it('are keyed: the same data has the same id in one repository and different ids in two', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.uint8Array({ minLength: 64, maxLength: 64 }), (data, master) => {
        const keys = deriveKeys(master);
        const id = computeBlobId(keys, data);
        expect(id).toHaveLength(32);
        expect(computeBlobId(deriveKeys(Buffer.from(master)), Buffer.from(data)).equals(id)).toBe(true);
        const otherMaster = flipBit(master, 0);
        expect(computeBlobId(deriveKeys(otherMaster), data).equals(id)).toBe(false);
        // Not the plain hash: an id says nothing to someone without the key.
        expect(id.equals(createHash('sha256').update(data).digest())).toBe(false);
      }),
    );
  });
});

describe('sha256Hex', () => {
  it('is the hex SHA-256 of the bytes', () => {
    expect(sha256Hex(Buffer.from('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
