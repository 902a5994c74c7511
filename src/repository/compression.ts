/**
 * Per-blob compression. zstd runs on libuv's thread pool through `@mongodb-js/zstd`'s native binding
 * (prebuilt binaries from the npm registry, no compiler needed), so compressing several blobs at once
 * uses every core while the main thread keeps chunking. A blob keeps its compressed form only when
 * that saves at least 1/32 of its size; random and already-compressed data is stored as is.
 */
import { createRequire } from 'node:module';
import { FailsafeError } from '../core/errors.js';

/**
 * The slice of the binding we use. Its package entry point drops the level argument, so we load the
 * binding module itself (a file the package ships and documents as its napi-rs loader).
 */
interface ZstdBinding {
  compress(data: Buffer, level: number): Promise<Buffer>;
  decompress(data: Buffer): Promise<Buffer>;
}
const zstd = createRequire(import.meta.url)('@mongodb-js/zstd/bindings.js') as ZstdBinding;

/**
 * Named compression settings, chosen per repository at `init`. `fast` (zstd 1) is the default: on
 * table exports it is as small as level 3 and ~1.6× faster (docs/benchmarks.md); `better` (zstd 3)
 * saves ~10-15% more on source code and similar text; `max` (zstd 19) is for archives written once.
 */
export const COMPRESSION_LEVELS = { fast: 1, better: 3, max: 19 } as const;
export type CompressionName = keyof typeof COMPRESSION_LEVELS;

export const Codec = { Stored: 0, Zstd: 1 } as const;
export type Codec = (typeof Codec)[keyof typeof Codec];

export interface EncodedBlob {
  readonly codec: Codec;
  readonly body: Uint8Array;
}

/** Below this size compression is not worth a thread-pool round trip. */
const MIN_COMPRESS_BYTES = 256;

export async function encodeBlob(data: Uint8Array, level: number = COMPRESSION_LEVELS.fast): Promise<EncodedBlob> {
  if (data.length < MIN_COMPRESS_BYTES) return { codec: Codec.Stored, body: data };
  const compressed = await zstd.compress(toBuffer(data), level);
  return compressed.length < data.length - (data.length >> 5)
    ? { codec: Codec.Zstd, body: compressed }
    : { codec: Codec.Stored, body: data };
}

/** Turns `codec || body` back into the original bytes and checks the length. */
export async function decodeBlob(plain: Buffer, rawLength: number, what: string): Promise<Buffer> {
  const data = await decodePayload(plain, what);
  if (data.length !== rawLength) {
    throw new FailsafeError('CORRUPT', `${what}: ${data.length} bytes after decoding, expected ${rawLength}`);
  }
  return data;
}

/** Sealed-file payloads: `codec || body`, compressed when it helps. */
export async function encodePayload(data: Uint8Array): Promise<Buffer> {
  const encoded = await encodeBlob(data);
  return Buffer.concat([Buffer.of(encoded.codec), encoded.body]);
}

export async function decodePayload(plain: Buffer, what: string): Promise<Buffer> {
  const codec = plain[0];
  if (codec === Codec.Stored) return plain.subarray(1);
  if (codec === Codec.Zstd) {
    try {
      return await zstd.decompress(plain.subarray(1));
    } catch (err) {
      throw new FailsafeError('CORRUPT', `${what}: zstd data does not decompress`, { cause: err });
    }
  }
  throw new FailsafeError('CORRUPT', `${what}: unknown codec ${String(codec)}`);
}

function toBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
