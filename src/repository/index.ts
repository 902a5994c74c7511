/**
 * The repository layer: encrypted, deduplicated, compressed storage of snapshots on any `Storage`.
 * It knows the storage interface and nothing above it (no file systems as sources, no databases, no CLI).
 *
 * Glossary (the format itself is specified in docs/repository-format.md)
 * - master secret: 64 random bytes from `init`; every working key is derived from it.
 * - key file: the master secret sealed under one password (scrypt + AES-256-GCM); several per repository.
 * - blob: one piece of content — a file chunk (`data`) or a serialized directory (`tree`) — named by its
 *   blob id, the HMAC-SHA-256 of its plaintext under the repository's id key.
 * - chunk: a piece of a byte stream cut by the content-defined chunker (FastCDC, keyed gear table).
 * - pack: a file of ~16 MiB holding encrypted blob records and an encrypted header listing them.
 * - index: files telling which pack holds which blob; loaded into a typed-array {@link BlobIndex}.
 * - tree / snapshot: a directory listing, and the manifest naming the root tree of one backup.
 * - lock: a file announcing a session; deletion mark: the packs a prune will delete once the sessions
 *   that might use them have ended.
 *
 * Operations are functions over an opened {@link Repository}: backups write through a
 * {@link BlobWriter}, restores read with `readContent`, maintenance is `forget`, `prune`, `check`.
 */
export { Repository, type RepositoryConfig, type InitOptions, type RepositoryOptions } from './repository.js';
export { BlobWriter, type BlobWriterOptions } from './blob-writer.js';
export { BlobIndex } from './blob-index.js';
export { saveContent, readContent, readWholeContent } from './content.js';
export { ParallelChunker, type ContentSource } from './parallel-chunker.js';
export { BlobType } from './pack.js';
export type { Snapshot, SnapshotFilter, SnapshotManifest } from './snapshot.js';
export type { Tree, TreeNode } from './tree.js';
export { walkTree, collectReachable } from './tree-walk.js';
export { diffTrees } from './tree-diff.js';
export { forget } from './forget.js';
export { prune } from './prune.js';
export { checkRepository } from './check.js';
export { repositoryStats } from './stats.js';
export { listKeys, removeKey, changePassword } from './keys.js';
export { applyRetentionPolicy, type RetentionPolicy } from './retention.js';
