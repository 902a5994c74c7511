/**
 * A part of a multi-source snapshot: one directory of the snapshot tree written by one source (a
 * database, an object-store prefix), so a tenant's database and files land in one snapshot.
 */
import type { BlobWriter } from '../repository/blob-writer.js';
import type { ParallelChunker } from '../repository/parallel-chunker.js';
import type { Repository } from '../repository/repository.js';
import type { SnapshotTreeBuilder } from './snapshot-tree.js';

export interface SnapshotPartContext {
  readonly repo: Repository;
  readonly writer: BlobWriter;
  readonly chunker: ParallelChunker;
  readonly tree: SnapshotTreeBuilder;
  readonly signal: AbortSignal | undefined;
  /** Bytes stored, for progress. */
  onBytes(bytes: number): void;
}

export interface SnapshotPart {
  /** The top-level directory the part writes, e.g. `app-files`. */
  readonly name: string;
  write(context: SnapshotPartContext): Promise<void>;
}

/** One buffer as a content stream. */
export async function* once(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}
