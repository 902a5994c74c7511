/**
 * Objects in a snapshot: `<name>/objects/<key>` holds each object's bytes (deduplicated like any file)
 * and `<name>/manifest.json` its key, size, mtime, content type and user metadata.
 */
import { z } from 'zod';
import { forEachConcurrently } from '../../core/concurrently.js';
import { FailsafeError, withContext } from '../../core/errors.js';
import { Semaphore } from '../../core/semaphore.js';
import { parseStoredJson, readContent, readWholeContent, saveContent } from '../../repository/content.js';
import type { Repository } from '../../repository/repository.js';
import type { Snapshot } from '../../repository/snapshot.js';
import type { TreeNode } from '../../repository/tree.js';
import { walkTree } from '../../repository/tree-walk.js';
import { once, type SnapshotPart, type SnapshotPartContext } from '../snapshot-part.js';
import { assertSafeObjectKey, type ObjectStore } from './object-store.js';

/** Objects read (backup) or written (restore) at once. */
const OBJECTS_AT_ONCE = 8;

const manifestSchema = z.object({
  format: z.literal('failsafe-objects'),
  version: z.number().int().min(1),
  location: z.string(),
  prefix: z.string(),
  objects: z.array(
    z.object({
      key: z.string(),
      size: z.number().int().nonnegative(),
      modified: z.string(),
      contentType: z.string().optional(),
      metadata: z.record(z.string(), z.string()),
    }),
  ),
});

export type ObjectsManifest = z.infer<typeof manifestSchema>;

/**
 * Every object under `prefix` of `store`, as a snapshot part named `name`.
 *
 * @example objectsPart(store, 'app-files', 'hotels/42/')
 */
export function objectsPart(store: ObjectStore, name: string, prefix: string): SnapshotPart {
  return {
    name,
    async write(context: SnapshotPartContext): Promise<void> {
      const manifest: ObjectsManifest = { format: 'failsafe-objects', version: 1, location: store.location, prefix, objects: [] };
      // Objects are read OBJECTS_AT_ONCE at a time: an object store answers each read after a round trip.
      const slots = new Semaphore(OBJECTS_AT_ONCE);
      const reads: Promise<void>[] = [];
      let failure: unknown;
      for await (const entry of store.list(prefix)) {
        context.signal?.throwIfAborted();
        if (failure !== undefined) break;
        try {
          assertSafeObjectKey(entry.key);
        } catch (err) {
          throw withContext(`objects ${store.location}`, err);
        }
        const release = await slots.acquire();
        const read = (async () => {
          const { meta, body } = await store.read(entry.key);
          const saved = await saveContent(context.repo, context.writer, body, { chunker: context.chunker, onBytes: (n) => context.onBytes(n) });
          context.tree.addFile(`${name}/objects/${entry.key}`, saved);
          manifest.objects.push({
            key: entry.key,
            size: saved.size,
            modified: entry.modified.toISOString(),
            ...(meta.contentType ? { contentType: meta.contentType } : {}),
            metadata: { ...meta.metadata },
          });
        })()
          .catch((err: unknown) => {
            failure ??= withContext(`object ${entry.key}`, err);
          })
          .finally(release);
        reads.push(read);
      }
      await Promise.all(reads);
      if (failure !== undefined) throw failure;
      manifest.objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      const bytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
      context.tree.addFile(`${name}/manifest.json`, await saveContent(context.repo, context.writer, once(bytes)));
    },
  };
}

export interface ObjectsRestoreResult {
  readonly objects: number;
  readonly bytes: number;
}

/**
 * Writes a snapshot's objects into `store` under their original keys, with their content type and
 * metadata (a directory keeps only the bytes and mtime).
 */
export async function restoreObjects(repo: Repository, snapshot: Snapshot, store: ObjectStore, options: { onBytes?: (n: number) => void; signal?: AbortSignal } = {}): Promise<ObjectsRestoreResult> {
  return repo.withLock('shared', 'restore', async () => {
    await repo.loadIndex();
    const files = new Map<string, TreeNode>();
    for await (const { path, node } of walkTree(repo, snapshot.tree)) if (node.type === 'file') files.set(path, node);
    const parts = [...files.keys()].filter((path) => /^\/[^/]+\/manifest\.json$/.test(path));
    let restored = 0;
    let bytes = 0;
    let found = false;
    for (const manifestPath of parts) {
      const raw = await readWholeContent(repo, files.get(manifestPath)!.content ?? []);
      const parsed = manifestSchema.safeParse(parseStoredJson(raw, `snapshot ${snapshot.id.slice(0, 8)}: ${manifestPath.slice(1)}`));
      if (!parsed.success) continue; // another kind of part (a database)
      found = true;
      const root = manifestPath.slice(0, -'manifest.json'.length);
      // Every object is checked before the first is written.
      const queue = parsed.data.objects.map((object) => {
        assertSafeObjectKey(object.key);
        const node = files.get(`${root}objects/${object.key}`);
        if (!node?.content) throw new FailsafeError('CORRUPT', `snapshot ${snapshot.id.slice(0, 8)} lists object ${object.key} but does not hold it`);
        return { object, content: node.content };
      });
      // Written OBJECTS_AT_ONCE at a time, for the same round trips as the reads; the first failure stops
      // the rest and is reported once every writer has stopped, so none is left writing after the lock is released.
      await forEachConcurrently(queue, OBJECTS_AT_ONCE, async ({ object, content }) => {
        options.signal?.throwIfAborted();
        await store.write(object.key, readContent(repo, content, { verifyIds: false }), {
          contentType: object.contentType,
          metadata: object.metadata,
          modified: new Date(object.modified),
        });
        restored++;
        bytes += object.size;
        options.onBytes?.(object.size);
      });
    }
    if (!found) throw new FailsafeError('USAGE', `snapshot ${snapshot.id.slice(0, 8)} holds no objects`);
    return { objects: restored, bytes };
  });
}
