/**
 * File content ⇄ data blobs: `saveContent` chunks a byte stream and stores new chunks; `readContent`
 * streams the chunks of a content list back in order with a bounded read-ahead window. Every source
 * (files, stdin, database tables) goes through these two functions.
 */
import { BlobWriter } from './blob-writer.js';
import { computeBlobId } from './crypto.js';
import { BlobType } from './pack.js';
import type { Repository } from './repository.js';

export interface SavedContent {
  /** Data blob ids (hex), in order. */
  readonly content: string[];
  readonly size: number;
}

/**
 * Chunks `source` and hands every chunk to `writer`.
 *
 * @example const { content, size } = await saveContent(repo, writer, fs.createReadStream(path))
 */
export async function saveContent(
  repo: Repository,
  writer: BlobWriter,
  source: AsyncIterable<Uint8Array>,
  onBytes?: (bytes: number) => void,
): Promise<SavedContent> {
  const chunker = repo.newChunker();
  const content: string[] = [];
  let size = 0;
  const store = async (chunk: Buffer): Promise<void> => {
    const id = computeBlobId(repo.keys, chunk);
    content.push(id.toString('hex'));
    await writer.save(BlobType.Data, chunk, id);
  };
  for await (const piece of source) {
    size += piece.length;
    for (const chunk of chunker.push(piece)) await store(chunk);
    onBytes?.(piece.length);
  }
  const tail = chunker.finish();
  if (tail && tail.length > 0) await store(tail);
  return { content, size };
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
