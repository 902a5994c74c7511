/**
 * The storage seam: a flat namespace of immutable objects addressed by keys.
 *
 * Keys are relative, slash-separated paths without a leading slash, `.` or `..` segments
 * (e.g. `data/3f/3f9c…`, `snapshots/abc…`, `config`). Backends map them onto a directory or an S3
 * prefix. The repository layer is the only writer of repository keys; it never updates an object in
 * place, it writes new keys and deletes old ones.
 *
 * Error contract, for every method:
 * - A missing object is a `FailsafeError` with code `NOT_FOUND` (never a raw ENOENT/NoSuchKey).
 * - Transient failures (timeouts, connection resets, throttling, HTTP 5xx) are `FailsafeError`s with
 *   `retryable: true`; the retry wrapper retries exactly these. Everything else is permanent.
 * - Credentials/permission problems use code `PERMISSION`, unreachable services `UNAVAILABLE`.
 */
export interface Storage {
  /** Where the objects live, for messages: `/srv/repo`, `s3://bucket/prefix`. Never contains credentials. */
  readonly location: string;

  /**
   * Stores `data` under `key`; a list of pieces is stored as their concatenation (so callers need not
   * copy a pack into one buffer). Atomic: readers see either the previous state or the whole new
   * object, never a prefix of it, even if the process dies mid-write. Idempotent: writing the same bytes
   * twice is not an error; writing different bytes replaces the object.
   */
  put(key: string, data: ObjectData): Promise<void>;

  /** Reads a whole object. `NOT_FOUND` when absent. */
  get(key: string): Promise<Buffer>;

  /**
   * Reads `length` bytes starting at `offset`. `NOT_FOUND` when the object is absent; a `CORRUPT` error
   * when the object is shorter than `offset + length` (a truncated object is damage, not end of file).
   * `into` (at least `length` bytes) is a buffer the backend may read into, returning a view of it, so a
   * caller that reads many ranges can reuse its buffers; a backend that cannot returns a buffer of its
   * own. Either way the caller owns `into` again once the promise settles.
   */
  getRange(key: string, offset: number, length: number, into?: Buffer): Promise<Buffer>;

  /** Size and modification time of one object. `NOT_FOUND` when absent. */
  stat(key: string): Promise<ObjectInfo>;

  /**
   * Lists every object whose key starts with `prefix` (e.g. `index/`), in no particular order, including
   * objects written by other processes up to the moment the listing reaches them. Unfinished writes
   * (temporary files, incomplete multipart uploads) are never listed.
   */
  list(prefix: string): AsyncIterable<ObjectInfo>;

  /** Deletes the given keys. Keys that do not exist are ignored, so a repeated delete succeeds. */
  delete(keys: readonly string[]): Promise<void>;

  /** Releases sockets and file handles. The storage must not be used afterwards. */
  close(): Promise<void>;
}

/** An object's bytes: one buffer, or pieces in order. */
export type ObjectData = Uint8Array | readonly Uint8Array[];

/** Total length of {@link ObjectData}. */
export function dataLength(data: ObjectData): number {
  return data instanceof Uint8Array ? data.length : data.reduce((sum, piece) => sum + piece.length, 0);
}

/** {@link ObjectData} as one buffer (copies only when given pieces). */
export function joinData(data: ObjectData): Buffer {
  if (!(data instanceof Uint8Array)) return Buffer.concat(data);
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly modified: Date;
}
