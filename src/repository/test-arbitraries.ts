/**
 * Test helpers shared by the format tests of this folder (excluded from the build): fast-check
 * arbitraries for index structures and a way to assert which FailsafeError a call throws.
 */
import fc from 'fast-check';
import { FailsafeError } from '../core/errors.js';
import type { IndexedPack } from './index-file.js';
import { BlobType, type PackedBlob } from './pack.js';

/** Any blob entry the format can hold (u32 fields, 32-byte id). */
export const packedBlob: fc.Arbitrary<PackedBlob> = fc.record({
  type: fc.constantFrom(BlobType.Data, BlobType.Tree),
  id: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes)),
  offset: fc.nat({ max: 0xffffffff }),
  length: fc.nat({ max: 0xffffffff }),
  rawLength: fc.nat({ max: 0xffffffff }),
});

/** Any pack as an index file lists it. */
export const indexedPack: fc.Arbitrary<IndexedPack> = fc.record({
  id: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString('hex')),
  salt: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes)),
  size: fc.nat({ max: 0xffffffff }),
  blobs: fc.array(packedBlob, { maxLength: 12 }),
});

/** A blob entry as plain values (hex id), for deep equality: decoded ids are views into the input. */
export function comparableBlob(blob: PackedBlob) {
  return { ...blob, id: Buffer.from(blob.id).toString('hex') };
}

export function comparablePacks(packs: readonly IndexedPack[]) {
  return packs.map((pack) => ({ ...pack, salt: pack.salt.toString('hex'), blobs: pack.blobs.map(comparableBlob) }));
}

/**
 * `'ok'` when `action` returns, the code when it throws a FailsafeError; any other exception (a crash
 * such as a RangeError or TypeError) is rethrown so that the test fails.
 *
 * @example expect(outcome(() => decodeIndex(bytes, 'index'))).toBe('CORRUPT')
 */
export function outcome(action: () => unknown): string {
  try {
    action();
    return 'ok';
  } catch (err) {
    if (err instanceof FailsafeError) return err.code;
    throw new Error(`expected a FailsafeError, got ${String(err)}`, { cause: err });
  }
}

/** Like {@link outcome}, for promises. */
export async function outcomeAsync(action: () => Promise<unknown>): Promise<string> {
  try {
    await action();
    return 'ok';
  } catch (err) {
    if (err instanceof FailsafeError) return err.code;
    throw new Error(`expected a FailsafeError, got ${String(err)}`, { cause: err });
  }
}
