/**
 * Opening the target a migration names, of whichever kind, with every dataset's load spec checked
 * against it.
 */
import { FailsafeError } from '../core/errors.js';
import type { HttpLoadSpec, MigrationDefinition, PostgresTarget, TableLoadSpec } from './definition.js';
import { HttpLoadTarget } from './http-target.js';
import type { LoadTarget, OpenTargetOptions } from './load-target.js';

/**
 * The target `name` of a migration, checked against every dataset's load spec (an HTTP target needs
 * `endpoint` and `ids`, a PostgreSQL one `table`): a `CONFIG` error names the first dataset that does not fit.
 */
export async function openTarget(file: string, definition: MigrationDefinition, name: string, options: OpenTargetOptions = {}): Promise<LoadTarget> {
  const target = definition.targets?.[name];
  if (!target) throw new FailsafeError('USAGE', `no target ${name} in ${file}`);
  const specs = Object.entries(definition.datasets).map(([dataset, d]) => [dataset, d.load] as const);
  if (target.kind === 'postgres') {
    const missing = specs.find(([, spec]) => !('table' in spec) || typeof spec.table !== 'string');
    if (missing) throw new FailsafeError('CONFIG', `${file}: dataset ${missing[0]} has no load.table, which target ${name} (PostgreSQL) needs`);
    const { PostgresLoadTarget } = await import('./postgres-target.js');
    return PostgresLoadTarget.open(name, target as PostgresTarget, Object.fromEntries(specs) as Record<string, TableLoadSpec>, options);
  }
  const missing = specs.find(([, spec]) => !('endpoint' in spec) || typeof (spec as HttpLoadSpec).ids !== 'function');
  if (missing) throw new FailsafeError('CONFIG', `${file}: dataset ${missing[0]} has no load.endpoint and load.ids, which target ${name} (HTTP) needs`);
  return new HttpLoadTarget(name, target, Object.fromEntries(specs) as Record<string, HttpLoadSpec>, file, options);
}
