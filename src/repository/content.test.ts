import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/cli.js';
import { FsStorage } from '../storage/fs-storage.js';
import { parseStoredJson, readWholeContent, saveContent } from './content.js';
import { seal } from './crypto.js';
import { Repository } from './repository.js';

/** The weakest scrypt a key file accepts: fast enough for tests. */
const FAST_SCRYPT = { n: 2 ** 15, r: 8, p: 1 };

async function* once(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}

describe('readWholeContent', () => {
  it('returns the whole content of a file stored in several chunks', async () => {
    const dir = await tempDir();
    const storage = new FsStorage(join(dir.path, 'repo'));
    try {
      const repo = await Repository.init(storage, 'pw', { scrypt: FAST_SCRYPT });
      const bytes = randomBytes(repo.config.chunker.maxSize * 2 + 12_345);
      await repo.loadIndex();
      const writer = repo.newBlobWriter();
      const saved = await saveContent(repo, writer, once(bytes));
      await writer.flush();
      expect(saved.content.length).toBeGreaterThan(2);
      expect((await readWholeContent(repo, saved.content)).equals(bytes)).toBe(true);
      expect((await readWholeContent(repo, [])).length).toBe(0);
    } finally {
      await storage.close();
      await dir.remove();
    }
  });
});

describe('table chunk sizes', () => {
  it('cuts database tables finer than files; a repository created without table sizes cuts them like files', async () => {
    const dir = await tempDir();
    const storage = new FsStorage(join(dir.path, 'repo'));
    try {
      const repo = await Repository.init(storage, 'pw', { scrypt: FAST_SCRYPT });
      const bytes = randomBytes(4 * 1024 * 1024);
      const chunkCount = async (target: Repository, kind: 'files' | 'tables'): Promise<number> => {
        await target.loadIndex();
        const writer = target.newBlobWriter();
        const chunker = target.newParallelChunker(1, kind);
        try {
          const saved = await saveContent(target, writer, once(bytes), { chunker });
          await writer.flush();
          expect((await readWholeContent(target, saved.content)).equals(bytes)).toBe(true);
          return saved.content.length;
        } finally {
          await chunker.close();
        }
      };
      expect(await chunkCount(repo, 'files')).toBeLessThanOrEqual(8);
      expect(await chunkCount(repo, 'tables')).toBeGreaterThanOrEqual(16);

      const { tables: _, ...olderChunker } = repo.config.chunker;
      await storage.delete(['config']);
      await storage.put('config', seal(repo.keys, 'config', Buffer.from(JSON.stringify({ ...repo.config, chunker: olderChunker }))));
      const older = await Repository.open(storage, 'pw');
      expect(older.chunkerParams('tables')).toEqual(older.chunkerParams('files'));
      expect(await chunkCount(older, 'tables')).toBeLessThanOrEqual(8);
    } finally {
      await storage.close();
      await dir.remove();
    }
  });
});

describe('parseStoredJson', () => {
  it('parses JSON and calls anything else corrupt repository data, naming the file', () => {
    expect(parseStoredJson(Buffer.from('{"a":1}'), 'x/manifest.json')).toEqual({ a: 1 });
    expect(() => parseStoredJson(Buffer.from('{"a":'), 'snapshot 1a2b3c4d: app-db/schema.json')).toThrow(
      expect.objectContaining({ code: 'CORRUPT', message: 'snapshot 1a2b3c4d: app-db/schema.json is not JSON' }),
    );
  });
});
