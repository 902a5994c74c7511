/**
 * The snapshot filter flags shared by `snapshots`, `forget`, `restore latest`, `stats`, ….
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { SnapshotFilter } from '../../repository/snapshot.js';
import { collect } from './option-parsers.js';

export interface SnapshotFilterOptions {
  readonly host: string[];
  readonly tag: string[];
  readonly path: string[];
  readonly tenant: string[];
  readonly source: string[];
}

export function addSnapshotFilterOptions(command: Command): Command {
  return command
    .option('-H, --host <host>', 'only snapshots of this host (repeatable)', collect, [])
    .option('--tag <tags>', 'only snapshots with these tags; "a,b" requires both (repeatable: any of them)', collect, [])
    .option('--path <path>', 'only snapshots that include this path (repeatable)', collect, [])
    .option('--tenant <id>', 'only snapshots of this tenant (repeatable)', collect, [])
    .option('--source <name>', 'only snapshots of this configured source (repeatable)', collect, []);
}

/** Paths are made absolute against the working directory, as `backup` records them. */
export function snapshotFilter(options: SnapshotFilterOptions): SnapshotFilter {
  return {
    hosts: options.host,
    tags: options.tag,
    paths: options.path.map((path) => resolve(path)),
    tenants: options.tenant,
    sources: options.source,
  };
}
