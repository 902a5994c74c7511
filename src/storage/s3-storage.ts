/**
 * The S3 backend: objects under `s3://bucket/prefix/`, on AWS or any S3-compatible server.
 */
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { FailsafeError } from '../core/errors.js';
import { assertValidKey, assertValidPrefix, assertValidRange, truncated } from './keys.js';
import { classifyS3Error } from './s3-errors.js';
import { type ObjectData, type ObjectInfo, type Storage, joinData } from './storage.js';

const MiB = 1024 * 1024;
/** S3 refuses parts smaller than this (except the last one). */
const MIN_PART_SIZE = 5 * MiB;
/** DeleteObjects accepts at most this many keys per request. */
const DELETE_BATCH = 1000;

export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/**
 * An SDK client for `options`: endpoint, region, addressing, credentials, timeouts and sockets. Retries
 * are off (`maxAttempts` 1) unless given: storage retries in its own wrapper.
 */
export function newS3Client(options: S3StorageOptions, maxAttempts = 1): S3Client {
  return new S3Client({
    region: options.region ?? 'us-east-1',
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    ...(options.profile === undefined ? {} : { profile: options.profile }),
    maxAttempts,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      connectionTimeout: options.connectTimeoutMs ?? 10_000,
      requestTimeout: options.requestTimeoutMs ?? 120_000,
      throwOnRequestTimeout: true,
      socketTimeout: options.idleTimeoutMs ?? 60_000,
      httpAgent: { keepAlive: true, maxSockets: options.connections ?? 16 },
      httpsAgent: { keepAlive: true, maxSockets: options.connections ?? 16 },
    },
  });
}

export interface S3StorageOptions {
  readonly bucket: string;
  /** Key prefix inside the bucket, without leading or trailing slash (`""` for the bucket root). */
  readonly prefix?: string;
  /** Custom endpoint of an S3-compatible server, e.g. `http://127.0.0.1:9000`. Default: AWS. */
  readonly endpoint?: string;
  /** Default `us-east-1`. */
  readonly region?: string;
  /** `https://host/bucket/key` instead of `https://bucket.host/key`. Default: true iff `endpoint` is set. */
  readonly forcePathStyle?: boolean;
  /** Static credentials; without them the AWS default chain (env, `profile`, SSO, instance role) is used. */
  readonly credentials?: S3Credentials;
  /** Profile of `~/.aws/config` / `~/.aws/credentials` for the default chain. */
  readonly profile?: string;
  /** Maximum number of open sockets. Default 16. */
  readonly connections?: number;
  /** Time to establish a TCP/TLS connection. Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** Time from sending a request (body included) to the response headers. Default 2 min. */
  readonly requestTimeoutMs?: number;
  /** Time a socket may stay silent while a response body is read. Default 60 s. */
  readonly idleTimeoutMs?: number;
  /** Objects larger than this are uploaded in parts. Default 64 MiB. */
  readonly multipartThreshold?: number;
  /** Part size of multipart uploads, at least 5 MiB. Default 16 MiB. */
  readonly partSize?: number;
  /** Parts of one object uploaded in parallel. Default 4. */
  readonly partConcurrency?: number;
  /** Keys per ListObjectsV2 page (S3's maximum and default is 1000). */
  readonly listPageSize?: number;
}

/**
 * Stores objects in an S3 bucket under an optional prefix. The client never retries by itself
 * (`maxAttempts: 1`): retrying is the job of the retry wrapper, which sees the classified errors.
 * Checksums are only sent when S3 requires them, because several S3-compatible servers reject the
 * SDK's streaming checksums; small objects carry a Content-MD5 instead.
 *
 * @example
 * const storage = new S3Storage({ bucket: 'backups', prefix: 'prod', region: 'eu-west-1' });
 * await storage.put('config', bytes);
 */
export class S3Storage implements Storage {
  readonly location: string;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #endpoint: string | undefined;
  readonly #multipartThreshold: number;
  readonly #partSize: number;
  readonly #partConcurrency: number;
  readonly #listPageSize: number | undefined;

  constructor(options: S3StorageOptions) {
    const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (prefix !== '') assertValidPrefix(`${prefix}/`);
    this.#bucket = options.bucket;
    this.#prefix = prefix === '' ? '' : `${prefix}/`;
    this.#endpoint = options.endpoint;
    this.location = `s3://${options.bucket}${prefix === '' ? '' : `/${prefix}`}`;
    this.#multipartThreshold = options.multipartThreshold ?? 64 * MiB;
    this.#partSize = options.partSize ?? 16 * MiB;
    this.#partConcurrency = options.partConcurrency ?? 4;
    this.#listPageSize = options.listPageSize;
    if (this.#partSize < MIN_PART_SIZE) {
      throw new FailsafeError('CONFIG', `S3 part size must be at least 5 MiB, got ${this.#partSize} bytes`);
    }
    this.#client = newS3Client(options);
  }

