/**
 * Key files: the master secret wrapped under a password-derived key (scrypt → AES-256-GCM).
 * A repository has one key file per password; all of them wrap the same master secret.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { currentUsername } from '../core/identity.js';
import { FailsafeError } from '../core/errors.js';
import { CRYPTO_SIZES, MASTER_SECRET_BYTES } from './crypto.js';

export interface ScryptParams {
  readonly n: number;
  readonly r: number;
  readonly p: number;
}

/** N = 2^16 costs ~0.2 s and 64 MiB per attempt on a current server core. */
export const DEFAULT_SCRYPT: ScryptParams = Object.freeze({ n: 2 ** 16, r: 8, p: 1 });
const MIN_SCRYPT_N = 2 ** 15;
const KEY_AAD = Buffer.from('failsafe/v1/key', 'latin1');

const kdfSchema = z
  .object({
    name: z.literal('scrypt'),
    n: z.number().int().min(MIN_SCRYPT_N).max(2 ** 24),
    r: z.number().int().min(1).max(64),
    p: z.number().int().min(1).max(16),
    salt: z.string(),
  })
  .refine((kdf) => isUsableScrypt(kdf), 'scrypt parameters OpenSSL cannot use');

const keyFileSchema = z.object({
  version: z.literal(1),
  created: z.string(),
  host: z.string(),
  username: z.string(),
  kdf: kdfSchema,
  data: z.string(),
});

export type KeyFile = z.infer<typeof keyFileSchema>;

/** Wraps `masterSecret` under `password`. */
export async function createKeyFile(
  masterSecret: Buffer,
  password: string,
  params: ScryptParams = DEFAULT_SCRYPT,
): Promise<KeyFile> {
  if (params.n < MIN_SCRYPT_N || !isUsableScrypt(params)) {
    throw new FailsafeError('USAGE', `scrypt parameters N=${params.n}, r=${params.r}, p=${params.p} are too weak or unusable (N ≥ 2^15, a power of two below 2^(16·r))`);
  }
  const salt = randomBytes(CRYPTO_SIZES.salt);
  const wrappingKey = await deriveWrappingKey(password, salt, params);
  const nonce = randomBytes(CRYPTO_SIZES.nonce);
  const cipher = createCipheriv('aes-256-gcm', wrappingKey, nonce);
  cipher.setAAD(KEY_AAD);
  const body = Buffer.concat([cipher.update(masterSecret), cipher.final(), cipher.getAuthTag()]);
  return {
    version: 1,
    created: new Date().toISOString(),
    host: hostname(),
    username: currentUsername(),
    kdf: { name: 'scrypt', n: params.n, r: params.r, p: params.p, salt: salt.toString('base64') },
    data: Buffer.concat([nonce, body]).toString('base64'),
  };
}

/** Parses a stored key file; a `CORRUPT` error naming `name` when it is not one. */
export function parseKeyFile(stored: Buffer, name: string): KeyFile {
  try {
    return keyFileSchema.parse(JSON.parse(stored.toString('utf8')));
  } catch (err) {
    throw new FailsafeError('CORRUPT', `key file ${name} is damaged or not a failsafe key file`, { cause: err });
  }
}

/** The master secret if `password` opens `keyFile`, otherwise `undefined`. */
export async function unwrapKeyFile(keyFile: KeyFile, password: string): Promise<Buffer | undefined> {
  const salt = Buffer.from(keyFile.kdf.salt, 'base64');
  const data = Buffer.from(keyFile.data, 'base64');
  if (data.length !== CRYPTO_SIZES.nonce + MASTER_SECRET_BYTES + CRYPTO_SIZES.tag) return undefined;
  const wrappingKey = await deriveWrappingKey(password, salt, keyFile.kdf);
  try {
    const decipher = createDecipheriv('aes-256-gcm', wrappingKey, data.subarray(0, CRYPTO_SIZES.nonce));
    decipher.setAAD(KEY_AAD);
    decipher.setAuthTag(data.subarray(data.length - CRYPTO_SIZES.tag));
    return Buffer.concat([decipher.update(data.subarray(CRYPTO_SIZES.nonce, data.length - CRYPTO_SIZES.tag)), decipher.final()]);
  } catch {
    return undefined;
  }
}

/** OpenSSL's scrypt needs N to be a power of two below 2^(16·r). */
function isUsableScrypt(params: Pick<ScryptParams, 'n' | 'r'>): boolean {
  return Number.isInteger(Math.log2(params.n)) && Math.log2(params.n) < 16 * params.r;
}

function deriveWrappingKey(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      Buffer.from(password, 'utf8'),
      salt,
      32,
      { N: params.n, r: params.r, p: params.p, maxmem: 256 * params.n * params.r + 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

