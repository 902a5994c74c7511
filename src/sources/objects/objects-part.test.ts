import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/cli.js';
import { saveContent } from '../../repository/content.js';
import { Repository } from '../../repository/repository.js';
import type { Snapshot } from '../../repository/snapshot.js';
import { FsStorage } from '../../storage/fs-storage.js';
import { once } from '../snapshot-part.js';
import { commitSnapshot } from '../snapshot-session.js';
import { SnapshotTreeBuilder } from '../snapshot-tree.js';
import { DirectoryObjectStore } from './directory-object-store.js';
import { restoreObjects } from './objects-part.js';

/** The weakest scrypt a key file accepts: fast enough for tests. */
const FAST_SCRYPT = { n: 2 ** 15, r: 8, p: 1 };

describe('restoreObjects', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  async function newRepository(): Promise<{ repo: Repository; dir: string }> {
    const dir = await tempDir();
    const storage = new FsStorage(join(dir.path, 'repo'));
    cleanups.push(async () => {
      await storage.close();
      await dir.remove();
    });
    return { repo: await Repository.init(storage, 'pw', { scrypt: FAST_SCRYPT }), dir: dir.path };
  }

  /** A snapshot of `files` (path → bytes), written as a snapshot part would write them. */
  async function snapshotOf(repo: Repository, files: Record<string, Buffer>): Promise<Snapshot> {
    return repo.withLock('shared', 'backup', async (lock) => {
      await repo.loadIndex();
      const start = new Date();
      const writer = repo.newBlobWriter();
      const tree = new SnapshotTreeBuilder(start.toISOString());
      for (const [path, bytes] of Object.entries(files)) tree.addFile(path, await saveContent(repo, writer, once(bytes)));
      const treeId = await tree.save(writer);
      return commitSnapshot(repo, writer, lock, {
        time: start.toISOString(),
        host: 'test',
        source: { kind: 'postgres', name: 'app-db' },
        paths: [],
        tags: [],
        tenant: null,
        tree: treeId,
        parent: null,
        counts: tree.counts,
        start,
      });
    });
  }

  it('refuses an objects manifest that is not JSON as corrupt data, naming the file', async () => {
    const { repo, dir } = await newRepository();
    const snapshot = await snapshotOf(repo, { 'app-files/manifest.json': Buffer.from('{"format": "failsafe-obj') });
    await expect(restoreObjects(repo, snapshot, new DirectoryObjectStore(join(dir, 'out')))).rejects.toMatchObject({
      name: 'FailsafeError',
      code: 'CORRUPT',
      message: `snapshot ${snapshot.id.slice(0, 8)}: app-files/manifest.json is not JSON`,
    });
  });

  it('skips a part whose manifest is JSON of another kind (a database)', async () => {
    const { repo, dir } = await newRepository();
    const snapshot = await snapshotOf(repo, { 'app-db/manifest.json': Buffer.from('{"format": "failsafe-postgres"}') });
    await expect(restoreObjects(repo, snapshot, new DirectoryObjectStore(join(dir, 'out')))).rejects.toMatchObject({
      code: 'USAGE',
      message: `snapshot ${snapshot.id.slice(0, 8)} holds no objects`,
    });
  });
});
