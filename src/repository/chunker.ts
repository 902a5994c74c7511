/**
 * Content-defined chunking: FastCDC (Xia et al., 2016/2020) with normalized chunking level 2 and a gear
 * table keyed by the repository's chunker secret.
 *
 * A boundary falls after the byte at which the rolling gear hash `h = (h << 1) + gear[byte]` (32 bits)
 * has all bits of a mask zero. The mask covers the *top* bits of `h` because bit k of a left-shifting
 * gear hash depends on the last k + 1 bytes only, so the top bits see a window of up to 32 bytes. The
 * first `minSize` bytes of a chunk are not hashed at all; from there to `avgSize` the mask has
 * log2(avgSize) + 2 bits (boundaries are rarer), after `avgSize` it has log2(avgSize) - 2 bits, and a
 * chunk is cut at `maxSize` if no boundary came first. On random input the mean chunk size is therefore
 * a little above `avgSize` (≈ 1.19 × avgSize when minSize = avgSize / 2, as with the defaults).
 *
 * Keying the gear table means the sizes of the chunks of a known file differ between repositories, so
 * someone who sees only stored sizes cannot tell whether a repository holds that file.
 */
import { hkdfSync } from 'node:crypto';
import { FailsafeError } from '../core/errors.js';

/** Chunk size limits, in bytes. Stored in the repository config; changing them breaks deduplication. */
export interface ChunkerParams {
  /** No chunk except the last one of a stream is shorter. */
  readonly minSize: number;
  /** A power of two; where the normalized chunking switches from the strict to the loose mask. */
  readonly avgSize: number;
  /** No chunk is longer. */
  readonly maxSize: number;
}

/** restic's sizes (min 512 KiB, average 1 MiB, max 8 MiB), so benchmarks compare like with like. */
export const DEFAULT_CHUNKER_PARAMS: ChunkerParams = Object.freeze({
  minSize: 512 * 1024,
  avgSize: 1024 * 1024,
  maxSize: 8 * 1024 * 1024,
});

/**
 * Sizes for database tables (COPY text in key order): a day's changes to a table touch a few places in
 * a long stream, and each touched place costs a whole chunk, so chunks of an eighth of the file size
 * keep the next day's added bytes near the share of rows that changed (9.4% → 4.7% of the first
 * backup in bench:postgres at scale 100, for 1% of the rows changed) for 8× the blobs per byte.
 */
export const DEFAULT_TABLE_CHUNKER_PARAMS: ChunkerParams = Object.freeze({
  minSize: 64 * 1024,
  avgSize: 128 * 1024,
  maxSize: 1024 * 1024,
});

/** What a chunker cuts: files, object bodies and other streams, or database tables. */
export type ContentKind = 'files' | 'tables';

/** Length in bytes of the repository's chunker secret. */
export const CHUNKER_SECRET_BYTES = 32;

const GEAR_INFO = 'failsafe/v1/chunker-gear';
const MIN_MIN_SIZE = 64;
const MIN_AVG_SIZE = 256;
const MAX_AVG_SIZE = 2 ** 27;
const MAX_MAX_SIZE = 2 ** 28;
const NORMALIZATION_LEVEL = 2;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Below this many bytes a push is hashed byte by byte: a word view would cost more than it saves. */
const WORD_SCAN_MIN_BYTES = 64;

/**
 * Derives the 256-entry gear table from the repository's 32-byte chunker secret (HKDF-SHA-256).
 *
 * @example
 * const gear = createGearTable(randomBytes(32));
 */
export function createGearTable(secret: Uint8Array): Uint32Array {
  if (secret.length !== CHUNKER_SECRET_BYTES) {
    throw new FailsafeError(
      'INTERNAL',
      `chunker secret must be ${CHUNKER_SECRET_BYTES} bytes, got ${secret.length}`,
    );
  }
  const bytes = new DataView(hkdfSync('sha256', secret, new Uint8Array(0), GEAR_INFO, 256 * 4));
  const gear = new Uint32Array(256);
  for (let i = 0; i < 256; i++) gear[i] = bytes.getUint32(i * 4, true);
  return gear;
}

/**
 * Checks chunker parameters and returns them frozen. Throws `CONFIG` unless they are integers with
 * 64 ≤ minSize < avgSize < maxSize ≤ 256 MiB and avgSize a power of two between 256 B and 128 MiB.
 *
 * @example
 * validateChunkerParams({ minSize: 2048, avgSize: 8192, maxSize: 65536 });
 */
