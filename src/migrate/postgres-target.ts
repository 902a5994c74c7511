/**
 * A PostgreSQL database as a migration target: each dataset's records become rows of its `load.table`,
 * their fields the columns. A batch is one transaction that also records its idempotency key with the
 * ids it got (`failsafe_migrate.target_batch`, created in the target), so a batch sent again after a
 * crash finds its key and answers with those ids instead of inserting twice; the same holds for updates.
 * Ids come from the id column's sequence, taken before the insert, so they are known in record order;
 * a table without one gets its rows inserted one by one, each returning its id.
 * A batch the database refuses for its data (SQLSTATE classes 22 and 23: a check, a foreign key, a
 * value out of range) is a refusal the loader splits, like an HTTP 422; any other error stops the load.
 */
import { FailsafeError, isDatabaseError, messageOf } from '../core/errors.js';
import { Semaphore } from '../core/semaphore.js';
import { quoteIdent } from '../postgres/catalog.js';
import { connect, inTransaction, settingsFromUrl, type PgSession } from '../postgres/connection.js';
import type { PostgresTarget, TableLoadSpec } from './definition.js';
import type { CreateAnswer, LoadTarget, OpenTargetOptions, TargetRefusal, UpdateAnswer } from './load-target.js';

const BATCH_TABLE_SQL = `
CREATE SCHEMA IF NOT EXISTS failsafe_migrate;
CREATE TABLE IF NOT EXISTS failsafe_migrate.target_batch (idempotency_key text PRIMARY KEY, ids text[] NOT NULL, at timestamptz NOT NULL DEFAULT now());
`;

/** A target table as the loader writes it. */
interface TargetTable {
  /** Quoted, qualified when the spec qualified it. */
  readonly sql: string;
  readonly idColumn: string;
  /** The id column's type, as SQL. */
  readonly idType: string;
  readonly columns: ReadonlySet<string>;
  /** The id column's sequence (serial or identity); undefined when it has none. */
  readonly sequence: string | undefined;
}

export class PostgresLoadTarget implements LoadTarget {
  readonly name: string;
  readonly counters = { requests: 0, retries: 0, throttled: 0 };
  readonly #connect: () => Promise<PgSession>;
  readonly #tables: ReadonlyMap<string, TargetTable>;
  readonly #idle: PgSession[];
  readonly #all: PgSession[];
  readonly #inFlight: Semaphore;

  private constructor(name: string, connectTo: () => Promise<PgSession>, first: PgSession, tables: ReadonlyMap<string, TargetTable>, concurrency: number) {
    this.name = name;
    this.#connect = connectTo;
    this.#tables = tables;
    this.#idle = [first];
    this.#all = [first];
    this.#inFlight = new Semaphore(concurrency);
  }

  /** Connects, creates the batch table when missing, and reads each dataset's table (a missing table or id column is a `CONFIG` error). */
  static async open(name: string, target: PostgresTarget, specs: Readonly<Record<string, TableLoadSpec>>, options: OpenTargetOptions = {}): Promise<PostgresLoadTarget> {
    const env = options.env ?? process.env;
    const settings = settingsFromUrl(target.url, target.passwordEnv, env, `target ${name}`);
    const connectTo = () => connect(settings, 'failsafe migrate');
    const session = await connectTo();
    try {
      await session.query(BATCH_TABLE_SQL);
      const tables = new Map<string, TargetTable>();
      for (const [dataset, spec] of Object.entries(specs)) tables.set(dataset, await readTable(session, name, dataset, spec));
      return new PostgresLoadTarget(name, connectTo, session, tables, Math.max(1, target.concurrency ?? 4));
    } catch (err) {
      await session.end();
      throw err;
    }
  }

