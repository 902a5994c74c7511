/**
 * Creates the hotel-SaaS sample database: the schema's pre-data section, every table's rows streamed
 * with `COPY ... FROM STDIN` (generated chunk by chunk, never held whole), then keys, foreign keys,
 * indexes and triggers, sequence values, and ANALYZE.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FailsafeError, withContext } from '../../core/errors.js';
import { quoteIdent, quoteQualified } from '../../postgres/catalog.js';
import type { PgSession } from '../../postgres/connection.js';
import { BOOKING_TABLES, bookingTableRows } from './booking-timeline.js';
import { buildProfiles, type HotelProfile } from './hotel-profiles.js';
import { HOTEL_TABLES, hotelTableRows } from './hotel-tables.js';
import { sharedTableRows } from './lookups.js';
import { OPERATIONS_TABLES, operationsTableRows } from './operations-timeline.js';
import { POST_DATA_STATEMENTS, PRE_DATA_SQL } from './schema-sql.js';

export interface HotelSaasOptions {
  /** Hotels = round(10 × scale); rows grow linearly (about 1,500 per hotel on average). */
  readonly scale: number;
  /**
   * Fewer, bigger hotels for the same rows: the hotel count, with each hotel's rooms and staff scaled
   * so the total still follows `scale` (the benchmark uses 100 hotels so one is about 1% of the rows).
   */
  readonly hotels?: number;
  /** Default 1. The same (scale, seed) gives byte-identical tables. */
  readonly seed?: number;
  /** Plant exactly one cross-tenant reference: see {@link CROSS_TENANT_REFERENCE}. */
  readonly crossTenantReference?: boolean;
}

export interface HotelSaasSummary {
  readonly hotels: number;
  /** Rows loaded per table (qualified name; a partitioned table counts once). */
  readonly rows: Readonly<Record<string, number>>;
  /** The tenants: `public.hotel` ids 1..hotels. */
  readonly tenantIds: readonly number[];
  /** The planted reference, when {@link HotelSaasOptions.crossTenantReference} was set. */
  readonly crossTenantReference?: { readonly bookingId: number; readonly guestId: number };
}

/**
 * The one cross-tenant reference `crossTenantReference: true` plants: the booking of hotel 1 with the
 * lowest id gets as `guest_id` the guest of hotel 2 with the lowest id. Everything else about the
 * booking (its rooms, folio, payments) stays hotel 1's. The concrete ids are in
 * {@link HotelSaasSummary.crossTenantReference}.
 */
export const CROSS_TENANT_REFERENCE = {
  table: 'public.booking',
  column: 'guest_id',
  tenantId: 1,
  references: { table: 'public.guest', column: 'id', tenantId: 2 },
} as const;

/**
 * Creates the schema in the session's database (which should be empty) and loads it.
 *
 * @example
 * const summary = await createHotelSaas(session, { scale: 1 });
 * summary.hotels; // 10
 */
export async function createHotelSaas(session: PgSession, options: HotelSaasOptions): Promise<HotelSaasSummary> {
  const hotels = hotelCount(options);
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(seed)) throw new FailsafeError('CONFIG', `hotel-SaaS seed must be an integer, got ${seed}`);
  if (options.crossTenantReference && hotels < 2) {
    throw new FailsafeError('CONFIG', `a cross-tenant reference needs at least 2 hotels, scale ${options.scale} gives ${hotels}`);
  }

  await runStep('create tables', () => session.query(PRE_DATA_SQL));
  const profiles = buildProfiles(hotels, seed, (10 * options.scale) / hotels);
  const rows: Record<string, number> = {};
  for (const [table, lines] of sharedTableRows()) rows[table] = await copyRows(session, table, [lines.join('')]);
  for (const table of HOTEL_TABLES) rows[table] = await copyRows(session, table, chunked(hotelTableRows(table, profiles)));
  for (const table of BOOKING_TABLES) rows[table] = await copyRows(session, table, tableChunks(table, profiles));
  for (const table of OPERATIONS_TABLES) rows[table] = await copyRows(session, table, tableChunks(table, profiles));

  // Before the triggers exist: the touch trigger would stamp the row with the clock.
  const planted = options.crossTenantReference ? await plantCrossTenantReference(session) : undefined;

  for (const statement of POST_DATA_STATEMENTS) await runStep(statement, () => session.query(statement));
  await resetIdentitySequences(session);
  await runStep('analyze', () => session.query('ANALYZE'));
  return {
    hotels,
    rows,
    tenantIds: profiles.map((p) => p.id),
    ...(planted ? { crossTenantReference: planted } : {}),
  };
}

