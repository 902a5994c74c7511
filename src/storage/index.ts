/**
 * The storage layer: where repository bytes live.
 *
 * Glossary
 * - storage: a flat namespace of immutable objects addressed by keys; the {@link Storage} interface.
 * - key: a relative, `/`-separated object name such as `data/3f/3f9c…` or `config` (see storage.ts for
 *   the rules). Backends map keys onto files or S3 object names.
 * - backend: an implementation that talks to one kind of place — {@link FsStorage} (a directory) and
 *   {@link S3Storage} (an S3 bucket and prefix). Backends classify their errors and never retry.
 * - wrapper: a Storage around a Storage that adds one cross-cutting concern — {@link withRetry} (backoff
 *   on retryable errors) and {@link withConcurrencyLimit} (a cap on operations in flight).
 *   {@link openStorage} is the one place that composes a backend with its wrappers.
 */
export type { ObjectInfo, Storage } from './storage.js';
export { FsStorage } from './fs-storage.js';
export { S3Storage, type S3Credentials, type S3StorageOptions } from './s3-storage.js';
export { classifyS3Error } from './s3-errors.js';
export { withRetry, type RetryEvent, type RetryOptions } from './retry.js';
export { withConcurrencyLimit } from './concurrency-limit.js';
export {
  openStorage,
  parseStorageUrl,
  resolveS3Options,
  type OpenStorageOptions,
  type S3Settings,
  type StorageUrl,
} from './open-storage.js';
