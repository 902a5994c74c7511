import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DirectoryObjectStore } from './directory-object-store.js';
import { assertSafeObjectKey } from './object-store.js';

async function* bytes(text: string): AsyncGenerator<Buffer> {
  yield Buffer.from(text);
}

describe('object keys', () => {
  it.each(['../escape', 'a/../../b', '/etc/passwd', 'a//b', './a', 'a/.', '', 'a\0b'])('refuses %j', (key) => {
    expect(() => assertSafeObjectKey(key)).toThrow(/not a plain relative path/);
  });

  it.each(['a', 'hotels/42/logo.png', 'a b/ü.txt', '..a/b..'])('accepts %j', (key) => {
    expect(() => assertSafeObjectKey(key)).not.toThrow();
  });

  it('a directory store never writes outside its root', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'failsafe-objects-'));
    try {
      const store = new DirectoryObjectStore(join(dir, 'root'));
      await expect(store.write('../outside.txt', bytes('x'), { contentType: undefined, metadata: {} })).rejects.toThrow(/not a plain relative path/);
      await store.write('in/side.txt', bytes('ok'), { contentType: undefined, metadata: {}, modified: new Date('2024-01-02T03:04:05Z') });
      expect(await readdir(dir)).toEqual(['root']);
      const listed = [];
      for await (const entry of store.list('')) listed.push(entry);
      expect(listed).toEqual([{ key: 'in/side.txt', size: 2, modified: new Date('2024-01-02T03:04:05Z') }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
