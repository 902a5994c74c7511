/**
 * The one place where failsafe encrypts and authenticates. Everything stored in a repository except the
 * key files passes through {@link seal} (whole files) or {@link PackCipher} (blobs inside packs).
 * See docs/repository-format.md, section "Cryptography".
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { FailsafeError } from '../core/errors.js';

export const MASTER_SECRET_BYTES = 64;
const SALT_BYTES = 32;
const TAG_BYTES = 16;
const NONCE_BYTES = 12;
const SEALED_MAGIC = Buffer.from('FSv1', 'latin1');
const SEALED_HEADER_BYTES = SEALED_MAGIC.length + SALT_BYTES;

/** Keys derived from the master secret; held in memory only. */
export interface RepositoryKeys {
  /** Input key material for the per-file and per-pack AES-256-GCM keys. */
  readonly encryption: Buffer;
  /** HMAC-SHA-256 key that turns plaintext into blob ids. */
  readonly blobId: Buffer;
}

/** What a sealed file claims to be; bound into its authentication tag. */
export type SealedKind = 'config' | 'index' | 'snapshot' | 'lock' | 'deletion';

export function deriveKeys(masterSecret: Uint8Array): RepositoryKeys {
  if (masterSecret.length !== MASTER_SECRET_BYTES) {
    throw new FailsafeError('CORRUPT', `master secret has ${masterSecret.length} bytes, expected ${MASTER_SECRET_BYTES}`);
  }
  return Object.freeze({
    encryption: hkdf(masterSecret, Buffer.alloc(0), 'failsafe/v1/encryption'),
    blobId: hkdf(masterSecret, Buffer.alloc(0), 'failsafe/v1/blob-id'),
  });
}

/** The id of a blob: HMAC-SHA-256 of its plaintext. */
export function computeBlobId(keys: RepositoryKeys, data: Uint8Array): Buffer {
  return createHmac('sha256', keys.blobId).update(data).digest();
}

/** Hex SHA-256 of stored bytes: the name of content-addressed files (packs, index, snapshots). */
export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function randomHex(bytes = 16): string {
  return randomBytes(bytes).toString('hex');
}

/**
 * Encrypts a whole file under a fresh key: `magic || salt || ciphertext || tag`.
 *
 * @example const stored = seal(keys, 'snapshot', Buffer.from(JSON.stringify(manifest)))
 */
export function seal(keys: RepositoryKeys, kind: SealedKind, payload: Uint8Array): Buffer {
  const salt = randomBytes(SALT_BYTES);
  const cipher = createCipheriv('aes-256-gcm', fileKey(keys, salt), Buffer.alloc(NONCE_BYTES));
  cipher.setAAD(sealedAad(kind));
  const body = cipher.update(payload);
  cipher.final();
  return Buffer.concat([SEALED_MAGIC, salt, body, cipher.getAuthTag()]);
}

/** Reverses {@link seal}; a `CORRUPT` error when the bytes were altered or are of another kind. */
export function unseal(keys: RepositoryKeys, kind: SealedKind, stored: Uint8Array, name: string): Buffer {
  const data = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  if (data.length < SEALED_HEADER_BYTES + TAG_BYTES || !data.subarray(0, SEALED_MAGIC.length).equals(SEALED_MAGIC)) {
    throw new FailsafeError('CORRUPT', `${name}: not a failsafe ${kind} file (bad header)`);
  }
  const salt = data.subarray(SEALED_MAGIC.length, SEALED_HEADER_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', fileKey(keys, salt), Buffer.alloc(NONCE_BYTES));
  decipher.setAAD(sealedAad(kind));
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  try {
    const plain = decipher.update(data.subarray(SEALED_HEADER_BYTES, data.length - TAG_BYTES));
    decipher.final();
    return plain;
  } catch (err) {
    throw new FailsafeError('CORRUPT', `${name}: authentication failed (the file was altered or damaged)`, { cause: err });
  }
}

/**
 * Encrypts and decrypts the records of one pack. Each pack has its own key (from its random salt) and
 * each record uses its byte offset in the pack as nonce, so nonces never repeat under a key.
 */
export class PackCipher {
  readonly salt: Buffer;
  readonly #key: Buffer;

  constructor(keys: RepositoryKeys, salt: Buffer = randomBytes(SALT_BYTES)) {
    if (salt.length !== SALT_BYTES) throw new FailsafeError('CORRUPT', `pack salt has ${salt.length} bytes`);
    this.salt = salt;
    this.#key = hkdf(keys.encryption, salt, 'failsafe/v1/pack');
  }

  /** Ciphertext pieces (concatenated: ciphertext of all parts, then the 16-byte tag). */
  encrypt(offset: number, aad: Uint8Array, parts: readonly Uint8Array[]): Buffer[] {
    const cipher = createCipheriv('aes-256-gcm', this.#key, offsetNonce(offset));
    cipher.setAAD(aad);
    const out = parts.map((part) => cipher.update(part));
    cipher.final();
    out.push(cipher.getAuthTag());
    return out;
  }

  /** Plaintext of a record, or a `CORRUPT` error naming `what`. */
  decrypt(offset: number, aad: Uint8Array, record: Uint8Array, what: string): Buffer {
    if (record.length < TAG_BYTES) throw new FailsafeError('CORRUPT', `${what}: record too short`);
    const decipher = createDecipheriv('aes-256-gcm', this.#key, offsetNonce(offset));
    decipher.setAAD(aad);
    decipher.setAuthTag(record.subarray(record.length - TAG_BYTES));
    try {
      const plain = decipher.update(record.subarray(0, record.length - TAG_BYTES));
      decipher.final();
      return plain;
    } catch (err) {
      throw new FailsafeError('CORRUPT', `${what}: authentication failed (the data was altered or damaged)`, {
        cause: err,
      });
    }
  }
}

export const CRYPTO_SIZES = Object.freeze({ salt: SALT_BYTES, tag: TAG_BYTES, nonce: NONCE_BYTES });

function fileKey(keys: RepositoryKeys, salt: Uint8Array): Buffer {
  return hkdf(keys.encryption, salt, 'failsafe/v1/file');
}

function sealedAad(kind: SealedKind): Buffer {
  return Buffer.from(`failsafe/v1/${kind}`, 'latin1');
}

function offsetNonce(offset: number): Buffer {
  const nonce = Buffer.alloc(NONCE_BYTES);
  nonce.writeUIntBE(offset, NONCE_BYTES - 6, 6);
  return nonce;
}

function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, 32));
}
