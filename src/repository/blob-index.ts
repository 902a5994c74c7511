/**
 * The in-memory blob index: blob id → where the blob is stored. Built from the repository's index
 * files; consulted for every chunk of a backup (is it stored already?) and every blob of a restore.
 *
 * Ten million blobs must fit comfortably in memory, so there is no object per blob: entries live in
 * typed arrays allocated in pages, and an open-addressing hash table of int32 slots maps ids to entry
 * numbers.
 */
import { FailsafeError } from '../core/errors.js';

/** Length in bytes of a blob id (HMAC-SHA-256 of the plaintext). */
export const BLOB_ID_BYTES = 32;

/** Where a blob is stored. All numbers are unsigned 32-bit integers. */
export interface BlobLocation {
  /** A `BlobType` from pack.ts, stored as a u8. */
  readonly type: number;
  /** Number of the pack in the caller's pack-id table. */
  readonly pack: number;
  /** Byte offset of the blob's record in the pack. */
  readonly offset: number;
  /** Stored bytes of the record (ciphertext and tag). */
  readonly length: number;
  /** Bytes of the original, uncompressed content. */
  readonly rawLength: number;
}

/** One entry of {@link BlobIndex.entries}; `id` is a copy the caller owns. */
export interface BlobIndexEntry extends BlobLocation {
  readonly id: Buffer;
}

/** id (32) + type (1) + pack, offset, length, raw length (4 × 4). */
const ENTRY_BYTES = BLOB_ID_BYTES + 1 + 16;
const PAGE_BITS = 16;
const PAGE_ENTRIES = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_ENTRIES - 1;
const MAX_LOAD = 0.7;
const MIN_TABLE_BITS = 4;
/** Entry numbers must fit the int32 slots (stored as number + 1); far beyond any real repository. */
const MAX_ENTRIES = 2 ** 30;

interface Page {
  readonly ids: Uint8Array;
  readonly types: Uint8Array;
  /** pack, offset, length, raw length of each entry, interleaved: a lookup reads them together. */
  readonly fields: Uint32Array;
}

/**
 * A map from 32-byte blob id to {@link BlobLocation} in typed arrays.
 *
 * Memory: 49 bytes per entry (id 32, type 1, four u32 fields 16), allocated in pages of 65,536 entries
 * (3.06 MiB, so at most one partly used page), plus a hash table of 4-byte slots kept between 35 % and
 * 70 % full, i.e. at most 4 / 0.35 ≈ 11.5 bytes per entry. In total **at most 60.5 bytes per blob plus
 * one page**: about 60 MB for a million blobs, under 600 MB for ten million. {@link byteLength} reports
 * the exact figure.
 *
 * Ids must be uniformly distributed (they are HMACs): the table is keyed by their first four bytes. The
 * index is keyed by id alone, so a data blob and a tree blob with identical plaintext share one entry;
 * the stored `type` is that of the copy added first. The first location added for an id wins.
 *
 * @example
 * const index = new BlobIndex();
 * index.add(id, { type: BlobType.Data, pack: 0, offset: 36, length: 1_000_016, rawLength: 1_048_576 });
 * index.get(id)?.pack; // 0
 */
export class BlobIndex {
  /** Bytes of entry storage per blob, not counting the hash table and the last page's free space. */
  static readonly ENTRY_BYTES = ENTRY_BYTES;
  /** Upper bound of {@link bytesPerBlob} once the index holds a few pages' worth of blobs. */
  static readonly MAX_BYTES_PER_BLOB = ENTRY_BYTES + 4 / (MAX_LOAD / 2);

  #pages: Page[] = [];
  #size = 0;
  /** Entry number + 1 per slot; 0 is an empty slot. */
  #table = new Int32Array(1 << MIN_TABLE_BITS);
  #shift = 32 - MIN_TABLE_BITS;

  /** Number of blobs in the index. */
  get size(): number {
    return this.#size;
  }

  /** Bytes held by the index's typed arrays (not counting the small JS objects around them). */
  get byteLength(): number {
    return this.#pages.length * PAGE_ENTRIES * ENTRY_BYTES + this.#table.byteLength;
  }