/**
 * Hotels for a scale: 10 per unit, at least 1.
 *
 * @example
 * hotelCount({ scale: 0.5 }); // 5
 */
export function hotelCount(options: Pick<HotelSaasOptions, 'scale' | 'hotels'>): number {
  if (!Number.isFinite(options.scale) || options.scale <= 0) {
    throw new FailsafeError('CONFIG', `hotel-SaaS scale must be a positive number, got ${options.scale}`);
  }
  if (options.hotels !== undefined && !(Number.isInteger(options.hotels) && options.hotels >= 1)) {
    throw new FailsafeError('CONFIG', `hotel-SaaS hotels must be a whole number of at least 1, got ${options.hotels}`);
  }
  return options.hotels ?? Math.max(1, Math.round(10 * options.scale));
}

function tableChunks(table: string, profiles: readonly HotelProfile[]): Iterable<string> {
  return BOOKING_TABLES.includes(table) ? bookingTableRows(table, profiles) : operationsTableRows(table, profiles);
}

function* chunked(lines: Iterable<string>, size = 4000): Generator<string> {
  let batch: string[] = [];
  for (const line of lines) {
    batch.push(line);
    if (batch.length >= size) {
      yield batch.join('');
      batch = [];
    }
  }
  if (batch.length > 0) yield batch.join('');
}

/** Streams the chunks into the table; returns the rows sent (a row is one line: newlines in values are escaped). */
async function copyRows(session: PgSession, table: string, chunks: Iterable<string>): Promise<number> {
  let count = 0;
  function* counted(): Generator<string> {
    for (const chunk of chunks) {
      for (let i = chunk.indexOf('\n'); i !== -1; i = chunk.indexOf('\n', i + 1)) count++;
      yield chunk;
    }
  }
  try {
    await pipeline(Readable.from(counted()), session.copyIn(`COPY ${quoteQualified(table)} FROM STDIN`));
  } catch (err) {
    throw withContext(`load ${table}`, err);
  }
  return count;
}

async function plantCrossTenantReference(session: PgSession): Promise<{ bookingId: number; guestId: number }> {
  const { table, column, tenantId, references } = CROSS_TENANT_REFERENCE;
  const { rows } = await session.query<{ id: string; guest_id: string }>(
    `UPDATE ${quoteQualified(table)} SET ${quoteIdent(column)} =
            (SELECT min(${quoteIdent(references.column)}) FROM ${quoteQualified(references.table)} WHERE hotel_id = $2)
      WHERE id = (SELECT min(id) FROM ${quoteQualified(table)} WHERE hotel_id = $1)
  RETURNING id::text, ${quoteIdent(column)}::text AS guest_id`,
    [tenantId, references.tenantId],
  );
  const row = rows[0];
  if (!row || row.guest_id === null) throw new FailsafeError('INTERNAL', `no booking of hotel ${tenantId} or no guest of hotel ${references.tenantId} to plant a cross-tenant reference`);
  return { bookingId: Number(row.id), guestId: Number(row.guest_id) };
}

/**
 * Identity sequences continue after the largest loaded id, as after an application's own inserts.
 *
 * @example
 * await resetIdentitySequences(session); // nextval of public.booking's id is max(id) + 1
 */
export async function resetIdentitySequences(session: PgSession): Promise<void> {
  const { rows } = await session.query<{ schema: string; table: string; column: string }>(
    `SELECT n.nspname AS schema, c.relname AS table, a.attname AS column
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE a.attidentity <> '' AND NOT c.relispartition AND n.nspname = 'public'
      ORDER BY 1, 2`,
  );
  for (const { schema, table, column } of rows) {
    const name = `${quoteIdent(schema)}.${quoteIdent(table)}`;
    await session.query(`SELECT setval(pg_get_serial_sequence($1, $2), coalesce(max(${quoteIdent(column)}), 0) + 1, false) FROM ${name}`, [name, column]);
  }
}

async function runStep<T>(what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw withContext(`create hotel-SaaS database (${what.length > 100 ? `${what.slice(0, 100)}...` : what})`, err);
  }
}
