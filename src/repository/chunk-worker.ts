/**
 * Worker thread of {@link ParallelChunker}: cuts byte streams into chunks and computes their blob ids,
 * off the main thread. Protocol (all buffers transferred, never copied):
 *
 *   main → worker  { type: 'data', stream, buffer, length }   bytes of a stream, in order
 *                  { type: 'end', stream }                    no more bytes
 *   worker → main  { type: 'chunks', stream, ids, chunks }    ids: 32 bytes per chunk, back to back
 *                  { type: 'recycle', buffer }                 an input buffer the worker is done with
 *                  { type: 'ended', stream }                   every chunk of the stream was sent
 */
import { createHmac } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { Chunker, type ChunkerParams } from './chunker.js';

export interface ChunkWorkerData {
  readonly gear: Uint32Array;
  readonly params: ChunkerParams;
  readonly idKey: Uint8Array;
}

export type ToChunkWorker =
  | { readonly type: 'data'; readonly stream: number; readonly buffer: ArrayBuffer; readonly length: number }
  | { readonly type: 'end'; readonly stream: number };

export type FromChunkWorker =
  | { readonly type: 'chunks'; readonly stream: number; readonly ids: ArrayBuffer; readonly chunks: ArrayBuffer[] }
  | { readonly type: 'recycle'; readonly buffer: ArrayBuffer }
  | { readonly type: 'ended'; readonly stream: number };

const { gear, params, idKey } = workerData as ChunkWorkerData;
const key = Buffer.from(idKey);
const chunkers = new Map<number, Chunker>();
const port = parentPort!;

port.on('message', (message: ToChunkWorker) => {
  let chunker = chunkers.get(message.stream);
  if (!chunker) {
    chunker = new Chunker(gear, params);
    chunkers.set(message.stream, chunker);
  }
  if (message.type === 'data') {
    const chunks = chunker.push(new Uint8Array(message.buffer, 0, message.length));
    port.postMessage({ type: 'recycle', buffer: message.buffer } satisfies FromChunkWorker, [message.buffer]);
    send(message.stream, chunks);
  } else {
    const tail = chunker.finish();
    chunkers.delete(message.stream);
    send(message.stream, tail && tail.length > 0 ? [tail] : []);
    port.postMessage({ type: 'ended', stream: message.stream } satisfies FromChunkWorker);
  }
});

function send(stream: number, chunks: readonly Buffer[]): void {
  if (chunks.length === 0) return;
  const ids = new Uint8Array(32 * chunks.length);
  const buffers = chunks.map((chunk, i) => {
    ids.set(createHmac('sha256', key).update(chunk).digest(), 32 * i);
    return ownBuffer(chunk);
  });
  port.postMessage({ type: 'chunks', stream, ids: ids.buffer, chunks: buffers } satisfies FromChunkWorker, [ids.buffer, ...buffers]);
}

/** An ArrayBuffer holding exactly `chunk`, transferable (small chunks may live in Node's shared pool). */
function ownBuffer(chunk: Buffer): ArrayBuffer {
  if (chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && chunk.buffer instanceof ArrayBuffer) {
    return chunk.buffer;
  }
  const copy = new ArrayBuffer(chunk.length);
  new Uint8Array(copy).set(chunk);
  return copy;
}
