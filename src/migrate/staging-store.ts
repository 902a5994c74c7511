/**
 * The staging database's tables (docs/migration.md, "Pipeline and state"): staged records, staging
 * checkpoints and dead letters, in the schema `failsafe_migrate`, plain enough to read with psql.
 * Every write that moves a checkpoint commits in the same transaction as the records it covers.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isDatabaseError } from '../core/errors.js';
import { Semaphore } from '../core/semaphore.js';
import { inTransaction, type PgSession, type SqlClient } from '../postgres/connection.js';
import { copyTextField } from '../postgres/copy-text.js';

/** Marks the staging schema (its comment) as holding every table and trigger below. */
const SCHEMA_VERSION = 'failsafe migration staging, version 3';

/**
 * Idempotent: creates what is missing, and upgrades earlier versions (1 had no change log and no
 * timestamps; 1 and 2 kept records as jsonb). Records are json, text checked and kept as written: COPY
 * takes it a fifth faster than jsonb, and nothing queries inside records but people, for whom the json
 * operators work the same.
 */
const SCHEMA_SQL = `
CREATE SCHEMA IF NOT EXISTS failsafe_migrate;
CREATE TABLE IF NOT EXISTS failsafe_migrate.run (
  id bigserial PRIMARY KEY,
  migration text NOT NULL,
  tenant text NOT NULL,
  datasets text[] NOT NULL,
  definition_hash text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  ended_at timestamptz
);
CREATE TABLE IF NOT EXISTS failsafe_migrate.staged (
  migration text NOT NULL,
  tenant text NOT NULL,
  dataset text NOT NULL,
  record_key text NOT NULL,
  run_id bigint NOT NULL,
  record json NOT NULL,
  content_hash text NOT NULL,
  PRIMARY KEY (migration, tenant, dataset, record_key)
);
CREATE TABLE IF NOT EXISTS failsafe_migrate.stage_progress (
  migration text NOT NULL,
  tenant text NOT NULL,
  dataset text NOT NULL,
  run_id bigint NOT NULL,
  last_key text[],
  rows_read bigint NOT NULL DEFAULT 0,
  records bigint NOT NULL DEFAULT 0,
  rejected bigint NOT NULL DEFAULT 0,
  done boolean NOT NULL DEFAULT false,
  PRIMARY KEY (migration, tenant, dataset)
);
CREATE TABLE IF NOT EXISTS failsafe_migrate.dead_letter (
  id bigserial PRIMARY KEY,
  migration text NOT NULL,
  tenant text NOT NULL,
  dataset text NOT NULL,
  target text,
  record_key text NOT NULL,
  run_id bigint NOT NULL,
  record jsonb,
  error text NOT NULL,
  http_status int,
  body text,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS dead_letter_record ON failsafe_migrate.dead_letter (migration, tenant, dataset, record_key);
CREATE TABLE IF NOT EXISTS failsafe_migrate.key_map (
  migration text NOT NULL,
  target text NOT NULL,
  tenant text NOT NULL,
  dataset text NOT NULL,
  record_key text NOT NULL,
  target_id text NOT NULL,
  loaded_hash text NOT NULL,
  PRIMARY KEY (migration, target, tenant, dataset, record_key)
);
CREATE TABLE IF NOT EXISTS failsafe_migrate.load_batch (
  migration text NOT NULL,
  target text NOT NULL,
  tenant text NOT NULL,
  dataset text NOT NULL,
  idempotency_key text NOT NULL,
  record_keys text[] NOT NULL,
  state text NOT NULL,
  PRIMARY KEY (migration, target, tenant, dataset, idempotency_key)
);
CREATE TABLE IF NOT EXISTS failsafe_migrate.staged_change (
  id bigserial PRIMARY KEY,
  migration text NOT NULL,
  tenant text NOT NULL,
  dataset text NOT NULL,
  record_key text NOT NULL,
  run_id bigint NOT NULL,
  change text NOT NULL,
  old_record json NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS staged_change_run ON failsafe_migrate.staged_change (migration, tenant, run_id);
ALTER TABLE failsafe_migrate.staged ADD COLUMN IF NOT EXISTS created_run bigint;
ALTER TABLE failsafe_migrate.staged ALTER COLUMN record TYPE json;
ALTER TABLE failsafe_migrate.staged_change ALTER COLUMN old_record TYPE json;
ALTER TABLE failsafe_migrate.stage_progress ADD COLUMN IF NOT EXISTS started_at timestamptz, ADD COLUMN IF NOT EXISTS updated_at timestamptz;
ALTER TABLE failsafe_migrate.load_batch ADD COLUMN IF NOT EXISTS done_at timestamptz;
-- A staged record's earlier version, whenever a run changes or removes it: what \`migrate diff\` reads.
-- Removals name the run in the setting failsafe_migrate.run_id (set by the sweep), else run 0.
CREATE OR REPLACE FUNCTION failsafe_migrate.log_staged_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO failsafe_migrate.staged_change (migration, tenant, dataset, record_key, run_id, change, old_record)
  VALUES (OLD.migration, OLD.tenant, OLD.dataset, OLD.record_key,
          CASE TG_OP WHEN 'UPDATE' THEN NEW.run_id ELSE coalesce(nullif(current_setting('failsafe_migrate.run_id', true), '')::bigint, 0) END,
          CASE TG_OP WHEN 'UPDATE' THEN 'changed' ELSE 'removed' END, OLD.record);
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS staged_changed ON failsafe_migrate.staged;
CREATE TRIGGER staged_changed AFTER UPDATE ON failsafe_migrate.staged FOR EACH ROW
  WHEN (OLD.content_hash IS DISTINCT FROM NEW.content_hash) EXECUTE FUNCTION failsafe_migrate.log_staged_change();
DROP TRIGGER IF EXISTS staged_removed ON failsafe_migrate.staged;
CREATE TRIGGER staged_removed AFTER DELETE ON failsafe_migrate.staged FOR EACH ROW EXECUTE FUNCTION failsafe_migrate.log_staged_change();
COMMENT ON SCHEMA failsafe_migrate IS '${SCHEMA_VERSION}';
`;

