/**
 * Deletion marks: the packs a prune took out of the index, with their index entries (so they can be
 * put back) and the shared locks that were live when the mark was written (the sessions that might
 * still use them). Binary layout in docs/repository-format.md.
 */
import { FailsafeError } from '../core/errors.js';
import { type IndexedPack, encodedPacksSize, readPacks, writePacks } from './index-file.js';

const MARK_MAGIC = Buffer.from('FSd1', 'latin1');

export interface DeletionMark {
  readonly created: Date;
  /** Ids of the shared locks live when the mark was written. */
  readonly liveLocks: readonly string[];
  readonly packs: readonly IndexedPack[];
}

export function encodeDeletionMark(mark: DeletionMark): Buffer {
  const lockIds = mark.liveLocks.map((id) => Buffer.from(id, 'utf8'));
  const size = MARK_MAGIC.length + 8 + 4 + lockIds.reduce((sum, id) => sum + 2 + id.length, 0) + 4 + encodedPacksSize(mark.packs);
  const out = Buffer.allocUnsafe(size);
  let pos = MARK_MAGIC.copy(out, 0);
  pos = out.writeBigUInt64LE(BigInt(mark.created.getTime()), pos);
  pos = out.writeUInt32LE(lockIds.length, pos);
  for (const id of lockIds) {
    pos = out.writeUInt16LE(id.length, pos);
    pos += id.copy(out, pos);
  }
  writePacks(out, pos, mark.packs);
  return out;
}

export function decodeDeletionMark(payload: Buffer, name: string): DeletionMark {
  if (!payload.subarray(0, MARK_MAGIC.length).equals(MARK_MAGIC)) {
    throw new FailsafeError('CORRUPT', `${name}: not a failsafe deletion mark (bad magic)`);
  }
  try {
    let pos = MARK_MAGIC.length;
    const created = new Date(Number(payload.readBigUInt64LE(pos)));
    pos += 8;
    const lockCount = payload.readUInt32LE(pos);
    pos += 4;
    const liveLocks: string[] = [];
    for (let i = 0; i < lockCount; i++) {
      const length = payload.readUInt16LE(pos);
      liveLocks.push(payload.toString('utf8', pos + 2, pos + 2 + length));
      pos += 2 + length;
    }
    const { packs } = readPacks(payload, pos, name);
    return { created, liveLocks, packs };
  } catch (err) {
    if (err instanceof FailsafeError) throw err;
    throw new FailsafeError('CORRUPT', `${name}: truncated deletion mark`, { cause: err });
  }
}
