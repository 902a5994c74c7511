/**
 * A counting semaphore, for bounding concurrent work (storage requests, files read at once).
 */

/** A counting semaphore with FIFO hand-off. */
export class Semaphore {
  #available: number;
  readonly #waiting: Array<() => void> = [];

  constructor(permits: number) {
    this.#available = permits;
  }

  /** Resolves to a release function once a permit is free; call it exactly once. */
  async acquire(): Promise<() => void> {
    if (this.#available > 0) {
      this.#available--;
    } else {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next !== undefined) next();
      else this.#available++;
    };
  }

  /** Runs `action` holding a permit. */
  async run<T>(action: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await action();
    } finally {
      release();
    }
  }
}