export function validateChunkerParams(params: ChunkerParams): ChunkerParams {
  const { minSize, avgSize, maxSize } = params;
  const problem =
    ![minSize, avgSize, maxSize].every(Number.isSafeInteger)
      ? 'sizes must be integers'
      : minSize < MIN_MIN_SIZE
        ? `minSize must be at least ${MIN_MIN_SIZE}`
        : avgSize < MIN_AVG_SIZE || avgSize > MAX_AVG_SIZE || (avgSize & (avgSize - 1)) !== 0
          ? `avgSize must be a power of two between ${MIN_AVG_SIZE} and ${MAX_AVG_SIZE}`
          : !(minSize < avgSize && avgSize < maxSize)
            ? 'sizes must satisfy minSize < avgSize < maxSize'
            : maxSize > MAX_MAX_SIZE
              ? `maxSize must be at most ${MAX_MAX_SIZE}`
              : undefined;
  if (problem !== undefined) {
    throw new FailsafeError('CONFIG', `invalid chunker parameters ${JSON.stringify(params)}: ${problem}`, {
      hint: `the defaults are ${JSON.stringify(DEFAULT_CHUNKER_PARAMS)}`,
    });
  }
  return Object.freeze({ minSize, avgSize, maxSize });
}

/**
 * Splits a byte stream into content-defined chunks. Input may arrive in pieces of any size; the chunks
 * depend only on the concatenated bytes, never on how they were split. Every returned chunk is a fresh
 * buffer owned by the caller (the chunker keeps no reference to it and copies what it needs out of the
 * pushed data, so callers may reuse their read buffers). One chunker handles one stream at a time;
 * after {@link Chunker.finish} it is ready for the next one.
 *
 * @example
 * const chunker = new Chunker(createGearTable(secret));
 * for await (const piece of createReadStream(path)) for (const chunk of chunker.push(piece)) store(chunk);
 * const tail = chunker.finish();
 * if (tail) store(tail);
 */
export class Chunker {
  readonly params: ChunkerParams;
  readonly #gear: Int32Array;
  readonly #maskStrict: number;
  readonly #maskLoose: number;
  /** Bytes of the current chunk seen so far; equals `#pendingLength` between calls. */
  #position = 0;
  #hash = 0;
  /** The current chunk's bytes from earlier pushes; grows by doubling up to maxSize and is reused. */
  #pending = new Uint8Array(0);
  #pendingLength = 0;

  constructor(gear: Uint32Array, params: ChunkerParams = DEFAULT_CHUNKER_PARAMS) {
    if (gear.length !== 256) {
      throw new FailsafeError('INTERNAL', `gear table must have 256 entries, got ${gear.length}`);
    }
    this.params = validateChunkerParams(params);
    // Same bits, signed view: keeps the hot loop in int32 arithmetic.
    this.#gear = new Int32Array(gear);
    const bits = Math.log2(this.params.avgSize);
    this.#maskStrict = topBitsMask(bits + NORMALIZATION_LEVEL);
    this.#maskLoose = topBitsMask(bits - NORMALIZATION_LEVEL);
  }

