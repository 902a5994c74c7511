/**
 * Backs up a byte stream (a database dump piped in, say) as a snapshot holding one file.
 */
import { hostname } from 'node:os';
import { FailsafeError } from '../../core/errors.js';
import type { ProgressListener } from '../../core/progress.js';
import { saveContent } from '../../repository/content.js';
import { BlobType } from '../../repository/pack.js';
import type { Repository } from '../../repository/repository.js';
import type { Snapshot } from '../../repository/snapshot.js';
import { encodeTree, isSafeNodeName } from '../../repository/tree.js';
import { commitSnapshot, resolveParent } from '../snapshot-session.js';

export interface StdinBackupOptions {
  /** File name the stream is stored under, e.g. `app.sql`. */
  readonly name: string;
  readonly input: AsyncIterable<Uint8Array>;
  readonly tags?: readonly string[];
  readonly host?: string;
  readonly time?: Date;
  readonly onProgress?: ProgressListener;
}

/**
 * @example await backupStdin(repo, { name: 'app.sql', input: process.stdin })
 */
export async function backupStdin(repo: Repository, options: StdinBackupOptions): Promise<Snapshot> {
  if (!isSafeNodeName(options.name)) {
    throw new FailsafeError('USAGE', `--stdin-name "${options.name}" must be a plain file name (no "/")`);
  }
  const start = new Date();
  return repo.withLock('shared', 'backup', async (lock) => {
    await repo.loadIndex();
    const host = options.host ?? hostname();
    const paths = [`/${options.name}`];
    const parent = await resolveParent(repo, 'auto', { hosts: [host], paths });
    const writer = repo.newBlobWriter();
    let bytesDone = 0;
    const chunker = repo.newParallelChunker(1);
    const { content, size } = await saveContent(repo, writer, options.input, {
      chunker,
      onBytes: (bytes) => {
        bytesDone += bytes;
        options.onProgress?.({ phase: 'backup', bytesDone, itemsDone: 0, itemUnit: 'files', current: options.name });
      },
    }).finally(() => chunker.close());
    const time = (options.time ?? start).toISOString();
    const { id: tree } = await writer.save(
      BlobType.Tree,
      encodeTree([
        {
          name: options.name,
          type: 'file',
          mode: 0o644,
          mtime: time,
          uid: process.getuid?.() ?? 0,
          gid: process.getgid?.() ?? 0,
          size,
          content,
        },
      ]),
    );
    return await commitSnapshot(repo, writer, lock, {
      time,
      host,
      source: { kind: 'stdin' },
      paths,
      tags: [...(options.tags ?? [])],
      tenant: null,
      tree: tree.toString('hex'),
      parent: parent?.id ?? null,
      counts: { files: 1, dirs: 0, bytes: size },
      start,
    });
  });
}
