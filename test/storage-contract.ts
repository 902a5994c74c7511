/**
 * The one test suite every {@link Storage} backend must pass. Each backend's test file calls
 * {@link describeStorageContract} with a factory for a fresh, empty storage.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { FailsafeError } from '../src/core/errors.js';
import type { ObjectInfo, Storage } from '../src/storage/storage.js';

/**
 * Registers the shared contract tests. `factory` must return a new, empty storage on every call; the
 * suite closes it after each test.
 *
 * @example describeStorageContract('FsStorage', async () => new FsStorage(await freshTempDir()))
 */
export interface ContractOptions {
  /**
   * Objects written by the pagination test. Default 1003, just over S3's 1000-key page; a backend
   * configured with a smaller page size can use fewer to stay fast.
   */
  readonly paginationKeys?: number;
}

export function describeStorageContract(
  name: string,
  factory: () => Promise<Storage>,
  options: ContractOptions = {},
): void {
  describe(`Storage contract: ${name}`, () => {
    const opened: Storage[] = [];
    const open = async (): Promise<Storage> => {
      const storage = await factory();
      opened.push(storage);
      return storage;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((storage) => storage.close()));
    });

    it('round-trips objects of 0 bytes, 1 byte and several MiB', async () => {
      const storage = await open();
      const objects = new Map([
        ['empty', Buffer.alloc(0)],
        ['one', Buffer.from([0x7f])],
        // Above 5 MiB so a backend with a small multipart threshold uploads it in several parts.
        ['big/several-mib', randomBytes(6 * 1024 * 1024 + 17)],
      ]);
      for (const [key, data] of objects) await storage.put(key, data);
      for (const [key, data] of objects) {
        const read = await storage.get(key);
        expect(Buffer.isBuffer(read)).toBe(true);
        expect(read.equals(data), key).toBe(true);
        expect((await storage.stat(key)).size).toBe(data.length);
      }
    });

    it('stores a list of pieces as their concatenation', async () => {
      const storage = await open();
      // Many pieces (more than one writev batch), some empty, one large.
      const pieces = [
        Buffer.alloc(0),
        ...Array.from({ length: 1500 }, (_, i) => Buffer.from(`piece-${i};`)),
        randomBytes(3 * 1024 * 1024),
        Buffer.alloc(0),
      ];
      await storage.put('pieces', pieces);
      expect((await storage.get('pieces')).equals(Buffer.concat(pieces))).toBe(true);
    });

    it('overwrites an object with different bytes and accepts the same bytes twice', async () => {
      const storage = await open();
      await storage.put('k', Buffer.from('first version'));
      await storage.put('k', Buffer.from('second'));
      expect((await storage.get('k')).toString()).toBe('second');
      await storage.put('k', Buffer.from('second'));
      expect((await storage.get('k')).toString()).toBe('second');
      expect((await storage.stat('k')).size).toBe(6);
      expect(await keysOf(storage.list(''))).toEqual(['k']);
    });

    it('reads ranges at the start, middle and end, and zero-length ranges', async () => {
      const storage = await open();
      const data = randomBytes(10_000);
      await storage.put('packs/p1', data);
      expect((await storage.getRange('packs/p1', 0, 100)).equals(data.subarray(0, 100))).toBe(true);
      expect((await storage.getRange('packs/p1', 4321, 1234)).equals(data.subarray(4321, 5555))).toBe(true);
      expect((await storage.getRange('packs/p1', 9_990, 10)).equals(data.subarray(9_990))).toBe(true);
      expect((await storage.getRange('packs/p1', 0, 10_000)).equals(data)).toBe(true);
      expect((await storage.getRange('packs/p1', 10_000, 0)).length).toBe(0);
      expect((await storage.getRange('packs/p1', 5, 0)).length).toBe(0);
    });

    it('reads a range into a buffer the caller offers, or into one of its own', async () => {
      const storage = await open();
      const data = randomBytes(10_000);
      await storage.put('packs/p1', data);
      const offered = Buffer.alloc(4096, 0xee);
      const range = await storage.getRange('packs/p1', 4321, 1234, offered);
      expect(range.equals(data.subarray(4321, 5555))).toBe(true);
      if (range.buffer === offered.buffer) expect(range.byteOffset).toBe(offered.byteOffset);
      expect((await storage.getRange('packs/p1', 0, 5000, offered)).equals(data.subarray(0, 5000))).toBe(true);
    });

    it('reports a range beyond the end of the object as CORRUPT', async () => {
      const storage = await open();
      await storage.put('short', Buffer.from('0123456789'));
      await expectCode(storage.getRange('short', 5, 6), 'CORRUPT');
      await expectCode(storage.getRange('short', 10, 1), 'CORRUPT');
      await expectCode(storage.getRange('short', 50, 3), 'CORRUPT');
      await storage.put('empty', Buffer.alloc(0));
      await expectCode(storage.getRange('empty', 0, 1), 'CORRUPT');
      await expectCode(storage.getRange('empty', 1, 0), 'CORRUPT');
    });

    it('stats size and a plausible modification time', async () => {
      const storage = await open();
      const before = Date.now();
      await storage.put('dir/file', Buffer.alloc(1234, 1));
      const info = await storage.stat('dir/file');
      expect(info.key).toBe('dir/file');
      expect(info.size).toBe(1234);
      expect(info.modified).toBeInstanceOf(Date);
      // Servers keep whole seconds and clocks differ slightly; only nonsense (epoch, far future) fails.
      expect(Math.abs(info.modified.getTime() - before)).toBeLessThan(5 * 60_000);
    });

    it('answers NOT_FOUND for get, getRange and stat of a missing key', async () => {
      const storage = await open();
      await storage.put('present/a', Buffer.from('a'));
      for (const key of ['missing', 'present/b', 'present', 'nothing/here/at/all']) {
        await expectCode(storage.get(key), 'NOT_FOUND');
        await expectCode(storage.getRange(key, 0, 1), 'NOT_FOUND');
        await expectCode(storage.getRange(key, 0, 0), 'NOT_FOUND');
        await expectCode(storage.stat(key), 'NOT_FOUND');
      }
    });

    it('lists by prefix: nested keys, partial segments, empty results', async () => {
      const storage = await open();
      const keys = ['config', 'data/3f/3f01', 'data/3f/3f02', 'data/40/4001', 'index/i1', 'index-old', 'snapshots/s1'];
      await Promise.all(keys.map((key, i) => storage.put(key, Buffer.alloc(i, i))));
      expect(await keysOf(storage.list(''))).toEqual([...keys].sort());
      expect(await keysOf(storage.list('data/'))).toEqual(['data/3f/3f01', 'data/3f/3f02', 'data/40/4001']);
      expect(await keysOf(storage.list('data/3'))).toEqual(['data/3f/3f01', 'data/3f/3f02']);
      expect(await keysOf(storage.list('data/3f/3f02'))).toEqual(['data/3f/3f02']);
      expect(await keysOf(storage.list('index'))).toEqual(['index-old', 'index/i1']);
      expect(await keysOf(storage.list('index/'))).toEqual(['index/i1']);
      expect(await keysOf(storage.list('locks/'))).toEqual([]);
      expect(await keysOf(storage.list('data/5'))).toEqual([]);
      const infos = await collect(storage.list('data/40/'));
      expect(infos).toHaveLength(1);
      expect(infos[0]!.size).toBe(3);
      expect(infos[0]!.modified).toBeInstanceOf(Date);
    });

    it(`lists ${options.paginationKeys ?? 1003} objects (pagination) without duplicates`, async () => {
      const storage = await open();
      const count = options.paginationKeys ?? 1003;
      const keys = Array.from({ length: count }, (_, i) => `many/${String(i).padStart(4, '0')}`);
      await runLimited(keys, 16, (key) => storage.put(key, Buffer.from(key)));
      await storage.put('other/x', Buffer.from('x'));
      const listed = await keysOf(storage.list('many/'));
      expect(listed).toHaveLength(keys.length);
      expect(listed).toEqual(keys);
    });

    it('deletes existing and missing keys, idempotently', async () => {
      const storage = await open();
      await Promise.all(['a', 'b/1', 'b/2', 'c'].map((key) => storage.put(key, Buffer.from(key))));
      await storage.delete(['a', 'b/1', 'never-existed', 'b/nope']);
      await expectCode(storage.get('a'), 'NOT_FOUND');
      await expectCode(storage.stat('b/1'), 'NOT_FOUND');
      expect(await keysOf(storage.list(''))).toEqual(['b/2', 'c']);
      await storage.delete(['a', 'b/1']);
      await storage.delete([]);
      expect(await keysOf(storage.list(''))).toEqual(['b/2', 'c']);
      await storage.delete(['b/2', 'c']);
      expect(await keysOf(storage.list(''))).toEqual([]);
      await storage.put('a', Buffer.from('again'));
      expect((await storage.get('a')).toString()).toBe('again');
    });

    it('handles concurrent puts of different keys', async () => {
      const storage = await open();
      const objects = Array.from({ length: 40 }, (_, i) => [`c/${i % 5}/${i}`, randomBytes(1000 + i * 97)] as const);
      await Promise.all(objects.map(([key, data]) => storage.put(key, data)));
      const read = await Promise.all(objects.map(([key]) => storage.get(key)));
      objects.forEach(([key, data], i) => expect(read[i]!.equals(data), key).toBe(true));
      expect(await keysOf(storage.list('c/'))).toHaveLength(objects.length);
    });

    it('supports unusual but valid characters in keys', async () => {
      const storage = await open();
      const keys = [
        'odd/sp ace',
        'odd/plus+sign',
        'odd/eq=ual&amp',
        'odd/pct%20x%2F',
        'odd/tilde~hash#',
        "odd/at@,;'()!$*",
        'odd/unicodé/ключ/日本語',
        'odd/.hidden/..dots.',
        'odd/-_.~',
      ];
      for (const key of keys) await storage.put(key, Buffer.from(key));
      for (const key of keys) {
        expect((await storage.get(key)).toString(), key).toBe(key);
        expect((await storage.stat(key)).size, key).toBe(Buffer.byteLength(key));
      }
      expect(await keysOf(storage.list('odd/'))).toEqual([...keys].sort());
      await storage.delete(keys);
      expect(await keysOf(storage.list('odd/'))).toEqual([]);
    });

    it('rejects malformed keys', async () => {
      const storage = await open();
      for (const key of ['', '/abs', 'a//b', 'a/', '../x', 'a/../b', 'a/./b', '.', 'a\\b']) {
        await expectCode(storage.put(key, Buffer.from('x')), 'INTERNAL');
        await expectCode(storage.get(key), 'INTERNAL');
      }
      await expect(collect(storage.list('/abs'))).rejects.toMatchObject({ code: 'INTERNAL' });
      await expect(collect(storage.list('../'))).rejects.toMatchObject({ code: 'INTERNAL' });
    });

    it('has a location without credentials', async () => {
      const storage = await open();
      expect(storage.location).toBeTypeOf('string');
      expect(storage.location.length).toBeGreaterThan(0);
      expect(storage.location).not.toMatch(/@|secret|password/i);
    });
  });
}

/** All items of an async iterable. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const result: T[] = [];
  for await (const item of items) result.push(item);
  return result;
}

/** The sorted keys of a listing. */
export async function keysOf(listing: AsyncIterable<ObjectInfo>): Promise<string[]> {
  return (await collect(listing)).map((info) => info.key).sort();
}

/** Expects `promise` to reject with a {@link FailsafeError} of `code`; returns that error. */
export async function expectCode(promise: Promise<unknown>, code: string): Promise<FailsafeError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected a ${code} error`).toBeInstanceOf(FailsafeError);
  expect((err as FailsafeError).code).toBe(code);
  return err as FailsafeError;
}

/** Runs `task` for every item with at most `limit` in flight. */
export async function runLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
