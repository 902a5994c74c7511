/**
 * A directory as an object store: keys are relative paths. Plain files have no content type or user
 * metadata, so those are empty when reading and dropped when writing.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { FailsafeError, isSystemError } from '../../core/errors.js';
import { assertSafeObjectKey, type ObjectEntry, type ObjectMeta, type ObjectStore } from './object-store.js';

export class DirectoryObjectStore implements ObjectStore {
  readonly location: string;
  readonly #root: string;

  constructor(root: string) {
    this.#root = resolve(root);
    this.location = this.#root;
  }

  async *list(prefix: string): AsyncIterable<ObjectEntry> {
    let entries;
    try {
      entries = await readdir(this.#root, { withFileTypes: true, recursive: true });
    } catch (err) {
      if (isSystemError(err, 'ENOENT')) throw new FailsafeError('NOT_FOUND', `no directory ${this.#root}`);
      throw err;
    }
    const files = entries
      .filter((entry) => entry.isFile())
      .map((entry) => relative(this.#root, join(entry.parentPath, entry.name)).split(sep).join('/'))
      .filter((key) => key.startsWith(prefix))
      .sort();
    for (const key of files) {
      const info = await stat(join(this.#root, key));
      yield { key, size: info.size, modified: info.mtime };
    }
  }

  async read(key: string): Promise<{ meta: ObjectMeta; body: AsyncIterable<Uint8Array> }> {
    const path = this.#path(key);
    try {
      await stat(path);
    } catch (err) {
      if (isSystemError(err, 'ENOENT')) throw new FailsafeError('NOT_FOUND', `no object ${key} in ${this.location}`);
      throw err;
    }
    return { meta: { contentType: undefined, metadata: {} }, body: createReadStream(path) };
  }

  async write(key: string, body: AsyncIterable<Uint8Array>, meta: ObjectMeta & { modified?: Date }): Promise<void> {
    const path = this.#path(key);
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.failsafe-${process.pid}.tmp`;
    const file = await open(temporary, 'w');
    try {
      for await (const chunk of body) await file.write(chunk);
      await file.sync();
    } catch (err) {
      await file.close();
      await rm(temporary, { force: true });
      throw err;
    }
    await file.close();
    await rename(temporary, path);
    if (meta.modified) await utimes(path, meta.modified, meta.modified);
  }

  async close(): Promise<void> {}

  #path(key: string): string {
    assertSafeObjectKey(key);
    const path = resolve(this.#root, key);
    if (!path.startsWith(this.#root + sep)) throw new FailsafeError('USAGE', `object key ${JSON.stringify(key)} leaves ${this.#root}`);
    return path;
  }
}
