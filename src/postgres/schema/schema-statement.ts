/**
 * The vocabulary of schema capture, shared by the readers of each object kind.
 *
 * - **statement**: one DDL command, without a trailing semicolon, tagged with the kind and name of the
 *   object it creates (pg_restore's "TABLE public actor" line) so a failure can say which one broke.
 * - **pre-data**: what rows need before they are loaded (schemas, types, functions, tables, views).
 * - **post-data**: what is faster or only possible after the rows are in (keys, indexes, triggers).
 * - **node**: one pre-data object in the dependency graph, keyed `rel:<oid>`, `type:<oid>`, `proc:<oid>`,
 *   `nsp:<oid>`, `ext:<oid>` or `coll:<oid>` (see `dependency-order.ts`).
 */
import type { SqlClient } from '../connection.js';

export interface SchemaStatement {
  /** pg_dump's vocabulary: `TABLE`, `FUNCTION`, `FK CONSTRAINT`, `INDEX ATTACH`, `COMMENT`, ... */
  readonly kind: string;
  /** The schema of the object, unquoted; null for schemas and extensions. */
  readonly schema: string | null;
  /** The object's name, unquoted; `table.column` or `table.constraint` for what belongs to a table. */
  readonly name: string;
  /** One SQL command without the trailing semicolon; names are schema-qualified. */
  readonly sql: string;
  /**
   * Keys, indexes and foreign keys: the table (quoted, qualified) the statement locks, so a restore can
   * build different tables' indexes at once.
   */
  readonly table?: string;
}

export interface CapturedSchema {
  /** Extensions, schemas, types, functions, sequences, tables and partitions, views, defaults, OWNED BY. */
  readonly preData: readonly SchemaStatement[];
  /** Keys, check constraints added NOT VALID, indexes, foreign keys, triggers, rules, policies, comments. */
  readonly postData: readonly SchemaStatement[];
  /** Every user sequence (identity ones too), to `setval()` once the rows are in. */
  readonly sequences: readonly SequenceValue[];
}

export interface SequenceValue {
  readonly schema: string;
  readonly name: string;
  /** A bigint as decimal text. */
  readonly lastValue: string;
  readonly isCalled: boolean;
}

/** A pre-data object and the statements that create it, ordered by {@link orderByDependencies}. */
export interface SchemaNode {
  /** `rel:<oid>`, `type:<oid>`, ...; the keys pg_depend edges resolve to. */
  readonly key: string;
  /** Tie-breaker before the dependency order: schemas first, then extensions, types, functions, tables... */
  readonly rank: number;
  readonly statements: readonly SchemaStatement[];
}

/** What every catalog reader gets: the session and the server's major version. */
export interface CaptureContext {
  readonly client: SqlClient;
  /** 15, 16, 17, 18...: catalog columns differ between versions. */
  readonly version: number;
}

/** Base order of pre-data nodes before dependencies reorder them. */
export const RANK = {
  schema: 0,
  extension: 1,
  collation: 2,
  type: 3,
  function: 4,
  aggregate: 5,
  sequence: 6,
  table: 7,
  view: 8,
  materializedView: 9,
} as const;
