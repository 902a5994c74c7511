/**
 * "The next day" of a hotel-SaaS database: about `fraction` of the rows of the big tables change, half
 * updated in place and half inserted, and nearly all of them among the newest rows (the highest keys), as
 * in a booking system where recent bookings are the ones that move. Older rows stay byte-identical, which
 * is what makes the next backup small.
 *
 * Everything is decided by SQL over the current rows and the seed (rows are picked by the md5 of seed
 * and key; timestamps count on from the newest booking), so the same database and options give the same
 * result, and the mutation works on a database of any scale.
 */
import { FailsafeError, withContext } from '../../core/errors.js';
import { quoteIdent, quoteLiteral, quoteQualified } from '../../postgres/catalog.js';
import { inTransaction, type PgSession } from '../../postgres/connection.js';
import { resetIdentitySequences } from './create-hotel-saas.js';

export interface MutateHotelSaasOptions {
  /** Share of the big tables' rows to change, e.g. 0.01; half of it updates, half inserts. */
  readonly fraction: number;
  /** Default 2. */
  readonly seed?: number;
}

/** The tables the day changes, with their keys. */
const BIG_TABLES: Readonly<Record<string, readonly string[]>> = {
  'public.guest': ['id'],
  'public.booking': ['id'],
  'public.booking_room': ['booking_id', 'line_no'],
  'public.stay_night': ['booking_id', 'line_no', 'stay_date'],
  'public.folio': ['id'],
  'public.folio_line': ['id'],
  'public.payment': ['id'],
  'public.housekeeping_task': ['id'],
};

/** In place: each SET changes every picked row (`p.rn` numbers them, `now` is the next day). */
const UPDATES: Readonly<Record<string, (now: string) => string>> = {
  'public.guest': (now) => `preferences = jsonb_set(t.preferences, '{visits}', to_jsonb(coalesce((t.preferences->>'visits')::int, 0) + 1)),
                            updated_at = ${now} + p.rn * interval '7 seconds'`,
  'public.booking': (now) => `status = CASE WHEN t.status = 'pending' THEN 'confirmed'::public.booking_status ELSE t.status END,
                              special_requests = concat_ws('; ', t.special_requests, 'Request changed by the guest'),
                              updated_at = ${now} + p.rn * interval '7 seconds'`,
  'public.booking_room': () => 'nightly_rate = t.nightly_rate + 5',
  'public.stay_night': () => 'amount = t.amount + 5',
  'public.folio': (now) => `status = 'closed', closed_at = ${now} + p.rn * interval '7 seconds'`,
  'public.folio_line': () => `description = t.description || ' (corrected)'`,
  'public.payment': () => 'refunded = NOT t.refunded',
  'public.housekeeping_task': (now) => `status = 'done', completed_at = ${now} + p.rn * interval '7 seconds'`,
};

/**
 * Applies one day of changes in one transaction; returns the number of rows updated or inserted.
 *
 * @example
 * const changed = await mutateHotelSaas(session, { fraction: 0.01 });
 */
export async function mutateHotelSaas(session: PgSession, options: MutateHotelSaasOptions): Promise<number> {
  const { fraction } = options;
  const seed = options.seed ?? 2;
  if (!(fraction > 0 && fraction <= 1)) throw new FailsafeError('CONFIG', `mutation fraction must be in (0, 1], got ${fraction}`);
  if (!Number.isSafeInteger(seed)) throw new FailsafeError('CONFIG', `mutation seed must be an integer, got ${seed}`);
  return inTransaction(session, async () => {
    const changed = await mutate(session, fraction, quoteLiteral(String(seed)));
    await resetIdentitySequences(session);
    return changed;
  }).catch((err: unknown) => {
    throw withContext('mutate hotel-SaaS database', err);
  });
}

