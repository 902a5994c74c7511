import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { forEachConcurrently } from './concurrently.js';

describe('forEachConcurrently', () => {
  it('takes the items in order, never more than `workers` at once', async () => {
    const started: number[] = [];
    let running = 0;
    let most = 0;
    await forEachConcurrently([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      started.push(item);
      most = Math.max(most, ++running);
      await sleep(5);
      running--;
    });
    expect(started).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(3);
  });

  it('starts nothing after a failure and throws it once the running items have ended', async () => {
    const ended: number[] = [];
    const failing = forEachConcurrently([1, 2, 3, 4, 5], 2, async (item) => {
      if (item === 1) throw new Error('item 1 failed');
      await sleep(20);
      ended.push(item);
    });
    await expect(failing).rejects.toThrow('item 1 failed');
    expect(ended).toEqual([2]);
  });

  it('tells each call which worker runs it', async () => {
    const byWorker = new Map<number, number[]>();
    await forEachConcurrently([1, 2, 3, 4], 2, async (item, worker) => {
      byWorker.set(worker, [...(byWorker.get(worker) ?? []), item]);
      await sleep(item === 1 ? 30 : 1);
    });
    expect([...byWorker.keys()].sort()).toEqual([0, 1]);
    expect(byWorker.get(0)).toEqual([1]);
    expect(byWorker.get(1)).toEqual([2, 3, 4]);
  });
});