/** Where one dataset's staging stands for a tenant. */
export interface StageProgress {
  readonly runId: string;
  /** The source key of the last row whose records are committed; null before the first batch. */
  readonly lastKey: readonly (string | null)[] | null;
  readonly rowsRead: number;
  readonly records: number;
  readonly rejected: number;
  readonly done: boolean;
}

export interface StagedRecord {
  readonly key: string;
  /** The record as JSON text (what `contentHash` is the SHA-256 of). */
  readonly json: string;
  readonly contentHash: string;
}

export interface StageFailure {
  readonly key: string;
  readonly record?: unknown;
  readonly error: string;
}

/** A staged record a target still needs; `targetId` when it was loaded before with other content. */
export interface PendingLoad {
  readonly key: string;
  readonly record: unknown;
  readonly contentHash: string;
  readonly targetId?: string;
}

/** A record a target refused: the failure, with the target's answer when there was one. */
export interface Refusal extends StageFailure {
  readonly httpStatus?: number;
  readonly body?: string;
}

/** Dead letters of `target` for records of the scope's dataset. */
async function insertRefusals(client: SqlClient, scope: StageScope, target: string, refused: readonly Refusal[]): Promise<void> {
  for (const failure of refused) {
    await client.query(
      `INSERT INTO failsafe_migrate.dead_letter (migration, tenant, dataset, target, record_key, run_id, record, error, http_status, body)
       VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9)`,
      [scope.migration, scope.tenant, scope.dataset, target, failure.key, failure.record === undefined ? null : JSON.stringify(failure.record), failure.error, failure.httpStatus ?? null, failure.body ?? null],
    );
  }
}

/**
 * Whether the schema's comment names this version. Read from the catalog tables with the statement's
 * snapshot, not through `to_regnamespace`: its cache keeps "no such schema" for the rest of a
 * transaction begun before another session created it.
 */
async function schemaIsCurrent(client: SqlClient): Promise<boolean> {
  const { rows } = await client.query<{ version: string }>(
    `SELECT d.description AS version FROM pg_catalog.pg_description d JOIN pg_catalog.pg_namespace n ON n.oid = d.objoid
      WHERE d.classoid = 'pg_catalog.pg_namespace'::regclass AND n.nspname = 'failsafe_migrate'`,
  );
  return rows[0]?.version === SCHEMA_VERSION;
}