async function mutate(session: PgSession, fraction: number, seed: string): Promise<number> {
  const counts = new Map<string, number>();
  for (const table of Object.keys(BIG_TABLES)) {
    const { rows } = await session.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${quoteQualified(table)}`);
    counts.set(table, Number(rows[0]!.n));
  }
  const { rows: dayRows } = await session.query<{ day: string }>(
    `SELECT to_char(date_trunc('day', coalesce(max(created_at), timestamptz '2026-01-01'), 'UTC') + interval '1 day', 'YYYY-MM-DD') AS day
       FROM public.booking`,
  );
  // The values below are our own integers and a date we just read, inlined as literals: CREATE TABLE AS
  // takes no parameters, and a parameter an UPDATE does not use has no type.
  const day = quoteLiteral(dayRows[0]!.day);
  const now = `(${day}::date::timestamp AT TIME ZONE 'UTC')`;
  const half = (table: string): number => Math.max(1, Math.round((counts.get(table)! * fraction) / 2));
  // The newest 5% of a table, or more when the day changes more than that.
  const recent = (table: string): number => Math.max(Math.ceil(counts.get(table)! * 0.05), 2 * half(table));
  const pick = (from: string, key: readonly string[], sizeOf = from): string => pickedSelect(from, key, seed, recent(sizeOf), half(sizeOf));

  let changed = 0;
  for (const [table, set] of Object.entries(UPDATES)) {
    const key = BIG_TABLES[table]!;
    changed += await count(
      session,
      `UPDATE ${quoteQualified(table)} AS t SET ${set(now)} FROM (${pick(table, key)}) p
        WHERE ${key.map((c) => `t.${quoteIdent(c)} = p.${quoteIdent(c)}`).join(' AND ')}`,
    );
  }

  // New bookings: recent ones (not cancelled, and never the planted cross-tenant one) made again for a week later.
  await session.query(
    `CREATE TEMP TABLE cloned_booking ON COMMIT DROP AS
       SELECT id AS old_id, (SELECT max(id) FROM public.booking) + rn AS new_id, rn
         FROM (SELECT b.id, row_number() OVER (ORDER BY md5(${seed} || ':' || b.id), b.id) AS rn
                 FROM (SELECT b.id FROM public.booking b JOIN public.guest g ON g.id = b.guest_id AND g.hotel_id = b.hotel_id
                        WHERE b.status NOT IN ('cancelled', 'no_show') ORDER BY b.id DESC LIMIT ${recent('public.booking')}) b) numbered
        WHERE rn <= ${half('public.booking')}`,
  );
  changed += await count(
    session,
    `INSERT INTO public.booking
       SELECT c.new_id, b.hotel_id, 'H' || b.hotel_id || '-' || c.new_id, b.guest_id, b.agent_id, b.channel_id, b.rate_plan_id,
              'confirmed', b.arrival_date + 7, b.departure_date + 7, b.adults, b.children, b.total_amount, b.currency_code,
              b.special_requests, ${now} + c.rn * interval '7 seconds', ${now} + c.rn * interval '7 seconds', NULL
         FROM cloned_booking c JOIN public.booking b ON b.id = c.old_id`,
  );
  changed += await count(
    session,
    `INSERT INTO public.booking_room
       SELECT c.new_id, r.line_no, r.hotel_id, r.room_type_code, r.room_number, r.nightly_rate, r.guests
         FROM cloned_booking c JOIN public.booking_room r ON r.booking_id = c.old_id`,
  );
  changed += await count(
    session,
    `INSERT INTO public.stay_night
       SELECT c.new_id, n.line_no, n.stay_date + 7, n.hotel_id, n.room_number, n.amount
         FROM cloned_booking c JOIN public.stay_night n ON n.booking_id = c.old_id`,
  );
  // Split folios for recent bookings (a company pays part of the bill).
  changed += await count(
    session,
    `INSERT INTO public.folio
       SELECT (SELECT max(id) FROM public.folio) + p.rn, b.hotel_id, b.id, b.guest_id, 'open', b.currency_code,
              ${now} + p.rn * interval '11 seconds', NULL
         FROM (${pick('public.booking', ['id'], 'public.folio')}) p JOIN public.booking b ON b.id = p.id
         JOIN public.guest g ON g.id = b.guest_id AND g.hotel_id = b.hotel_id`,
  );
  changed += await count(
    session,
    `INSERT INTO public.folio_line (id, folio_id, kind, description, quantity, amount, posted_at)
       SELECT (SELECT max(id) FROM public.folio_line) + p.rn, p.id, 'food', 'Restaurant', 1,
              10 + (abs(hashtext(${seed} || ':' || p.id)) % 5000) / 100.0, ${now} + p.rn * interval '13 seconds'
         FROM (${pick('public.folio', ['id'], 'public.folio_line')}) p`,
  );
  changed += await count(
    session,
    `INSERT INTO public.payment (id, hotel_id, folio_id, method, amount, currency_code, card_last4, authorisation_code, paid_at)
       SELECT (SELECT max(id) FROM public.payment) + p.rn, f.hotel_id, f.id, 'card', 20 + (abs(hashtext(${seed} || ':' || f.id)) % 20000) / 100.0,
              f.currency_code, lpad((abs(hashtext(${seed} || f.id)) % 10000)::text, 4, '0'), upper(substr(md5(${seed} || f.id), 1, 6)),
              ${now} + p.rn * interval '17 seconds'
         FROM (${pick('public.folio', ['id'], 'public.payment')}) p JOIN public.folio f ON f.id = p.id`,
  );
  changed += await count(
    session,
    `INSERT INTO public.guest
       SELECT (SELECT max(id) FROM public.guest) + p.rn, g.hotel_id, g.first_name, g.last_name,
              regexp_replace(g.email, '[.][0-9]+@', '.' || ((SELECT max(id) FROM public.guest) + p.rn) || '@'), g.phone, g.birth_date,
              g.nationality, g.address_id, g.preferences, g.tags, g.vip, g.marketing_opt_in,
              ${now} + p.rn * interval '19 seconds', ${now} + p.rn * interval '19 seconds'
         FROM (${pick('public.guest', ['id'])}) p JOIN public.guest g ON g.id = p.id`,
  );
  changed += await count(
    session,
    `INSERT INTO public.housekeeping_task
       SELECT (SELECT max(id) FROM public.housekeeping_task) + p.rn, t.hotel_id, t.room_number, t.assigned_staff_id,
              ${day}::date, t.kind, 'open', NULL, NULL, ${now} + interval '6 hours'
         FROM (${pick('public.housekeeping_task', ['id'])}) p JOIN public.housekeeping_task t ON t.id = p.id`,
  );
  return changed;
}

/**
 * `limit` rows of the newest `recent` rows of the table by key, in md5(seed, key) order, numbered `rn`:
 * which rows a day touches is random-looking but fixed by the seed.
 */
function pickedSelect(table: string, key: readonly string[], seed: string, recent: number, limit: number): string {
  const columns = key.map(quoteIdent).join(', ');
  const hash = `md5(${seed} || ':' || concat_ws(':', ${columns}))`;
  return `SELECT ${columns}, row_number() OVER (ORDER BY ${hash}, ${columns}) AS rn
            FROM (SELECT ${columns} FROM ${quoteQualified(table)} ORDER BY ${key.map((c) => `${quoteIdent(c)} DESC`).join(', ')} LIMIT ${recent}) recent
           ORDER BY ${hash}, ${columns} LIMIT ${limit}`;
}

/** Runs an INSERT or UPDATE and returns the rows it wrote. */
async function count(session: PgSession, sql: string): Promise<number> {
  const { rows } = await session.query<{ n: string }>(`WITH done AS (${sql} RETURNING 1) SELECT count(*)::text AS n FROM done`);
  return Number(rows[0]!.n);
}
