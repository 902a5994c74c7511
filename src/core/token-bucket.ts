/**
 * A token bucket: `rate` tokens a second, holding at most `burst`; takers wait their turn. One bucket is
 * shared by everything that spends the same limit (every tenant loading into one target, every row
 * calling one enrichment service).
 */

export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #refilled = Date.now();
  /** Nothing is taken before this time (a 429's Retry-After applies to every taker). */
  #pausedUntil = 0;
  /** Settles when the last taker in line has its tokens. */
  #queue: Promise<void> = Promise.resolve();

  /** `burst` defaults to half a second's worth (at least one token). */
  constructor(rate: number, burst = Math.max(1, rate / 2)) {
    this.#rate = rate;
    this.#burst = burst;
    this.#tokens = burst;
  }

  /**
   * Waits until the bucket holds `count` tokens and takes them; a count larger than the bucket waits
   * for a full one and takes them all, leaving the bucket in debt, so the rate holds however large.
   * Takers are served in the order they asked: one waiting for many tokens is not starved by many
   * asking for few, and tenants sharing a bucket take turns.
   */
  take(count: number, signal?: AbortSignal): Promise<void> {
    const turn = this.#queue.then(() => this.#waitFor(count, signal));
    this.#queue = turn.catch(() => undefined);
    return turn;
  }

  async #waitFor(count: number, signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const now = Date.now();
      if (now < this.#pausedUntil) {
        await abortableSleep(this.#pausedUntil - now, signal);
        continue;
      }
      this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#refilled) / 1000) * this.#rate);
      this.#refilled = now;
      const needed = Math.min(count, this.#burst);
      if (this.#tokens >= needed) {
        this.#tokens -= count;
        return;
      }
      await abortableSleep(((needed - this.#tokens) / this.#rate) * 1000, signal);
    }
  }

  /** No token is given out for `ms` from now. */
  pause(ms: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + ms);
  }
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
