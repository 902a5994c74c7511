/**
 * An S3 bucket prefix as an object store, with content type and user metadata.
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import { FailsafeError } from '../../core/errors.js';
import { classifyS3Error, type S3ErrorContext } from '../../storage/s3-errors.js';
import { newS3Client, type S3StorageOptions } from '../../storage/s3-storage.js';
import { assertSafeObjectKey, type ObjectEntry, type ObjectMeta, type ObjectStore } from './object-store.js';

export class S3ObjectStore implements ObjectStore {
  readonly location: string;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #endpoint: string | undefined;

  constructor(options: S3StorageOptions) {
    const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.#bucket = options.bucket;
    this.#prefix = prefix === '' ? '' : `${prefix}/`;
    this.location = `s3://${options.bucket}${prefix === '' ? '' : `/${prefix}`}`;
    this.#endpoint = options.endpoint;
    // No retry wrapper here (this is not repository storage): the SDK's own retries, with backoff.
    this.#client = newS3Client(options, 5);
  }

  async *list(prefix: string): AsyncIterable<ObjectEntry> {
    let token: string | undefined;
    do {
      const page = await this.#client
        .send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: this.#prefix + prefix, ContinuationToken: token }))
        .catch((err: unknown) => {
          throw classifyS3Error(err, this.#context('list', prefix));
        });
      for (const object of page.Contents ?? []) {
        if (!object.Key || object.Key.endsWith('/')) continue;
        yield { key: object.Key.slice(this.#prefix.length), size: object.Size ?? 0, modified: object.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async read(key: string): Promise<{ meta: ObjectMeta; body: AsyncIterable<Uint8Array> }> {
    const response = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#prefix + key })).catch((err: unknown) => {
      throw classifyS3Error(err, this.#context('get', key));
    });
    if (!(response.Body instanceof Readable)) throw new FailsafeError('INTERNAL', `no body for ${key}`);
    return { meta: { contentType: response.ContentType, metadata: response.Metadata ?? {} }, body: response.Body };
  }

  async write(key: string, body: AsyncIterable<Uint8Array>, meta: ObjectMeta): Promise<void> {
    assertSafeObjectKey(key);
    const upload = new Upload({
      client: this.#client,
      params: {
        Bucket: this.#bucket,
        Key: this.#prefix + key,
        Body: Readable.from(body),
        ...(meta.contentType ? { ContentType: meta.contentType } : {}),
        Metadata: { ...meta.metadata },
      },
    });
    await upload.done().catch((err: unknown) => {
      throw classifyS3Error(err, this.#context('put', key));
    });
  }

  #context(operation: string, key: string): S3ErrorContext {
    return { operation, key, bucket: this.#bucket, location: this.location, ...(this.#endpoint ? { endpoint: this.#endpoint } : {}) };
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }
}
