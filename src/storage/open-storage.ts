/**
 * Repository URLs and the one place where a backend and its wrappers are composed.
 */
import { resolve } from 'node:path';
import { FailsafeError } from '../core/errors.js';
import { withConcurrencyLimit } from './concurrency-limit.js';
import { FsStorage } from './fs-storage.js';
import { withRetry, type RetryOptions } from './retry.js';
import type { S3StorageOptions } from './s3-storage.js';
import type { Storage } from './storage.js';

/** A parsed repository location. */
export type StorageUrl =
  | { readonly kind: 'fs'; readonly path: string }
  | { readonly kind: 's3'; readonly bucket: string; readonly prefix: string };

/** S3 settings that do not come from the URL; each one falls back to the AWS environment, then a default. */
export type S3Settings = Omit<S3StorageOptions, 'bucket' | 'prefix' | 'connections'>;

export interface OpenStorageOptions {
  /** Storage operations in flight at once; for S3 also the socket pool size. Default 16 (S3), 8 (directory). */
  readonly connections?: number;
  /** Backoff settings, or `false` for no retries at all. Default: {@link withRetry}'s defaults. */
  readonly retry?: RetryOptions | false;
  readonly s3?: S3Settings;
  /** Where `AWS_*` and `FAILSAFE_S3_PATH_STYLE` are read from. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

const DEFAULT_S3_CONNECTIONS = 16;
/** The file-system backend gains little beyond libuv's thread pool (4 threads by default). */
const DEFAULT_FS_CONNECTIONS = 8;
const SUPPORTED_FORMS =
  'use a directory (/srv/backup, ./backup, C:\\backup) or an S3 location (s3://bucket/prefix or s3:bucket/prefix)';

/**
 * Parses a repository URL: `s3://bucket/prefix`, `s3:bucket/prefix`, or an absolute or relative directory
 * path (resolved against the current directory). Other schemes are a `USAGE` error listing these forms.
 *
 * @example parseStorageUrl('s3://backups/prod/db') // { kind: 's3', bucket: 'backups', prefix: 'prod/db' }
 * @example parseStorageUrl('./repo') // { kind: 'fs', path: '/home/me/repo' }
 */
export function parseStorageUrl(text: string): StorageUrl {
  const trimmed = text.trim();
  if (trimmed === '') throw new FailsafeError('USAGE', `empty repository location: ${SUPPORTED_FORMS}`);
  // Two letters at least, so that a Windows drive letter (C:\backup) reads as a path.
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]+):/.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'fs', path: resolve(trimmed) };
  if (scheme !== 's3') {
    throw new FailsafeError('USAGE', `unsupported repository location "${trimmed}": ${SUPPORTED_FORMS}`, {
      hint: 'a directory whose name contains ":" can be given as ./name',
    });
  }
  const rest = trimmed.slice('s3:'.length).replace(/^\/\//, '');
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = (slash < 0 ? '' : rest.slice(slash + 1)).replace(/^\/+|\/+$/g, '');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(bucket)) {
    throw new FailsafeError('USAGE', `invalid bucket name "${bucket}" in "${trimmed}": ${SUPPORTED_FORMS}`);
  }
  if (prefix.split('/').some((segment) => segment === '' || segment === '.' || segment === '..') && prefix !== '') {
    throw new FailsafeError('USAGE', `invalid prefix "${prefix}" in "${trimmed}": no empty, "." or ".." segments`);
  }
  return { kind: 's3', bucket, prefix };
}

/**
 * Resolves the S3 backend options for a location: explicit `options.s3` settings first, then the standard
 * AWS environment (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_DEFAULT_REGION`,
 * `AWS_PROFILE`), then defaults (region `us-east-1`, AWS endpoints). Path-style addressing is used when
 * `forcePathStyle` or `FAILSAFE_S3_PATH_STYLE=1` says so, otherwise exactly when a custom endpoint is set.
 * Credentials are left to the AWS default chain unless given explicitly.
 *
 * @example resolveS3Options({ bucket: 'b', prefix: 'p' }, { env: { AWS_REGION: 'eu-west-1' } }).region === 'eu-west-1'
 */
export function resolveS3Options(
  location: { readonly bucket: string; readonly prefix: string },
  options: OpenStorageOptions = {},
): S3StorageOptions {
  const settings = options.s3 ?? {};
  const env = options.env ?? process.env;
  const fromEnv = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);
  const endpoint = settings.endpoint ?? fromEnv('AWS_ENDPOINT_URL_S3') ?? fromEnv('AWS_ENDPOINT_URL');
  if (endpoint !== undefined && !/^https?:\/\/[^/]/.test(endpoint)) {
    throw new FailsafeError(
      'CONFIG',
      `invalid S3 endpoint "${endpoint}": expected http://host[:port] or https://host[:port]`,
    );
  }
  const pathStyleEnv = fromEnv('FAILSAFE_S3_PATH_STYLE');
  if (pathStyleEnv !== undefined && !['0', '1', 'true', 'false'].includes(pathStyleEnv)) {
    throw new FailsafeError('CONFIG', `FAILSAFE_S3_PATH_STYLE must be 1 or 0, got "${pathStyleEnv}"`);
  }
  const profile = settings.profile ?? fromEnv('AWS_PROFILE');
  const pathStyleDefault = pathStyleEnv === undefined ? endpoint !== undefined : ['1', 'true'].includes(pathStyleEnv);
  return {
    ...settings,
    bucket: location.bucket,
    prefix: location.prefix,
    region: settings.region ?? fromEnv('AWS_REGION') ?? fromEnv('AWS_DEFAULT_REGION') ?? 'us-east-1',
    forcePathStyle: settings.forcePathStyle ?? pathStyleDefault,
    connections: options.connections ?? DEFAULT_S3_CONNECTIONS,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(profile === undefined ? {} : { profile }),
  };
}

/**
 * Opens the storage for a repository URL, composed as `withRetry(withConcurrencyLimit(backend))`: retries
 * wait outside the concurrency limit, so a backoff never holds a slot.
 *
 * The S3 backend (and the AWS SDK, ~0.5 s to load) is imported only when an S3 location is opened.
 *
 * @example
 * const storage = await openStorage('s3://backups/prod', { connections: 32 });
 * try { await storage.get('config') } finally { await storage.close() }
 */
export async function openStorage(url: string | StorageUrl, options: OpenStorageOptions = {}): Promise<Storage> {
  const parsed = typeof url === 'string' ? parseStorageUrl(url) : url;
  const backend =
    parsed.kind === 'fs'
      ? new FsStorage(parsed.path)
      : new (await import('./s3-storage.js')).S3Storage(resolveS3Options(parsed, options));
  const defaultConnections = parsed.kind === 'fs' ? DEFAULT_FS_CONNECTIONS : DEFAULT_S3_CONNECTIONS;
  const limited = withConcurrencyLimit(backend, options.connections ?? defaultConnections);
  return options.retry === false ? limited : withRetry(limited, options.retry);
}
