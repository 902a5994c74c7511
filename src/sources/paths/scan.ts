/**
 * Counts what a backup will read, so progress can show totals and an ETA. Runs beside the backup;
 * errors are ignored here (the backup itself reports them).
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExcludeMatcher } from './exclude.js';

export interface ScanTotals {
  readonly files: number;
  readonly bytes: number;
}

export async function scanPaths(roots: readonly string[], exclude: ExcludeMatcher, signal?: AbortSignal): Promise<ScanTotals> {
  const totals = { files: 0, bytes: 0 };
  const visit = async (path: string): Promise<void> => {
    signal?.throwIfAborted();
    const stat = await lstat(path).catch(() => undefined);
    if (stat?.isFile()) {
      totals.files++;
      totals.bytes += stat.size;
    } else if (stat?.isDirectory()) {
      const names = await readdir(path).catch(() => [] as string[]);
      for (const name of names) {
        const child = join(path, name);
        if (!exclude(child, name)) await visit(child);
      }
    }
  };
  for (const root of roots) await visit(root);
  return totals;
}
