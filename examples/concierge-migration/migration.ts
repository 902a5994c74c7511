/**
 * The reference migration (docs/migration.md, README.md here): GoConcierge-like concierge data into a
 * platform's API, thirteen datasets covering the cases the issue names:
 *
 * - one-to-one: hotel, room (text key, a code mapped to words), loyalty (tier codes), preference (one
 *   record per row of a child table), vendor, task (status codes, references to two datasets);
 * - self-references through nullable keys: guest (referred by a guest), staff (supervisor);
 * - one row into several records: vendor_contact (the contact columns denormalised into gc_vendor);
 * - composition: guest_note (gc_guest_note joined with gc_staff for the author's name);
 * - computed: guest_summary (stays, nights and last departure per guest, aggregated in SQL);
 * - enrichment: hotel_location (the hotel's address geocoded by another service, under its own limits);
 * - dirty rows: stay (departure before arrival), loyalty (an unknown tier), guest (no last name),
 *   hotel_location (no address) fail in `transform` and wait in dead letter; a note or preference of a
 *   guest that was never staged fails its reference.
 */
import { defineMigration, EnrichError } from 'failsafe/migrate';

const TASK_STATUS: Readonly<Record<string, string>> = { O: 'open', D: 'done', X: 'cancelled' };
const STAY_STATUS: Readonly<Record<string, string>> = { R: 'reserved', I: 'in-house', O: 'checked-out', C: 'cancelled' };
const ROOM_TYPE: Readonly<Record<string, string>> = { S: 'single', D: 'double', T: 'twin', Q: 'queen', SU: 'suite' };
const DEPARTMENT: Readonly<Record<string, string>> = { MG: 'management', FO: 'front office', CON: 'concierge', HK: 'housekeeping', FB: 'food and beverage' };
const LOYALTY_TIER: Readonly<Record<string, string>> = { B: 'bronze', S: 'silver', G: 'gold', P: 'platinum' };

/** The reference API (target-api.ts) answers a batch with `{ "ids": [...] }`, one per record. */
const ids = (response: unknown): number[] => (response as { ids: number[] }).ids;

/** The reference API serves the geocoder too, unless it is given elsewhere. */
const geocoderUrl = (): string => process.env.CONCIERGE_GEOCODER_URL ?? process.env.CONCIERGE_API_URL ?? 'http://127.0.0.1:8080';

/** Text columns as the legacy system left them: NULL, empty or padded. */
const text = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value.trim() : null);

/** The one-line postal address of a gc_property row, or null when none was entered. */
const addressOf = (row: Readonly<Record<string, unknown>>): string | null => {
  const parts = [row.addr_line, row.city, row.postal_cd].map(text).filter((part) => part !== null);
  return parts.length === 0 ? null : [...parts, text(row.country_cd)].filter((part) => part !== null).join(', ');
};

/**
 * `GET /_geocode?address=`: the coordinates of an address. A 429 makes every call wait its Retry-After,
 * a 4xx fails the row at once, anything else but 200 is tried again.
 */
async function geocode(address: string, signal: AbortSignal | undefined): Promise<{ lat: number; lng: number }> {
  const response = await fetch(`${geocoderUrl()}/_geocode?address=${encodeURIComponent(address)}`, { signal: signal ?? null });
  const body = await response.text();
  const failure = `geocoder answered HTTP ${response.status}: ${body.slice(0, 200)}`;
  if (response.status === 429) throw new EnrichError(failure, { retryAfterMs: 1000 * Number(response.headers.get('retry-after') ?? 1) });
  if (response.status >= 400 && response.status < 500) throw new EnrichError(failure, { permanent: true });
  if (response.status !== 200) throw new Error(failure);
  const { lat, lng } = JSON.parse(body) as { lat: number; lng: number };
  return { lat, lng };
}