  /** Feeds the next piece of the stream; returns the chunks it completed (often none). */
  push(data: Uint8Array): Buffer[] {
    const chunks: Buffer[] = [];
    const { minSize, avgSize, maxSize } = this.params;
    const scanner = createScanner(data);
    let start = 0;
    let i = 0;
    while (i < data.length) {
      const position = this.#position;
      if (position < minSize) {
        const skip = Math.min(minSize - position, data.length - i);
        this.#position += skip;
        i += skip;
        continue;
      }
      const strict = position < avgSize;
      const stop = Math.min(data.length, i + (strict ? avgSize : maxSize) - position);
      const cut = scanner(this.#gear, i, stop, strict ? this.#maskStrict : this.#maskLoose, this.#hash);
      this.#hash = scanState.hash;
      const end = cut >= 0 ? cut + 1 : stop;
      this.#position += end - i;
      i = end;
      if (cut >= 0 || this.#position === maxSize) {
        chunks.push(this.#takeChunk(data, start, end));
        start = end;
      }
    }
    if (start < data.length) this.#appendPending(data.subarray(start));
    return chunks;
  }

  /** Ends the stream: returns the last chunk (shorter than minSize is allowed), or undefined if empty. */
  finish(): Buffer | undefined {
    if (this.#pendingLength === 0) return undefined;
    const tail = Buffer.from(this.#pending.subarray(0, this.#pendingLength));
    this.#reset();
    return tail;
  }

  #takeChunk(data: Uint8Array, start: number, end: number): Buffer {
    const chunk = Buffer.allocUnsafe(this.#pendingLength + end - start);
    chunk.set(this.#pending.subarray(0, this.#pendingLength));
    chunk.set(data.subarray(start, end), this.#pendingLength);
    this.#reset();
    return chunk;
  }

  #appendPending(bytes: Uint8Array): void {
    const needed = this.#pendingLength + bytes.length;
    if (needed > this.#pending.length) {
      let capacity = Math.max(this.#pending.length, 4096);
      while (capacity < needed) capacity *= 2;
      const grown = new Uint8Array(Math.min(capacity, this.params.maxSize));
      grown.set(this.#pending.subarray(0, this.#pendingLength));
      this.#pending = grown;
    }
    this.#pending.set(bytes, this.#pendingLength);
    this.#pendingLength = needed;
  }

  #reset(): void {
    this.#position = 0;
    this.#hash = 0;
    this.#pendingLength = 0;
  }
}

/** The top `bits` bits of a 32-bit word, as an int32. */
function topBitsMask(bits: number): number {
  return (~0 << (32 - bits)) | 0;
}

/**
 * Scans `data[from, to)` for a boundary: returns the index of the byte after which to cut, or -1, and
 * leaves the hash after the last byte hashed in `scanState.hash`. A second return value through a module
 * variable avoids allocating a result object per call.
 */
type Scanner = (gear: Int32Array, from: number, to: number, mask: number, hash: number) => number;

const scanState = { hash: 0 };

function createScanner(input: Uint8Array): Scanner {
  // A plain Uint8Array view whatever the caller passed (Buffer, subclass): keeps the loops monomorphic.
  const data = new Uint8Array(input.buffer, input.byteOffset, input.length);
  if (!LITTLE_ENDIAN || data.length < WORD_SCAN_MIN_BYTES) {
    return (gear, from, to, mask, hash) => scanBytes(data, gear, from, to, mask, hash);
  }
  // Reading aligned 32-bit words and splitting them into bytes halves the loads of the byte loop.
  const head = (4 - (data.byteOffset & 3)) & 3;
  const words = new Uint32Array(data.buffer, data.byteOffset + head, (data.length - head) >>> 2);
  return (gear, from, to, mask, hash) => scanWords(data, words, head, gear, from, to, mask, hash);
}

function scanBytes(data: Uint8Array, gear: Int32Array, from: number, to: number, mask: number, hash: number): number {
  let h = hash;
  for (let i = from; i < to; i++) {
    h = ((h << 1) + gear[data[i]!]!) | 0;
    if ((h & mask) === 0) {
      scanState.hash = h;
      return i;
    }
  }
  scanState.hash = h;
  return -1;
}

/**
 * Like {@link scanBytes}; `words[k]` holds `data[head + 4k .. head + 4k + 3]` (little-endian). Eight
 * bytes per iteration from two word loads; FastCDC 2020's two-bytes-per-step hash (pre-shifted gear
 * table) measured slower than this under V8.
 */
function scanWords(
  data: Uint8Array,
  words: Uint32Array,
  head: number,
  gear: Int32Array,
  from: number,
  to: number,
  mask: number,
  hash: number,
): number {
  let i = from;
  const alignedFrom = from <= head ? head : head + ((from - head + 3) & ~3);
  if (alignedFrom + 8 > to) return scanBytes(data, gear, from, to, mask, hash);
  let h = hash;
  if (i < alignedFrom) {
    const cut = scanBytes(data, gear, i, alignedFrom, mask, h);
    if (cut >= 0) return cut;
    h = scanState.hash;
    i = alignedFrom;
  }
  // Induction over the word index only, and one exit for all eight positions: every distinct rare path
  // would otherwise deoptimize the loop once more when first taken.
  let w = (i - head) >>> 2;
  let k = -1;
  const pairsEnd = w + (((to - i) >>> 3) << 1);
  for (; w < pairsEnd; w += 2) {
    let x = words[w]!;
    h = ((h << 1) + gear[x & 255]!) | 0;
    if ((h & mask) === 0) {
      k = 0;
      break;
    }
    h = ((h << 1) + gear[(x >>> 8) & 255]!) | 0;
    if ((h & mask) === 0) {
      k = 1;
      break;
    }
    h = ((h << 1) + gear[(x >>> 16) & 255]!) | 0;
    if ((h & mask) === 0) {
      k = 2;
      break;
    }
    h = ((h << 1) + gear[x >>> 24]!) | 0;
    if ((h & mask) === 0) {
      k = 3;
      break;
    }
    x = words[w + 1]!;
    h = ((h << 1) + gear[x & 255]!) | 0;
    if ((h & mask) === 0) {
      k = 4;
      break;
    }
    h = ((h << 1) + gear[(x >>> 8) & 255]!) | 0;
    if ((h & mask) === 0) {
      k = 5;
      break;
    }
    h = ((h << 1) + gear[(x >>> 16) & 255]!) | 0;
    if ((h & mask) === 0) {
      k = 6;
      break;
    }
    h = ((h << 1) + gear[x >>> 24]!) | 0;
    if ((h & mask) === 0) {
      k = 7;
      break;
    }
  }
  if (k >= 0) {
    scanState.hash = h;
    return head + 4 * w + k;
  }
  return scanBytes(data, gear, head + 4 * w, to, mask, h);
}

/**
 * Runs every exit of the scan loops once on a tiny input. Otherwise the first large push has the
 * optimizing compiler build the loop on the stack before the exits after it were ever reached, and that
 * code deoptimizes again on every later cut for lack of type feedback.
 */
function warmUpScanners(): void {
  const gear = new Int32Array(256);
  for (let i = 0; i < 256; i++) gear[i] = Math.imul(i + 1, 0x9e3779b1);
  const data = new Uint8Array(WORD_SCAN_MIN_BYTES * 2);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 255;
  const scan = createScanner(data);
  for (let from = 0; from < 16; from++) {
    scan(gear, from, data.length, 0, 0);
    scan(gear, from, data.length, -1, 0);
  }
}

warmUpScanners();

