import { createServer, type Server, type Socket } from 'node:net';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailsafeError } from '../core/errors.js';
import { collect, describeStorageContract, expectCode, keysOf } from '../../test/storage-contract.js';
import { trackLeaks, type LeakCheck } from '../../test/leak-check.js';
import { startFaultProxy } from '../../test/fault-proxy.js';
import { startS3Server, type S3Server } from '../../test/s3-server.js';
import { classifyS3Error } from './s3-errors.js';
import { S3Storage, type S3StorageOptions } from './s3-storage.js';

const MiB = 1024 * 1024;
let server: S3Server;
let admin: S3Client;
let leaks: LeakCheck;
let counter = 0;

beforeAll(async () => {
  leaks = trackLeaks();
  server = await startS3Server({ buckets: ['shared'] });
  admin = new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
});

afterAll(async () => {
  admin?.destroy();
  await server?.stop();
  await leaks?.assertNoLeaks();
});

function storageOn(options: Partial<S3StorageOptions> & { bucket: string }): S3Storage {
  return new S3Storage({
    endpoint: server.endpoint,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    ...options,
  });
}

describeStorageContract('S3Storage, bucket root', async () => {
  const bucket = `root-${++counter}`;
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  return storageOn({ bucket });
});

describeStorageContract(
  'S3Storage, prefix, multipart uploads, small list pages',
  async () =>
    storageOn({
      bucket: 'shared',
      prefix: `/repos/t${++counter}/`,
      multipartThreshold: MiB,
      partSize: 5 * MiB,
      listPageSize: 37,
    }),
  { paginationKeys: 120 },
);

describe('S3Storage specifics', () => {
  it('uploads large objects in parts and reads ranges across part boundaries', async () => {
    // A proxy without faults records the requests, to see that the parts really went separately.
    const recorder = await startFaultProxy({ target: server.endpoint, failureRate: 0, seed: 1 });
    const storage = storageOn({
      bucket: 'shared',
      prefix: 'multipart',
      endpoint: recorder.endpoint,
      multipartThreshold: MiB,
      partSize: 5 * MiB,
    });
    try {
      const data = Buffer.alloc(11 * MiB + 5);
      for (let i = 0; i + 4 <= data.length; i += 4) data.writeUInt32LE(i, i);
      await storage.put('packs/big', data);
      const parts = recorder.stats.log.filter(({ method, url }) => method === 'PUT' && /[?&]partNumber=/.test(url));
      expect(parts).toHaveLength(3);
      expect(recorder.stats.log.filter(({ url }) => /[?&]uploads/.test(url))).toHaveLength(1);
      await storage.put('packs/small', data.subarray(0, MiB));
      expect(recorder.stats.log.filter(({ url }) => /[?&]partNumber=/.test(url))).toHaveLength(3);
      expect((await storage.get('packs/big')).equals(data)).toBe(true);
      const across = await storage.getRange('packs/big', 5 * MiB - 10, 20);
      expect(across.equals(data.subarray(5 * MiB - 10, 5 * MiB + 10))).toBe(true);
      expect(await collect(storage.list('packs/big'))).toMatchObject([{ key: 'packs/big', size: data.length }]);
    } finally {
      await storage.close();
      await recorder.stop();
    }
  });

  it('reports its location as s3://bucket/prefix without credentials', async () => {
    const storage = storageOn({ bucket: 'shared', prefix: '/a/b/' });
    expect(storage.location).toBe('s3://shared/a/b');
    await storage.close();
    const root = storageOn({ bucket: 'shared' });
    expect(root.location).toBe('s3://shared');
    await root.close();
  });

  it('keeps objects of different prefixes apart', async () => {
    const one = storageOn({ bucket: 'shared', prefix: 'apart/one' });
    const other = storageOn({ bucket: 'shared', prefix: 'apart/one-more' });
    try {
      await one.put('k', Buffer.from('1'));
      await other.put('k', Buffer.from('2'));
      expect(await keysOf(one.list(''))).toEqual(['k']);
      expect((await other.get('k')).toString()).toBe('2');
    } finally {
      await Promise.all([one.close(), other.close()]);
    }
  });

  it('maps a wrong secret key or an unknown access key to PERMISSION with a credentials hint', async () => {
    const good = storageOn({ bucket: 'shared', prefix: 'perm' });
    await good.put('k', Buffer.from('x'));
    await good.close();
    for (const credentials of [
      { accessKeyId: server.accessKeyId, secretAccessKey: 'wrong-secret' },
      { accessKeyId: 'NOBODY', secretAccessKey: server.secretAccessKey },
    ]) {
      const storage = storageOn({ bucket: 'shared', prefix: 'perm', credentials });
      try {
        const attempts = [
          () => storage.get('k'),
          () => storage.put('k2', Buffer.from('y')),
          () => collect(storage.list('')),
        ];
        for (const attempt of attempts) {
          const err = await expectCode(attempt(), 'PERMISSION');
          expect(err.retryable).toBe(false);
          expect(err.hint).toMatch(/AWS_ACCESS_KEY_ID/);
          expect(err.message).toContain('s3://shared/perm');
          expect(err.message).not.toContain('wrong-secret');
        }
      } finally {
        await storage.close();
      }
    }
  });

  it('names the bucket when it does not exist', async () => {
    const storage = storageOn({ bucket: 'no-such-bucket', prefix: 'x' });
    try {
      const attempts = [
        () => storage.get('config'),
        () => collect(storage.list('')),
        () => storage.put('k', Buffer.from('k')),
      ];
      for (const attempt of attempts) {
        const err = await expectCode(attempt(), 'NOT_FOUND');
        expect(err.message).toContain('bucket "no-such-bucket" does not exist');
        expect(err.hint).toMatch(/create the bucket/);
      }
    } finally {
      await storage.close();
    }
  });

  it('reports an endpoint that refuses connections as retryable UNAVAILABLE', async () => {
    const port = await unusedPort();
    const storage = storageOn({ bucket: 'shared', endpoint: `http://127.0.0.1:${port}`, connectTimeoutMs: 500 });
    try {
      const attempts = [() => storage.get('config'), () => storage.put('k', Buffer.from('k')), () => storage.stat('k')];
      for (const attempt of attempts) {
        const err = await expectCode(attempt(), 'UNAVAILABLE');
        expect(err.retryable).toBe(true);
      }
    } finally {
      await storage.close();
    }
  });

  it('reports a server that never answers as retryable UNAVAILABLE after the request timeout', async () => {
    const silent = await startSilentServer();
    const timeouts = { requestTimeoutMs: 300, idleTimeoutMs: 300 };
    const storage = storageOn({ bucket: 'shared', endpoint: silent.endpoint, ...timeouts });
    try {
      const err = await expectCode(storage.get('config'), 'UNAVAILABLE');
      expect(err.retryable).toBe(true);
      expect(err.message).toMatch(/time/i);
    } finally {
      await storage.close();
      await silent.stop();
    }
  });

  it('rejects a part size below the S3 minimum', () => {
    expect(() => storageOn({ bucket: 'shared', partSize: MiB })).toThrow(/at least 5 MiB/);
  });
});

