import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailsafeError } from '../core/errors.js';
import { keysOf } from '../../test/storage-contract.js';
import { openStorage, parseStorageUrl, resolveS3Options } from './open-storage.js';

describe('parseStorageUrl', () => {
  it.each([
    ['s3://bucket/prefix/deeper', { kind: 's3', bucket: 'bucket', prefix: 'prefix/deeper' }],
    ['s3:bucket/prefix', { kind: 's3', bucket: 'bucket', prefix: 'prefix' }],
    ['S3://my.bucket-1/', { kind: 's3', bucket: 'my.bucket-1', prefix: '' }],
    ['s3://bucket', { kind: 's3', bucket: 'bucket', prefix: '' }],
    ['s3://bucket//a/b//', { kind: 's3', bucket: 'bucket', prefix: 'a/b' }],
    ['/srv/backup', { kind: 'fs', path: resolve('/srv/backup') }],
    ['relative/repo', { kind: 'fs', path: resolve('relative/repo') }],
    ['./name:with-colon', { kind: 'fs', path: resolve('./name:with-colon') }],
    ['  /trimmed  ', { kind: 'fs', path: resolve('/trimmed') }],
  ])('%s', (text, expected) => {
    expect(parseStorageUrl(text)).toEqual(expected);
  });

  const unsupported = ['https://example.com/repo', 'sftp:host:/srv', 'gs://bucket', 'file:///srv', 'backups:2024'];
  it.each(unsupported)(
    'rejects %s with the supported forms',
    (text) => {
      const parse = (): unknown => parseStorageUrl(text);
      expect(parse).toThrow(FailsafeError);
      expect(parse).toThrow(/s3:\/\/bucket\/prefix/);
      expect(parse).toThrow(/directory/);
      try {
        parse();
      } catch (err) {
        expect((err as FailsafeError).code).toBe('USAGE');
      }
    },
  );

  it.each(['', '   ', 's3://', 's3:///prefix', 's3://bad bucket/x', 's3://bucket/a/../b', 's3://bucket/./x'])(
    'rejects malformed %j',
    (text) => {
      expect(() => parseStorageUrl(text)).toThrow(expect.objectContaining({ code: 'USAGE' }));
    },
  );
});

describe('resolveS3Options', () => {
  const where = { bucket: 'b', prefix: 'p' };

  it('uses defaults without settings or environment', () => {
    expect(resolveS3Options(where, { env: {} })).toEqual({
      bucket: 'b',
      prefix: 'p',
      region: 'us-east-1',
      forcePathStyle: false,
      connections: 16,
    });
    expect(resolveS3Options(where, { env: {}, connections: 4 }).connections).toBe(4);
  });

  it('reads the standard AWS environment, service-specific endpoint first', () => {
    const env = {
      AWS_ENDPOINT_URL: 'http://generic:9000',
      AWS_ENDPOINT_URL_S3: 'http://s3-specific:9000',
      AWS_DEFAULT_REGION: 'eu-central-1',
      AWS_REGION: 'eu-west-1',
      AWS_PROFILE: 'backup',
    };
    expect(resolveS3Options(where, { env })).toMatchObject({
      endpoint: 'http://s3-specific:9000',
      region: 'eu-west-1',
      profile: 'backup',
      forcePathStyle: true,
    });
    const generic = { AWS_ENDPOINT_URL: 'https://generic', AWS_DEFAULT_REGION: 'eu-central-1' };
    expect(resolveS3Options(where, { env: generic })).toMatchObject({
      endpoint: 'https://generic',
      region: 'eu-central-1',
    });
    const emptyRegion = { AWS_REGION: '', AWS_DEFAULT_REGION: 'ap-south-1' };
    expect(resolveS3Options(where, { env: emptyRegion }).region).toBe('ap-south-1');
  });

  it('lets explicit settings win over the environment', () => {
    const env = {
      AWS_ENDPOINT_URL_S3: 'http://env:9000',
      AWS_REGION: 'eu-west-1',
      AWS_PROFILE: 'env',
      FAILSAFE_S3_PATH_STYLE: '1',
    };
    const settings = { endpoint: 'https://explicit', region: 'us-west-2', profile: 'explicit', forcePathStyle: false };
    expect(resolveS3Options(where, { s3: settings, env })).toMatchObject(settings);
  });

  it('decides path-style addressing from the option, FAILSAFE_S3_PATH_STYLE, then the endpoint', () => {
    const pathStyle = (options: Parameters<typeof resolveS3Options>[1]): boolean | undefined =>
      resolveS3Options(where, options).forcePathStyle;
    expect(pathStyle({ env: { FAILSAFE_S3_PATH_STYLE: '1' } })).toBe(true);
    expect(pathStyle({ env: { FAILSAFE_S3_PATH_STYLE: '0', AWS_ENDPOINT_URL: 'http://x' } })).toBe(false);
    expect(pathStyle({ s3: { endpoint: 'http://minio:9000' }, env: {} })).toBe(true);
    expect(pathStyle({ s3: { endpoint: 'http://minio:9000', forcePathStyle: false }, env: {} })).toBe(false);
    expect(pathStyle({ s3: { forcePathStyle: true }, env: {} })).toBe(true);
  });

  it('rejects an invalid endpoint or path-style flag as CONFIG', () => {
    const configError = expect.objectContaining({ code: 'CONFIG' });
    expect(() => resolveS3Options(where, { s3: { endpoint: 'minio:9000' }, env: {} })).toThrow(configError);
    expect(() => resolveS3Options(where, { env: { FAILSAFE_S3_PATH_STYLE: 'yes' } })).toThrow(configError);
  });
});

describe('openStorage', () => {
  let tempRoot: string;
  beforeAll(async () => {
    tempRoot = await mkdtemp(join(tmpdir(), 'failsafe-open-storage-'));
  });
  afterAll(async () => {
    await rm(tempRoot, { recursive: true, force: true });
  });

  it('opens a directory through the wrappers', async () => {
    const path = join(tempRoot, 'repo');
    const storage = await openStorage(path);
    try {
      expect(storage.location).toBe(path);
      await storage.put('config', Buffer.from('{}'));
      expect((await storage.get('config')).toString()).toBe('{}');
      expect(await keysOf(storage.list(''))).toEqual(['config']);
      await expect(storage.get('missing')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      await storage.close();
    }
  });

  it('opens an S3 location without contacting it, showing no credentials', async () => {
    const storage = await openStorage('s3:bucket/some/prefix', {
      env: {},
      s3: { credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'very-secret' } },
    });
    expect(storage.location).toBe('s3://bucket/some/prefix');
    await storage.close();
  });
});
