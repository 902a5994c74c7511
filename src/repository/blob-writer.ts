/**
 * A write session: deduplicates blobs against the index, compresses them on the thread pool, packs
 * them, uploads packs and writes index files — always in that order, so a snapshot written after
 * {@link BlobWriter.flush} only references indexed blobs.
 */
import { FailsafeError } from '../core/errors.js';
import type { Storage } from '../storage/storage.js';
import { COMPRESSION_LEVELS, type CompressionName, encodeBlob } from './compression.js';
import { type RepositoryKeys, computeBlobId } from './crypto.js';
import { type IndexedPack, encodeIndex } from './index-file.js';
import { type BlobType, PackBuilder, packKey } from './pack.js';
import type { RepositoryIndex } from './repository-index.js';

/** The slice of a repository a writer needs (a `Repository` is one). */
export interface BlobDestination {
  readonly keys: RepositoryKeys;
  readonly config: { readonly packSize: number; readonly compression: CompressionName };
  readonly storage: Storage;
  /** Loaded; new packs are added to it as they are stored, so later blobs deduplicate against them. */
  readonly index: RepositoryIndex;
  saveSealed(kind: 'index', payload: Buffer): Promise<string>;
}

export interface BlobWriterOptions {
  /** Write an index file after this many uploaded packs (and at flush). Default 8. */
  readonly indexEveryPacks?: number;
  /** Bytes of blobs accepted but not yet packed; `save` waits above this. Default 32 MiB. */
  readonly maxPendingBytes?: number;
  /** Packs uploading at once. Default 2. */
  readonly maxUploads?: number;
  /** Called after each pack is stored (before it is indexed). */
  readonly onPackStored?: (pack: IndexedPack) => void;
  /**
   * Store blobs even when the index already has them (prune's repacking copies blobs out of packs
   * that are about to go). Blobs are still deduplicated within the session. Default false.
   */
  readonly ignoreIndex?: boolean;
}

export interface BlobWriterStats {
  newBlobs: number;
  newRawBytes: number;
  newStoredBytes: number;
  packs: number;
  indexFiles: number;
}

export interface SaveResult {
  readonly id: Buffer;
  /** False when the repository (or this session) already had the blob. */
  readonly isNew: boolean;
}

export class BlobWriter {
  readonly stats: BlobWriterStats = { newBlobs: 0, newRawBytes: 0, newStoredBytes: 0, packs: 0, indexFiles: 0 };
  readonly #destination: BlobDestination;
  readonly #indexEveryPacks: number;
  readonly #maxPendingBytes: number;
  readonly #maxUploads: number;
  readonly #onPackStored: ((pack: IndexedPack) => void) | undefined;
  readonly #ignoreIndex: boolean;
  /** Blobs accepted by this session that are not yet in the repository index (hex ids). */
  readonly #pendingIds = new Set<string>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #uploads = new Set<Promise<void>>();
  readonly #builders = new Map<BlobType, PackBuilder>();
  #unindexed: IndexedPack[] = [];
  #pendingBytes = 0;
  #failure: unknown;

  constructor(destination: BlobDestination, options: BlobWriterOptions = {}) {
    this.#destination = destination;
    this.#indexEveryPacks = options.indexEveryPacks ?? 8;
    this.#maxPendingBytes = options.maxPendingBytes ?? 32 * 1024 * 1024;
    this.#maxUploads = options.maxUploads ?? 2;
    this.#onPackStored = options.onPackStored;
    this.#ignoreIndex = options.ignoreIndex ?? false;
  }

  /** True when the repository or this session already stores a blob with this id. */
  has(id: Uint8Array): boolean {
    return (
      (!this.#ignoreIndex && this.#destination.index.has(id)) ||
      this.#pendingIds.has(Buffer.from(id.buffer, id.byteOffset, 32).toString('hex'))
    );
  }

  /**
   * Accepts a blob. Resolves as soon as there is room for more (not when the blob is stored: that is
   * what {@link flush} waits for). `data` must not be modified afterwards.
   *
   * @example const { id, isNew } = await writer.save(BlobType.Data, chunk)
   */
  async save(type: BlobType, data: Buffer, id: Buffer = computeBlobId(this.#destination.keys, data)): Promise<SaveResult> {
    this.#throwIfFailed();
    if (this.has(id)) return { id, isNew: false };
    const hex = id.toString('hex');
    this.#pendingIds.add(hex);
    this.#pendingBytes += data.length;
    const task = this.#store(type, id, data)
      .catch((err: unknown) => {
        this.#failure ??= err;
      })
      .finally(() => {
        this.#pendingBytes -= data.length;
        this.#tasks.delete(task);
      });
    this.#tasks.add(task);
    while (this.#pendingBytes > this.#maxPendingBytes && this.#tasks.size > 0) await Promise.race(this.#tasks);
    this.#throwIfFailed();
    return { id, isNew: true };
  }

  /** Stores every accepted blob, uploads partial packs and writes the index for everything uploaded. */
  async flush(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.all(this.#tasks);
    this.#throwIfFailed();
    for (const [type, builder] of this.#builders) {
      this.#builders.delete(type);
      await this.#upload(builder);
    }
    while (this.#uploads.size > 0) await Promise.all(this.#uploads);
    this.#throwIfFailed();
    await this.#writeIndex();
  }

  async #store(type: BlobType, id: Buffer, data: Buffer): Promise<void> {
    const encoded = await encodeBlob(data, COMPRESSION_LEVELS[this.#destination.config.compression]);
    let builder = this.#builders.get(type);
    if (!builder) {
      builder = new PackBuilder(this.#destination.keys);
      this.#builders.set(type, builder);
    }
    const blob = builder.add(type, id, encoded.codec, encoded.body, data.length);
    this.stats.newBlobs++;
    this.stats.newRawBytes += data.length;
    this.stats.newStoredBytes += blob.length;
    if (builder.size >= this.#destination.config.packSize) {
      this.#builders.delete(type);
      await this.#upload(builder);
    }
  }

  async #upload(builder: PackBuilder): Promise<void> {
    if (builder.blobCount === 0) return;
    const pack = builder.finish();
    while (this.#uploads.size >= this.#maxUploads) await Promise.race(this.#uploads);
    const upload = (async () => {
      await this.#destination.storage.put(packKey(pack.id), pack.pieces);
      const indexed: IndexedPack = { id: pack.id, salt: pack.salt, size: pack.size, blobs: pack.blobs };
      this.stats.packs++;
      this.#onPackStored?.(indexed);
      this.#destination.index.addPack(indexed);
      for (const blob of pack.blobs) this.#pendingIds.delete(blob.id.toString('hex'));
      this.#unindexed.push(indexed);
      if (this.#unindexed.length >= this.#indexEveryPacks) await this.#writeIndex();
    })()
      .catch((err: unknown) => {
        this.#failure ??= err;
      })
      .finally(() => this.#uploads.delete(upload));
    this.#uploads.add(upload);
  }

  async #writeIndex(): Promise<void> {
    if (this.#unindexed.length === 0) return;
    const packs = this.#unindexed;
    this.#unindexed = [];
    await this.#destination.saveSealed('index', encodeIndex(packs));
    this.stats.indexFiles++;
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) {
      throw this.#failure instanceof FailsafeError
        ? this.#failure
        : new FailsafeError('INTERNAL', `storing blobs failed: ${String(this.#failure)}`, { cause: this.#failure });
    }
  }
}
