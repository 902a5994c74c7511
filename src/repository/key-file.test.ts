import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MASTER_SECRET_BYTES } from './crypto.js';
import { DEFAULT_SCRYPT, type KeyFile, type ScryptParams, createKeyFile, parseKeyFile, unwrapKeyFile } from './key-file.js';
import { outcome, outcomeAsync } from './test-arbitraries.js';

/** The cheapest parameters the parser accepts (N = 2^15, r = 1: 4 MiB, a few ms per attempt). */
const FAST: ScryptParams = { n: 2 ** 15, r: 1, p: 1 };
const PASSWORD = 'correct horse battery staple';

const stored = (file: unknown): Buffer => Buffer.from(JSON.stringify(file, null, 2));

/** A key file as it comes back from storage. */
async function storedKeyFile(master: Buffer, password = PASSWORD): Promise<KeyFile> {
  return parseKeyFile(stored(await createKeyFile(master, password, FAST)), 'k1');
}

function alterData(file: KeyFile, alter: (data: Buffer) => Buffer): KeyFile {
  return { ...file, data: alter(Buffer.from(file.data, 'base64')).toString('base64') };
}

describe('key files', () => {
  it('unwrap the master secret with the right password, after a trip through storage', async () => {
    const master = randomBytes(MASTER_SECRET_BYTES);
    const file = await storedKeyFile(master);
    expect(file).toMatchObject({ version: 1, kdf: { name: 'scrypt', n: FAST.n, r: FAST.r, p: FAST.p } });
    expect(Buffer.from(file.kdf.salt, 'base64')).toHaveLength(32);
    // nonce (12) || encrypted master secret (64) || tag (16)
    expect(Buffer.from(file.data, 'base64')).toHaveLength(12 + 64 + 16);
    expect((await unwrapKeyFile(file, PASSWORD))?.equals(master)).toBe(true);
  });

  it('give undefined for a wrong password, including near misses and the empty password', async () => {
    const file = await storedKeyFile(randomBytes(MASTER_SECRET_BYTES));
    for (const wrong of ['', 'correct horse battery stapl', 'Correct horse battery staple', `${PASSWORD} `]) {
      expect(await unwrapKeyFile(file, wrong), JSON.stringify(wrong)).toBeUndefined();
    }
  });

  it('wrap the same secret differently each time (fresh salt and nonce)', async () => {
    const master = randomBytes(MASTER_SECRET_BYTES);
    const [a, b] = await Promise.all([createKeyFile(master, PASSWORD, FAST), createKeyFile(master, PASSWORD, FAST)]);
    expect(a.kdf.salt).not.toBe(b.kdf.salt);
    expect(a.data).not.toBe(b.data);
  });

  it('use N = 2^16, r = 8, p = 1 by default', () => {
    expect(DEFAULT_SCRYPT).toEqual({ n: 2 ** 16, r: 8, p: 1 });
  });

  it('do not open when the encrypted data, salt or parameters were altered', async () => {
    const file = await storedKeyFile(randomBytes(MASTER_SECRET_BYTES));
    const flip = (pos: number) => (data: Buffer) => {
      const copy = Buffer.from(data);
      copy[pos]! ^= 0x01;
      return copy;
    };
    for (const pos of [0, 11, 12, 50, 75, 76, 91]) {
      expect(await unwrapKeyFile(alterData(file, flip(pos)), PASSWORD), `data byte ${pos}`).toBeUndefined();
    }
    const salt = Buffer.from(file.kdf.salt, 'base64');
    salt[0]! ^= 0x01;
    expect(await unwrapKeyFile({ ...file, kdf: { ...file.kdf, salt: salt.toString('base64') } }, PASSWORD)).toBeUndefined();
    expect(await unwrapKeyFile({ ...file, kdf: { ...file.kdf, r: 2 } }, PASSWORD)).toBeUndefined();
    expect(await unwrapKeyFile({ ...file, kdf: { ...file.kdf, p: 2 } }, PASSWORD)).toBeUndefined();
    expect(await unwrapKeyFile({ ...file, kdf: { ...file.kdf, n: 2 ** 16, r: 8 } }, PASSWORD)).toBeUndefined();
  });

  it('do not open when the encrypted data was truncated or extended by whole blocks', async () => {
    const file = await storedKeyFile(randomBytes(MASTER_SECRET_BYTES));
    for (const length of [12 + 16, 12 + 32 + 16, 12 + 64 + 16 - 1]) {
      expect(await unwrapKeyFile(alterData(file, (data) => data.subarray(0, length)), PASSWORD), `length ${length}`).toBeUndefined();
    }
    expect(await unwrapKeyFile(alterData(file, (data) => Buffer.concat([data, Buffer.alloc(16)])), PASSWORD)).toBeUndefined();
  });

  it('do not crash on encrypted data too short to hold a nonce and a tag', async () => {
    const file = await storedKeyFile(randomBytes(MASTER_SECRET_BYTES));
    for (const length of [0, 5, 12, 12 + 5]) {
      const result = await outcomeAsync(() => unwrapKeyFile(alterData(file, (data) => data.subarray(0, length)), PASSWORD));
      expect(['ok', 'CORRUPT'], `length ${length}`).toContain(result);
    }
  });

  it('refuses scrypt parameters OpenSSL cannot use (N = 2^16, r = 1) as a damaged key file', async () => {
    const file = await storedKeyFile(randomBytes(MASTER_SECRET_BYTES));
    expect(outcome(() => parseKeyFile(stored({ ...file, kdf: { ...file.kdf, n: 2 ** 16, r: 1 } }), 'k1'))).toBe('CORRUPT');
    expect(await outcomeAsync(() => createKeyFile(randomBytes(MASTER_SECRET_BYTES), PASSWORD, { n: 2 ** 16, r: 1, p: 1 }))).toBe('USAGE');
  });

  it('parseKeyFile refuses malformed files and scrypt parameters out of range as CORRUPT', async () => {
    const good = await createKeyFile(randomBytes(MASTER_SECRET_BYTES), PASSWORD, FAST);
    expect(outcome(() => parseKeyFile(stored(good), 'k'))).toBe('ok');
    const bad: Record<string, unknown> = {
      'N = 2^14': { ...good, kdf: { ...good.kdf, n: 2 ** 14 } },
      'N = 2^15 - 1': { ...good, kdf: { ...good.kdf, n: 2 ** 15 - 1 } },
      'N above 2^24': { ...good, kdf: { ...good.kdf, n: 2 ** 25 } },
      'fractional N': { ...good, kdf: { ...good.kdf, n: 40000.5 } },
      'r = 0': { ...good, kdf: { ...good.kdf, r: 0 } },
      'p = 17': { ...good, kdf: { ...good.kdf, p: 17 } },
      'another KDF': { ...good, kdf: { ...good.kdf, name: 'argon2id' } },
      'version 2': { ...good, version: 2 },
      'no data': { ...good, data: undefined },
      'no kdf': { ...good, kdf: undefined },
      'an array': [good],
      'null': null,
    };
    for (const [what, file] of Object.entries(bad)) {
      expect(outcome(() => parseKeyFile(stored(file), 'k')), what).toBe('CORRUPT');
    }
    for (const text of ['', '{', 'not json', '\u0000\u0001']) {
      expect(outcome(() => parseKeyFile(Buffer.from(text), 'k')), JSON.stringify(text)).toBe('CORRUPT');
    }
    expect(() => parseKeyFile(Buffer.from('{'), '3f9c2a')).toThrow(/key file 3f9c2a/);
  });

  it('createKeyFile refuses scrypt parameters that parseKeyFile would reject', async () => {
    const result = await outcomeAsync(() => createKeyFile(randomBytes(MASTER_SECRET_BYTES), PASSWORD, { n: 2 ** 10, r: 8, p: 1 }));
    expect(result).not.toBe('ok');
  });
});
