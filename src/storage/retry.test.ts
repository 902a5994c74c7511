import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailsafeError } from '../core/errors.js';
import { FAULT_KINDS, mulberry32, startFaultProxy, type FaultProxy } from '../../test/fault-proxy.js';
import { trackLeaks, type LeakCheck } from '../../test/leak-check.js';
import { startS3Server, type S3Server } from '../../test/s3-server.js';
import { collect, expectCode, keysOf } from '../../test/storage-contract.js';
import { openStorage, type OpenStorageOptions } from './open-storage.js';
import { withRetry, type RetryEvent } from './retry.js';
import type { ObjectInfo, Storage } from './storage.js';

const MiB = 1024 * 1024;

describe('withRetry backoff', () => {
  const transient = (): FailsafeError => new FailsafeError('UNAVAILABLE', 'connection reset', { retryable: true });

  /** A storage whose `get` fails with the queued errors first, then answers. Counts calls. */
  function flakyStorage(errors: unknown[]): Storage & { calls: number } {
    const storage = {
      location: 'memory://flaky',
      calls: 0,
      async get(key: string) {
        storage.calls++;
        const err = errors.shift();
        if (err !== undefined) throw err;
        return Buffer.from(`value of ${key}`);
      },
      put: () => Promise.reject(new Error('unused')),
      getRange: () => Promise.reject(new Error('unused')),
      stat: () => Promise.reject(new Error('unused')),
      list: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('unused')) }) }),
      delete: () => Promise.reject(new Error('unused')),
      close: async () => undefined,
    };
    return storage;
  }

  it('retries retryable errors until the operation succeeds, reporting each retry', async () => {
    const inner = flakyStorage([transient(), transient(), transient()]);
    const events: RetryEvent[] = [];
    const storage = withRetry(inner, { baseDelayMs: 1, maxDelayMs: 4, onRetry: (event) => events.push(event) });
    expect((await storage.get('k')).toString()).toBe('value of k');
    expect(inner.calls).toBe(4);
    expect(events.map((event) => [event.operation, event.subject, event.attempt, event.attempts])).toEqual([
      ['get', 'k', 1, 8],
      ['get', 'k', 2, 8],
      ['get', 'k', 3, 8],
    ]);
    expect(events.every((event) => event.error.retryable)).toBe(true);
  });

  it('uses full jitter: delays between 0 and min(max, base * 2^(attempt-1))', async () => {
    for (const [random, expected] of [
      [() => 0.999_999, [2, 4, 8, 10, 10]],
      [() => 0, [0, 0, 0, 0, 0]],
      [() => 0.5, [1, 2, 4, 5, 5]],
    ] as const) {
      const delays: number[] = [];
      const storage = withRetry(flakyStorage(Array.from({ length: 5 }, transient)), {
        baseDelayMs: 2,
        maxDelayMs: 10,
        random,
        onRetry: (event) => delays.push(event.delayMs),
      });
      await storage.get('k');
      expect(delays).toEqual(expected);
    }
  });

  it('gives up after the configured attempts with the last error, code and retryability kept', async () => {
    const inner = flakyStorage(Array.from({ length: 10 }, transient));
    const storage = withRetry(inner, { attempts: 3, baseDelayMs: 1 });
    const err = await expectCode(storage.get('k'), 'UNAVAILABLE');
    expect(inner.calls).toBe(3);
    expect(err.message).toBe('gave up after 3 attempts: connection reset');
    expect(err.retryable).toBe(true);
  });

  it('does not retry permanent errors or foreign exceptions', async () => {
    for (const error of [
      new FailsafeError('NOT_FOUND', 'object k not found'),
      new FailsafeError('PERMISSION', 'access denied'),
      new FailsafeError('CORRUPT', 'short object'),
      new TypeError('a bug'),
    ]) {
      const inner = flakyStorage([error]);
      await expect(withRetry(inner, { baseDelayMs: 1 }).get('k')).rejects.toBe(error);
      expect(inner.calls).toBe(1);
    }
  });

  it('stops sleeping when the signal aborts and does not start once aborted', { timeout: 10_000 }, async () => {
    const controller = new AbortController();
    const inner = flakyStorage([transient(), transient()]);
    const storage = withRetry(inner, {
      baseDelayMs: 600_000,
      maxDelayMs: 600_000,
      maxElapsedMs: Number.POSITIVE_INFINITY,
      random: () => 1,
      signal: controller.signal,
      onRetry: () => setImmediate(() => controller.abort(new Error('SIGINT'))),
    });
    const err = await expectCode(storage.get('k'), 'ABORTED');
    expect(inner.calls).toBe(1);
    expect((err.cause as Error).message).toBe('SIGINT');
    await expectCode(storage.get('k'), 'ABORTED');
    expect(inner.calls).toBe(1);
  });

  it('starts no attempt after maxElapsedMs, whatever attempts are left', async () => {
    const inner = flakyStorage([transient(), transient(), transient(), transient()]);
    const storage = withRetry(inner, { attempts: 100, baseDelayMs: 40, maxDelayMs: 40, maxElapsedMs: 100, random: () => 1 });
    const err = await expectCode(storage.get('k'), 'UNAVAILABLE');
    expect(err.message).toMatch(/^gave up after \d attempts in \d+ s/);
    expect(inner.calls).toBeLessThan(4);
  });

  it('restarts a failed listing without yielding any object twice', async () => {
    let listings = 0;
    const items = ['a', 'b', 'c', 'd'].map((key): ObjectInfo => ({ key, size: 1, modified: new Date(0) }));
    const inner: Storage = {
      ...flakyStorage([]),
      async *list() {
        listings++;
        for (const [i, item] of items.entries()) {
          if (listings <= 2 && i === listings) throw transient();
          yield item;
        }
      },
    };
    const storage = withRetry(inner, { baseDelayMs: 1 });
    expect((await collect(storage.list(''))).map((info) => info.key)).toEqual(['a', 'b', 'c', 'd']);
    expect(listings).toBe(3);
  });
});

