/**
 * The flags that name a database and its tenancy (`--source`, `--postgres`, `--tenant-root`,
 * `--tenant-key`, `--tenant-ownership`), resolved by `resolvePostgresSource` when the command runs.
 */
import { Option, type Command } from 'commander';
import type { Ownership } from '../../sources/postgres/tenant-plan.js';

export function addPostgresSourceOptions(command: Command): Command {
  return command
    .option('--source <name>', 'a postgres source from failsafe.yaml (default: the only one)')
    .option('--postgres <url>', 'postgres://user@host:port/db?sslmode=...; the password comes from PGPASSWORD or ~/.pgpass, never the URL')
    .option('--tenant-root <table>', 'the tenant table, schema.table (with --postgres)')
    .option('--tenant-key <column>', "the tenant table's id column (default: its single-column primary key)")
    .addOption(tenantOwnershipOption());
}

/** `--tenant-ownership`, shared with `backup`. Its values are spelled out: declaring a command loads no planner code. */
export function tenantOwnershipOption(): Option {
  return new Option(
    '--tenant-ownership <rule>',
    "whose rows are whose: reach (default: every row reaching the tenant's root row by any foreign key) or root-key (a NOT NULL key to the root decides)",
  ).choices(['reach', 'root-key'] satisfies Ownership[]);
}
