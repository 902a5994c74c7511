/**
 * The one place that picks an object store implementation for a URL (loaded on demand: the AWS SDK is
 * heavy).
 */
import { parseStorageUrl, resolveS3Options, type OpenStorageOptions } from '../../storage/open-storage.js';
import type { ObjectStore } from './object-store.js';

/**
 * `s3://bucket/prefix` (endpoint, region and credentials from the AWS environment, as for repositories)
 * or a directory path.
 *
 * @example const store = await openObjectStore('s3://app-files/', { env: process.env })
 */
export async function openObjectStore(url: string, options: Pick<OpenStorageOptions, 'env' | 's3'> = {}): Promise<ObjectStore> {
  const parsed = parseStorageUrl(url);
  if (parsed.kind === 'fs') return new (await import('./directory-object-store.js')).DirectoryObjectStore(parsed.path);
  const { S3ObjectStore } = await import('./s3-object-store.js');
  return new S3ObjectStore(resolveS3Options(parsed, options));
}