describe('withRetry over an S3 server behind a fault-injecting proxy', () => {
  let server: S3Server;
  let proxy: FaultProxy;
  let leaks: LeakCheck;

  beforeAll(async () => {
    leaks = trackLeaks();
    server = await startS3Server({ buckets: ['retry'] });
    proxy = await startFaultProxy({ target: server.endpoint, failureRate: 0.1, seed: 20240611 });
  });

  afterAll(async () => {
    await proxy?.stop();
    await server?.stop();
    await leaks?.assertNoLeaks();
  });

  const storageVia = (endpoint: string, prefix: string, retry: OpenStorageOptions['retry']): Promise<Storage> =>
    openStorage(`s3://retry/${prefix}`, {
      env: {},
      connections: 8,
      retry,
      s3: {
        endpoint,
        credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
        multipartThreshold: 5 * MiB,
        partSize: 5 * MiB,
        requestTimeoutMs: 20_000,
      },
    });

  it('performs a few hundred mixed operations correctly at 10% injected failures', async () => {
    const retries: RetryEvent[] = [];
    const storage = await storageVia(proxy.endpoint, 'workload', {
      attempts: 12,
      baseDelayMs: 2,
      maxDelayMs: 50,
      onRetry: (event) => retries.push(event),
    });
    const before = proxy.stats.requests;
    let model: Map<string, Buffer>;
    try {
      model = await runWorkload(storage, { workers: 4, operationsPerWorker: 80, seed: 99 });
    } finally {
      await storage.close();
    }

    const injected = FAULT_KINDS.reduce((sum, kind) => sum + proxy.stats.faults[kind], 0);
    expect(proxy.stats.requests - before).toBeGreaterThan(320);
    expect(injected).toBeGreaterThan(15);
    for (const kind of FAULT_KINDS) expect(proxy.stats.faults[kind], kind).toBeGreaterThan(0);
    expect(proxy.stats.log.some(({ url }) => /[?&]partNumber=/.test(url)), 'multipart uploads ran').toBe(true);
    expect(retries.length).toBeGreaterThan(0);
    expect(new Set(retries.map((event) => event.operation)).size).toBeGreaterThan(2);

    // What the server holds, read without the proxy, is exactly what the workload believes it wrote.
    const direct = await storageVia(server.endpoint, 'workload', false);
    try {
      expect(await keysOf(direct.list(''))).toEqual([...model.keys()].sort());
      for (const [key, data] of model) expect((await direct.get(key)).equals(data), key).toBe(true);
    } finally {
      await direct.close();
    }
  });

  it('without the retry wrapper the same workload fails with retryable errors', async () => {
    const storage = await storageVia(proxy.endpoint, 'no-retry', false);
    try {
      const err = await runWorkload(storage, { workers: 4, operationsPerWorker: 80, seed: 99 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(FailsafeError);
      expect(err).toMatchObject({ code: 'UNAVAILABLE', retryable: true });
    } finally {
      await storage.close();
    }
  });
});

interface WorkloadOptions {
  readonly workers: number;
  readonly operationsPerWorker: number;
  readonly seed: number;
}

/**
 * Runs workers in parallel, each on its own key space (`w<i>/…`) so that its sequential operations have a
 * well-defined expected result, checked after every operation. Returns the expected final contents.
 */
async function runWorkload(storage: Storage, options: WorkloadOptions): Promise<Map<string, Buffer>> {
  const model = new Map<string, Buffer>();
  await Promise.all(
    Array.from({ length: options.workers }, (_, worker) =>
      runWorker(storage, `w${worker}/`, mulberry32(options.seed + worker), options.operationsPerWorker, model),
    ),
  );
  return model;
}

async function runWorker(
  storage: Storage,
  prefix: string,
  random: () => number,
  operations: number,
  model: Map<string, Buffer>,
): Promise<void> {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const keys = Array.from({ length: 8 }, (_, i) => `${prefix}${i % 3 === 0 ? 'nested/' : ''}k${i}`);
  let multipartPuts = 0;
  for (let op = 0; op < operations; op++) {
    const key = pick(keys);
    const expected = model.get(key);
    const roll = random();
    if (roll < 0.3) {
      const large = multipartPuts < 2 && random() < 0.15;
      if (large) multipartPuts++;
      const data = randomBytes(large ? 6 * MiB + Math.floor(random() * 1000) : Math.floor(random() * 64 * 1024));
      await storage.put(key, data);
      model.set(key, data);
    } else if (roll < 0.5) {
      if (expected === undefined) await expectFailure(storage.get(key), 'NOT_FOUND');
      else expect((await storage.get(key)).equals(expected), key).toBe(true);
    } else if (roll < 0.7) {
      if (expected === undefined || expected.length === 0) {
        await expectFailure(storage.getRange(key, 0, 1), expected === undefined ? 'NOT_FOUND' : 'CORRUPT');
      } else {
        const offset = Math.floor(random() * expected.length);
        const length = 1 + Math.floor(random() * (expected.length - offset));
        const range = await storage.getRange(key, offset, length);
        expect(range.equals(expected.subarray(offset, offset + length))).toBe(true);
      }
    } else if (roll < 0.78) {
      if (expected === undefined) await expectFailure(storage.stat(key), 'NOT_FOUND');
      else expect((await storage.stat(key)).size).toBe(expected.length);
    } else if (roll < 0.9) {
      const listed = await keysOf(storage.list(prefix));
      expect(listed).toEqual([...model.keys()].filter((k) => k.startsWith(prefix)).sort());
    } else {
      const doomed = [key, pick(keys)];
      await storage.delete(doomed);
      for (const k of doomed) model.delete(k);
    }
  }
}

/** Expects a failure with `code`; any other error propagates unchanged, so the caller sees what broke. */
async function expectFailure(promise: Promise<unknown>, code: string): Promise<void> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof FailsafeError && err.code === code) return;
    throw err;
  }
  throw new Error(`expected a ${code} error`);
}
