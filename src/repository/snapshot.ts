/**
 * Snapshot manifests: one per backup, naming the root tree and describing where it came from.
 */
import { z } from 'zod';
import { FailsafeError } from '../core/errors.js';

const summarySchema = z.object({
  files: z.number(),
  dirs: z.number(),
  /** Total content bytes of the snapshot. */
  bytes: z.number(),
  /** Blobs this backup stored that the repository did not have. */
  newBlobs: z.number(),
  newRawBytes: z.number(),
  /** Bytes those new blobs occupy in packs (compressed and encrypted). */
  newStoredBytes: z.number(),
  start: z.string(),
  end: z.string(),
});

const manifestSchema = z.object({
  version: z.literal(1),
  time: z.string(),
  host: z.string(),
  username: z.string(),
  program: z.string(),
  /** What was backed up: `paths`, `stdin`; later `postgres`, `objects`. `name` is the configured source. */
  source: z.object({ kind: z.string(), name: z.string().optional() }).loose(),
  paths: z.array(z.string()),
  tags: z.array(z.string()),
  tenant: z.string().nullable(),
  tree: z.string().regex(/^[0-9a-f]{64}$/),
  parent: z.string().nullable(),
  summary: summarySchema,
});

export type SnapshotManifest = z.infer<typeof manifestSchema>;
export type SnapshotSummary = z.infer<typeof summarySchema>;

/** A manifest together with its id (the SHA-256 of the stored file). */
export interface Snapshot extends SnapshotManifest {
  readonly id: string;
}

export function encodeManifest(manifest: SnapshotManifest): Buffer {
  return Buffer.from(JSON.stringify(manifest), 'utf8');
}

export function decodeManifest(payload: Buffer, id: string): Snapshot {
  try {
    return Object.freeze({ ...manifestSchema.parse(JSON.parse(payload.toString('utf8'))), id });
  } catch (err) {
    throw new FailsafeError('CORRUPT', `snapshot ${id.slice(0, 8)}: manifest is not valid`, { cause: err });
  }
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** Filters for choosing snapshots (`--host`, `--tag`, `--path`, `--tenant`, `--source`). */
export interface SnapshotFilter {
  readonly hosts?: readonly string[];
  /** Each entry is a comma-separated set of tags that must all be present; entries are alternatives. */
  readonly tags?: readonly string[];
  readonly paths?: readonly string[];
  readonly tenants?: readonly string[];
  readonly sources?: readonly string[];
}

export function matchesFilter(snapshot: SnapshotManifest, filter: SnapshotFilter): boolean {
  if (filter.hosts?.length && !filter.hosts.includes(snapshot.host)) return false;
  if (filter.tenants?.length && !filter.tenants.includes(snapshot.tenant ?? '')) return false;
  if (filter.sources?.length && !filter.sources.includes(snapshot.source.name ?? snapshot.source.kind)) return false;
  if (filter.paths?.length && !filter.paths.every((path) => snapshot.paths.includes(path))) return false;
  if (filter.tags?.length) {
    const matchesOne = filter.tags.some((set) =>
      set
        .split(',')
        .filter((tag) => tag.length > 0)
        .every((tag) => snapshot.tags.includes(tag)),
    );
    if (!matchesOne) return false;
  }
  return true;
}

/** Newest first, ties broken by id so the order is stable. */
export function sortNewestFirst<T extends { time: string; id: string }>(snapshots: readonly T[]): T[] {
  return [...snapshots].sort((a, b) => Date.parse(b.time) - Date.parse(a.time) || b.id.localeCompare(a.id));
}