export default defineMigration({
  tenants: 'SELECT property_id FROM gc_property ORDER BY property_id',
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
        status: TASK_STATUS[String(row.status_cd)] ?? 'open',
        due: row.due_ts,
        note: row.note_txt,
      }),
      load: { endpoint: '/tasks', ids },
    },
    hotel_location: {
      dependsOn: ['hotel'],
      extract: 'SELECT property_id, addr_line, city, postal_cd, country_cd FROM gc_property WHERE property_id = $1::int',
      key: ['property_id'],
      enrich: {
        // A hotel without an address is not sent (it would cost a call the geocoder refuses): it gets no
        // coordinates, and transform turns it into a dead letter to fix at the source.
        fn: async (row, { signal }) => {
          const address = addressOf(row);
          return address === null ? {} : geocode(address, signal);
        },
        ratePerSecond: 5,
        concurrency: 2,
        attempts: 3,
      },
      transform: (row, ctx) => {
        if (typeof row.lat !== 'number' || typeof row.lng !== 'number') throw new Error('hotel has no address to geocode (addr_line, city and postal_cd are empty)');
        return { hotelId: ctx.ref('hotel', row.property_id), address: addressOf(row), lat: row.lat, lng: row.lng };
      },
      load: { endpoint: '/hotel-locations', ids },
    },
    room: {
      dependsOn: ['hotel'],
      extract: 'SELECT * FROM gc_room WHERE property_id = $1::int',
      key: ['property_id', 'room_no'],
      transform: (row, ctx) => ({
        hotelId: ctx.ref('hotel', row.property_id),
        number: row.room_no,
        floor: row.floor_no,
        // Rooms entered before the codes existed have none.
        type: row.room_type_cd === null ? null : (ROOM_TYPE[String(row.room_type_cd).trim()] ?? 'other'),
      }),
      load: { endpoint: '/rooms', ids },
    },
    staff: {
      dependsOn: ['hotel'],
      extract: 'SELECT * FROM gc_staff WHERE property_id = $1::int',
      key: ['property_id', 'emp_no'],
      transform: (row, ctx) => ({
        hotelId: ctx.ref('hotel', row.property_id),
        firstName: text(row.first_nm),
        lastName: text(row.last_nm),
        department: DEPARTMENT[String(row.dept_cd)] ?? 'other',
        supervisorId: row.supervisor_emp_no === null ? null : ctx.ref('staff', [row.property_id, row.supervisor_emp_no]),
      }),
      load: { endpoint: '/staff-members', ids },
    },
    loyalty: {
      dependsOn: ['guest'],
      extract: 'SELECT property_id, guest_no, tier_cd, points_qty, enrolled_dt::text AS enrolled_dt FROM gc_loyalty WHERE property_id = $1::int',
      key: ['property_id', 'guest_no'],
      transform: (row, ctx) => {
        const tier = LOYALTY_TIER[String(row.tier_cd)];
        if (!tier) throw new Error(`unknown loyalty tier code ${JSON.stringify(row.tier_cd)}`);
        return { guestId: ctx.ref('guest', [row.property_id, row.guest_no]), tier, points: row.points_qty, enrolledOn: row.enrolled_dt };
      },
      load: { endpoint: '/loyalty-accounts', ids },
    },
    guest_note: {
      dependsOn: ['guest'],
      // The author's name comes from gc_staff; a note without an author, or whose author's row was
      // deleted since, keeps its text with no author.
      extract: `SELECT n.property_id, n.note_id, n.guest_no, n.note_ts, n.note_txt,
                       nullif(concat_ws(' ', st.first_nm, st.last_nm), '') AS author_nm, st.dept_cd AS author_dept_cd
                  FROM gc_guest_note n
                  LEFT JOIN gc_staff st ON st.property_id = n.property_id AND st.emp_no = n.author_emp_no
                 WHERE n.property_id = $1::int`,
      key: ['property_id', 'note_id'],
      transform: (row, ctx) => ({
        guestId: ctx.ref('guest', [row.property_id, row.guest_no]),
        text: row.note_txt,
        writtenAt: row.note_ts,
        author: row.author_nm,
        authorDepartment: row.author_dept_cd === null ? null : (DEPARTMENT[String(row.author_dept_cd)] ?? 'other'),
      }),
      load: { endpoint: '/guest-notes', ids },
    },
    stay: {
      dependsOn: ['guest', 'room'],
      extract: `SELECT property_id, stay_id, guest_no, room_no, status_cd, arrival_dt::text AS arrival_dt, departure_dt::text AS departure_dt
                  FROM gc_stay WHERE property_id = $1::int`,
      key: ['property_id', 'stay_id'],
      transform: (row, ctx) => {
        // ISO dates compare as text.
        if (String(row.departure_dt) < String(row.arrival_dt)) throw new Error(`stay departs (${row.departure_dt}) before it arrives (${row.arrival_dt})`);
        return {
          guestId: ctx.ref('guest', [row.property_id, row.guest_no]),
          // A reservation has no room until one is assigned.
          roomId: row.room_no === null ? null : ctx.ref('room', [row.property_id, row.room_no]),
          arrival: row.arrival_dt,
          departure: row.departure_dt,
          status: STAY_STATUS[String(row.status_cd)] ?? 'reserved',
        };
      },
      load: { endpoint: '/stays', ids },
    },
    guest_summary: {
      dependsOn: ['guest'],
      // Computed: one row per guest with a stay that was not cancelled (the dirty stays that depart
      // before they arrive are left out, as the stay dataset leaves them out).
      extract: `SELECT property_id, guest_no, count(*)::int AS stays, sum(departure_dt - arrival_dt)::int AS nights,
                       max(departure_dt)::text AS last_departure
                  FROM gc_stay
                 WHERE property_id = $1::int AND status_cd <> 'C' AND departure_dt >= arrival_dt
                 GROUP BY property_id, guest_no`,
      key: ['property_id', 'guest_no'],
      transform: (row, ctx) => ({ guestId: ctx.ref('guest', [row.property_id, row.guest_no]), stays: row.stays, nights: row.nights, lastDeparture: row.last_departure }),
      load: { endpoint: '/guest-summaries', ids },
    },
    vendor_contact: {
      dependsOn: ['vendor'],
      extract: 'SELECT property_id, vendor_cd, contact1_nm, contact1_phone, contact2_nm, contact2_phone FROM gc_vendor WHERE property_id = $1::int',
      key: ['property_id', 'vendor_cd'],
      // One record per contact filled in (none, one or two), named by its slot (`KEY#contact1`,
      // `KEY#contact2`): clearing contact 1 later leaves contact 2's record where it was.
      transform: (row, ctx) =>
        ([1, 2] as const)
          .map((n) => ({ slot: n, name: text(row[`contact${n}_nm`]), phone: text(row[`contact${n}_phone`]) }))
          .filter((contact) => contact.name !== null || contact.phone !== null)
          .map(({ slot, name, phone }) =>
            ctx.keyed(`contact${slot}`, { vendorId: ctx.ref('vendor', [row.property_id, row.vendor_cd]), name, phone, primary: slot === 1 }),
          ),
      load: { endpoint: '/vendor-contacts', ids },
    },
  },
});