  async put(key: string, pieces: ObjectData): Promise<void> {
    const data = joinData(pieces);
    const params = { Bucket: this.#bucket, Key: this.#objectKey(key) };
    await this.#call('put', key, async () => {
      if (data.length <= this.#multipartThreshold) {
        const md5 = createHash('md5').update(data).digest('base64');
        const command = new PutObjectCommand({ ...params, Body: data, ContentLength: data.length, ContentMD5: md5 });
        await this.#client.send(command);
        return;
      }
      const upload = new Upload({
        client: this.#client,
        params: { ...params, Body: data },
        partSize: this.#partSize,
        queueSize: this.#partConcurrency,
        // We abort ourselves, best-effort: Upload's own abort would replace the real error with the abort's.
        leavePartsOnError: true,
      });
      try {
        await upload.done();
      } catch (err) {
        if (upload.uploadId !== undefined) {
          const abort = new AbortMultipartUploadCommand({ ...params, UploadId: upload.uploadId });
          // A leftover upload is never listed and costs only storage; bucket lifecycle rules clean it up.
          await this.#client.send(abort).catch(() => undefined);
        }
        throw err;
      }
    });
  }

  async get(key: string): Promise<Buffer> {
    const Key = this.#objectKey(key);
    return this.#call('get', key, async () => {
      const response = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key }));
      const body = await readBody(response.Body);
      if (response.ContentLength !== undefined && body.length !== response.ContentLength) {
        throw shortRead(key, this.location, body.length, response.ContentLength);
      }
      return body;
    });
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer> {
    assertValidRange(offset, length);
    const Key = this.#objectKey(key);
    if (length === 0) {
      const { size } = await this.stat(key);
      if (offset > size) throw truncated(key, this.location, offset, length, size);
      return Buffer.alloc(0);
    }
    return this.#call('get', key, async () => {
      const Range = `bytes=${offset}-${offset + length - 1}`;
      let response;
      try {
        response = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key, Range }));
      } catch (err) {
        if ((err as { name?: unknown }).name !== 'InvalidRange') throw err;
        throw truncated(key, this.location, offset, length, (await this.stat(key)).size);
      }
      const total = /\/(\d+)$/.exec(response.ContentRange ?? '')?.[1];
      if (total !== undefined && offset + length > Number(total)) {
        // Some servers announce a body they never send for such ranges: do not wait for it.
        (response.Body as { destroy?: () => void } | undefined)?.destroy?.();
        throw truncated(key, this.location, offset, length, Number(total));
      }
      const body = await readBody(response.Body);
      if (response.ContentRange === undefined) {
        // The server ignored the Range header and sent the whole object.
        if (body.length < offset + length) throw truncated(key, this.location, offset, length, body.length);
        return body.subarray(offset, offset + length);
      }
      if (body.length !== length) throw shortRead(key, this.location, body.length, length);
      return body;
    });
  }

  async stat(key: string): Promise<ObjectInfo> {
    const Key = this.#objectKey(key);
    return this.#call('stat', key, async () => {
      const response = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key }));
      return { key, size: response.ContentLength ?? 0, modified: response.LastModified ?? new Date(0) };
    });
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    let token: string | undefined;
    do {
      const page = await this.#call('list', prefix === '' ? undefined : `${prefix}*`, () =>
        this.#client.send(
          new ListObjectsV2Command({
            Bucket: this.#bucket,
            Prefix: this.#prefix + prefix,
            ContinuationToken: token,
            MaxKeys: this.#listPageSize,
          }),
        ),
      );
      for (const object of page.Contents ?? []) {
        const key = object.Key?.slice(this.#prefix.length);
        // Skip "folder" markers some consoles create; they are not objects of ours.
        if (key === undefined || key === '' || key.endsWith('/')) continue;
        yield { key, size: object.Size ?? 0, modified: object.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async delete(keys: readonly string[]): Promise<void> {
    const objectKeys = keys.map((key) => this.#objectKey(key));
    for (let i = 0; i < objectKeys.length; i += DELETE_BATCH) {
      const batch = objectKeys.slice(i, i + DELETE_BATCH);
      const response = await this.#call('delete', batch.length === 1 ? keys[i] : `${batch.length} objects`, () =>
        this.#client.send(
          new DeleteObjectsCommand({
            Bucket: this.#bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      );
      const failure = (response.Errors ?? []).find((error) => error.Code !== 'NoSuchKey');
      if (failure !== undefined) {
        const err = Object.assign(new Error(failure.Message ?? failure.Code ?? 'unknown error'), {
          name: failure.Code ?? 'UnknownError',
        });
        throw classifyS3Error(err, this.#context('delete', failure.Key?.slice(this.#prefix.length)));
      }
    }
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  #objectKey(key: string): string {
    assertValidKey(key);
    return this.#prefix + key;
  }

  async #call<T>(operation: string, key: string | undefined, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (err) {
      throw classifyS3Error(err, this.#context(operation, key));
    }
  }

  #context(operation: string, key: string | undefined) {
    return {
      operation,
      bucket: this.#bucket,
      location: this.location,
      ...(key === undefined ? {} : { key }),
      ...(this.#endpoint === undefined ? {} : { endpoint: this.#endpoint }),
    };
  }
}

interface ResponseBody {
  transformToByteArray(): Promise<Uint8Array>;
}

async function readBody(body: ResponseBody | undefined): Promise<Buffer> {
  if (body === undefined) return Buffer.alloc(0);
  const bytes = await body.transformToByteArray();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A response body that ended early: the connection broke, so another attempt may succeed. */
function shortRead(key: string, location: string, got: number, expected: number): FailsafeError {
  const message = `get ${key} in ${location}: response ended after ${got} of ${expected} bytes`;
  return new FailsafeError('UNAVAILABLE', message, { retryable: true });
}
