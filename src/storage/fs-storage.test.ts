import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailsafeError } from '../core/errors.js';
import { collect, describeStorageContract, expectCode, keysOf } from '../../test/storage-contract.js';
import { trackLeaks, type LeakCheck } from '../../test/leak-check.js';
import { FsStorage, mapFsError } from './fs-storage.js';

let tempRoot: string;
let counter = 0;
let leaks: LeakCheck;

beforeAll(async () => {
  leaks = trackLeaks();
  tempRoot = await mkdtemp(join(tmpdir(), 'failsafe-fs-storage-'));
});

afterAll(async () => {
  await rm(tempRoot, { recursive: true, force: true });
  await leaks.assertNoLeaks();
});

/** A path inside the temp root that does not exist yet: FsStorage creates its root lazily. */
const freshRoot = (): string => join(tempRoot, `repo-${++counter}`);

describeStorageContract('FsStorage', async () => new FsStorage(freshRoot()));

describe('FsStorage specifics', () => {
  const runningAsRoot = process.getuid?.() === 0;

  it('keeps unfinished writes in .tmp/, never lists them and reserves the name', async () => {
    const root = freshRoot();
    const storage = new FsStorage(root);
    await storage.put('a/b', Buffer.from('x'));
    await mkdir(join(root, '.tmp'), { recursive: true });
    await writeFile(join(root, '.tmp', 'leftover-from-a-crash.tmp'), 'partial');
    expect(await keysOf(storage.list(''))).toEqual(['a/b']);
    expect(await keysOf(storage.list('.'))).toEqual([]);
    await expectCode(storage.put('.tmp/x', Buffer.from('x')), 'INTERNAL');
    await expectCode(storage.get('.tmp'), 'INTERNAL');
  });

  it('leaves no temporary file behind after successful puts', async () => {
    const root = freshRoot();
    const storage = new FsStorage(root);
    await Promise.all(Array.from({ length: 20 }, (_, i) => storage.put(`k/${i}`, Buffer.alloc(i * 100))));
    expect(await readdir(join(root, '.tmp'))).toEqual([]);
  });

  it('a put that fails leaves neither a partial object nor a temporary file', async () => {
    const root = freshRoot();
    const storage = new FsStorage(root);
    await storage.put('blocker', Buffer.from('a file where a directory is needed'));
    await mkdir(join(root, 'dir-in-the-way', 'child'), { recursive: true });

    const underFile = await expectCode(storage.put('blocker/child', Buffer.alloc(4096, 1)), 'IO');
    expect(underFile.message).toContain('blocker/child');
    const ontoDirectory = await expectCode(storage.put('dir-in-the-way', Buffer.alloc(4096, 2)), 'IO');
    expect(ontoDirectory.message).toContain('dir-in-the-way');

    expect(await readdir(join(root, '.tmp'))).toEqual([]);
    expect((await storage.get('blocker')).toString()).toBe('a file where a directory is needed');
    await expectCode(storage.get('blocker/child'), 'NOT_FOUND');
    await expectCode(storage.stat('blocker/child'), 'NOT_FOUND');
    await storage.delete(['blocker/child', 'dir-in-the-way']);
    expect(await keysOf(storage.list(''))).toEqual(['blocker']);
  });

  it('treats a key that names a directory as missing', async () => {
    const root = freshRoot();
    const storage = new FsStorage(root);
    await storage.put('index/one', Buffer.from('1'));
    await expectCode(storage.get('index'), 'NOT_FOUND');
    await expectCode(storage.stat('index'), 'NOT_FOUND');
    await expectCode(storage.getRange('index', 0, 1), 'NOT_FOUND');
  });

  it('creates the root and parent directories lazily', async () => {
    const root = join(freshRoot(), 'nested', 'deeper');
    const storage = new FsStorage(root);
    expect(await FsStorage.isAbsentOrEmpty(root)).toBe(true);
    expect(await keysOf(storage.list(''))).toEqual([]);
    await storage.put('x/y/z', Buffer.from('z'));
    expect((await stat(join(root, 'x', 'y', 'z'))).isFile()).toBe(true);
    expect(await FsStorage.isAbsentOrEmpty(root)).toBe(false);
    const empty = freshRoot();
    await mkdir(empty);
    expect(await FsStorage.isAbsentOrEmpty(empty)).toBe(true);
  });

  it('reports the resolved absolute root as location', () => {
    expect(new FsStorage('relative/repo').location).toBe(join(process.cwd(), 'relative', 'repo'));
  });

  it.skipIf(runningAsRoot)('maps a permission failure to PERMISSION with the key in the message', async () => {
    const root = freshRoot();
    const storage = new FsStorage(root);
    await storage.put('locked/file', Buffer.from('secret'));
    await chmod(join(root, 'locked'), 0o000);
    try {
      const err = await expectCode(storage.get('locked/file'), 'PERMISSION');
      expect(err.message).toContain('locked/file');
      expect(err.retryable).toBe(false);
      await expect(collect(storage.list('locked/'))).rejects.toMatchObject({ code: 'PERMISSION' });
    } finally {
      await chmod(join(root, 'locked'), 0o700);
    }
  });

  it('maps a refused write to PERMISSION, also as root (sysfs refuses everyone)', async () => {
    const storage = new FsStorage('/sys/failsafe-permission-test');
    const err = await expectCode(storage.put('config', Buffer.from('x')), 'PERMISSION');
    expect(err.message).toContain('config');
    expect(err.retryable).toBe(false);
  });

  it('maps system error codes to failsafe codes', () => {
    const systemError = (code: string): Error => Object.assign(new Error(`${code}: simulated, open '/x'`), { code });
    const cases: Array<[string, string, boolean]> = [
      ['ENOENT', 'NOT_FOUND', false],
      ['EISDIR', 'NOT_FOUND', false],
      ['ENOTDIR', 'NOT_FOUND', false],
      ['EACCES', 'PERMISSION', false],
      ['EPERM', 'PERMISSION', false],
      ['EMFILE', 'IO', true],
      ['ENFILE', 'IO', true],
      ['EAGAIN', 'IO', true],
      ['EBUSY', 'IO', true],
      ['ENOSPC', 'IO', false],
      ['EIO', 'IO', false],
    ];
    for (const [errno, code, retryable] of cases) {
      const mapped = mapFsError(systemError(errno), 'read', 'data/ab/cd', '/srv/repo');
      expect(mapped, errno).toBeInstanceOf(FailsafeError);
      expect([errno, mapped.code, mapped.retryable]).toEqual([errno, code, retryable]);
      expect(mapped.message).toContain('data/ab/cd');
      expect(mapped.cause).toBeInstanceOf(Error);
    }
    expect(mapFsError(systemError('ENOENT'), 'write', 'k', '/r').code).toBe('IO');
    expect(mapFsError(systemError('ENOSPC'), 'write', 'k', '/r').hint).toMatch(/free space/);
  });
});