/** Appends records with `COPY ... FROM STDIN` (text format). */
async function copyRecords(client: PgSession, scope: StageScope, runId: string, records: readonly StagedRecord[]): Promise<void> {
  const prefix = `${copyTextField(scope.migration)}\t${copyTextField(scope.tenant)}\t${copyTextField(scope.dataset)}\t`;
  const text = records.map((r) => `${prefix}${copyTextField(r.key)}\t${runId}\t${runId}\t${copyTextField(r.json)}\t${r.contentHash}\n`).join('');
  await pipeline(Readable.from([text]), client.copyIn('COPY failsafe_migrate.staged (migration, tenant, dataset, record_key, run_id, created_run, record, content_hash) FROM STDIN'));
}

/** A record's key in the staging tables, from its source key's values (text; null for NULL): those values as a JSON array. */
export function recordKey(values: readonly (string | null)[]): string {
  return JSON.stringify(values);
}

/** One migration's tenant and dataset: the scope every staging operation works in. */
export interface StageScope {
  readonly migration: string;
  readonly tenant: string;
  readonly dataset: string;
}

/**
 * @example
 * const store = await StagingStore.open(session);
 * const runId = await store.beginRun('concierge', '42', ['hotel', 'guest'], hash);
 */
/** One batch of a dataset's source rows as staged: its records, the rows that failed, and the key of its last row. */
export interface StageBatch {
  readonly records: readonly StagedRecord[];
  readonly failures: readonly StageFailure[];
  /** Source rows read. */
  readonly rows: number;
  readonly lastKey: readonly (string | null)[];
}

export class StagingStore {
  readonly #client: PgSession;
  readonly #exclusive = new Semaphore(1);

  private constructor(client: PgSession) {
    this.#client = client;
  }

