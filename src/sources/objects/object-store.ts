/**
 * The seam for object-store sources: a bucket prefix or a directory of files whose objects carry a
 * content type and user metadata. Unlike the repository's `Storage`, keys here are the application's
 * own, and metadata travels with the bytes.
 */
import { FailsafeError } from '../../core/errors.js';

export interface ObjectEntry {
  readonly key: string;
  readonly size: number;
  readonly modified: Date;
}

export interface ObjectMeta {
  readonly contentType: string | undefined;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface ObjectStore {
  /** `s3://bucket/prefix` or a directory, for messages. */
  readonly location: string;
  /** Every object whose key starts with `prefix`, keys relative to the store's root. */
  list(prefix: string): AsyncIterable<ObjectEntry>;
  /** NOT_FOUND when absent. */
  read(key: string): Promise<{ readonly meta: ObjectMeta; readonly body: AsyncIterable<Uint8Array> }>;
  /** Creates or replaces `key`. Keys that would leave the store (`..`, absolute) are refused. */
  write(key: string, body: AsyncIterable<Uint8Array>, meta: ObjectMeta & { readonly modified?: Date }): Promise<void>;
  close(): Promise<void>;
}

/**
 * Refuses keys that are not plain relative paths: empty, absolute, with `.`/`..`/empty segments, or
 * with NUL. A snapshot stores keys as paths, and a restore must never write outside its target.
 */
export function assertSafeObjectKey(key: string): void {
  const segments = key.split('/');
  if (key === '' || key.startsWith('/') || key.includes('\0') || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new FailsafeError('USAGE', `object key ${JSON.stringify(key)} is not a plain relative path (no leading "/", no ".", ".." or empty segments)`);
  }
}
