/**
 * The reference target for the example migration: a small platform API that stores records in
 * PostgreSQL and behaves like real ones do. It assigns ids, validates records (422 with the index of
 * each bad record), honours `Idempotency-Key` (a request sent again gets the first answer, so a retried
 * batch never creates records twice), and allows `ratePerSecond` records per second (in bursts of up to
 * a second's worth or one batch of 100), answering 429 with `Retry-After` beyond that. It also plays the
 * third-party geocoder the example's enrichment calls, with a limit of its own.
 *
 *   POST /{kind}                 { "records": [ {...}, ... ] }  →  201 { "ids": [ ... ] }
 *   PUT  /{kind}/{id}            { ...record }                  →  200 { "id": ... }
 *   GET  /_stats                                                →  200 { "requests": { "201": n, "429": n, ... }, "geocoder": { "200": n, ... } }
 *   GET  /_geocode?address=TEXT                                 →  200 { "lat": ..., "lng": ... }
 *
 * Kinds: hotels, hotel-locations, rooms, staff-members, guests, loyalty-accounts, preferences,
 * guest-notes, stays, guest-summaries, vendors, vendor-contacts, tasks. References are target ids and
 * must exist. Every record is stored in `api_record (id, kind, body jsonb)`.
 *
 * The geocoder answers the same coordinates for the same address (derived from its SHA-256, not a
 * real place), 422 for an empty address, and 429 with `Retry-After` beyond `geocodePerSecond` calls
 * per second (bursts of up to a second's worth). Its answers are counted apart from the records'.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PgSession } from '../../src/postgres/connection.js';

const KINDS: Readonly<Record<string, { readonly required: readonly string[]; readonly references: Readonly<Record<string, string>> }>> = {
  hotels: { required: ['name'], references: {} },
  'hotel-locations': { required: ['hotelId', 'lat', 'lng'], references: { hotelId: 'hotels' } },
  rooms: { required: ['hotelId', 'number'], references: { hotelId: 'hotels' } },
  'staff-members': { required: ['hotelId', 'department'], references: { hotelId: 'hotels', supervisorId: 'staff-members' } },
  guests: { required: ['hotelId', 'lastName'], references: { hotelId: 'hotels', referredBy: 'guests' } },
  'loyalty-accounts': { required: ['guestId', 'tier'], references: { guestId: 'guests' } },
  preferences: { required: ['guestId', 'text'], references: { guestId: 'guests' } },
  'guest-notes': { required: ['guestId', 'text'], references: { guestId: 'guests' } },
  stays: { required: ['guestId', 'arrival', 'departure', 'status'], references: { guestId: 'guests', roomId: 'rooms' } },
  'guest-summaries': { required: ['guestId', 'stays'], references: { guestId: 'guests' } },
  vendors: { required: ['hotelId', 'name'], references: { hotelId: 'hotels' } },
  'vendor-contacts': { required: ['vendorId'], references: { vendorId: 'vendors' } },
  tasks: { required: ['status'], references: { guestId: 'guests', vendorId: 'vendors' } },
};

const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS api_record (id bigserial PRIMARY KEY, kind text NOT NULL, body jsonb NOT NULL, updated int NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS api_idempotency (key text PRIMARY KEY, status int NOT NULL, response jsonb NOT NULL);
`;

export interface TargetApiOptions {
  /** Records per second; default 5000. */
  readonly ratePerSecond?: number;
  /** Geocoder calls per second; default 20. */
  readonly geocodePerSecond?: number;
  /** Wait this long after storing before answering, as a slow network would: a client killed meanwhile never hears of records that exist. */
  readonly answerDelayMs?: number;
  /** Called when a POST's records are stored, before the answer goes (tests kill the client here). */
  readonly onStored?: (kind: string, records: number) => void;
}

export interface TargetApi {
  readonly url: string;
  /** Record requests answered, by status. */
  readonly requests: Map<number, number>;
  /** Geocoder requests answered, by status. */
  readonly geocodes: Map<number, number>;
  close(): Promise<void>;
}

/**
 * Starts the API on a loopback port, storing into `session`'s database.
 *
 * @example const api = await startTargetApi(session, { ratePerSecond: 500 }); ... await api.close();
 */
