/**
 * Verification of a restored database against its snapshot's manifest: every table's row count and the
 * SHA-256 of its COPY text (same query shape, same session settings as the backup), and every foreign
 * key of the restored tables holds (one anti-join per key).
 */
import { createHash } from 'node:crypto';
import { quoteIdent, quoteQualified, readTableGraph, type ForeignKey } from '../../postgres/catalog.js';
import type { PgSession } from '../../postgres/connection.js';
import { countNewlines, settingsSql, type DatabaseManifest, type ManifestTable } from './database-manifest.js';

export interface TableVerification {
  readonly table: string;
  readonly expectedRows: number;
  readonly rows: number;
  readonly checksumMatches: boolean;
  /** Empty when the table is fine. */
  readonly problem: string;
}

export interface ForeignKeyVerification {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  /** Rows whose key points at no parent row. */
  readonly violations: number;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly tables: readonly TableVerification[];
  readonly foreignKeys: readonly ForeignKeyVerification[];
}

export interface VerifyOptions {
  /** Only these tables (`schema.table`). */
  readonly tables?: readonly string[];
  /** More sessions to hash tables in parallel; they join `session`'s snapshot. */
  readonly workers?: readonly PgSession[];
  /**
   * Count a foreign key declared and validated in the database as holding without scanning for
   * orphans: right after a restore created it, PostgreSQL has just checked every row.
   */
  readonly trustValidatedKeys?: boolean;
  /** Tables already hashed (a restore hashes each table right after loading it). */
  readonly hashed?: ReadonlyMap<string, TableHash>;
}

/**
 * @example
 * const report = await verifyDatabase(session, manifest);
 * if (!report.ok) process.exitCode = 3;
 */
export async function verifyDatabase(session: PgSession, manifest: DatabaseManifest, options: VerifyOptions = {}): Promise<VerifyReport> {
  const workers = options.workers ?? [];
  await session.query(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; ${settingsSql(manifest.settings)}`);
  const joined: PgSession[] = [];
  try {
    if (workers.length > 0) {
      const { rows } = await session.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
      for (const worker of workers) {
        await worker.query(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '${rows[0]!.id}'; ${settingsSql(manifest.settings)}`);
        joined.push(worker);
      }
    }
    const graph = await readTableGraph(session);
    const wanted = manifest.tables.filter((t) => !options.tables || options.tables.includes(t.name));
    const results = new Map<string, TableVerification>();
    const queue = [...wanted].sort((a, b) => b.bytes - a.bytes);
    await Promise.all(
      [session, ...joined].map(async (hasher) => {
        for (let expected = queue.shift(); expected; expected = queue.shift()) {
          const table = graph.tables.get(expected.name);
          if (!table) {
            results.set(expected.name, { table: expected.name, expectedRows: expected.rows, rows: 0, checksumMatches: false, problem: 'table is missing' });
            continue;
          }
          const { rows, sha256 } = options.hashed?.get(expected.name) ?? (await hashTable(hasher, expected));
          const checksumMatches = sha256 === expected.sha256;
          const problem =
            rows !== expected.rows ? `${rows} rows, expected ${expected.rows}` : checksumMatches ? '' : 'row contents differ (checksum mismatch)';
          results.set(expected.name, { table: expected.name, expectedRows: expected.rows, rows, checksumMatches, problem });
        }
      }),
    );
    const tables = wanted.map((t) => results.get(t.name)!);
    const restored = new Set(wanted.map((t) => t.name));
    const validated = options.trustValidatedKeys ? await validatedKeys(session) : new Set<string>();
    const foreignKeys: ForeignKeyVerification[] = [];
    for (const fk of graph.foreignKeys) {
      if (!restored.has(fk.from) || !restored.has(fk.to)) continue;
      const violations = validated.has(`${fk.from}:${fk.name}`) ? 0 : await countViolations(session, fk);
      foreignKeys.push({ name: fk.name, from: fk.from, to: fk.to, violations });
    }
    const ok = tables.every((t) => t.problem === '') && foreignKeys.every((fk) => fk.violations === 0);
    return { ok, tables, foreignKeys };
  } finally {
    await Promise.allSettled([session, ...joined].map((s) => s.query('ROLLBACK')));
  }
}

/** `schema.table:constraint` of every foreign key PostgreSQL has validated (and enforces). */
async function validatedKeys(session: PgSession): Promise<Set<string>> {
  const { rows } = await session.query<{ key: string }>(
    `SELECT n.nspname || '.' || c.relname || ':' || con.conname AS key
       FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE con.contype = 'f' AND con.convalidated`,
  );
  return new Set(rows.map((row) => row.key));
}

export interface TableHash {
  readonly rows: number;
  readonly sha256: string;
}

/**
 * Row count and SHA-256 of a table's COPY text, columns and row order as the backup recorded them (the
 * manifest's key, not the database's: right after loading, the keys are not built yet).
 */
export async function hashTable(session: PgSession, expected: ManifestTable): Promise<TableHash> {
  const order = expected.key.length > 0 ? expected.key.map((c) => `t.${quoteIdent(c)}`).join(', ') : 't::text COLLATE "C"';
  const select = `SELECT ${expected.columns.map((c) => `t.${quoteIdent(c)}`).join(', ')} FROM ${quoteQualified(expected.name)} t ORDER BY ${order}`;
  return hashCopy(session, `COPY (${select}) TO STDOUT`);
}

/**
 * {@link hashTable} for a table just loaded by one COPY into a relation created or emptied in the same
 * transaction: the server then fills pages one after another, skipping the free space map, so the rows
 * lie in the order they were sent, the backup's key order. They are read as they lie, without a sort;
 * only when that hash differs from the manifest's is the table hashed again in key order, to tell a
 * different order from different rows.
 */
export async function hashLoadedTable(session: PgSession, expected: ManifestTable): Promise<TableHash> {
  const columns = expected.columns.map(quoteIdent).join(', ');
  const asLoaded = await hashCopy(session, `COPY ${quoteQualified(expected.name)} (${columns}) TO STDOUT`);
  return asLoaded.sha256 === expected.sha256 ? asLoaded : hashTable(session, expected);
}

async function hashCopy(session: PgSession, copy: string): Promise<TableHash> {
  const hash = createHash('sha256');
  let rows = 0;
  for await (const chunk of session.copyOut(copy) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    rows += countNewlines(chunk);
  }
  return { rows, sha256: hash.digest('hex') };
}

async function countViolations(session: PgSession, fk: ForeignKey): Promise<number> {
  const notNull = fk.fromColumns.map((c) => `c.${quoteIdent(c)} IS NOT NULL`).join(' AND ');
  const match = fk.fromColumns.map((c, i) => `p.${quoteIdent(fk.toColumns[i]!)} = c.${quoteIdent(c)}`).join(' AND ');
  const { rows } = await session.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${quoteQualified(fk.from)} c WHERE ${notNull} AND NOT EXISTS (SELECT 1 FROM ${quoteQualified(fk.to)} p WHERE ${match})`,
  );
  return Number(rows[0]!.n);
}
