/**
 * An opened repository: its keys and config, the loaded index, and the primitives every operation
 * uses (sealed files, blobs, trees, snapshots, locks). Operations (backup, restore, check, prune, …)
 * are functions over a `Repository`, each in its own module.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { FailsafeError, isErrorCode, withContext } from '../core/errors.js';
import type { Storage } from '../storage/storage.js';
import { BlobWriter, type BlobWriterOptions } from './blob-writer.js';
import {
  Chunker,
  type ChunkerParams,
  type ContentKind,
  DEFAULT_CHUNKER_PARAMS,
  DEFAULT_TABLE_CHUNKER_PARAMS,
  createGearTable,
} from './chunker.js';
import { type CompressionName, decodeBlob, decodePayload, encodePayload } from './compression.js';
import {
  type RepositoryKeys,
  type SealedKind,
  MASTER_SECRET_BYTES,
  PackCipher,
  computeBlobId,
  deriveKeys,
  randomHex,
  seal,
  sha256Hex,
  unseal,
} from './crypto.js';
import { decodeIndex } from './index-file.js';
import { ParallelChunker } from './parallel-chunker.js';
import { type ScryptParams, DEFAULT_SCRYPT, createKeyFile, parseKeyFile, unwrapKeyFile } from './key-file.js';
import { type LockKind, type LockTiming, DEFAULT_LOCK_TIMING, Lock } from './lock.js';
import { blobAad, blobTypeName, packKey } from './pack.js';
import { ReadBufferPool } from './read-buffer-pool.js';
import { RepositoryIndex } from './repository-index.js';
import {
  type Snapshot,
  type SnapshotFilter,
  type SnapshotManifest,
  decodeManifest,
  encodeManifest,
  matchesFilter,
  shortId,
  sortNewestFirst,
} from './snapshot.js';
import { type Tree, decodeTree } from './tree.js';

export const FORMAT_VERSION = 1;
export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;

const chunkSizesSchema = z.object({
  minSize: z.number().int(),
  avgSize: z.number().int(),
  maxSize: z.number().int(),
});

const configSchema = z.object({
  version: z.number().int(),
  id: z.string(),
  created: z.string(),
  chunker: chunkSizesSchema.extend({
    secret: z.string(),
    /** Sizes for database tables; repositories created before 2026-12-01 have none and use the file sizes. */
    tables: chunkSizesSchema.optional(),
  }),
  packSize: z.number().int().min(1024),
  compression: z.enum(['fast', 'better', 'max']),
});

export type RepositoryConfig = z.infer<typeof configSchema>;

export interface RepositoryOptions {
  readonly lockTiming?: LockTiming;
}

export interface InitOptions extends RepositoryOptions {
  readonly scrypt?: ScryptParams;
  readonly packSize?: number;
  readonly compression?: CompressionName;
}

/** What a sealed file's directory is called for each kind. */
const SEALED_DIRS = { index: 'index', snapshot: 'snapshots', deletion: 'deletions' } as const;
type StoredKind = keyof typeof SEALED_DIRS;

export class Repository {
  readonly storage: Storage;
  readonly config: RepositoryConfig;
  readonly keys: RepositoryKeys;
  /** Id of the key file the password opened. */
  readonly keyId: string;
  readonly lockTiming: LockTiming;
  readonly #masterSecret: Buffer;
  #index: RepositoryIndex | undefined;
  #gearTable: Uint32Array | undefined;
  /** Pack keys of recently read packs (deriving one costs an HKDF). */
  readonly #packCiphers = new Map<string, PackCipher>();
  readonly #readBuffers = new ReadBufferPool();

  private constructor(
    storage: Storage,
    config: RepositoryConfig,
    masterSecret: Buffer,
    keyId: string,
    options: RepositoryOptions,
  ) {
    this.storage = storage;
    this.config = config;
    this.#masterSecret = masterSecret;
    this.keys = deriveKeys(masterSecret);
    this.keyId = keyId;
    this.lockTiming = options.lockTiming ?? DEFAULT_LOCK_TIMING;
  }

