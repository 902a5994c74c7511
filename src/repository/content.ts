/**
 * File content ⇄ data blobs: `saveContent` chunks a byte stream and stores new chunks; `readContent`
 * streams the chunks of a content list back in order with a bounded read-ahead window, and
 * `readWholeContent` collects them into one buffer (for small files such as manifests). Every source
 * (files, stdin, database tables) goes through these functions.
 */
import { FailsafeError } from '../core/errors.js';
import type { BlobWriter } from './blob-writer.js';
import { computeBlobId } from './crypto.js';
import { BlobType } from './pack.js';
import type { ContentSource, HashedChunk, ParallelChunker } from './parallel-chunker.js';
import type { Repository } from './repository.js';

export interface SavedContent {
  /** Data blob ids (hex), in order. */
  readonly content: string[];
  readonly size: number;
}

export interface SaveContentOptions {
  /** Chunk and hash on worker threads; without it, on this thread. */
  readonly chunker?: ParallelChunker;
  readonly onBytes?: (bytes: number) => void;
}

/**
 * Chunks `source` and hands every chunk to `writer`.
 *
 * @example const { content, size } = await saveContent(repo, writer, fs.createReadStream(path))
 */
export async function saveContent(
  repo: Repository,
  writer: BlobWriter,
  source: ContentSource,
  options: SaveContentOptions = {},
): Promise<SavedContent> {
  const content: string[] = [];
  let size = 0;
  const chunks = options.chunker ? options.chunker.chunk(source) : chunkHere(repo, source);
  for await (const { id, data } of chunks) {
    content.push(id.toString('hex'));
    size += data.length;
    await writer.save(BlobType.Data, data, id);
    options.onBytes?.(data.length);
  }
  return { content, size };
}

const READ_BYTES = 8 * 1024 * 1024;

/** The single-threaded path: chunk and hash on the calling thread. */
async function* chunkHere(repo: Repository, source: ContentSource): AsyncGenerator<HashedChunk> {
  const chunker = repo.newChunker();
  const hashed = (data: Buffer): HashedChunk => ({ id: computeBlobId(repo.keys, data), data });
  if (typeof source === 'function') {
    // The chunker copies what it keeps, so one read buffer serves the whole stream.
    const buffer = Buffer.allocUnsafe(READ_BYTES);
    for (let length = await source(buffer); length > 0; length = await source(buffer)) {
      for (const chunk of chunker.push(buffer.subarray(0, length))) yield hashed(chunk);
    }
  } else {
    for await (const piece of source) for (const chunk of chunker.push(piece)) yield hashed(chunk);
  }
  const tail = chunker.finish();
  if (tail && tail.length > 0) yield hashed(tail);
}

export interface ReadContentOptions {
  /** Blobs read ahead. Default 8. */
  readonly window?: number;
  /** Recompute each blob's id (see {@link Repository.loadBlob}). Default true. */
  readonly verifyIds?: boolean;
}

/**
 * Yields the chunks of `content` in order, reading ahead.
 *
 * @example for await (const chunk of readContent(repo, node.content)) await file.write(chunk)
 */
export async function* readContent(
  repo: Repository,
  content: readonly string[],
  options: ReadContentOptions = {},
): AsyncGenerator<Buffer, void, undefined> {
  const window = options.window ?? 8;
  const verifyId = options.verifyIds ?? true;
  const ahead: Promise<Buffer>[] = [];
  let next = 0;
  const fill = (): void => {
    while (ahead.length < window && next < content.length) {
      const promise = repo.loadBlob(Buffer.from(content[next++]!, 'hex'), { verifyId });
      promise.catch(() => undefined); // surfaced when awaited below, in order
      ahead.push(promise);
    }
  };
  fill();
  while (ahead.length > 0) {
    const chunk = await ahead.shift()!;
    fill();
    yield chunk;
  }
}

/**
 * The whole content of a stored file in one buffer, every blob's id checked: for manifests and other
 * small files read before a restore starts. Stream large files with {@link readContent} instead.
 *
 * @example const manifest = parseStoredJson(await readWholeContent(repo, node.content ?? []), 'app-db/manifest.json')
 */
export async function readWholeContent(repo: Repository, content: readonly string[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of readContent(repo, content)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** A stored file's bytes as JSON; bytes that do not parse are corrupt repository data (`where` names the file). */
export function parseStoredJson(bytes: Buffer, where: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new FailsafeError('CORRUPT', `${where} is not JSON`, { cause: err });
  }
}
