/**
 * The reference migration (docs/migration.md): GoConcierge-like concierge data into a platform's API.
 * A start: five datasets covering one-to-one (hotel), a composite key and self-references (guest),
 * one record per row of a child table (preference), one row into several records (vendor contacts),
 * and status codes mapped with references to two datasets (task).
 */
import { defineMigration } from 'failsafe/migrate';

const STATUS: Readonly<Record<string, string>> = { O: 'open', D: 'done', X: 'cancelled' };

/** The reference API (target-api.ts) answers a batch with `{ "ids": [...] }`, one per record. */
const ids = (response: unknown): number[] => (response as { ids: number[] }).ids;

export default defineMigration({
  targets: {
    reference: { baseUrl: process.env.CONCIERGE_API_URL ?? 'http://127.0.0.1:8080', ratePerSecond: Number(process.env.CONCIERGE_API_RATE ?? 5000), concurrency: 4 },
  },
  datasets: {
    hotel: {
      extract: 'SELECT * FROM gc_property WHERE property_id = $1::int',
      key: ['property_id'],
      transform: (row) => ({ name: row.prop_name, timezone: row.tz ?? 'UTC', country: row.country_cd }),
      load: { endpoint: '/hotels', batchSize: 1, ids },
    },
    guest: {
      dependsOn: ['hotel'],
      extract: 'SELECT * FROM gc_guest WHERE property_id = $1::int',
      key: ['property_id', 'guest_no'],
      transform: (row, ctx) => {
        if (!row.last_nm) throw new Error('guest has no last name');
        return {
          hotelId: ctx.ref('hotel', row.property_id),
          firstName: row.first_nm,
          lastName: row.last_nm,
          vip: row.vip_flg === 'Y',
          referredBy: row.referred_by_no === null ? null : ctx.ref('guest', [row.property_id, row.referred_by_no]),
        };
      },
      load: { endpoint: '/guests', ids, update: { endpoint: (id) => `/guests/${id}` } },
    },
    preference: {
      dependsOn: ['guest'],
      extract: 'SELECT * FROM gc_guest_pref WHERE property_id = $1::int',
      key: ['property_id', 'guest_no', 'pref_seq'],
      transform: (row, ctx) => ({ guestId: ctx.ref('guest', [row.property_id, row.guest_no]), text: row.pref_txt }),
      load: { endpoint: '/preferences', ids },
    },
    vendor: {
      dependsOn: ['hotel'],
      extract: 'SELECT * FROM gc_vendor WHERE property_id = $1::int',
      key: ['property_id', 'vendor_cd'],
      transform: (row, ctx) => ({ hotelId: ctx.ref('hotel', row.property_id), code: row.vendor_cd, name: row.vendor_nm }),
      load: { endpoint: '/vendors', ids },
    },
    task: {
      dependsOn: ['guest', 'vendor'],
      extract: 'SELECT * FROM gc_task WHERE property_id = $1::int',
      key: ['property_id', 'task_id'],
      transform: (row, ctx) => ({
        guestId: row.guest_no === null ? null : ctx.ref('guest', [row.property_id, row.guest_no]),
        vendorId: row.vendor_cd === null ? null : ctx.ref('vendor', [row.property_id, row.vendor_cd]),
        status: STATUS[String(row.status_cd)] ?? 'open',
        due: row.due_ts,
        note: row.note_txt,
      }),
      load: { endpoint: '/tasks', ids },
    },
  },
});
