/**
 * Loading a user's migration file: TypeScript through tsx's loader (transpiled, not type-checked: the
 * user's editor and `tsc` do that), JavaScript as is; then the dataset graph is checked.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FailsafeError, isSystemError, messageOf } from '../core/errors.js';
import { DatasetGraph } from './dataset-graph.js';
import type { MigrationDefinition } from './definition.js';

export interface LoadedMigration {
  /** The file as given, for messages. */
  readonly file: string;
  readonly definition: MigrationDefinition;
  readonly graph: DatasetGraph;
  /** SHA-256 of the file's bytes: runs record which definition staged what. */
  readonly hash: string;
}

/**
 * Imports `file` and checks its default export. A file that is missing, does not compile, throws while
 * loading or exports no migration is a one-line `CONFIG` error naming the file.
 *
 * @example const { definition, graph } = await loadMigration('migration.ts')
 */
export async function loadMigration(file: string): Promise<LoadedMigration> {
  const path = resolve(file);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new FailsafeError('CONFIG', `migration file ${file} ${isSystemError(err, 'ENOENT') ? 'does not exist' : 'cannot be read'}`, { cause: err });
  }
  let module: { default?: unknown };
  try {
    module = /\.[mc]?ts$/.test(path)
      ? ((await (await import('tsx/esm/api')).tsImport(pathToFileURL(path).href, import.meta.url)) as { default?: unknown })
      : ((await import(pathToFileURL(path).href)) as { default?: unknown });
  } catch (err) {
    throw new FailsafeError('CONFIG', `migration file ${file} does not load: ${firstLine(messageOf(err))}`, { cause: err });
  }
  // A .ts file outside an ESM package loads as CommonJS: its default export is one level down.
  const exported = module.default as { default?: unknown; datasets?: unknown } | undefined;
  const definition = exported && typeof exported === 'object' && !('datasets' in exported) && 'default' in exported ? exported.default : exported;
  if (typeof definition !== 'object' || definition === null || !('datasets' in definition)) {
    throw new FailsafeError('CONFIG', `migration file ${file} has no default export with datasets (export default defineMigration({ datasets: { ... } }))`);
  }
  const graph = DatasetGraph.of(definition as MigrationDefinition, file);
  return { file, definition: definition as MigrationDefinition, graph, hash: createHash('sha256').update(bytes).digest('hex') };
}

function firstLine(text: string): string {
  return text.split('\n').find((line) => line.trim() !== '')?.trim() ?? text;
}
