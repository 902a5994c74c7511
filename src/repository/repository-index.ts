/**
 * The in-memory view of all index files: blob id → pack and position, plus the table of packs.
 * Blob entries live in a {@link BlobIndex} (typed arrays); packs in a small table of objects, since
 * there are ~1/16 as many packs as MiB stored.
 */
import { BlobIndex } from './blob-index.js';
import type { IndexedPack } from './index-file.js';
import type { BlobType } from './pack.js';

export interface PackInfo {
  readonly id: string;
  readonly salt: Buffer;
  readonly size: number;
}

/** Everything needed to read one blob. */
export interface BlobLocation {
  readonly type: BlobType;
  readonly pack: PackInfo;
  readonly offset: number;
  readonly length: number;
  readonly rawLength: number;
}

export interface IndexedBlob {
  readonly id: Buffer;
  readonly location: BlobLocation;
}

export class RepositoryIndex {
  readonly #blobs = new BlobIndex();
  readonly #packs: PackInfo[] = [];
  readonly #packNumbers = new Map<string, number>();

  /** Adds a pack and its blobs; a pack already present is ignored, a blob already present keeps its first copy. */
  addPack(pack: IndexedPack): void {
    if (this.#packNumbers.has(pack.id)) return;
    const number = this.#packs.length;
    this.#packs.push({ id: pack.id, salt: pack.salt, size: pack.size });
    this.#packNumbers.set(pack.id, number);
    for (const blob of pack.blobs) {
      this.#blobs.add(blob.id, {
        type: blob.type,
        pack: number,
        offset: blob.offset,
        length: blob.length,
        rawLength: blob.rawLength,
      });
    }
  }

  has(id: Uint8Array): boolean {
    return this.#blobs.has(id);
  }

  hasPack(packId: string): boolean {
    return this.#packNumbers.has(packId);
  }

  lookup(id: Uint8Array): BlobLocation | undefined {
    const entry = this.#blobs.get(id);
    if (!entry) return undefined;
    return {
      type: entry.type as BlobType,
      pack: this.#packs[entry.pack]!,
      offset: entry.offset,
      length: entry.length,
      rawLength: entry.rawLength,
    };
  }

  get blobCount(): number {
    return this.#blobs.size;
  }

  get packCount(): number {
    return this.#packs.length;
  }

  packs(): readonly PackInfo[] {
    return this.#packs;
  }

  /** The blobs of the given packs, grouped by pack id, in offset order. One pass over the index. */
  blobsByPack(packIds: ReadonlySet<string>): Map<string, IndexedBlob[]> {
    const groups = new Map<string, IndexedBlob[]>();
    for (const id of packIds) groups.set(id, []);
    for (const entry of this.#blobs.entries()) {
      const pack = this.#packs[entry.pack]!;
      const group = groups.get(pack.id);
      if (!group) continue;
      group.push({
        id: entry.id,
        location: { type: entry.type as BlobType, pack, offset: entry.offset, length: entry.length, rawLength: entry.rawLength },
      });
    }
    for (const group of groups.values()) group.sort((a, b) => a.location.offset - b.location.offset);
    return groups;
  }

  /** Bytes held by the blob table. */
  get memoryBytes(): number {
    return this.#blobs.byteLength;
  }
}