  async create(dataset: string, records: readonly unknown[], idempotencyKey: string): Promise<CreateAnswer> {
    const table = this.#tables.get(dataset)!;
    const columns = columnsOf(table, dataset, records);
    return this.#inTransaction(idempotencyKey, async (session) => {
      const json = JSON.stringify(records);
      const list = columns.map(quoteIdent).join(', ');
      const values = columns.map((column) => `r.${quoteIdent(column)}`).join(', ');
      const id = quoteIdent(table.idColumn);
      if (table.sequence !== undefined) {
        const { rows } = await session.query<{ ids: string[] }>('SELECT array_agg(nextval($1::regclass)::text) AS ids FROM generate_series(1, $2::int)', [table.sequence, records.length]);
        const ids = rows[0]!.ids;
        await session.query(
          `INSERT INTO ${table.sql} (${id}${list ? `, ${list}` : ''}) OVERRIDING SYSTEM VALUE
           SELECT ($2::text[])[r.ordinality]::${table.idType}${values ? `, ${values}` : ''} FROM jsonb_populate_recordset(NULL::${table.sql}, $1::jsonb) WITH ORDINALITY AS r`,
          [json, ids],
        );
        return ids;
      }
      const ids: string[] = [];
      for (const record of records) {
        const { rows } = await session.query<{ id: string }>(
          `INSERT INTO ${table.sql} (${list}) SELECT ${values} FROM jsonb_populate_record(NULL::${table.sql}, $1::jsonb) AS r RETURNING ${id}::text AS id`,
          [JSON.stringify(record)],
        );
        ids.push(rows[0]!.id);
      }
      return ids;
    }).then((answer) => ('refused' in answer ? answer : { ids: answer.ids.map(idValue) }));
  }

  updates(): boolean {
    return true;
  }

  async update(dataset: string, targetId: string | number, record: unknown, idempotencyKey: string): Promise<UpdateAnswer> {
    const table = this.#tables.get(dataset)!;
    const columns = columnsOf(table, dataset, [record]);
    const answer = await this.#inTransaction(idempotencyKey, async (session) => {
      if (columns.length === 0) return [String(targetId)];
      const { rows } = await session.query<{ id: string }>(
        `UPDATE ${table.sql} t SET ${columns.map((column) => `${quoteIdent(column)} = r.${quoteIdent(column)}`).join(', ')}
           FROM jsonb_populate_record(NULL::${table.sql}, $1::jsonb) AS r WHERE t.${quoteIdent(table.idColumn)}::text = $2 RETURNING t.${quoteIdent(table.idColumn)}::text AS id`,
        [JSON.stringify(record), String(targetId)],
      );
      if (rows.length === 0) throw new RowMissing(`no row of ${table.sql} has ${table.idColumn} ${String(targetId)}`);
      return [String(targetId)];
    });
    return 'refused' in answer ? answer.refused : undefined;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.#all.map((session) => session.end()));
  }

  /**
   * Runs `work` in a transaction that also records `idempotencyKey` with the ids `work` returns; a key
   * recorded before returns its ids without running `work`. A refusal of the data rolls back.
   */
  async #inTransaction(idempotencyKey: string, work: (session: PgSession) => Promise<string[]>): Promise<{ ids: string[] } | { refused: TargetRefusal }> {
    return this.#inFlight.run(async () => {
      const session = this.#idle.pop() ?? (await this.#newSession());
      this.counters.requests++;
      try {
        return await inTransaction(session, async () => {
          const { rows } = await session.query<{ ids: string[] }>('SELECT ids FROM failsafe_migrate.target_batch WHERE idempotency_key = $1', [idempotencyKey]);
          if (rows[0]) return { ids: rows[0].ids };
          const ids = await work(session);
          await session.query('INSERT INTO failsafe_migrate.target_batch (idempotency_key, ids) VALUES ($1, $2)', [idempotencyKey, ids]);
          return { ids };
        });
      } catch (err) {
        const refused = refusalOf(err);
        if (!refused) throw new FailsafeError('UNAVAILABLE', `target ${this.name}: ${messageOf(err)}`, { cause: err });
        return { refused };
      } finally {
        this.#idle.push(session);
      }
    });
  }

  async #newSession(): Promise<PgSession> {
    const session = await this.#connect();
    this.#all.push(session);
    return session;
  }
}

/** An update of a row that is not there: refused, like an HTTP 404. */
class RowMissing extends Error {}

/** A refusal for errors in the records' data (SQLSTATE classes 22 and 23), undefined for anything else. */
function refusalOf(err: unknown): TargetRefusal | undefined {
  if (err instanceof RowMissing) return { error: `the target has no such row: ${err.message}` };
  if (!isDatabaseError(err) || !/^2[23]/.test(err.code)) return undefined;
  return { error: `the target refused: ${messageOf(err)} (SQLSTATE ${err.code})` };
}

/** The columns the records set (their fields, in first-seen order); a field that is no column is a `CONFIG` error. */
function columnsOf(table: TargetTable, dataset: string, records: readonly unknown[]): string[] {
  const fields = new Set<string>();
  for (const record of records) for (const field of Object.keys(record as object)) fields.add(field);
  const unknown = [...fields].filter((field) => !table.columns.has(field));
  if (unknown.length > 0) {
    throw new FailsafeError('CONFIG', `dataset ${dataset}: record field ${unknown.join(', ')} is no column of ${table.sql} (its columns: ${[...table.columns].join(', ')})`);
  }
  return [...fields].filter((field) => field !== table.idColumn);
}

async function readTable(session: PgSession, target: string, dataset: string, spec: TableLoadSpec): Promise<TargetTable> {
  const idColumn = spec.idColumn ?? 'id';
  const { rows } = await session.query<{ oid: number | null; sql: string | null }>(
    'SELECT to_regclass($1)::oid::int AS oid, to_regclass($1)::text AS sql',
    [spec.table],
  );
  const oid = rows[0]?.oid;
  if (!oid) throw new FailsafeError('CONFIG', `target ${target}: dataset ${dataset} loads into table ${spec.table}, which the target database does not have`);
  const { rows: columns } = await session.query<{ name: string; type: string }>(
    'SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum',
    [oid],
  );
  const names = new Set(columns.map((column) => column.name));
  const idType = columns.find((column) => column.name === idColumn)?.type;
  if (idType === undefined) throw new FailsafeError('CONFIG', `target ${target}: table ${spec.table} of dataset ${dataset} has no id column ${idColumn} (set load.idColumn)`);
  const { rows: sequence } = await session.query<{ name: string | null }>('SELECT pg_get_serial_sequence($1, $2) AS name', [rows[0]!.sql, idColumn]);
  return { sql: rows[0]!.sql!, idColumn, idType, columns: names, sequence: sequence[0]?.name ?? undefined };
}

/** An id as the key map keeps it: a number when it is a safe integer, else the text. */
function idValue(id: string): string | number {
  return /^-?\d{1,15}$/.test(id) ? Number(id) : id;
}
