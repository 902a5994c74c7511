/**
 * Exclude patterns, as restic users write them: a pattern without `/` matches a file or directory
 * name anywhere (`*.tmp`, `node_modules`); a pattern with `/` matches the absolute path
 * (`/srv/app/cache`, `/home/*\/.cache`). `**` spans directories.
 */
import picomatch from 'picomatch';

/** True when the entry at `path` (named `name`) must be skipped, with everything below it. */
export type ExcludeMatcher = (path: string, name: string) => boolean;

export function createExcludeMatcher(patterns: readonly string[]): ExcludeMatcher {
  if (patterns.length === 0) return () => false;
  const byName = patterns.filter((pattern) => !pattern.includes('/'));
  const byPath = patterns.filter((pattern) => pattern.includes('/')).map((pattern) => pattern.replace(/\/+$/, ''));
  const matchName = byName.length > 0 ? picomatch(byName, { dot: true }) : () => false;
  const matchPath = byPath.length > 0 ? picomatch(byPath, { dot: true }) : () => false;
  return (path, name) => matchName(name) || matchPath(path);
}
