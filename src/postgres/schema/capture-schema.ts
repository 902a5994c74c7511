/**
 * Schema capture: the DDL that rebuilds a database's schema in an empty database, read from the catalogs
 * (no pg_dump) and split like pg_restore's sections, and the replay of those sections.
 *
 * Every definition PostgreSQL can print itself comes from its printers (format_type, pg_get_expr,
 * pg_get_constraintdef, pg_get_indexdef, pg_get_viewdef, pg_get_functiondef, pg_get_triggerdef,
 * pg_get_partkeydef, pg_get_ruledef, pg_get_statisticsobjdef), run with an empty search_path so that
 * every name they print is schema-qualified. The rest (CREATE TABLE around the columns, aggregates, types,
 * sequences) is assembled from the catalogs. Pre-data is ordered by pg_depend (`dependency-order.ts`).
 *
 * Scope: user objects only; the system schemas and objects that belong to an extension are left out, and
 * each extension comes back as `CREATE EXTENSION IF NOT EXISTS`. Not captured: foreign tables and servers,
 * typed tables (`OF type`), C base types, event triggers, publications, security labels, column
 * privileges, default privileges, tablespaces.
 */
import { FailsafeError, messageOf } from '../../core/errors.js';
import type { SqlClient } from '../connection.js';
import { readComments } from './comment-statements.js';
import { readConstraints } from './constraint-statements.js';
import { dependentsOf, orderByDependencies, readDependencies } from './dependency-order.js';
import { readExtensionNodes, readSchemaNodes } from './namespace-statements.js';
import { readOwnership } from './ownership-statements.js';
import { readRoutineNodes } from './routine-statements.js';
import type { CaptureContext, CapturedSchema, SchemaNode, SchemaStatement } from './schema-statement.js';
import { readSequences, readSequenceValues } from './sequence-statements.js';
import { APPLY_SETTINGS, CAPTURE_SETTINGS, serverMajorVersion, withSessionSettings } from './session-settings.js';
import { readTableExtras } from './table-extra-statements.js';
import { readTables } from './table-statements.js';
import { readCollationNodes, readTypes } from './type-statements.js';
import { readViews } from './view-statements.js';

export type { CapturedSchema, SchemaStatement, SequenceValue } from './schema-statement.js';
export { sequenceValuesSql } from './sequence-statements.js';

export interface CaptureOptions {
  /** Also capture owners and privileges (`ALTER ... OWNER TO`, GRANT); the roles must exist on the target. */
  readonly owners?: boolean;
}

/**
 * Reads the schema of the database `client` is connected to. Run it inside the backup's snapshot
 * transaction so the sequence values match the rows (the definitions themselves are read from the
 * current catalogs, as pg_dump's are).
 *
 * @example
 * const schema = await captureSchema(session);
 * await applySchemaSection(target, schema.preData);
 * // ... COPY the rows ...
 * await applySchemaSection(target, schema.postData);
 * await target.query(sequenceValuesSql(schema.sequences));
 */
export async function captureSchema(client: SqlClient, options: CaptureOptions = {}): Promise<CapturedSchema> {
  return withSessionSettings(client, CAPTURE_SETTINGS, async () => {
    const ctx: CaptureContext = { client, version: await serverMajorVersion(client) };
    const sequences = await readSequences(ctx);
    const types = await readTypes(ctx);
    const tables = await readTables(ctx, sequences.rows);
    const views = await readViews(ctx);
    const nodes: SchemaNode[] = [
      ...(await readSchemaNodes(ctx)),
      ...(await readExtensionNodes(ctx)),
      ...(await readCollationNodes(ctx)),
      ...types.nodes,
      ...(await readRoutineNodes(ctx)),
      ...sequences.nodes,
      ...tables.nodes,
      ...views.nodes,
    ];
    const ownership = options.owners ? await readOwnership(ctx) : new Map<string, SchemaStatement[]>();
    const edges = await readDependencies(client);
    const ordered = orderByDependencies(nodes, edges);
    // A view that needs a primary key (GROUP BY the key, selecting other columns) waits for post-data,
    // and so does everything built on it.
    const postponed = dependentsOf(edges, (key) => key.startsWith('con:'));
    const statementsOf = (node: SchemaNode): SchemaStatement[] => [...node.statements, ...(ownership.get(node.key) ?? [])];

    const constraints = await readConstraints(ctx);
    const preData = [
      ...ordered.filter((node) => !postponed.has(node.key)).flatMap(statementsOf),
      ...tables.defaults,
      ...sequences.ownedBy,
    ];
    const postData = [
      ...constraints.keys,
      ...ordered.filter((node) => postponed.has(node.key)).flatMap(statementsOf),
      ...constraints.indexes,
      ...constraints.attachments,
      ...types.postData,
      ...constraints.tableOptions,
      ...constraints.foreignKeys,
      ...(await readTableExtras(ctx)),
      ...(await readComments(ctx)),
      ...ordered.flatMap((node) => views.refreshes.get(node.key) ?? []),
    ];
    return { preData, postData, sequences: await readSequenceValues(ctx, sequences.rows.values()) };
  });
}

/**
 * Runs the statements of one section in order, with pg_dump's restore settings (empty search_path,
 * check_function_bodies off); the session's settings are put back afterwards. Pre-data belongs in a
 * transaction (the caller's); an error names the statement that failed and stops there.
 *
 * @example
 * await applySchemaSection(session, schema.preData);
 */
export async function applySchemaSection(client: SqlClient, statements: readonly SchemaStatement[]): Promise<void> {
  await withSessionSettings(client, APPLY_SETTINGS, async () => {
    for (const item of statements) {
      try {
        await client.query(item.sql);
      } catch (err) {
        const hint = (err as { hint?: unknown }).hint;
        throw new FailsafeError('UNAVAILABLE', `${describeStatement(item)}: ${messageOf(err)}`, {
          cause: err,
          ...(typeof hint === 'string' ? { hint } : {}),
        });
      }
    }
  });
}

/** `TABLE public.film`, as pg_restore names a TOC entry. */
export function describeStatement(item: SchemaStatement): string {
  return `${item.kind} ${item.schema === null ? '' : `${item.schema}.`}${item.name}`;
}
