/**
 * Pack files: many encrypted blob records followed by an encrypted header that lists them.
 * Layout in docs/repository-format.md, section "Pack file".
 */
import { FailsafeError } from '../core/errors.js';
import { createHash } from 'node:crypto';
import { type RepositoryKeys, CRYPTO_SIZES, PackCipher } from './crypto.js';

export const BlobType = { Data: 0, Tree: 1 } as const;
export type BlobType = (typeof BlobType)[keyof typeof BlobType];

export function blobTypeName(type: number): string {
  return type === BlobType.Data ? 'data' : type === BlobType.Tree ? 'tree' : `type-${type}`;
}

/** Where one blob sits inside its pack. */
export interface PackedBlob {
  readonly type: BlobType;
  readonly id: Buffer;
  readonly offset: number;
  /** Stored bytes including the authentication tag. */
  readonly length: number;
  /** Bytes of the original content. */
  readonly rawLength: number;
}

export const PACK_MAGIC = Buffer.from('FSp1', 'latin1');
export const PACK_PREFIX_BYTES = PACK_MAGIC.length + CRYPTO_SIZES.salt;
export const ENTRY_BYTES = 1 + 32 + 4 + 4 + 4;
const HEADER_AAD = Buffer.from('failsafe/v1/pack-header', 'latin1');

/** AAD of a blob record: type byte || id. */
export function blobAad(type: BlobType, id: Uint8Array): Buffer {
  const aad = Buffer.allocUnsafe(33);
  aad[0] = type;
  aad.set(id, 1);
  return aad;
}

export interface FinishedPack {
  /** SHA-256 of the pack's bytes, hex: the pack's name. */
  readonly id: string;
  readonly salt: Buffer;
  /** The pack's bytes in pieces, in order (stored without joining them). */
  readonly pieces: readonly Buffer[];
  readonly size: number;
  readonly blobs: readonly PackedBlob[];
}

/**
 * Assembles one pack in memory. Records are encrypted as they are added, at their final offset.
 *
 * @example
 * const pack = new PackBuilder(keys);
 * pack.add(BlobType.Data, id, Codec.Zstd, compressed, raw.length);
 * const { id: packId, pieces } = pack.finish();
 */
export class PackBuilder {
  readonly #cipher: PackCipher;
  readonly #parts: Buffer[] = [];
  readonly #blobs: PackedBlob[] = [];
  #size: number;

  constructor(keys: RepositoryKeys) {
    this.#cipher = new PackCipher(keys);
    this.#parts.push(PACK_MAGIC, this.#cipher.salt);
    this.#size = PACK_PREFIX_BYTES;
  }

  get size(): number {
    return this.#size;
  }

  get blobCount(): number {
    return this.#blobs.length;
  }

  /** Encrypts `codec || body` as the next record. */
  add(type: BlobType, id: Buffer, codec: number, body: Uint8Array, rawLength: number): PackedBlob {
    const offset = this.#size;
    const pieces = this.#cipher.encrypt(offset, blobAad(type, id), [Buffer.of(codec), body]);
    let length = 0;
    for (const piece of pieces) {
      length += piece.length;
      this.#parts.push(piece);
    }
    const blob: PackedBlob = { type, id, offset, length, rawLength };
    this.#blobs.push(blob);
    this.#size += length;
    return blob;
  }

  finish(): FinishedPack {
    const headerOffset = this.#size;
    const header = this.#cipher.encrypt(headerOffset, HEADER_AAD, [encodeEntries(this.#blobs)]);
    const headerLength = header.reduce((sum, part) => sum + part.length, 0);
    const trailer = Buffer.alloc(4);
    trailer.writeUInt32LE(headerLength);
    const pieces = [...this.#parts, ...header, trailer];
    const hash = createHash('sha256');
    for (const piece of pieces) hash.update(piece);
    return { id: hash.digest('hex'), salt: this.#cipher.salt, pieces, size: headerOffset + headerLength + 4, blobs: this.#blobs };
  }
}

/** The storage key of a pack. */
export function packKey(packId: string): string {
  return `data/${packId.slice(0, 2)}/${packId}`;
}

/**
 * Reads the header of a complete pack (used by check, repair and prune; normal operation uses the index).
 */
export function parsePack(keys: RepositoryKeys, bytes: Buffer, packId: string): { salt: Buffer; blobs: PackedBlob[] } {
  const what = `pack ${packId.slice(0, 12)}`;
  if (bytes.length < PACK_PREFIX_BYTES + 4 || !bytes.subarray(0, PACK_MAGIC.length).equals(PACK_MAGIC)) {
    throw new FailsafeError('CORRUPT', `${what}: not a failsafe pack (bad magic or too short)`);
  }
  const salt = Buffer.from(bytes.subarray(PACK_MAGIC.length, PACK_PREFIX_BYTES));
  const headerLength = bytes.readUInt32LE(bytes.length - 4);
  const headerOffset = bytes.length - 4 - headerLength;
  if (headerOffset < PACK_PREFIX_BYTES) throw new FailsafeError('CORRUPT', `${what}: header length out of range`);
  const cipher = new PackCipher(keys, salt);
  const plain = cipher.decrypt(headerOffset, HEADER_AAD, bytes.subarray(headerOffset, bytes.length - 4), `${what} header`);
  const blobs = decodeEntries(plain, 0, what).entries;
  for (const blob of blobs) {
    if (blob.offset < PACK_PREFIX_BYTES || blob.offset + blob.length > headerOffset) {
      throw new FailsafeError('CORRUPT', `${what}: header lists a blob outside the pack`);
    }
  }
  return { salt, blobs };
}

/** `count (u32) || count × entry`. */
export function encodeEntries(blobs: readonly PackedBlob[]): Buffer {
  const out = Buffer.allocUnsafe(4 + blobs.length * ENTRY_BYTES);
  out.writeUInt32LE(blobs.length, 0);
  let pos = 4;
  for (const blob of blobs) {
    pos = writeEntry(out, pos, blob);
  }
  return out;
}

export function writeEntry(out: Buffer, pos: number, blob: PackedBlob): number {
  out[pos] = blob.type;
  out.set(blob.id, pos + 1);
  out.writeUInt32LE(blob.offset, pos + 33);
  out.writeUInt32LE(blob.length, pos + 37);
  out.writeUInt32LE(blob.rawLength, pos + 41);
  return pos + ENTRY_BYTES;
}

/**
 * Decodes `count || entries` at `pos`; returns the entries and the position after them. Entry ids are
 * views into `data` (copy them to keep them beyond `data`'s lifetime).
 */
export function decodeEntries(data: Buffer, pos: number, what: string): { entries: PackedBlob[]; end: number } {
  if (pos + 4 > data.length) throw new FailsafeError('CORRUPT', `${what}: truncated entry list`);
  const count = data.readUInt32LE(pos);
  const end = pos + 4 + count * ENTRY_BYTES;
  if (end > data.length) throw new FailsafeError('CORRUPT', `${what}: truncated entry list`);
  const entries: PackedBlob[] = new Array(count);
  for (let i = 0, p = pos + 4; i < count; i++, p += ENTRY_BYTES) {
    const type = data[p]!;
    if (type !== BlobType.Data && type !== BlobType.Tree) {
      throw new FailsafeError('CORRUPT', `${what}: unknown blob type ${type}`);
    }
    entries[i] = {
      type,
      id: data.subarray(p + 1, p + 33),
      offset: data.readUInt32LE(p + 33),
      length: data.readUInt32LE(p + 37),
      rawLength: data.readUInt32LE(p + 41),
    };
  }
  return { entries, end };
}
