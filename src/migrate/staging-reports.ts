/**
 * Reading the staging database for people: status per tenant and dataset, dead letters, runs, what
 * runs changed (`migrate diff`), table sizes and read-only queries (`migrate inspect`). The engine
 * writes through {@link StagingStore}; these only read.
 */
import type { SqlClient } from '../postgres/connection.js';
import { StagingStore } from './staging-store.js';

/** A record that could not be staged (`target` null) or loaded. */
export interface DeadLetter {
  readonly dataset: string;
  readonly target: string | null;
  readonly key: string;
  readonly error: string;
  readonly httpStatus: number | null;
  readonly at: string;
}

/**
 * @example
 * const reports = await StagingReports.open(session);
 * for (const [dataset, status] of await reports.status('concierge', '42')) ...
 */
export class StagingReports {
  readonly #client: SqlClient;

  private constructor(client: SqlClient) {
    this.#client = client;
  }

  /** Creates or upgrades the staging tables first, like {@link StagingStore.open}. */
  static async open(client: Parameters<typeof StagingStore.open>[0]): Promise<StagingReports> {
    await StagingStore.open(client);
    return new StagingReports(client);
  }

  /** The dead letters of a migration and tenant, oldest first, optionally of one dataset. */
  async deadLetters(migration: string, tenant: string, dataset?: string): Promise<DeadLetter[]> {
    const { rows } = await this.#client.query<{ dataset: string; target: string | null; record_key: string; error: string; http_status: number | null; at: Date }>(
      `SELECT dataset, target, record_key, error, http_status, at FROM failsafe_migrate.dead_letter
        WHERE migration = $1 AND tenant = $2 AND ($3::text IS NULL OR dataset = $3) ORDER BY id`,
      [migration, tenant, dataset ?? null],
    );
    return rows.map((row) => ({ dataset: row.dataset, target: row.target, key: row.record_key, error: row.error, httpStatus: row.http_status, at: row.at.toISOString() }));
  }

  /** Every tenant the staging database holds a run of, in the order their first runs began. */
  async tenants(migration: string): Promise<string[]> {
    const { rows } = await this.#client.query<{ tenant: string }>('SELECT tenant FROM failsafe_migrate.run WHERE migration = $1 GROUP BY tenant ORDER BY min(id)', [migration]);
    return rows.map((row) => row.tenant);
  }

  /** The runs of a migration (of one tenant; begun before run `before`), newest first. */
  async runs(migration: string, filter: { readonly tenant?: string; readonly before?: string } = {}, limit = 20): Promise<RunInfo[]> {
    return this.#selectRuns('($2::text IS NULL OR tenant = $2) AND ($3::bigint IS NULL OR id < $3::bigint) ORDER BY id DESC LIMIT $4', [
      migration,
      filter.tenant ?? null,
      filter.before ?? null,
      limit,
    ]);
  }

  /** One run, or undefined. */
  async run(migration: string, runId: string): Promise<RunInfo | undefined> {
    return (await this.#selectRuns('id = $2::bigint', [migration, runId]))[0];
  }

  async #selectRuns(where: string, values: readonly unknown[]): Promise<RunInfo[]> {
    const { rows } = await this.#client.query<{ id: string; tenant: string; datasets: string[]; started_at: Date; ended_at: Date | null }>(
      `SELECT id::text, tenant, datasets, started_at, ended_at FROM failsafe_migrate.run WHERE migration = $1 AND ${where}`,
      values,
    );
    return rows.map((row) => ({ id: row.id, tenant: row.tenant, datasets: row.datasets, startedAt: row.started_at.toISOString(), endedAt: row.ended_at?.toISOString() ?? null }));
  }

  /**
   * Where each dataset of a migration's tenant stands: staging (rows read, records staged, rows
   * rejected, the rate) and, per target, the records loaded, refused, and loaded in the last minute.
   */
  async status(migration: string, tenant: string): Promise<Map<string, DatasetStatus>> {
    const { rows } = await this.#client.query<{
      dataset: string; rows_read: string; staged: string; rejected: string; done: boolean; seconds: number | null;
    }>(
      // The records the last run staged, from its checkpoint row (once it is done, the sweep has left
      // exactly those): counting the staged table would read every record of every tenant.
      `SELECT p.dataset, p.rows_read::text, p.records::text AS staged, p.rejected::text, p.done, extract(epoch FROM p.updated_at - p.started_at)::float8 AS seconds
         FROM failsafe_migrate.stage_progress p WHERE p.migration = $1 AND p.tenant = $2`,
      [migration, tenant],
    );
    const { rows: loads } = await this.#client.query<{ dataset: string; target: string; loaded: string; refused: string; last_minute: string }>(
      `SELECT t.dataset, t.target,
              (SELECT count(*) FROM failsafe_migrate.key_map k WHERE k.migration = $1 AND k.tenant = $2 AND k.dataset = t.dataset AND k.target = t.target)::text AS loaded,
              (SELECT count(*) FROM failsafe_migrate.dead_letter d WHERE d.migration = $1 AND d.tenant = $2 AND d.dataset = t.dataset AND d.target = t.target)::text AS refused,
              (SELECT coalesce(sum(cardinality(b.record_keys)), 0) FROM failsafe_migrate.load_batch b
                WHERE b.migration = $1 AND b.tenant = $2 AND b.dataset = t.dataset AND b.target = t.target AND b.done_at > now() - interval '1 minute')::text AS last_minute
         FROM (SELECT DISTINCT dataset, target FROM failsafe_migrate.load_batch WHERE migration = $1 AND tenant = $2
               UNION SELECT DISTINCT dataset, target FROM failsafe_migrate.dead_letter WHERE migration = $1 AND tenant = $2 AND target IS NOT NULL) t`,
      [migration, tenant],
    );
    const statuses = new Map<string, DatasetStatus>();
    for (const row of rows) {
      const seconds = row.seconds ?? 0;
      statuses.set(row.dataset, {
        rowsRead: Number(row.rows_read),
        staged: Number(row.staged),
        rejected: Number(row.rejected),
        done: row.done,
        rowsPerSecond: seconds > 0 ? Number(row.rows_read) / seconds : undefined,
        targets: {},
      });
    }
    for (const load of loads) {
      const status = statuses.get(load.dataset);
      if (!status) continue;
      (status.targets as Record<string, TargetStatus>)[load.target] = {
        loaded: Number(load.loaded),
        refused: Number(load.refused),
        recordsPerSecond: Number(load.last_minute) / 60,
      };
    }
    return statuses;
  }

  /**
   * What runs after `from` up to `to` (ids of runs of one tenant) changed in staging, per record:
   * added (first staged by one of them), changed or removed, with the record before and after.
   */
  async changes(migration: string, tenant: string, from: string, to: string): Promise<StagedChange[]> {
    const { rows } = await this.#client.query<{ dataset: string; record_key: string; change: 'added' | 'changed' | 'removed'; before: unknown; after: unknown }>(
      `WITH span AS (
         SELECT DISTINCT ON (dataset, record_key) dataset, record_key, change, old_record
           FROM failsafe_migrate.staged_change
          WHERE migration = $1 AND tenant = $2 AND run_id > $3::bigint AND run_id <= $4::bigint
          ORDER BY dataset, record_key, id
       ), later AS (
         SELECT DISTINCT ON (dataset, record_key) dataset, record_key, old_record
           FROM failsafe_migrate.staged_change
          WHERE migration = $1 AND tenant = $2 AND run_id > $4::bigint
          ORDER BY dataset, record_key, id
       ), added AS (
         SELECT dataset, record_key FROM failsafe_migrate.staged
          WHERE migration = $1 AND tenant = $2 AND created_run > $3::bigint AND created_run <= $4::bigint
       )
       SELECT a.dataset, a.record_key, 'added' AS change, NULL::json AS before, coalesce(l.old_record, s.record) AS after
         FROM added a JOIN failsafe_migrate.staged s ON (s.migration, s.tenant, s.dataset, s.record_key) = ($1, $2, a.dataset, a.record_key)
         LEFT JOIN later l ON (l.dataset, l.record_key) = (a.dataset, a.record_key)
       UNION ALL
       SELECT c.dataset, c.record_key, c.change, c.old_record,
              CASE WHEN c.change = 'removed' THEN NULL ELSE coalesce(l.old_record, s.record) END
         FROM span c
         LEFT JOIN later l ON (l.dataset, l.record_key) = (c.dataset, c.record_key)
         LEFT JOIN failsafe_migrate.staged s ON (s.migration, s.tenant, s.dataset, s.record_key) = ($1, $2, c.dataset, c.record_key)
        WHERE NOT EXISTS (SELECT 1 FROM added a WHERE (a.dataset, a.record_key) = (c.dataset, c.record_key))
       ORDER BY 1, 2`,
      [migration, tenant, from, to],
    );
    return rows
      .filter((row) => row.change !== 'changed' || JSON.stringify(row.before) !== JSON.stringify(row.after))
      .map((row) => ({ dataset: row.dataset, key: row.record_key, change: row.change, before: row.before, after: row.after }));
  }

  /** Rows in each staging table, for `migrate inspect`. */
  async tableSizes(): Promise<{ readonly table: string; readonly rows: number }[]> {
    const tables = ['run', 'staged', 'stage_progress', 'staged_change', 'dead_letter', 'key_map', 'load_batch'];
    const { rows } = await this.#client.query<Record<string, string>>(`SELECT ${tables.map((t) => `(SELECT count(*) FROM failsafe_migrate.${t})::text AS ${t}`).join(', ')}`);
    return tables.map((table) => ({ table: `failsafe_migrate.${table}`, rows: Number(rows[0]![table]) }));
  }

  /**
   * Runs one statement in a read-only transaction: `migrate inspect --sql`. The columns are the first
   * row's (none when no row came back).
   */
  async readOnly(sql: string): Promise<{ readonly columns: string[]; readonly rows: unknown[][] }> {
    await this.#client.query('BEGIN READ ONLY');
    let result: { rows: Record<string, unknown>[] };
    try {
      result = await this.#client.query<Record<string, unknown>>(sql);
    } finally {
      await this.#client.query('ROLLBACK').catch(() => undefined);
    }
    const columns = result.rows[0] ? Object.keys(result.rows[0]) : [];
    return { columns, rows: result.rows.map((row) => columns.map((column) => row[column])) };
  }
}

export interface RunInfo {
  readonly id: string;
  readonly tenant: string;
  readonly datasets: readonly string[];
  readonly startedAt: string;
  readonly endedAt: string | null;
}

export interface TargetStatus {
  readonly loaded: number;
  readonly refused: number;
  /** Over the last minute. */
  readonly recordsPerSecond: number;
}

export interface DatasetStatus {
  readonly rowsRead: number;
  readonly staged: number;
  /** Rows that could not be staged (dead letters of the staging). */
  readonly rejected: number;
  readonly done: boolean;
  /** Rows read per second while it was staged (or since it started). */
  readonly rowsPerSecond: number | undefined;
  readonly targets: Readonly<Record<string, TargetStatus>>;
}

/** One record that runs altered in staging. */
export interface StagedChange {
  readonly dataset: string;
  readonly key: string;
  readonly change: 'added' | 'changed' | 'removed';
  /** The record before (null when added). */
  readonly before: unknown;
  /** The record after (null when removed). */
  readonly after: unknown;
}
