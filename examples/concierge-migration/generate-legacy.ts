/**
 * Legacy data at any size for the example migration, generated inside PostgreSQL (generate_series), so
 * half a million rows take seconds. Per hotel of `guests` guests, about five rows per guest in all:
 *
 * | table | rows | dirty rows |
 * |---|---|---|
 * | gc_property | 1 | every 7th hotel has no address |
 * | gc_guest | guests | every 997th has no last name |
 * | gc_guest_pref | one per guest | |
 * | gc_task | one per two guests | |
 * | gc_stay | three per two guests | every 1009th departs before it arrives |
 * | gc_loyalty | one per four guests | every 1000th member's tier code is unknown |
 * | gc_guest_note | three per four guests | |
 * | gc_room, gc_staff, gc_vendor | one per 100, 200, 200 guests | |
 *
 * Deterministic: the same size gives the same rows.
 */
import type { SqlClient } from '../../src/postgres/connection.js';

export interface LegacySize {
  readonly hotels: number;
  readonly guestsPerHotel: number;
}

/** Creates the schema (legacy-schema.sql's text, given) and fills it; returns the rows per hotel. */
export async function generateLegacy(session: SqlClient, schemaSql: string, size: LegacySize): Promise<number> {
  const { hotels, guestsPerHotel: guests } = size;
  const counts = {
    vendors: Math.max(1, Math.floor(guests / 200)),
    rooms: Math.max(1, Math.floor(guests / 100)),
    staff: Math.max(1, Math.floor(guests / 200)),
    tasks: Math.floor(guests / 2),
    stays: Math.floor((3 * guests) / 2),
    members: Math.floor(guests / 4),
    notes: Math.floor((3 * guests) / 4),
  };
  // Room numbers: 50 a floor, 101-150, 201-250, ...
  const roomNo = (i: string): string => `(((${i} - 1) / 50 + 1) * 100 + (${i} - 1) % 50 + 1)::text`;
  const run = (sql: string, ...values: number[]): Promise<unknown> => session.query(sql, [hotels, ...values]);

  await session.query(schemaSql);
  await run(
    `INSERT INTO gc_property SELECT h, 'Hotel ' || h, 'Europe/Dublin', 'IE',
            CASE WHEN h % 7 <> 0 THEN h || ' Main Street' END, CASE WHEN h % 7 <> 0 THEN 'Town ' || h END, CASE WHEN h % 7 <> 0 THEN 'T' || lpad(h::text, 2, '0') || ' A1B2' END
       FROM generate_series(1, $1::int) h`,
  );
  await run(
    `INSERT INTO gc_guest (property_id, guest_no, first_nm, last_nm, vip_flg, referred_by_no)
     SELECT h, g, 'Guest' || g, CASE WHEN g % 997 = 0 THEN NULL ELSE 'Family' || (g % 5000) END,
            CASE WHEN g % 10 = 0 THEN 'Y' ELSE 'N' END, CASE WHEN g % 7 = 0 AND g > 1 THEN g - 1 END
       FROM generate_series(1, $1::int) h, generate_series(1, $2::int) g`,
    guests,
  );
  await run(
    `INSERT INTO gc_guest_pref SELECT h, g, 1, CASE g % 3 WHEN 0 THEN 'feather-free pillows' WHEN 1 THEN 'late checkout' ELSE 'sea view' END
       FROM generate_series(1, $1::int) h, generate_series(1, $2::int) g`,
    guests,
  );
  await run(
    `INSERT INTO gc_vendor SELECT h, 'V' || v, 'Vendor ' || v, 'Contact ' || v, '+353 1 555 ' || lpad(v::text, 4, '0'),
            CASE WHEN v % 3 = 0 THEN 'Desk' END, CASE WHEN v % 3 = 0 THEN '+353 1 556 ' || lpad(v::text, 4, '0') END
       FROM generate_series(1, $1::int) h, generate_series(1, $2::int) v`,
    counts.vendors,
  );
  await run(
    `INSERT INTO gc_task SELECT h, t, 1 + t % $2::int, 'V' || (1 + t % $3::int), (ARRAY['O', 'D', 'X'])[1 + t % 3],
            timestamptz '2026-11-01 09:00+00' + t * interval '1 minute', 'task ' || t
       FROM generate_series(1, $1::int) h, generate_series(1, $4::int) t`,
    guests,
    counts.vendors,
    counts.tasks,
  );
  await run(
    `INSERT INTO gc_room SELECT h, ${roomNo('r')}, (r - 1) / 50 + 1, CASE WHEN r % 20 = 0 THEN NULL ELSE (ARRAY['S', 'D', 'T', 'Q', 'SU'])[1 + r % 5] END
       FROM generate_series(1, $1::int) h, generate_series(1, $2::int) r`,
    counts.rooms,
  );
  await run(
    `INSERT INTO gc_staff SELECT h, e, 'Staff' || e, 'Member' || e, (ARRAY['MG', 'FO', 'CON', 'HK', 'FB'])[CASE WHEN e = 1 THEN 1 ELSE 2 + e % 4 END],
            CASE WHEN e > 1 THEN 1 + (e - 2) / 10 END
       FROM generate_series(1, $1::int) h, generate_series(1, $2::int) e`,
    counts.staff,
  );
  await run(
    `INSERT INTO gc_stay
     SELECT h, s, 1 + (s - 1) % $2::int, CASE WHEN status <> 'R' THEN ${roomNo('(1 + s % $3::int)')} END,
            arrival, CASE WHEN s % 1009 = 0 THEN arrival - 2 ELSE arrival + 1 + s % 5 END, status
       FROM generate_series(1, $1::int) h, generate_series(1, $4::int) s,
            LATERAL (SELECT date '2020-01-01' + s % 2190 AS arrival,
                            CASE WHEN s % 23 = 0 THEN 'C' WHEN s % 11 = 0 THEN 'R' WHEN s % 13 = 0 THEN 'I' ELSE 'O' END AS status) d`,
    guests,
    counts.rooms,
    counts.stays,
  );
  await run(
    `INSERT INTO gc_loyalty SELECT h, g, CASE WHEN g % 4000 = 0 THEN 'X' ELSE (ARRAY['B', 'S', 'G', 'P'])[1 + g % 4] END, g % 10000, date '2015-01-01' + g % 3650
       FROM generate_series(1, $1::int) h, generate_series(4, $2::int, 4) g`,
    guests,
  );
  await run(
    `INSERT INTO gc_guest_note SELECT h, n, 1 + (n * 7) % $2::int, CASE WHEN n % 10 <> 0 THEN 1 + n % $3::int END,
            timestamptz '2024-01-01 09:00+00' + n * interval '17 minutes', 'note ' || n
       FROM generate_series(1, $1::int) h, generate_series(1, $4::int) n`,
    guests,
    counts.staff,
    counts.notes,
  );
  await session.query('ANALYZE');
  return 1 + guests + guests + counts.vendors + counts.tasks + counts.rooms + counts.staff + counts.stays + counts.members + counts.notes;
}
