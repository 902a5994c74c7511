import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReadHandleCache } from './read-handle-cache.js';

describe('ReadHandleCache', () => {
  let dir: string;
  const files: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'failsafe-handles-'));
    for (let i = 0; i < 6; i++) {
      files.push(join(dir, `f${i}`));
      await writeFile(files[i]!, `content ${i}`);
    }
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const readAll = (cache: ReadHandleCache, path: string): Promise<string> =>
    cache.use(path, async (handle) => (await handle.readFile()).toString());

  it('reuses one handle for repeated reads of a file', async () => {
    const cache = new ReadHandleCache(2);
    const seen = new Set<number>();
    for (let i = 0; i < 3; i++) await cache.use(files[0]!, async (handle) => void seen.add(handle.fd));
    expect(seen.size).toBe(1);
    await cache.closeAll();
  });

  it('keeps at most `capacity` idle handles, closing the least recently used', async () => {
    const cache = new ReadHandleCache(2);
    const handles = [];
    for (const path of files.slice(0, 4)) handles.push(await cache.use(path, async (handle) => handle));
    // The two oldest were closed (fd -1), the two newest are open.
    expect(handles.map((handle) => handle.fd === -1)).toEqual([true, true, false, false]);
    await cache.closeAll();
    expect(handles.every((handle) => handle.fd === -1)).toBe(true);
  });

  it('never closes a handle while a read uses it, even when invalidated meanwhile', async () => {
    const cache = new ReadHandleCache(1);
    let release!: () => void;
    const blocker = new Promise<void>((resolve) => (release = resolve));
    const reading = cache.use(files[0]!, async (handle) => {
      await blocker;
      return (await handle.read(Buffer.alloc(9), 0, 9, 0)).buffer.toString();
    });
    await new Promise((resolve) => setImmediate(resolve));
    cache.invalidate(files[0]!);
    expect(await readAll(cache, files[1]!)).toBe('content 1');
    release();
    expect(await reading).toBe('content 0');
    await cache.closeAll();
  });

  it('does not cache a failed open', async () => {
    const cache = new ReadHandleCache();
    const missing = join(dir, 'missing');
    await expect(readAll(cache, missing)).rejects.toMatchObject({ code: 'ENOENT' });
    await writeFile(missing, 'now here');
    expect(await readAll(cache, missing)).toBe('now here');
    await cache.closeAll();
  });
});
