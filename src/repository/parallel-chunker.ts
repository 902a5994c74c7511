/**
 * Chunking and blob-id hashing on worker threads, so the main thread only deduplicates, encrypts and
 * packs. Each stream is pinned to one worker (content-defined chunking is sequential); several streams
 * (files) use several workers. Bytes travel by transfer, never by copy, and input buffers come back to
 * be reused.
 */
import { Worker } from 'node:worker_threads';
import { FailsafeError } from '../core/errors.js';
import type { ChunkWorkerData, FromChunkWorker, ToChunkWorker } from './chunk-worker.js';
import type { ChunkerParams } from './chunker.js';

/**
 * Bytes to store: a stream of pieces, or a reader that fills a buffer and returns how many bytes it
 * put there (0 at the end) — the latter lets file reads land directly in buffers that are reused.
 */
export type ContentSource = AsyncIterable<Uint8Array> | ((buffer: Buffer) => Promise<number>);

export interface HashedChunk {
  readonly id: Buffer;
  readonly data: Buffer;
}

/** Bytes a stream may have sent to its worker and not yet handed to its consumer. */
const STREAM_WINDOW = 16 * 1024 * 1024;
const READ_BYTES = 4 * 1024 * 1024;

interface StreamState {
  readonly worker: WorkerHandle;
  readonly queue: HashedChunk[];
  ended: boolean;
  failure: unknown;
  wake: (() => void) | undefined;
}

interface WorkerHandle {
  readonly worker: Worker;
  streams: number;
}

export class ParallelChunker {
  readonly #workers: WorkerHandle[];
  readonly #streams = new Map<number, StreamState>();
  readonly #spare: ArrayBuffer[] = [];
  #nextStream = 0;
  #closed = false;
  /** Set when a worker died: every later stream fails at once instead of waiting forever. */
  #broken: FailsafeError | undefined;

  /**
   * @example
   * const chunker = new ParallelChunker(gear, params, idKey, 2);
   * try { for await (const { id, data } of chunker.chunk(source)) ... } finally { await chunker.close() }
   */
  constructor(gear: Uint32Array, params: ChunkerParams, idKey: Uint8Array, workers: number) {
    const data: ChunkWorkerData = { gear, params, idKey };
    this.#workers = Array.from({ length: Math.max(1, workers) }, () => {
      const worker = startWorker(data);
      worker.on('message', (message: FromChunkWorker) => this.#receive(message));
      worker.on('error', (err) => this.#failAll(err));
      return { worker, streams: 0 };
    });
  }

  /**
   * Chunks `source` on a worker and yields its chunks with their ids, in order. Reads ahead of the
   * consumer by at most {@link STREAM_WINDOW} bytes.
   */
  async *chunk(source: ContentSource): AsyncGenerator<HashedChunk> {
    if (this.#closed) throw new FailsafeError('INTERNAL', 'chunker used after close()');
    if (this.#broken) throw this.#broken;
    const worker = this.#workers.reduce((least, candidate) => (candidate.streams < least.streams ? candidate : least));
    const id = this.#nextStream++;
    const state: StreamState = { worker, queue: [], ended: false, failure: undefined, wake: undefined };
    this.#streams.set(id, state);
    worker.streams++;
    let unconsumed = 0;
    let waitingForRoom: (() => void) | undefined;
    const send = async (buffer: ArrayBuffer, length: number): Promise<void> => {
      unconsumed += length;
      worker.worker.postMessage({ type: 'data', stream: id, buffer, length } satisfies ToChunkWorker, [buffer]);
      while (unconsumed > STREAM_WINDOW && state.failure === undefined) await new Promise<void>((resolve) => (waitingForRoom = resolve));
      if (state.failure !== undefined) throw state.failure;
    };
    const pump = (async () => {
      if (typeof source === 'function') {
        for (;;) {
          const buffer = Buffer.from(this.#spareBuffer());
          const length = await source(buffer);
          if (length === 0) {
            this.#spare.push(buffer.buffer as ArrayBuffer);
            break;
          }
          await send(buffer.buffer as ArrayBuffer, length);
        }
      } else {
        // Pieces are gathered into whole buffers: a stream of small pieces (a COPY's 64 KiB messages)
        // sent one per 4 MiB buffer kept hundreds of buffers in flight for a few MiB of data.
        let buffer: ArrayBuffer | undefined;
        let filled = 0;
        for await (const piece of source) {
          for (let offset = 0; offset < piece.length; ) {
            buffer ??= this.#spareBuffer();
            const length = Math.min(piece.length - offset, READ_BYTES - filled);
            new Uint8Array(buffer, filled, length).set(piece.subarray(offset, offset + length));
            filled += length;
            offset += length;
            if (filled === READ_BYTES) {
              await send(buffer, filled);
              buffer = undefined;
              filled = 0;
            }
          }
        }
        if (buffer && filled > 0) await send(buffer, filled);
        else if (buffer) this.#spare.push(buffer);
      }
      worker.worker.postMessage({ type: 'end', stream: id } satisfies ToChunkWorker);
    })().catch((err: unknown) => {
      state.failure ??= err;
      state.wake?.();
    });
    try {
      for (;;) {
        const chunk = state.queue.shift();
        if (chunk) {
          unconsumed -= chunk.data.length;
          if (unconsumed <= STREAM_WINDOW) waitingForRoom?.();
          yield chunk;
          continue;
        }
        if (state.failure !== undefined) throw state.failure;
        if (state.ended) break;
        await new Promise<void>((resolve) => (state.wake = resolve));
        state.wake = undefined;
      }
      await pump;
      if (state.failure !== undefined) throw state.failure;
    } finally {
      state.failure ??= new FailsafeError('ABORTED', 'chunk stream abandoned');
      waitingForRoom?.();
      await pump;
      // Let the worker drop the stream's chunker if the pump stopped before ending it.
      if (!state.ended) worker.worker.postMessage({ type: 'end', stream: id } satisfies ToChunkWorker);
      this.#streams.delete(id);
      worker.streams--;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#workers.map(({ worker }) => worker.terminate()));
  }

  #spareBuffer(): ArrayBuffer {
    return this.#spare.pop() ?? new ArrayBuffer(READ_BYTES);
  }

  #receive(message: FromChunkWorker): void {
    if (message.type === 'recycle') {
      if (this.#spare.length < 16) this.#spare.push(message.buffer);
      return;
    }
    const state = this.#streams.get(message.stream);
    if (!state) return;
    if (message.type === 'ended') {
      state.ended = true;
    } else {
      const ids = Buffer.from(message.ids);
      message.chunks.forEach((chunk, i) => state.queue.push({ id: ids.subarray(32 * i, 32 * i + 32), data: Buffer.from(chunk) }));
    }
    state.wake?.();
  }

  #failAll(err: unknown): void {
    const failure = new FailsafeError('INTERNAL', `chunk worker failed: ${(err as Error).message}`, { cause: err });
    this.#broken ??= failure;
    for (const state of this.#streams.values()) {
      state.failure ??= failure;
      state.wake?.();
    }
  }
}

/**
 * The build runs the worker's JavaScript; from the TypeScript sources (tests) it is loaded through
 * tsx, the test runner's TypeScript loader.
 */
function startWorker(workerData: ChunkWorkerData): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./chunk-worker.js', import.meta.url), { workerData });
  const source = new URL('./chunk-worker.ts', import.meta.url).href;
  const code = `import('tsx/esm/api').then((tsx) => tsx.tsImport(${JSON.stringify(source)}, ${JSON.stringify(import.meta.url)}));`;
  return new Worker(code, { eval: true, workerData });
}