describe('classifyS3Error', () => {
  const context = { operation: 'get', key: 'data/ab', bucket: 'b', location: 's3://b/p' };
  const serviceError = (name: string, status?: number): Error =>
    Object.assign(new Error(`${name} happened`), {
      name,
      ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }),
    });
  const systemError = (code: string, message = `${code} happened`): Error =>
    Object.assign(new Error(message), { code });

  it.each([
    [serviceError('NoSuchKey', 404), 'NOT_FOUND', false],
    [serviceError('NotFound', 404), 'NOT_FOUND', false],
    [serviceError('UnknownError', 404), 'NOT_FOUND', false],
    [serviceError('NoSuchBucket', 404), 'NOT_FOUND', false],
    [serviceError('AccessDenied', 403), 'PERMISSION', false],
    [serviceError('InvalidAccessKeyId', 403), 'PERMISSION', false],
    [serviceError('SignatureDoesNotMatch', 403), 'PERMISSION', false],
    [serviceError('CredentialsProviderError'), 'PERMISSION', false],
    [serviceError('PermanentRedirect', 301), 'CONFIG', false],
    [serviceError('SlowDown', 503), 'UNAVAILABLE', true],
    [serviceError('ServiceUnavailable', 503), 'UNAVAILABLE', true],
    [serviceError('InternalError', 500), 'UNAVAILABLE', true],
    [serviceError('RequestTimeout', 400), 'UNAVAILABLE', true],
    [serviceError('TooManyRequests', 429), 'UNAVAILABLE', true],
    [serviceError('Unknown', 502), 'UNAVAILABLE', true],
    [serviceError('NotImplemented', 501), 'UNAVAILABLE', false],
    [serviceError('InvalidArgument', 400), 'UNAVAILABLE', false],
    [serviceError('TimeoutError'), 'UNAVAILABLE', true],
    [systemError('ECONNRESET'), 'UNAVAILABLE', true],
    [systemError('ECONNREFUSED'), 'UNAVAILABLE', true],
    [systemError('EPIPE'), 'UNAVAILABLE', true],
    [systemError('ETIMEDOUT'), 'UNAVAILABLE', true],
    [new Error('socket hang up'), 'UNAVAILABLE', true],
    [new Error('aborted'), 'UNAVAILABLE', true],
    [systemError('ENOTFOUND'), 'UNAVAILABLE', false],
    [new TypeError('x is not a function'), 'INTERNAL', false],
  ])('%s → %s (retryable: %s)', (err, code, retryable) => {
    const mapped = classifyS3Error(err, context);
    expect(mapped).toBeInstanceOf(FailsafeError);
    expect([mapped.code, mapped.retryable]).toEqual([code, retryable]);
    expect((mapped.cause as Error).message).toBe(err.message);
    if (code !== 'NOT_FOUND') expect(mapped.message).toContain('get data/ab in s3://b/p');
  });
});

async function unusedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** A TCP server that accepts connections and never answers. */
async function startSilentServer(): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const silent: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.resume();
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    },
  };
}