  /**
   * Creates a repository in an empty location.
   *
   * @example const repo = await Repository.init(await openStorage('/srv/backup'), password)
   */
  static async init(storage: Storage, password: string, options: InitOptions = {}): Promise<Repository> {
    if (await exists(storage, 'config')) {
      throw new FailsafeError('ALREADY_EXISTS', `a repository already exists at ${storage.location}`, {
        hint: 'use it as is, or choose an empty location',
      });
    }
    for await (const object of storage.list('')) {
      throw new FailsafeError('ALREADY_EXISTS', `${storage.location} is not empty (found ${object.key})`, {
        hint: 'a repository must be created in an empty directory or prefix',
      });
    }
    const masterSecret = randomBytes(MASTER_SECRET_BYTES);
    const config: RepositoryConfig = {
      version: FORMAT_VERSION,
      id: randomHex(),
      created: new Date().toISOString(),
      chunker: { secret: randomBytes(32).toString('base64'), ...DEFAULT_CHUNKER_PARAMS, tables: { ...DEFAULT_TABLE_CHUNKER_PARAMS } },
      packSize: options.packSize ?? DEFAULT_PACK_SIZE,
      compression: options.compression ?? 'fast',
    };
    const keyId = randomHex();
    const keyFile = await createKeyFile(masterSecret, password, options.scrypt ?? DEFAULT_SCRYPT);
    await storage.put(`keys/${keyId}`, Buffer.from(JSON.stringify(keyFile, null, 2)));
    const repo = new Repository(storage, config, masterSecret, keyId, options);
    // The config is written last: a location with a config is a complete repository.
    await storage.put('config', seal(repo.keys, 'config', Buffer.from(JSON.stringify(config))));
    return repo;
  }

  /**
   * Opens an existing repository with a password (tries every key file).
   *
   * @example const repo = await Repository.open(storage, process.env.FAILSAFE_PASSWORD!)
   */
  static async open(storage: Storage, password: string, options: RepositoryOptions = {}): Promise<Repository> {
    const keyIds: string[] = [];
    for await (const object of storage.list('keys/')) keyIds.push(object.key.slice('keys/'.length));
    if (keyIds.length === 0 || !(await exists(storage, 'config'))) {
      throw new FailsafeError('NO_REPOSITORY', `no repository at ${storage.location}`, {
        hint: `create one with \`failsafe init --repo ${storage.location}\``,
      });
    }
    let damaged = 0;
    for (const keyId of keyIds.sort()) {
      let keyFile;
      try {
        keyFile = parseKeyFile(await storage.get(`keys/${keyId}`), keyId);
      } catch (err) {
        // Another key may still open the repository.
        if (!isErrorCode(err, 'CORRUPT') && !isErrorCode(err, 'NOT_FOUND')) throw err;
        damaged++;
        continue;
      }
      const masterSecret = await unwrapKeyFile(keyFile, password);
      if (!masterSecret) continue;
      const keys = deriveKeys(masterSecret);
      const config = parseConfig(unseal(keys, 'config', await storage.get('config'), 'config'));
      return new Repository(storage, config, masterSecret, keyId, options);
    }
    throw new FailsafeError('WRONG_PASSWORD', 'wrong password or no matching key', {
      hint:
        damaged > 0
          ? `${damaged} key file(s) are damaged; check FAILSAFE_PASSWORD / FAILSAFE_PASSWORD_FILE / --password-file`
          : 'check FAILSAFE_PASSWORD / FAILSAFE_PASSWORD_FILE / --password-file',
    });
  }

