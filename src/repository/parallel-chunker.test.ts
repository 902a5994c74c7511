import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Chunker, DEFAULT_CHUNKER_PARAMS, createGearTable } from './chunker.js';
import { computeBlobId, deriveKeys } from './crypto.js';
import { ParallelChunker } from './parallel-chunker.js';

const keys = deriveKeys(randomBytes(64));
const gear = createGearTable(randomBytes(32));

/** What the single-threaded chunker and hash make of `data`: the reference. */
function reference(data: Buffer): { id: string; length: number }[] {
  const chunker = new Chunker(gear);
  const chunks = [...chunker.push(data)];
  const tail = chunker.finish();
  if (tail) chunks.push(tail);
  return chunks.map((chunk) => ({ id: computeBlobId(keys, chunk).toString('hex'), length: chunk.length }));
}

async function collect(iterable: AsyncIterable<{ id: Buffer; data: Buffer }>): Promise<{ id: string; length: number }[]> {
  const out: { id: string; length: number }[] = [];
  for await (const { id, data } of iterable) {
    expect(computeBlobId(keys, data).equals(id)).toBe(true);
    out.push({ id: id.toString('hex'), length: data.length });
  }
  return out;
}

describe('ParallelChunker', () => {
  let chunker: ParallelChunker;
  const data = randomBytes(40 * 1024 * 1024);

  beforeAll(() => {
    chunker = new ParallelChunker(gear, DEFAULT_CHUNKER_PARAMS, keys.blobId, 2);
  });

  afterAll(async () => {
    await chunker.close();
  });

  it('cuts and hashes exactly as the single-threaded chunker, from a reader function', async () => {
    let offset = 0;
    const read = async (buffer: Buffer): Promise<number> => {
      const length = Math.min(buffer.length, data.length - offset, 3_000_001);
      data.copy(buffer, 0, offset, offset + length);
      offset += length;
      return length;
    };
    expect(await collect(chunker.chunk(read))).toEqual(reference(data));
  });

  it('does the same from a stream of pieces, several streams at once, in order per stream', async () => {
    const other = randomBytes(9 * 1024 * 1024 + 5);
    async function* pieces(buffer: Buffer, size: number): AsyncGenerator<Buffer> {
      for (let offset = 0; offset < buffer.length; offset += size) yield buffer.subarray(offset, offset + size);
    }
    const [a, b, c] = await Promise.all([
      collect(chunker.chunk(pieces(data, 65_536))),
      collect(chunker.chunk(pieces(other, 10 * 1024 * 1024))),
      collect(chunker.chunk(pieces(Buffer.from('tiny'), 1))),
    ]);
    expect(a).toEqual(reference(data));
    expect(b).toEqual(reference(other));
    expect(c).toEqual(reference(Buffer.from('tiny')));
    expect(await collect(chunker.chunk(pieces(Buffer.alloc(0), 1)))).toEqual([]);
  });

  it('passes a failing source through to the consumer, and keeps working afterwards', async () => {
    const failure = new Error('disk on fire');
    async function* broken(): AsyncGenerator<Buffer> {
      yield randomBytes(5 * 1024 * 1024);
      throw failure;
    }
    await expect(collect(chunker.chunk(broken()))).rejects.toBe(failure);
    expect(await collect(chunker.chunk([Buffer.from('after')] as unknown as AsyncIterable<Buffer>))).toEqual(reference(Buffer.from('after')));
  });

  it('reads ahead only a bounded window when the consumer stops reading', async () => {
    let offered = 0;
    const endless = async (buffer: Buffer): Promise<number> => {
      offered += buffer.length;
      return buffer.length;
    };
    const stream = chunker.chunk(endless);
    await stream.next();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(offered).toBeLessThan(64 * 1024 * 1024);
    await stream.return(undefined);
  });
});