  /** {@link byteLength} divided by {@link size} (0 when empty). */
  get bytesPerBlob(): number {
    return this.#size === 0 ? 0 : this.byteLength / this.#size;
  }

  /**
   * Adds a blob; returns false (and changes nothing) if the id is present already.
   * Throws `INTERNAL` for an id that is not 32 bytes or a field out of range.
   */
  add(id: Uint8Array, location: BlobLocation): boolean {
    checkId(id);
    checkLocation(location);
    let slot = this.#slotOf(id);
    for (let value = this.#table[slot]!; value !== 0; value = this.#table[slot]!) {
      if (this.#idEquals(value - 1, id)) return false;
      slot = (slot + 1) & (this.#table.length - 1);
    }
    if (this.#size >= MAX_ENTRIES) throw new FailsafeError('INTERNAL', `blob index is full (${MAX_ENTRIES} blobs)`);
    const entry = this.#size++;
    this.#write(entry, id, location);
    this.#table[slot] = entry + 1;
    if (this.#size > this.#table.length * MAX_LOAD) this.#rebuildTable(this.#table.length * 2);
    return true;
  }

  /** The location of a blob, or undefined. */
  get(id: Uint8Array): BlobLocation | undefined {
    const entry = this.#find(id);
    if (entry < 0) return undefined;
    const page = this.#pages[entry >>> PAGE_BITS]!;
    const at = (entry & PAGE_MASK) * 4;
    return {
      type: page.types[entry & PAGE_MASK]!,
      pack: page.fields[at]!,
      offset: page.fields[at + 1]!,
      length: page.fields[at + 2]!,
      rawLength: page.fields[at + 3]!,
    };
  }

  has(id: Uint8Array): boolean {
    return this.#find(id) >= 0;
  }

  /** Every entry, in insertion order (compacted by {@link deletePacks}). Do not modify while iterating. */
  *entries(): IterableIterator<BlobIndexEntry> {
    for (let entry = 0; entry < this.#size; entry++) {
      const page = this.#pages[entry >>> PAGE_BITS]!;
      const i = entry & PAGE_MASK;
      yield {
        id: Buffer.from(page.ids.subarray(i * BLOB_ID_BYTES, (i + 1) * BLOB_ID_BYTES)),
        type: page.types[i]!,
        pack: page.fields[i * 4]!,
        offset: page.fields[i * 4 + 1]!,
        length: page.fields[i * 4 + 2]!,
        rawLength: page.fields[i * 4 + 3]!,
      };
    }
  }

  /**
   * Removes every blob stored in a pack for which `shouldDelete(pack)` is true (called once per entry);
   * returns how many were removed. Compacts the entries in place and rebuilds the hash table.
   *
   * @example
   * index.deletePacks((pack) => doomed.has(pack));
   */
  deletePacks(shouldDelete: (pack: number) => boolean): number {
    let kept = 0;
    for (let entry = 0; entry < this.#size; entry++) {
      const page = this.#pages[entry >>> PAGE_BITS]!;
      const i = entry & PAGE_MASK;
      if (shouldDelete(page.fields[i * 4]!)) continue;
      if (kept !== entry) this.#move(entry, kept);
      kept++;
    }
    const removed = this.#size - kept;
    if (removed === 0) return 0;
    this.#size = kept;
    this.#pages.length = Math.ceil(kept / PAGE_ENTRIES);
    let tableSize = 1 << MIN_TABLE_BITS;
    while (kept > tableSize * MAX_LOAD) tableSize *= 2;
    this.#rebuildTable(tableSize);
    return removed;
  }

  /** The entry number of `id`, or -1. */
  #find(id: Uint8Array): number {
    checkId(id);
    const mask = this.#table.length - 1;
    let slot = this.#slotOf(id);
    for (let value = this.#table[slot]!; value !== 0; value = this.#table[slot]!) {
      if (this.#idEquals(value - 1, id)) return value - 1;
      slot = (slot + 1) & mask;
    }
    return -1;
  }

  #slotOf(id: Uint8Array): number {
    return homeSlot(id, 0, this.#shift);
  }

  #idEquals(entry: number, id: Uint8Array): boolean {
    const ids = this.#pages[entry >>> PAGE_BITS]!.ids;
    const base = (entry & PAGE_MASK) * BLOB_ID_BYTES;
    for (let k = 0; k < BLOB_ID_BYTES; k++) if (ids[base + k] !== id[k]) return false;
    return true;
  }

  #write(entry: number, id: Uint8Array, location: BlobLocation): void {
    const pageNumber = entry >>> PAGE_BITS;
    if (pageNumber === this.#pages.length) this.#pages.push(newPage());
    const page = this.#pages[pageNumber]!;
    const i = entry & PAGE_MASK;
    page.ids.set(id, i * BLOB_ID_BYTES);
    page.types[i] = location.type;
    page.fields[i * 4] = location.pack;
    page.fields[i * 4 + 1] = location.offset;
    page.fields[i * 4 + 2] = location.length;
    page.fields[i * 4 + 3] = location.rawLength;
  }

  #move(from: number, to: number): void {
    const source = this.#pages[from >>> PAGE_BITS]!;
    const target = this.#pages[to >>> PAGE_BITS]!;
    const i = from & PAGE_MASK;
    const j = to & PAGE_MASK;
    // Element loops rather than set(subarray(...)): no view objects for each of millions of moves.
    for (let k = 0; k < BLOB_ID_BYTES; k++) target.ids[j * BLOB_ID_BYTES + k] = source.ids[i * BLOB_ID_BYTES + k]!;
    target.types[j] = source.types[i]!;
    for (let k = 0; k < 4; k++) target.fields[j * 4 + k] = source.fields[i * 4 + k]!;
  }

  /** Replaces the table by one of `size` slots (a power of two) holding every entry. */
  #rebuildTable(size: number): void {
    const table = new Int32Array(size);
    const mask = size - 1;
    this.#table = table;
    this.#shift = 32 - Math.log2(size);
    for (let entry = 0; entry < this.#size; entry++) {
      const page = this.#pages[entry >>> PAGE_BITS]!;
      let slot = homeSlot(page.ids, (entry & PAGE_MASK) * BLOB_ID_BYTES, this.#shift);
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = entry + 1;
    }
  }
}

/** Lower-case hex of a blob id. @example idToHex(id) === 'a3f0…' (64 characters) */
export function idToHex(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.length).toString('hex');
}

/** Parses a 64-character hex blob id; throws `USAGE` otherwise. @example hexToId('a3f0…').length === 32 */
export function hexToId(hex: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new FailsafeError('USAGE', `invalid blob id "${hex}": expected ${BLOB_ID_BYTES * 2} hex digits`);
  }
  return Buffer.from(hex, 'hex');
}

/** Home slot of the id at `bytes[at..]`: its first four bytes, spread by a multiplicative hash. */
function homeSlot(bytes: Uint8Array, at: number, shift: number): number {
  const key = bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24);
  return Math.imul(key, 0x9e3779b1) >>> shift;
}

function newPage(): Page {
  return {
    ids: new Uint8Array(PAGE_ENTRIES * BLOB_ID_BYTES),
    types: new Uint8Array(PAGE_ENTRIES),
    fields: new Uint32Array(PAGE_ENTRIES * 4),
  };
}

function checkId(id: Uint8Array): void {
  if (id.length !== BLOB_ID_BYTES) {
    throw new FailsafeError('INTERNAL', `blob id must be ${BLOB_ID_BYTES} bytes, got ${id.length}`);
  }
}

function checkLocation(location: BlobLocation): void {
  const { type, pack, offset, length, rawLength } = location;
  const ok =
    Number.isInteger(type) &&
    type >= 0 &&
    type <= 255 &&
    isUint32(pack) &&
    isUint32(offset) &&
    isUint32(length) &&
    isUint32(rawLength);
  if (!ok) throw new FailsafeError('INTERNAL', `invalid blob location ${JSON.stringify(location)}`);
}

function isUint32(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}