  /** Adds a key file for `password`; returns its id. */
  async addKey(password: string, scryptParams: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
    const keyId = randomHex();
    const keyFile = await createKeyFile(this.#masterSecret, password, scryptParams);
    await this.storage.put(`keys/${keyId}`, Buffer.from(JSON.stringify(keyFile, null, 2)));
    return keyId;
  }

  // ---- sealed files ----------------------------------------------------------------------------

  /** Seals and stores a payload under `<dir>/<sha256>`; returns the id. */
  async saveSealed(kind: StoredKind, payload: Buffer): Promise<string> {
    const stored = seal(this.keys, kind, await encodePayload(payload));
    const id = sha256Hex(stored);
    await this.storage.put(`${SEALED_DIRS[kind]}/${id}`, stored);
    return id;
  }

  /** Loads and verifies a sealed file by id. */
  async loadSealed(kind: StoredKind, id: string): Promise<Buffer> {
    const key = `${SEALED_DIRS[kind]}/${id}`;
    const stored = await this.storage.get(key);
    if (sha256Hex(stored) !== id) {
      throw new FailsafeError('CORRUPT', `${key}: content does not match its name (the file is damaged)`);
    }
    return decodePayload(unseal(this.keys, kind as SealedKind, stored, key), key);
  }

  async listIds(kind: StoredKind): Promise<string[]> {
    const prefix = `${SEALED_DIRS[kind]}/`;
    const ids: string[] = [];
    for await (const object of this.storage.list(prefix)) ids.push(object.key.slice(prefix.length));
    return ids;
  }

  async deleteSealed(kind: StoredKind, ids: readonly string[]): Promise<void> {
    await this.storage.delete(ids.map((id) => `${SEALED_DIRS[kind]}/${id}`));
  }

  // ---- index and blobs -------------------------------------------------------------------------

  /**
   * The index; loaded from storage on first use (or again with `reload`). With `onError`, damaged
   * index files are reported and skipped instead of failing the load (used by `check`).
   */
  async loadIndex(options: { reload?: boolean; onError?: (id: string, err: unknown) => void } = {}): Promise<RepositoryIndex> {
    if (this.#index && !options.reload) return this.#index;
    for (let attempt = 1; ; attempt++) {
      try {
        this.#index = await this.#readIndexFiles(options.onError);
        return this.#index;
      } catch (err) {
        // A concurrent prune replaced the index files between our listing and our reads.
        if (!isErrorCode(err, 'NOT_FOUND') || attempt === 3) throw err;
      }
    }
  }

  async #readIndexFiles(onError: ((id: string, err: unknown) => void) | undefined): Promise<RepositoryIndex> {
    const index = new RepositoryIndex();
    await Promise.all(
      (await this.listIds('index')).map(async (id) => {
        try {
          for (const pack of decodeIndex(await this.loadSealed('index', id), `index/${id}`)) index.addPack(pack);
        } catch (err) {
          if (!onError || !isErrorCode(err, 'CORRUPT')) throw err;
          onError(id, err);
        }
      }),
    );
    return index;
  }

  /** The loaded index; throws if {@link loadIndex} was not awaited first. */
  get index(): RepositoryIndex {
    if (!this.#index) throw new FailsafeError('INTERNAL', 'index used before loadIndex()');
    return this.#index;
  }

  /**
   * Reads, authenticates and decompresses one blob. AES-GCM authenticates the content together with
   * the blob's type and id, so damage or tampering is always detected; `verifyId` (default true)
   * also recomputes the keyed hash of the content, which only a faulty writer could get wrong — bulk
   * restores skip it for speed, `check --read-data` never does.
   *
   * The blob's stored type only matters for decryption: identical content stored as a tree serves as
   * data too, and vice versa.
   */
  async loadBlob(id: Buffer, options: { readonly verifyId?: boolean } = {}): Promise<Buffer> {
    const hex = id.toString('hex');
    const location = this.index.lookup(id);
    if (!location) {
      throw new FailsafeError('NOT_FOUND', `blob ${hex.slice(0, 12)} is not in the index (data is missing)`, {
        hint: 'run `failsafe check` to see which snapshots are affected',
      });
    }
    const what = `${blobTypeName(location.type)} blob ${hex.slice(0, 12)} in pack ${location.pack.id.slice(0, 12)}`;
    try {
      const readBuffer = this.#readBuffers.take(location.length);
      let plain: Buffer;
      try {
        const record = await this.storage.getRange(packKey(location.pack.id), location.offset, location.length, readBuffer);
        plain = this.#packCipher(location.pack.id, location.pack.salt).decrypt(location.offset, blobAad(location.type, id), record, what);
      } finally {
        this.#readBuffers.give(readBuffer);
      }
      const data = await decodeBlob(plain, location.rawLength, what);
      if (options.verifyId !== false && !computeBlobId(this.keys, data).equals(id)) {
        throw new FailsafeError('CORRUPT', `${what}: content does not match its id`);
      }
      return data;
    } catch (err) {
      throw isErrorCode(err, 'NOT_FOUND')
        ? new FailsafeError('NOT_FOUND', `${what}: pack file is missing`, {
            cause: err,
            hint: 'run `failsafe check` to see which snapshots are affected',
          })
        : err;
    }
  }

  #packCipher(packId: string, salt: Buffer): PackCipher {
    let cipher = this.#packCiphers.get(packId);
    if (!cipher) {
      if (this.#packCiphers.size >= 64) this.#packCiphers.delete(this.#packCiphers.keys().next().value!);
      cipher = new PackCipher(this.keys, salt);
      this.#packCiphers.set(packId, cipher);
    }
    return cipher;
  }

  async loadTree(id: string): Promise<Tree> {
    return decodeTree(await this.loadBlob(Buffer.from(id, 'hex')), `tree ${id.slice(0, 12)}`);
  }

  /** A content-defined chunker with this repository's secret gear table and sizes. */
  newChunker(kind: ContentKind = 'files'): Chunker {
    return new Chunker(this.#gear(), this.chunkerParams(kind));
  }

  /** Chunking and hashing on `workers` threads; close it when done. */
  newParallelChunker(workers: number, kind: ContentKind = 'files'): ParallelChunker {
    return new ParallelChunker(this.#gear(), this.chunkerParams(kind), this.keys.blobId, workers);
  }

  #gear(): Uint32Array {
    this.#gearTable ??= createGearTable(Buffer.from(this.config.chunker.secret, 'base64'));
    return this.#gearTable;
  }

  /** The chunk sizes for `kind`: a repository without table sizes cuts tables like files. */
  chunkerParams(kind: ContentKind = 'files'): ChunkerParams {
    const { minSize, avgSize, maxSize, tables } = this.config.chunker;
    return kind === 'tables' && tables ? { ...tables } : { minSize, avgSize, maxSize };
  }

  /** A writer session that stores new blobs in packs and indexes them. */
  newBlobWriter(options: BlobWriterOptions = {}): BlobWriter {
    return new BlobWriter(this, options);
  }

  // ---- snapshots -------------------------------------------------------------------------------

  async saveSnapshot(manifest: SnapshotManifest): Promise<string> {
    return this.saveSealed('snapshot', encodeManifest(manifest));
  }

  async loadSnapshot(id: string): Promise<Snapshot> {
    return decodeManifest(await this.loadSealed('snapshot', id), id);
  }

  /** All snapshots, newest first. */
  async listSnapshots(filter: SnapshotFilter = {}): Promise<Snapshot[]> {
    const ids = await this.listIds('snapshot');
    const snapshots = await Promise.all(
      ids.map(async (id) => {
        try {
          return await this.loadSnapshot(id);
        } catch (err) {
          if (isErrorCode(err, 'NOT_FOUND')) return undefined; // deleted by a concurrent forget
          throw withContext(`snapshot ${shortId(id)}`, err);
        }
      }),
    );
    return sortNewestFirst(snapshots.filter((s): s is Snapshot => s !== undefined && matchesFilter(s, filter)));
  }

  /**
   * Resolves `latest` or a (prefix of a) snapshot id.
   *
   * @example await repo.findSnapshot('latest', { hosts: ['web-1'] })
   */
  async findSnapshot(ref: string, filter: SnapshotFilter = {}): Promise<Snapshot> {
    if (ref === 'latest') {
      const [latest] = await this.listSnapshots(filter);
      if (!latest) throw new FailsafeError('NOT_FOUND', 'no snapshot matches "latest"', { hint: 'run `failsafe snapshots` to list them' });
      return latest;
    }
    if (!/^[0-9a-f]{1,64}$/.test(ref)) {
      throw new FailsafeError('USAGE', `"${ref}" is not a snapshot id (hex digits) or "latest"`);
    }
    const matches = (await this.listIds('snapshot')).filter((id) => id.startsWith(ref));
    if (matches.length === 0) {
      throw new FailsafeError('NOT_FOUND', `no snapshot with id ${ref}`, { hint: 'run `failsafe snapshots` to list them' });
    }
    if (matches.length > 1) {
      throw new FailsafeError('USAGE', `snapshot id prefix ${ref} is ambiguous (${matches.map(shortId).join(', ')})`);
    }
    return this.loadSnapshot(matches[0]!);
  }

  // ---- locks -----------------------------------------------------------------------------------

  lock(kind: LockKind, operation: string): Promise<Lock> {
    return Lock.acquire(this.storage, this.keys, kind, operation, this.lockTiming);
  }

  /**
   * Runs `work` holding a lock, released however `work` ends.
   *
   * @example await repo.withLock('shared', 'restore', async () => { ... })
   */
  async withLock<T>(kind: LockKind, operation: string, work: (lock: Lock) => Promise<T>): Promise<T> {
    const lock = await this.lock(kind, operation);
    try {
      return await work(lock);
    } finally {
      await lock.release();
    }
  }
}

function parseConfig(plain: Buffer): RepositoryConfig {
  let config: RepositoryConfig;
  try {
    config = configSchema.parse(JSON.parse(plain.toString('utf8')));
  } catch (err) {
    throw new FailsafeError('CORRUPT', 'repository config is damaged', { cause: err });
  }
  if (config.version > FORMAT_VERSION) {
    throw new FailsafeError(
      'CONFIG',
      `repository format version ${config.version} is newer than this failsafe supports (${FORMAT_VERSION})`,
      { hint: 'upgrade failsafe' },
    );
  }
  return Object.freeze(config);
}

async function exists(storage: Storage, key: string): Promise<boolean> {
  try {
    await storage.stat(key);
    return true;
  } catch (err) {
    if (isErrorCode(err, 'NOT_FOUND')) return false;
    throw err;
  }
}