  /**
   * One statement at a time on the session, transactions whole: the loader's batches share this store,
   * and one session's transaction would otherwise take in another batch's statements.
   */
  #query<Row extends object>(text: string, values?: readonly unknown[]): Promise<{ rows: Row[] }> {
    return this.#exclusive.run(() => this.#client.query<Row>(text, values));
  }

  async #transaction(work: (client: PgSession) => Promise<void>): Promise<void> {
    await this.#exclusive.run(() => inTransaction(this.#client, () => work(this.#client)));
  }

  /**
   * Creates or upgrades the tables unless the schema is current. Under an advisory lock: `CREATE ... IF
   * NOT EXISTS` run by two sessions at once (tenants staged side by side, two runs) can still collide.
   */
  static async open(client: PgSession): Promise<StagingStore> {
    const store = new StagingStore(client);
    if (await schemaIsCurrent(client)) return store;
    await store.#transaction(async (session) => {
      await session.query("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('failsafe_migrate schema'))");
      // Another session may have brought it up to date while this one waited for the lock: running the
      // script again would take its tables' locks while tenants stage into them, and deadlock.
      if (!(await schemaIsCurrent(session))) await session.query(SCHEMA_SQL);
    });
    return store;
  }

  async beginRun(migration: string, tenant: string, datasets: readonly string[], definitionHash: string): Promise<string> {
    const { rows } = await this.#query<{ id: string }>(
      'INSERT INTO failsafe_migrate.run (migration, tenant, datasets, definition_hash) VALUES ($1, $2, $3, $4) RETURNING id::text AS id',
      [migration, tenant, datasets, definitionHash],
    );
    return rows[0]!.id;
  }

  async endRun(runId: string): Promise<void> {
    await this.#query('UPDATE failsafe_migrate.run SET ended_at = now() WHERE id = $1', [runId]);
  }

  /** The dataset's checkpoint, or undefined when it was never staged. */
  async progress(scope: StageScope): Promise<StageProgress | undefined> {
    const { rows } = await this.#query<{ run_id: string; last_key: (string | null)[] | null; rows_read: string; records: string; rejected: string; done: boolean }>(
      'SELECT run_id::text, last_key, rows_read::text, records::text, rejected::text, done FROM failsafe_migrate.stage_progress WHERE migration = $1 AND tenant = $2 AND dataset = $3',
      [scope.migration, scope.tenant, scope.dataset],
    );
    const row = rows[0];
    if (!row) return undefined;
    return { runId: row.run_id, lastKey: row.last_key, rowsRead: Number(row.rows_read), records: Number(row.records), rejected: Number(row.rejected), done: row.done };
  }

  /** Starts staging the dataset afresh under `runId` (what an earlier run staged stays until {@link finish} sweeps it). */
  async restart(scope: StageScope, runId: string): Promise<void> {
    await this.#query(
      `INSERT INTO failsafe_migrate.stage_progress (migration, tenant, dataset, run_id, started_at, updated_at) VALUES ($1, $2, $3, $4, now(), now())
       ON CONFLICT (migration, tenant, dataset) DO UPDATE SET run_id = $4, last_key = NULL, rows_read = 0, records = 0, rejected = 0, done = false, started_at = now(), updated_at = now()`,
      [scope.migration, scope.tenant, scope.dataset, runId],
    );
    await this.#query('DELETE FROM failsafe_migrate.dead_letter WHERE migration = $1 AND tenant = $2 AND dataset = $3 AND target IS NULL', [
      scope.migration,
      scope.tenant,
      scope.dataset,
    ]);
  }

  /**
   * Whether every record staged for the dataset was staged by `runId`: then the records of the rows
   * after its checkpoint are new keys, and {@link stageBatch} can append them (`'insert'`).
   */
  async onlyStagedBy(scope: StageScope, runId: string): Promise<boolean> {
    const { rows } = await this.#query<{ other: boolean }>(
      'SELECT EXISTS (SELECT 1 FROM failsafe_migrate.staged WHERE migration = $1 AND tenant = $2 AND dataset = $3 AND run_id <> $4) AS other',
      [scope.migration, scope.tenant, scope.dataset, runId],
    );
    return !rows[0]!.other;
  }

  /**
   * Commits one batch: its records, its failures as dead letters, and the checkpoint after its last
   * row, in one transaction. `'upsert'` replaces earlier versions of the same keys; `'insert'` appends
   * with COPY, twice as fast, for keys known to be new ({@link onlyStagedBy}) — should one exist after
   * all, the batch is written again as an upsert. Resolves to the way it was written.
   */
  async stageBatch(
    scope: StageScope,
    runId: string,
    batch: StageBatch,
    mode: 'insert' | 'upsert' = 'upsert',
  ): Promise<'insert' | 'upsert'> {
    const { migration, tenant, dataset } = scope;
    const write = (how: 'insert' | 'upsert') =>
      this.#transaction(async (client) => {
        if (batch.records.length > 0 && how === 'insert') await copyRecords(client, scope, runId, batch.records);
        if (batch.records.length > 0 && how === 'upsert') {
          await client.query(
            `INSERT INTO failsafe_migrate.staged (migration, tenant, dataset, record_key, run_id, created_run, record, content_hash)
             SELECT $1, $2, $3, e->>'k', $4, $4, e->'r', e->>'h' FROM json_array_elements($5::json) AS e
             ON CONFLICT (migration, tenant, dataset, record_key) DO UPDATE SET run_id = excluded.run_id, record = excluded.record, content_hash = excluded.content_hash`,
            // One JSON document with the records' JSON inside as it is: a text[] parameter escapes every quote of every record.
            [migration, tenant, dataset, runId, `[${batch.records.map((r) => `{"k":${JSON.stringify(r.key)},"h":"${r.contentHash}","r":${r.json}}`).join(',')}]`],
          );
        }
        if (batch.failures.length > 0) {
          await client.query(
            `INSERT INTO failsafe_migrate.dead_letter (migration, tenant, dataset, record_key, run_id, record, error)
             SELECT $1, $2, $3, k, $4, r::jsonb, e FROM unnest($5::text[], $6::text[], $7::text[]) AS u(k, r, e)`,
            [
              migration,
              tenant,
              dataset,
              runId,
              batch.failures.map((f) => f.key),
              batch.failures.map((f) => (f.record === undefined ? null : JSON.stringify(f.record))),
              batch.failures.map((f) => f.error),
            ],
          );
        }
        await client.query(
          `UPDATE failsafe_migrate.stage_progress SET last_key = $5, rows_read = rows_read + $6, records = records + $7, rejected = rejected + $8, updated_at = now()
           WHERE migration = $1 AND tenant = $2 AND dataset = $3 AND run_id = $4`,
          [migration, tenant, dataset, runId, batch.lastKey, batch.rows, batch.records.length, batch.failures.length],
        );
      });
    if (mode === 'upsert') {
      await write('upsert');
      return 'upsert';
    }
    try {
      await write('insert');
      return 'insert';
    } catch (err) {
      if (!isDatabaseError(err) || err.code !== '23505') throw err;
      await write('upsert');
      return 'upsert';
    }
  }

  /** Marks the dataset staged and removes records an earlier run staged that this run no longer produced. */
  async finish(scope: StageScope, runId: string): Promise<void> {
    const { migration, tenant, dataset } = scope;
    await this.#transaction(async (client) => {
      await client.query(`SELECT set_config('failsafe_migrate.run_id', $1, true)`, [runId]);
      await client.query('DELETE FROM failsafe_migrate.staged WHERE migration = $1 AND tenant = $2 AND dataset = $3 AND run_id <> $4', [migration, tenant, dataset, runId]);
      await client.query('UPDATE failsafe_migrate.stage_progress SET done = true WHERE migration = $1 AND tenant = $2 AND dataset = $3', [migration, tenant, dataset]);
    });
  }

  /** Of `keys`, those staged for the dataset; without `keys`, every key staged for it. */
  async stagedKeys(scope: StageScope, keys?: readonly string[]): Promise<Set<string>> {
    if (keys?.length === 0) return new Set();
    const { rows } = await this.#query<{ record_key: string }>(
      'SELECT record_key FROM failsafe_migrate.staged WHERE migration = $1 AND tenant = $2 AND dataset = $3 AND ($4::text[] IS NULL OR record_key = ANY($4))',
      [scope.migration, scope.tenant, scope.dataset, keys ?? null],
    );
    return new Set(rows.map((row) => row.record_key));
  }

  /** Content hashes of the staged records of `keys` (those staged). */
  async stagedHashes(scope: StageScope, keys: readonly string[]): Promise<Map<string, string>> {
    if (keys.length === 0) return new Map();
    const { rows } = await this.#query<{ record_key: string; content_hash: string }>(
      'SELECT record_key, content_hash FROM failsafe_migrate.staged WHERE migration = $1 AND tenant = $2 AND dataset = $3 AND record_key = ANY($4::text[])',
      [scope.migration, scope.tenant, scope.dataset, keys],
    );
    return new Map(rows.map((row) => [row.record_key, row.content_hash]));
  }

  /**
   * The dataset's staged records that `target` still needs: never loaded (`targetId` undefined) or
   * loaded with other content, and not rejected by that target. One page of staged records in key
   * order (`limit` after the key `after`), or those of `keys`; `lastKey` is the page's last staged key
   * (undefined when the page was empty), for the next page.
   *
   * Three queries of index lookups, not one join: while a load runs, the key map grows from nothing
   * faster than statistics follow, and a join planned on "empty" scanned it once per staged row.
   */
  async pendingLoads(
    scope: StageScope,
    target: string,
    page: { readonly after?: string; readonly limit?: number; readonly keys?: readonly string[] },
  ): Promise<{ readonly loads: PendingLoad[]; readonly lastKey: string | undefined }> {
    const { migration, tenant, dataset } = scope;
    const { rows: staged } = await this.#query<{ record_key: string; record: unknown; content_hash: string }>(
      `SELECT record_key, record, content_hash FROM failsafe_migrate.staged
        WHERE migration = $1 AND tenant = $2 AND dataset = $3 AND ($4::text IS NULL OR record_key > $4) AND ($5::text[] IS NULL OR record_key = ANY($5))
        ORDER BY record_key LIMIT $6`,
      [migration, tenant, dataset, page.after ?? null, page.keys ?? null, page.limit ?? null],
    );
    const keys = staged.map((row) => row.record_key);
    const loaded = await this.#keyMap(scope, target, keys);
    const { rows: rejected } = await this.#query<{ record_key: string }>(
      `SELECT record_key FROM failsafe_migrate.dead_letter WHERE migration = $1 AND tenant = $2 AND dataset = $3 AND target = $4 AND record_key = ANY($5::text[])`,
      [migration, tenant, dataset, target, keys],
    );
    const byKey = new Map(loaded.map((row) => [row.record_key, row]));
    const refused = new Set(rejected.map((row) => row.record_key));
    const loads: PendingLoad[] = [];
    for (const row of staged) {
      const before = byKey.get(row.record_key);
      if (before?.loaded_hash === row.content_hash || refused.has(row.record_key)) continue;
      loads.push({ key: row.record_key, record: row.record, contentHash: row.content_hash, ...(before ? { targetId: before.target_id } : {}) });
    }
    return { loads, lastKey: keys[keys.length - 1] };
  }

  /** About how many of the dataset's staged records `target` still needs (those never loaded into it), for progress. */
  async loadBacklog(scope: StageScope, target: string): Promise<number> {
    const { rows } = await this.#query<{ n: number }>(
      `SELECT greatest(0, (SELECT count(*) FROM failsafe_migrate.staged WHERE migration = $1 AND tenant = $2 AND dataset = $3)
                        - (SELECT count(*) FROM failsafe_migrate.key_map WHERE migration = $1 AND target = $4 AND tenant = $2 AND dataset = $3))::int AS n`,
      [scope.migration, scope.tenant, scope.dataset, target],
    );
    return rows[0]!.n;
  }

  /** What loading the dataset into `target` would send now: records never loaded (creates) and loaded with other content (updates). */
  async loadPreview(scope: StageScope, target: string): Promise<{ readonly creates: number; readonly updates: number }> {
    const { rows } = await this.#query<{ creates: number; updates: number }>(
      `SELECT count(*) FILTER (WHERE k.record_key IS NULL)::int AS creates, count(*) FILTER (WHERE k.loaded_hash <> s.content_hash)::int AS updates
         FROM failsafe_migrate.staged s
         LEFT JOIN failsafe_migrate.key_map k ON (k.migration, k.target, k.tenant, k.dataset, k.record_key) = (s.migration, $4, s.tenant, s.dataset, s.record_key)
        WHERE s.migration = $1 AND s.tenant = $2 AND s.dataset = $3
          AND NOT EXISTS (SELECT 1 FROM failsafe_migrate.dead_letter d
                           WHERE (d.migration, d.tenant, d.dataset, d.target, d.record_key) = (s.migration, s.tenant, s.dataset, $4, s.record_key))`,
      [scope.migration, scope.tenant, scope.dataset, target],
    );
    return rows[0]!;
  }

  /** Target ids of `keys` in `dataset` (those loaded into `target`). */
  async targetIds(scope: StageScope, target: string, keys: readonly string[]): Promise<Map<string, string>> {
    return new Map((await this.#keyMap(scope, target, keys)).map((row) => [row.record_key, row.target_id]));
  }

  /** The key map's rows for `keys`. */
  async #keyMap(scope: StageScope, target: string, keys: readonly string[]): Promise<{ record_key: string; target_id: string; loaded_hash: string }[]> {
    if (keys.length === 0) return [];
    const { rows } = await this.#query<{ record_key: string; target_id: string; loaded_hash: string }>(
      `SELECT record_key, target_id, loaded_hash FROM failsafe_migrate.key_map
        WHERE migration = $1 AND target = $2 AND tenant = $3 AND dataset = $4 AND record_key = ANY($5::text[])`,
      [scope.migration, target, scope.tenant, scope.dataset, keys],
    );
    return rows;
  }

  /** Batches left `sending` by a run that stopped: they go again first, under the same idempotency keys. */
  async unfinishedBatches(scope: StageScope, target: string): Promise<{ readonly idempotencyKey: string; readonly keys: readonly string[] }[]> {
    const { rows } = await this.#query<{ idempotency_key: string; record_keys: string[] }>(
      `SELECT idempotency_key, record_keys FROM failsafe_migrate.load_batch
        WHERE migration = $1 AND target = $2 AND tenant = $3 AND dataset = $4 AND state = 'sending' ORDER BY record_keys[1]`,
      [scope.migration, target, scope.tenant, scope.dataset],
    );
    return rows.map((row) => ({ idempotencyKey: row.idempotency_key, keys: row.record_keys }));
  }

  /** Records that a batch is about to be sent, before it is (committed on its own). */
  async batchSending(scope: StageScope, target: string, idempotencyKey: string, keys: readonly string[]): Promise<void> {
    await this.#query(
      `INSERT INTO failsafe_migrate.load_batch (migration, target, tenant, dataset, idempotency_key, record_keys, state) VALUES ($1, $2, $3, $4, $5, $6, 'sending')
       ON CONFLICT (migration, target, tenant, dataset, idempotency_key) DO UPDATE SET state = 'sending'`,
      [scope.migration, target, scope.tenant, scope.dataset, idempotencyKey, keys],
    );
  }

  /** The batch's answer: target ids (and content hashes) into the key map, rejections into dead letters, the batch done; one transaction. */
  async batchDone(
    scope: StageScope,
    target: string,
    idempotencyKey: string,
    loaded: readonly { readonly key: string; readonly targetId: string; readonly contentHash: string }[],
    rejected: readonly Refusal[],
  ): Promise<void> {
    const { migration, tenant, dataset } = scope;
    await this.#transaction(async (client) => {
      if (loaded.length > 0) {
        await client.query(
          `INSERT INTO failsafe_migrate.key_map (migration, target, tenant, dataset, record_key, target_id, loaded_hash)
           SELECT $1, $2, $3, $4, k, i, h FROM unnest($5::text[], $6::text[], $7::text[]) AS u(k, i, h)
           ON CONFLICT (migration, target, tenant, dataset, record_key) DO UPDATE SET target_id = excluded.target_id, loaded_hash = excluded.loaded_hash`,
          [migration, target, tenant, dataset, loaded.map((l) => l.key), loaded.map((l) => l.targetId), loaded.map((l) => l.contentHash)],
        );
      }
      await insertRefusals(client, scope, target, rejected);
      await client.query(
        `UPDATE failsafe_migrate.load_batch SET state = 'done', done_at = now() WHERE migration = $1 AND target = $2 AND tenant = $3 AND dataset = $4 AND idempotency_key = $5`,
        [migration, target, tenant, dataset, idempotencyKey],
      );
    });
  }

  /** Records that `target` cannot take these records (a record they refer to was not loaded). */
  async refuse(scope: StageScope, target: string, refused: readonly Refusal[]): Promise<void> {
    await this.#transaction((client) => insertRefusals(client, scope, target, refused));
  }

  /** Forgets what `target` refused (of one dataset, or all), so those records are pending again; returns how many. */
  async forgetRefusals(migration: string, tenant: string, target: string, dataset?: string): Promise<number> {
    const { rows } = await this.#query<{ n: number }>(
      `WITH gone AS (DELETE FROM failsafe_migrate.dead_letter WHERE migration = $1 AND tenant = $2 AND target = $3 AND ($4::text IS NULL OR dataset = $4) RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [migration, tenant, target, dataset ?? null],
    );
    return rows[0]!.n;
  }

  /**
   * Forgets a tenant's staging (records, checkpoints, staging dead letters) or, with `target`, what
   * was loaded into that target (key map, batches, its dead letters); returns the rows removed per table.
   * Forgetting a target's key map makes the next load create every record there again.
   */
  async reset(migration: string, tenant: string, target?: string): Promise<Record<string, number>> {
    // The change log goes after the staged records, whose removal it would otherwise keep.
    const tables = target === undefined ? ['staged', 'staged_change', 'stage_progress', 'dead_letter'] : ['key_map', 'load_batch', 'dead_letter'];
    const removed: Record<string, number> = {};
    await this.#transaction(async (client) => {
      for (const table of tables) {
        const scope = target === undefined ? (table === 'dead_letter' ? ' AND target IS NULL' : '') : ' AND target = $3';
        const { rows } = await client.query<{ n: number }>(
          `WITH gone AS (DELETE FROM failsafe_migrate.${table} WHERE migration = $1 AND tenant = $2${scope} RETURNING 1) SELECT count(*)::int AS n FROM gone`,
          target === undefined ? [migration, tenant] : [migration, tenant, target],
        );
        removed[table] = rows[0]!.n;
      }
    });
    return removed;
  }
}
