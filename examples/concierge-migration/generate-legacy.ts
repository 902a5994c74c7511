/**
 * Legacy data at any size for the example migration, generated inside PostgreSQL (generate_series), so
 * half a million rows take seconds: per hotel, `guests` guests, two preferences each, one vendor per
 * 200 guests, two tasks per guest; every 997th guest has no last name (a dirty row the transform
 * refuses). Deterministic.
 */
import type { SqlClient } from '../../src/postgres/connection.js';

export interface LegacySize {
  readonly hotels: number;
  readonly guestsPerHotel: number;
}

/** Creates the schema (legacy-schema.sql's text, given) and fills it; returns the rows per hotel. */
export async function generateLegacy(session: SqlClient, schemaSql: string, size: LegacySize): Promise<number> {
  const { hotels, guestsPerHotel: guests } = size;
  await session.query(schemaSql);
  await session.query(`INSERT INTO gc_property SELECT h, 'Hotel ' || h, 'Europe/Dublin', 'IE' FROM generate_series(1, $1::int) h`, [hotels]);
  await session.query(
    `INSERT INTO gc_guest (property_id, guest_no, first_nm, last_nm, vip_flg, referred_by_no)
     SELECT h, g, 'Guest' || g, CASE WHEN g % 997 = 0 THEN NULL ELSE 'Family' || (g % 5000) END,
            CASE WHEN g % 10 = 0 THEN 'Y' ELSE 'N' END, CASE WHEN g % 7 = 0 AND g > 1 THEN g - 1 END
       FROM generate_series(1, $1::int) h, generate_series(1, $2::int) g`,
    [hotels, guests],
  );
  await session.query(
    `INSERT INTO gc_guest_pref SELECT h, g, p, CASE p WHEN 1 THEN 'feather-free pillows' ELSE 'late checkout' END
       FROM generate_series(1, $1::int) h, generate_series(1, $2::int) g, generate_series(1, 2) p`,
    [hotels, guests],
  );
  const vendors = Math.max(1, Math.floor(guests / 200));
  await session.query(
    `INSERT INTO gc_vendor SELECT h, 'V' || v, 'Vendor ' || v, 'Contact ' || v, '+353 1 555 ' || lpad(v::text, 4, '0'), NULL, NULL
       FROM generate_series(1, $1::int) h, generate_series(1, $2::int) v`,
    [hotels, vendors],
  );
  await session.query(
    `INSERT INTO gc_task SELECT h, t, 1 + t % $2::int, 'V' || (1 + t % $3::int), (ARRAY['O', 'D', 'X'])[1 + t % 3],
            timestamptz '2026-11-01 09:00+00' + t * interval '1 minute', 'task ' || t
       FROM generate_series(1, $1::int) h, generate_series(1, 2 * $2::int) t`,
    [hotels, guests, vendors],
  );
  await session.query('ANALYZE');
  return 1 + guests + 2 * guests + vendors + 2 * guests;
}
