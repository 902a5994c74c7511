import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TokenBucket } from './token-bucket.js';

describe('TokenBucket', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  /** Takes `count` tokens `times` times in a row; resolves to the (fake) time each take returned. */
  async function takeTimes(bucket: TokenBucket, times: number, count = 1): Promise<number[]> {
    const at: number[] = [];
    const taking = (async () => {
      for (let i = 0; i < times; i++) {
        await bucket.take(count);
        at.push(Date.now());
      }
    })();
    await vi.runAllTimersAsync();
    await taking;
    return at;
  }

  it('gives out its burst at once, then `rate` tokens a second', async () => {
    expect(await takeTimes(new TokenBucket(10, 3), 6)).toEqual([0, 0, 0, 100, 200, 300]);
  });

  it('makes a take larger than the bucket wait for a full one and pay for all it takes', async () => {
    expect(await takeTimes(new TokenBucket(10, 2), 3, 5)).toEqual([0, 500, 1000]);
  });

  it('gives nothing out while paused', async () => {
    const bucket = new TokenBucket(10, 5);
    bucket.pause(1500);
    expect(await takeTimes(bucket, 2)).toEqual([1500, 1500]);
  });

  it('serves takers in the order they asked, a large one before small ones after it', async () => {
    const bucket = new TokenBucket(10, 10);
    await bucket.take(10);
    const served: string[] = [];
    const takers = [bucket.take(8).then(() => served.push('large')), bucket.take(1).then(() => served.push('small 1')), bucket.take(1).then(() => served.push('small 2'))];
    await vi.runAllTimersAsync();
    await Promise.all(takers);
    expect(served).toEqual(['large', 'small 1', 'small 2']);
  });

  it('stops waiting when the signal aborts', async () => {
    const bucket = new TokenBucket(1, 1);
    await bucket.take(1);
    const controller = new AbortController();
    const waiting = bucket.take(1, controller.signal);
    controller.abort(new Error('stopped'));
    await expect(waiting).rejects.toThrow('stopped');
  });
});