export async function startTargetApi(session: PgSession, options: TargetApiOptions & { readonly port?: number } = {}): Promise<TargetApi> {
  await session.query(SCHEMA_SQL);
  // The records' bucket holds a second's worth, and at least one batch of 100 however low the rate.
  const rate = options.ratePerSecond ?? 5000;
  const take = tokenBucket(rate, Math.max(rate, 100));
  const geocodeRate = options.geocodePerSecond ?? 20;
  const takeGeocode = tokenBucket(geocodeRate, Math.max(geocodeRate, 1));
  const requests = new Map<number, number>();
  const geocodes = new Map<number, number>();
  // One session: requests are handled one at a time, in arrival order.
  let queue: Promise<unknown> = Promise.resolve();

  const handle = async (request: IncomingMessage, body: string): Promise<{ status: number; json: unknown; headers?: Record<string, string> }> => {
    const [, kind, id] = (request.url ?? '').split('/');
    const rules = KINDS[kind ?? ''];
    if (!rules) return { status: 404, json: { error: `no such kind ${kind}` } };
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return { status: 400, json: { error: 'body is not JSON' } };
    }
    const records = request.method === 'POST' ? (parsed as { records?: unknown[] }).records : [parsed];
    if (!Array.isArray(records) || records.length === 0) return { status: 400, json: { error: 'no records' } };
    if (take(records.length) > 0) return { status: 429, json: { error: 'rate limit' }, headers: { 'retry-after': '1' } };
    const key = request.headers['idempotency-key'];
    if (typeof key === 'string') {
      const { rows } = await session.query<{ status: number; response: unknown }>('SELECT status, response FROM api_idempotency WHERE key = $1', [key]);
      if (rows[0]) return { status: rows[0].status, json: rows[0].response };
    }
    const errors = await validate(session, rules, records as Record<string, unknown>[]);
    let answer: { status: number; json: unknown };
    if (errors.length > 0) {
      answer = { status: 422, json: { errors } };
    } else if (request.method === 'POST') {
      const { rows } = await session.query<{ id: string }>(
        'INSERT INTO api_record (kind, body) SELECT $1, b FROM unnest($2::jsonb[]) WITH ORDINALITY AS u(b, n) ORDER BY n RETURNING id::text AS id',
        [kind, records.map((record) => JSON.stringify(record))],
      );
      answer = { status: 201, json: { ids: rows.map((row) => Number(row.id)) } };
      options.onStored?.(kind!, rows.length);
    } else {
      const { rows } = await session.query('UPDATE api_record SET body = $3, updated = updated + 1 WHERE kind = $1 AND id = $2 RETURNING id', [kind, id, JSON.stringify(records[0])]);
      answer = rows.length === 0 ? { status: 404, json: { error: `no ${kind} ${id}` } } : { status: 200, json: { id: Number(id) } };
    }
    if (typeof key === 'string') {
      await session.query('INSERT INTO api_idempotency (key, status, response) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [key, answer.status, JSON.stringify(answer.json)]);
    }
    return answer;
  };

  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    if (request.method === 'GET' && request.url === '/_stats') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ requests: Object.fromEntries(requests), geocoder: Object.fromEntries(geocodes) }));
      return;
    }
    if (request.method === 'GET' && request.url?.startsWith('/_geocode')) {
      const { status, json, headers } = geocode(new URL(request.url, 'http://api').searchParams.get('address') ?? '', takeGeocode);
      geocodes.set(status, (geocodes.get(status) ?? 0) + 1);
      response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(json));
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const handled = queue.then(() => handle(request, Buffer.concat(chunks).toString('utf8')));
      queue = handled.catch(() => undefined);
      const answered = options.answerDelayMs ? handled.then(async (answer) => (await sleep(options.answerDelayMs), answer)) : handled;
      answered.then(
        ({ status, json, headers }) => {
          requests.set(status, (requests.get(status) ?? 0) + 1);
          response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(json));
        },
        (err: unknown) => {
          requests.set(500, (requests.get(500) ?? 0) + 1);
          response.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(err) }));
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    geocodes,
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}

/**
 * A token bucket of `capacity` filling at `rate` per second: `take(n)` spends n tokens and answers 0,
 * or spends nothing and answers the seconds until n tokens are there.
 */
function tokenBucket(rate: number, capacity: number): (count: number) => number {
  let tokens = capacity;
  let refilled = Date.now();
  return (count) => {
    const now = Date.now();
    tokens = Math.min(capacity, tokens + ((now - refilled) / 1000) * rate);
    refilled = now;
    if (tokens < count) return (count - tokens) / rate;
    tokens -= count;
    return 0;
  };
}

/** The geocoder: coordinates derived from the address's hash, the same every time; 422 for no address; 429 over its limit. */
function geocode(address: string, take: (count: number) => number): { status: number; json: unknown; headers?: Record<string, string> } {
  const wait = take(1);
  if (wait > 0) return { status: 429, json: { error: 'geocoder rate limit' }, headers: { 'retry-after': String(Math.ceil(wait)) } };
  const normalised = address.trim().replace(/\s+/g, ' ').toLowerCase();
  if (normalised === '') return { status: 422, json: { error: 'address is empty' } };
  const digest = createHash('sha256').update(normalised).digest();
  const at = (offset: number, span: number): number => Math.round(((digest.readUInt32BE(offset) / 2 ** 32) * span - span / 2) * 1e6) / 1e6;
  return { status: 200, json: { lat: at(0, 180), lng: at(4, 360) } };
}

/** Per bad record: its index and what is wrong (a required field missing, a reference to nothing); one query per reference field. */
async function validate(session: PgSession, rules: (typeof KINDS)[string], records: readonly Record<string, unknown>[]): Promise<{ index: number; message: string }[]> {
  const errors: { index: number; message: string }[] = [];
  for (const [index, record] of records.entries()) {
    const missing = rules.required.filter((field) => record[field] === null || record[field] === undefined || record[field] === '');
    if (missing.length > 0) errors.push({ index, message: `missing ${missing.join(', ')}` });
  }
  for (const [field, kind] of Object.entries(rules.references)) {
    const given = [...new Set(records.map((record) => record[field]).filter((value) => value !== null && value !== undefined).map(String))];
    if (given.length === 0) continue;
    const numeric = given.filter((value) => /^\d{1,18}$/.test(value));
    const { rows } = await session.query<{ id: string }>('SELECT id::text AS id FROM api_record WHERE kind = $1 AND id = ANY($2::bigint[])', [kind, numeric]);
    const existing = new Set(rows.map((row) => row.id));
    for (const [index, record] of records.entries()) {
      const value = record[field];
      if (value !== null && value !== undefined && !existing.has(String(value))) errors.push({ index, message: `${field} ${String(value)} is no ${kind.slice(0, -1)}` });
    }
  }
  return errors;
}
