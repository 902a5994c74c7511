/**
 * Index files: which pack holds which blob. Binary layout in docs/repository-format.md,
 * section "Index file payload".
 */
import { FailsafeError } from '../core/errors.js';
import { type PackedBlob, ENTRY_BYTES, decodeEntries, writeEntry } from './pack.js';

const INDEX_MAGIC = Buffer.from('FSi1', 'latin1');

/** One pack as the index describes it. */
export interface IndexedPack {
  /** Hex SHA-256 of the pack file. */
  readonly id: string;
  readonly salt: Buffer;
  readonly size: number;
  readonly blobs: readonly PackedBlob[];
}

export function encodeIndex(packs: readonly IndexedPack[]): Buffer {
  const out = Buffer.allocUnsafe(INDEX_MAGIC.length + 4 + encodedPacksSize(packs));
  INDEX_MAGIC.copy(out, 0);
  writePacks(out, INDEX_MAGIC.length, packs);
  return out;
}

export function decodeIndex(payload: Buffer, name: string): IndexedPack[] {
  if (!payload.subarray(0, INDEX_MAGIC.length).equals(INDEX_MAGIC)) {
    throw new FailsafeError('CORRUPT', `${name}: not a failsafe index (bad magic)`);
  }
  const { packs, end } = readPacks(payload, INDEX_MAGIC.length, name);
  if (end !== payload.length) throw new FailsafeError('CORRUPT', `${name}: trailing bytes after the index`);
  return packs;
}

/** Bytes `writePacks` needs, excluding the leading pack count. */
export function encodedPacksSize(packs: readonly IndexedPack[]): number {
  return packs.reduce((sum, pack) => sum + 32 + 32 + 4 + 4 + pack.blobs.length * ENTRY_BYTES, 0);
}

/** Writes `pack count || packs` at `pos`; returns the position after them. */
export function writePacks(out: Buffer, pos: number, packs: readonly IndexedPack[]): number {
  out.writeUInt32LE(packs.length, pos);
  pos += 4;
  for (const pack of packs) {
    out.write(pack.id, pos, 32, 'hex');
    pack.salt.copy(out, pos + 32);
    out.writeUInt32LE(pack.size, pos + 64);
    out.writeUInt32LE(pack.blobs.length, pos + 68);
    pos += 72;
    for (const blob of pack.blobs) pos = writeEntry(out, pos, blob);
  }
  return pos;
}

/** Reads `pack count || packs` at `pos`. Blob ids are views into `data`. */
export function readPacks(data: Buffer, pos: number, name: string): { packs: IndexedPack[]; end: number } {
  if (pos + 4 > data.length) throw new FailsafeError('CORRUPT', `${name}: truncated`);
  const count = data.readUInt32LE(pos);
  pos += 4;
  const packs: IndexedPack[] = [];
  for (let i = 0; i < count; i++) {
    if (pos + 68 > data.length) throw new FailsafeError('CORRUPT', `${name}: truncated`);
    const id = data.toString('hex', pos, pos + 32);
    const salt = Buffer.from(data.subarray(pos + 32, pos + 64));
    const size = data.readUInt32LE(pos + 64);
    const { entries, end } = decodeEntries(data, pos + 68, name);
    packs.push({ id, salt, size, blobs: entries });
    pos = end;
  }
  return { packs, end: pos };
}
