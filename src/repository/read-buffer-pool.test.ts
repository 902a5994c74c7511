import { describe, expect, it } from 'vitest';
import { ReadBufferPool } from './read-buffer-pool.js';

describe('ReadBufferPool', () => {
  it('hands back a given buffer that is large enough, and allocates when none is', () => {
    const pool = new ReadBufferPool();
    const first = pool.take(1000);
    expect(first.length).toBe(1 << 20);
    pool.give(first);
    expect(pool.take(500)).toBe(first);
    const large = pool.take(3 << 20);
    expect(large.length).toBe(3 << 20);
    pool.give(large);
    expect(pool.take(5 << 20)).not.toBe(large);
    expect(pool.take(2 << 20)).toBe(large);
  });

  it('keeps no more than maxBytes between uses', () => {
    const pool = new ReadBufferPool(2 << 20);
    const [a, b, c] = [pool.take(1), pool.take(1), pool.take(1)];
    pool.give(a);
    pool.give(b);
    pool.give(c);
    expect([pool.take(1), pool.take(1)]).toEqual(expect.arrayContaining([a, b]));
    expect(pool.take(1)).not.toBe(c);
  });
});
