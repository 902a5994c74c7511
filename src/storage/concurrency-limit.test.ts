import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keysOf } from '../../test/storage-contract.js';
import { withConcurrencyLimit } from './concurrency-limit.js';
import { FsStorage } from './fs-storage.js';
import { withRetry } from './retry.js';
import type { Storage } from './storage.js';

let tempRoot: string;
let counter = 0;

beforeAll(async () => {
  tempRoot = await mkdtemp(join(tmpdir(), 'failsafe-concurrency-'));
});

afterAll(async () => {
  await rm(tempRoot, { recursive: true, force: true });
});

/** A real directory storage that records how many of its calls overlap; each call lingers a little. */
function measured(): { storage: Storage; maxInFlight: () => number } {
  const inner = new FsStorage(join(tempRoot, `repo-${++counter}`));
  let inFlight = 0;
  let max = 0;
  const track = async <T>(action: () => Promise<T>): Promise<T> => {
    max = Math.max(max, ++inFlight);
    try {
      await sleep(2);
      return await action();
    } finally {
      inFlight--;
    }
  };
  const storage: Storage = {
    location: inner.location,
    put: (key, data) => track(() => inner.put(key, data)),
    get: (key) => track(() => inner.get(key)),
    getRange: (key, offset, length) => track(() => inner.getRange(key, offset, length)),
    stat: (key) => track(() => inner.stat(key)),
    async *list(prefix) {
      max = Math.max(max, ++inFlight);
      try {
        yield* inner.list(prefix);
      } finally {
        inFlight--;
      }
    },
    delete: (keys) => track(() => inner.delete(keys)),
    close: () => inner.close(),
  };
  return { storage, maxInFlight: () => max };
}

describe('withConcurrencyLimit', () => {
  it('never runs more than the limit at once, and uses all of it', async () => {
    const { storage, maxInFlight } = measured();
    const limited = withConcurrencyLimit(storage, 3);
    await Promise.all(Array.from({ length: 30 }, (_, i) => limited.put(`k/${i}`, Buffer.from(String(i)))));
    const values = await Promise.all(Array.from({ length: 30 }, (_, i) => limited.get(`k/${i}`)));
    expect(values.map(String)).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
    await Promise.all([
      limited.stat('k/1'),
      limited.getRange('k/2', 0, 1),
      limited.delete(['k/3']),
      keysOf(limited.list('k/')),
    ]);
    expect(maxInFlight()).toBe(3);
  });

  it('releases slots after failures', async () => {
    const { storage } = measured();
    const limited = withConcurrencyLimit(storage, 1);
    for (let i = 0; i < 5; i++) await expect(limited.get('missing')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await limited.put('present', Buffer.from('x'));
    expect((await limited.get('present')).toString()).toBe('x');
  });

  it('holds one slot for a whole listing, released when the caller stops early', async () => {
    const { storage } = measured();
    const limited = withConcurrencyLimit(storage, 1);
    await Promise.all(['a', 'b', 'c'].map((key) => limited.put(key, Buffer.from(key))));
    let getFinished = false;
    let pending: Promise<Buffer> | undefined;
    for await (const info of limited.list('')) {
      pending ??= limited.get(info.key).finally(() => (getFinished = true));
      await sleep(20);
      expect(getFinished, 'the get waits while the listing is open').toBe(false);
      break;
    }
    expect((await pending!).length).toBe(1);
  });

  it('does not deadlock when the retry wrapper is outside, as openStorage composes them', async () => {
    const { storage } = measured();
    const composed = withRetry(withConcurrencyLimit(storage, 1));
    await Promise.all(['a', 'b', 'c'].map((key) => composed.put(key, Buffer.from(key))));
    const seen: string[] = [];
    for await (const info of composed.list('')) seen.push((await composed.get(info.key)).toString());
    expect(seen.sort()).toEqual(['a', 'b', 'c']);
  });

  it('rejects a limit below 1', () => {
    const { storage } = measured();
    expect(() => withConcurrencyLimit(storage, 0)).toThrow(/positive integer/);
  });
});
