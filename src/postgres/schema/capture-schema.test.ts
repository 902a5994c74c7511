import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { isErrorCode } from '../../core/errors.js';
import { connect, type PgSession } from '../connection.js';
import { clusterSettings, createTestDatabase, type TestDatabase } from '../../../test/postgres.js';
import { fillPagila, loadPagilaSchema } from '../../../test/pagila.js';
import { applySchemaSection, captureSchema, sequenceValuesSql, type CapturedSchema } from './capture-schema.js';
import { catalogFingerprint } from './test-fingerprint.js';

const databases: TestDatabase[] = [];
const sessions: PgSession[] = [];

async function database(prefix: string): Promise<PgSession> {
  const db = await createTestDatabase(prefix);
  databases.push(db);
  const session = await db.connect();
  sessions.push(session);
  return session;
}

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((session) => session.end()));
  await Promise.all(databases.splice(0).map((db) => db.drop()));
});

/** Applies both sections to a new empty database, the way restore does (pre-data in a transaction). */
async function restoreSchema(schema: CapturedSchema, between?: (target: PgSession) => Promise<void>): Promise<PgSession> {
  const target = await database('schema_copy');
  await target.query('BEGIN');
  await applySchemaSection(target, schema.preData);
  await target.query('COMMIT');
  await between?.(target);
  await applySchemaSection(target, schema.postData);
  if (schema.sequences.length > 0) await target.query(sequenceValuesSql(schema.sequences));
  return target;
}

async function sequenceValues(session: PgSession): Promise<string[]> {
  const { rows } = await session.query<{ line: string }>(
    `SELECT schemaname || '.' || sequencename || ' ' || coalesce(last_value::text, 'null') AS line FROM pg_sequences ORDER BY 1`,
  );
  return rows.map((row) => row.line);
}

function sqlOf(statements: CapturedSchema['preData']): string[] {
  return statements.map((statement) => statement.sql);
}

describe('captureSchema with Pagila', () => {
  it('rebuilds the same catalog in an empty database, sequences included', async () => {
    const source = await database('schema_pagila');
    await loadPagilaSchema(source);
    await fillPagila(source, { stores: 2, customersPerStore: 3, rentalsPerStore: 4 });
    // fillPagila writes explicit keys; move some sequences on, one of them not yet called.
    await source.query(`
      SELECT setval('public.language_language_id_seq', 3);
      INSERT INTO public.language (name) VALUES ('Klingon'), ('Esperanto');
      SELECT setval('public.actor_actor_id_seq', 42, false);`);

    const schema = await captureSchema(source);
    const target = await restoreSchema(schema);

    expect(await catalogFingerprint(target)).toEqual(await catalogFingerprint(source));
    expect(schema.sequences).toContainEqual({ schema: 'public', name: 'language_language_id_seq', lastValue: '5', isCalled: true });
    expect(schema.sequences).toContainEqual({ schema: 'public', name: 'actor_actor_id_seq', lastValue: '42', isCalled: false });
    expect(await sequenceValues(target)).toEqual(await sequenceValues(source));
    await target.query(`SET search_path = "$user", public`);
    const { rows } = await target.query<{ id: number }>('SELECT nextval($1) AS id', ['public.actor_actor_id_seq']);
    expect(Number(rows[0]!.id)).toBe(42);
  });

  it('creates each partition and its inherited keys once, with PARTITION OF and ATTACH', async () => {
    const source = await database('schema_pagila');
    await loadPagilaSchema(source);
    const schema = await captureSchema(source);
    const pre = sqlOf(schema.preData);
    const post = sqlOf(schema.postData);

    expect(pre.filter((sql) => sql.startsWith('CREATE TABLE "public"."payment_p2022_01"'))).toHaveLength(1);
    expect(pre.find((sql) => sql.startsWith('CREATE TABLE "public"."payment_p2022_01"'))).toMatch(
      /PARTITION OF "public"."payment"( \([^)]*\))? FOR VALUES FROM \('2022-01-01 [^']*'\) TO \('2022-02-01 [^']*'\)$/,
    );
    expect(post.filter((sql) => sql.includes('ADD CONSTRAINT "payment_p2022_01_pkey"'))).toHaveLength(1);
    expect(post).toContain('ALTER INDEX public.payment_pkey ATTACH PARTITION public.payment_p2022_01_pkey');
    // Only the first six partitions declare foreign keys of their own.
    expect(post.filter((sql) => / FOREIGN KEY /.test(sql) && sql.includes('payment_p20'))).toHaveLength(18);
    // A view is created after the aggregate and the tables it reads.
    const position = (pattern: string): number => schema.preData.findIndex((s) => s.sql.includes(pattern));
    expect(position('CREATE AGGREGATE "public"."group_concat"')).toBeLessThan(position('CREATE VIEW "public"."film_list"'));
    expect(position('CREATE TABLE "public"."film_actor"')).toBeLessThan(position('CREATE VIEW "public"."film_list"'));
    expect(position('FUNCTION public.rewards_report')).toBeGreaterThan(position('CREATE TABLE "public"."customer"'));
    // Every statement names its object.
    for (const statement of [...schema.preData, ...schema.postData]) {
      expect(statement.name).not.toBe('');
      expect(statement.sql).not.toMatch(/;\s*$/);
    }
  });

  it('restores rows between pre-data and post-data; Pagila functions work through the caller search_path', async () => {
    const rows = { stores: 2, customersPerStore: 4, rentalsPerStore: 6 };
    const source = await database('schema_pagila');
    await loadPagilaSchema(source);
    await fillPagila(source, rows);
    const schema = await captureSchema(source);

    const target = await restoreSchema(schema, async (session) => {
      await fillPagila(session, rows);
      await session.query(`INSERT INTO public.country (country_id, country) VALUES (1000, 'one more row')`);
    });

    expect(await catalogFingerprint(target)).toEqual(await catalogFingerprint(source));
    const probes = `
      SELECT (SELECT count(*) FROM payment) AS payments,
             (SELECT array_agg(id ORDER BY id) FROM film_in_stock(1, 1) AS id) AS in_stock,
             (SELECT array_agg(id ORDER BY id) FROM film_not_in_stock(4, 2) AS id) AS not_in_stock,
             inventory_held_by_customer(1) AS held_by, inventory_in_stock(2) AS in_stock_2,
             last_day('2024-02-10 12:00+00') AS last_day,
             (SELECT actors FROM film_list ORDER BY fid LIMIT 1) AS actors`;
    for (const session of [source, target]) await session.query(`SET search_path = "$user", public`);
    const original = (await source.query(probes)).rows[0];
    const restored = (await target.query(probes)).rows[0];
    expect(restored).toEqual(original);
    expect(Number((restored as { payments: string }).payments)).toBe(12);
    // The materialized view was never populated in the source; it can be now.
    await target.query('REFRESH MATERIALIZED VIEW public.rental_by_category');
  });
});

describe('captureSchema with what Pagila lacks', () => {
  it('round-trips identity, generated columns, composite and range types, exclusion, deferrable and self FKs, sub-partitions, views on views', async () => {
    const source = await database('schema_handwritten');
    const extensions = await availableExtensions(source, ['citext', 'btree_gist']);
    await source.query(HANDWRITTEN_SCHEMA);
    if (source.serverVersion >= 18) await source.query(HANDWRITTEN_18);
    if (extensions) await source.query(EXTENSION_SCHEMA);
    await source.query(HANDWRITTEN_ROWS);

    const schema = await captureSchema(source);
    const target = await restoreSchema(schema);
    const fingerprint = await catalogFingerprint(source);
    expect(await catalogFingerprint(target)).toEqual(fingerprint);
    // The fingerprint does notice a difference.
    await target.query(`COMMENT ON INDEX "Sales Data".event_happened IS 'by the day'`);
    expect(await catalogFingerprint(target)).not.toEqual(fingerprint);

    const pre = sqlOf(schema.preData);
    const post = sqlOf(schema.postData);
    // The view that groups by a primary key waits for the key; the populated materialized view is refreshed last.
    expect(post.some((sql) => sql.startsWith('CREATE VIEW "app"."ticket_counts"'))).toBe(true);
    expect(post.at(-1)).toBe('REFRESH MATERIALIZED VIEW "app"."ticket_totals"');
    expect(pre.some((sql) => sql.includes('ticket_totals'))).toBe(true);
    if (extensions) {
      expect(pre).toContain('CREATE EXTENSION IF NOT EXISTS "citext" WITH SCHEMA "extensions"');
      expect(pre.filter((sql) => /citext/.test(sql) && /FUNCTION/.test(sql))).toEqual([]);
    }

    // Functions restored with an empty search_path still find their objects.
    await target.query(HANDWRITTEN_ROWS);
    const { rows } = await target.query<{ customers: string; code: string; sad: string }>(`
      SELECT app.customer_count() AS customers, (SELECT code FROM "Sales Data"."Customer" WHERE "Name" = 'Ann') AS code,
             (SELECT count(*) FROM app.sad_customers) AS sad`);
    // The restored sequence continues after what the original had reserved: 100 and 105 were used, but with
    // CACHE 10 the original had logged up to 145 (pg_dump restores the same value).
    expect(rows[0]).toEqual({ customers: '2', code: 'C-150', sad: '1' });
  });

  it('restores rows between the sections and keeps identity and serial sequences going', async () => {
    const source = await database('schema_handwritten');
    await source.query(HANDWRITTEN_SCHEMA);
    await source.query(HANDWRITTEN_ROWS);
    const schema = await captureSchema(source);

    const target = await restoreSchema(schema, async (session) => {
      await session.query(`
        INSERT INTO "Sales Data"."Customer" ("Id", "Name", mood, lucky) OVERRIDING SYSTEM VALUE VALUES (1000, 'Ann', 'happy', 2), (1002, 'Bob', 'sad', 4);
        INSERT INTO "Sales Data".ticket (id, customer_id, qty) VALUES (1, 1000, 3), (2, 1002, 3);
        INSERT INTO "Sales Data".event (id, region, happened, payload) VALUES (1, 'eu', '2024-05-01', '{}'), (2, 'us', '2024-05-01', '{}')`);
    });

    expect(await catalogFingerprint(target)).toEqual(await catalogFingerprint(source));
    expect(await sequenceValues(target)).toEqual(await sequenceValues(source));
    const { rows } = await target.query<{ next_customer: string; totals: string; events: string }>(`
      WITH c AS (INSERT INTO "Sales Data"."Customer" ("Name") VALUES ('Cy') RETURNING "Id")
      SELECT (SELECT "Id" FROM c)::text AS next_customer, (SELECT count(*) FROM app.ticket_totals)::text AS totals,
             (SELECT count(*) FROM "Sales Data".event_eu_2024)::text AS events`);
    expect(rows[0]).toEqual({ next_customer: '1004', totals: '2', events: '1' });
  });

  it('captures owners and privileges only when asked', async () => {
    const role = `failsafe_owner_${randomBytes(4).toString('hex')}`;
    const admin = await connect(clusterSettings());
    await admin.query(`CREATE ROLE ${role}`);
    try {
      const source = await database('schema_owners');
      await source.query(`
        CREATE SCHEMA shop AUTHORIZATION ${role};
        CREATE TABLE shop.item (id int PRIMARY KEY, name text);
        ALTER TABLE shop.item OWNER TO ${role};
        GRANT SELECT ON shop.item TO PUBLIC;
        CREATE FUNCTION shop.answer() RETURNS int LANGUAGE sql RETURN 42;
        REVOKE EXECUTE ON FUNCTION shop.answer() FROM PUBLIC;`);

      const plain = await captureSchema(source);
      expect([...plain.preData, ...plain.postData].some((s) => s.kind === 'OWNER' || s.kind === 'ACL')).toBe(false);

      const withOwners = await captureSchema(source, { owners: true });
      const target = await restoreSchema(withOwners);
      expect(await catalogFingerprint(target, { owners: true })).toEqual(await catalogFingerprint(source, { owners: true }));
    } finally {
      // The role can only go once no database holds objects of it.
      await Promise.all(sessions.splice(0).map((session) => session.end()));
      await Promise.all(databases.splice(0).map((db) => db.drop()));
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    }
  });
});

describe('applySchemaSection', () => {
  it('names the statement that failed and puts the session settings back', async () => {
    const session = await database('schema_apply');
    await session.query(`SET search_path = public`);
    const broken = [
      { kind: 'SCHEMA', schema: null, name: 'a', sql: 'CREATE SCHEMA a' },
      { kind: 'TABLE', schema: 'a', name: 'broken', sql: 'CREATE TABLE a.broken (x no_such_type)' },
    ];
    const error = await applySchemaSection(session, broken).catch((err: unknown) => err);
    expect(isErrorCode(error, 'UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toMatch(/^TABLE a\.broken: type "no_such_type" does not exist/);
    const { rows } = await session.query<{ search_path: string }>('SHOW search_path');
    expect(rows[0]!.search_path).toBe('public');
  });
});

describe('sequenceValuesSql', () => {
  it('writes one setval per sequence with quoted names', () => {
    const sql = sequenceValuesSql([
      { schema: 'public', name: 'actor_actor_id_seq', lastValue: '200', isCalled: true },
      { schema: 'Sales Data', name: 'Odd"Seq', lastValue: '-5', isCalled: false },
    ]);
    expect(sql).toBe(
      `SELECT pg_catalog.setval('"public"."actor_actor_id_seq"', 200, true);\n` + `SELECT pg_catalog.setval('"Sales Data"."Odd""Seq"', -5, false);`,
    );
    expect(sequenceValuesSql([])).toBe('');
  });

  it('refuses a value that is not an integer', () => {
    expect(() => sequenceValuesSql([{ schema: 'public', name: 's', lastValue: '1); DROP TABLE x; --', isCalled: true }])).toThrow(/not an integer/);
  });
});

async function availableExtensions(session: PgSession, names: readonly string[]): Promise<boolean> {
  const { rows } = await session.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = ANY($1)', [names]);
  return rows[0]!.n === names.length;
}

const HANDWRITTEN_SCHEMA = `
  CREATE SCHEMA "Sales Data";
  CREATE SCHEMA app;
  COMMENT ON SCHEMA app IS 'application objects';
  CREATE COLLATION "Sales Data"."binary" (provider = libc, locale = 'C');
  CREATE TYPE "Sales Data"."Mood" AS ENUM ('sad', 'ok', 'happy');
  COMMENT ON TYPE "Sales Data"."Mood" IS 'feelings';
  CREATE TYPE "Sales Data".address AS (street text, city text COLLATE "C", zip integer);
  CREATE TYPE "Sales Data".float_range AS RANGE (subtype = float8, subtype_diff = float8mi);
  CREATE DOMAIN "Sales Data".positive AS integer DEFAULT 1 CONSTRAINT positive_check CHECK (VALUE > 0) NOT NULL;
  CREATE SEQUENCE "Sales Data".code_seq START 100 INCREMENT 5 CACHE 10;
  CREATE FUNCTION "Sales Data"."next_Code"() RETURNS text LANGUAGE sql AS $$ SELECT 'C-' || nextval('"Sales Data".code_seq')::text $$;
  CREATE FUNCTION "Sales Data".is_even(n integer) RETURNS boolean LANGUAGE sql IMMUTABLE RETURN n % 2 = 0;
  COMMENT ON FUNCTION "Sales Data".is_even(integer) IS 'parity';
  CREATE TABLE "Sales Data"."Customer" (
    "Id" bigint GENERATED ALWAYS AS IDENTITY (START WITH 1000 INCREMENT BY 2) PRIMARY KEY,
    "Name" text COLLATE "Sales Data"."binary" NOT NULL,
    code text DEFAULT "Sales Data"."next_Code"() UNIQUE,
    mood "Sales Data"."Mood" DEFAULT 'ok',
    home "Sales Data".address,
    referrer bigint REFERENCES "Sales Data"."Customer" ("Id"),
    lucky integer CONSTRAINT lucky_is_even CHECK ("Sales Data".is_even(lucky)),
    name_length integer GENERATED ALWAYS AS (length("Name")) STORED
  );
  COMMENT ON TABLE "Sales Data"."Customer" IS 'People who buy';
  COMMENT ON COLUMN "Sales Data"."Customer"."Name" IS 'Full name, as printed';
  COMMENT ON CONSTRAINT lucky_is_even ON "Sales Data"."Customer" IS 'superstition';
  CREATE TABLE "Sales Data".ticket (
    id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL CONSTRAINT ticket_customer_fk REFERENCES "Sales Data"."Customer" ("Id") DEFERRABLE INITIALLY DEFERRED,
    qty "Sales Data".positive
  );
  CREATE TABLE "Sales Data".booking (
    room integer NOT NULL,
    during tstzrange NOT NULL,
    price_band "Sales Data".float_range,
    CONSTRAINT booking_no_overlap EXCLUDE USING gist (during WITH &&)
  );
  CREATE TABLE "Sales Data".event (
    id bigserial,
    region text NOT NULL,
    happened date NOT NULL,
    payload jsonb,
    PRIMARY KEY (id, region, happened)
  ) PARTITION BY LIST (region);
  CREATE TABLE "Sales Data".event_eu PARTITION OF "Sales Data".event FOR VALUES IN ('eu') PARTITION BY RANGE (happened);
  CREATE TABLE "Sales Data".event_eu_2024 PARTITION OF "Sales Data".event_eu FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
  CREATE TABLE "Sales Data".event_eu_rest PARTITION OF "Sales Data".event_eu DEFAULT;
  CREATE TABLE "Sales Data".event_other PARTITION OF "Sales Data".event (CONSTRAINT other_not_eu CHECK (region <> 'eu')) DEFAULT;
  CREATE INDEX event_happened ON "Sales Data".event (happened);
  ALTER TABLE "Sales Data".event ADD CONSTRAINT event_has_payload CHECK (payload IS NOT NULL) NOT VALID;
  CREATE FUNCTION "Sales Data".touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.payload := coalesce(NEW.payload, '{}'); RETURN NEW; END $$;
  CREATE TRIGGER event_touch BEFORE INSERT ON "Sales Data".event FOR EACH ROW EXECUTE FUNCTION "Sales Data".touch();
  CREATE TRIGGER ticket_touch BEFORE UPDATE ON "Sales Data".ticket FOR EACH ROW EXECUTE FUNCTION "Sales Data".touch();
  ALTER TABLE "Sales Data".ticket DISABLE TRIGGER ticket_touch;
  CREATE VIEW "Sales Data".happy_customers AS SELECT "Id", "Name" FROM "Sales Data"."Customer" WHERE mood = 'happy';
  CREATE VIEW "Sales Data"."Happy Names" WITH (security_barrier = true) AS SELECT "Name" FROM "Sales Data".happy_customers;
  CREATE FUNCTION "Sales Data".customers_with_mood(m "Sales Data"."Mood") RETURNS SETOF "Sales Data"."Customer"
    LANGUAGE sql STABLE AS $$ SELECT * FROM "Sales Data"."Customer" WHERE mood = m $$;
  CREATE VIEW app.sad_customers AS SELECT "Id" FROM "Sales Data".customers_with_mood('sad');
  CREATE VIEW app.ticket_counts AS
    SELECT c."Id", c."Name", count(t.id) AS tickets
      FROM "Sales Data"."Customer" c LEFT JOIN "Sales Data".ticket t ON t.customer_id = c."Id" GROUP BY c."Id";
  CREATE MATERIALIZED VIEW app.ticket_totals AS SELECT customer_id, sum(qty) AS total FROM "Sales Data".ticket GROUP BY customer_id;
  CREATE UNIQUE INDEX ticket_totals_customer ON app.ticket_totals (customer_id);
  CREATE AGGREGATE app.product(numeric) (SFUNC = numeric_mul, STYPE = numeric, INITCOND = '1');
  CREATE RULE ticket_no_delete AS ON DELETE TO "Sales Data".ticket DO INSTEAD NOTHING;
  ALTER TABLE "Sales Data".ticket ENABLE ROW LEVEL SECURITY;
  CREATE POLICY ticket_positive ON "Sales Data".ticket USING (customer_id > 0);
  CREATE STATISTICS "Sales Data".customer_stats (dependencies) ON mood, lucky FROM "Sales Data"."Customer";
  CREATE PROCEDURE app.reset_codes() LANGUAGE sql AS $$ SELECT setval('"Sales Data".code_seq', 100) $$;
  CREATE FUNCTION app.customer_count() RETURNS bigint LANGUAGE plpgsql STABLE SET search_path = "Sales Data"
    AS $$ BEGIN RETURN (SELECT count(*) FROM "Customer"); END $$;
  CREATE TABLE app.note (id integer, body text);
  CREATE TABLE app.urgent_note (level integer NOT NULL, body text NOT NULL) INHERITS (app.note);
  CREATE UNLOGGED TABLE app.scratch (k text PRIMARY KEY, v text) WITH (fillfactor = 70);
  ALTER TABLE app.scratch REPLICA IDENTITY FULL;
  ALTER TABLE "Sales Data".event ADD COLUMN customer_id bigint REFERENCES "Sales Data"."Customer" ("Id");
  CREATE TABLE app.event_note (
    event_id bigint, region text, happened date, note text,
    FOREIGN KEY (event_id, region, happened) REFERENCES "Sales Data".event ON DELETE CASCADE
  );
  ALTER TABLE app.event_note ADD CONSTRAINT note_not_empty CHECK (note <> '') NOT VALID;
  ALTER TABLE app.event_note ADD CONSTRAINT event_note_customer_fk FOREIGN KEY (event_id) REFERENCES "Sales Data"."Customer" ("Id") NOT VALID;
  ALTER DOMAIN "Sales Data".positive ADD CONSTRAINT below_a_million CHECK (VALUE < 1000000) NOT VALID;
  COMMENT ON CONSTRAINT positive_check ON DOMAIN "Sales Data".positive IS 'no zero tickets';
  COMMENT ON INDEX "Sales Data".event_happened IS 'by day';
  COMMENT ON TRIGGER event_touch ON "Sales Data".event IS 'fills payload';
  COMMENT ON COLUMN app.ticket_totals.total IS 'sum of quantities';
  CREATE INDEX customer_name_lower ON "Sales Data"."Customer" (lower("Name")) WHERE mood <> 'sad';
  ALTER TABLE "Sales Data"."Customer" CLUSTER ON "Customer_pkey";
  ALTER VIEW "Sales Data".happy_customers ALTER COLUMN "Name" SET DEFAULT 'anonymous';
`;

/** PostgreSQL 18: virtual generated columns and NOT NULL constraints added NOT VALID. */
const HANDWRITTEN_18 = `
  ALTER TABLE app.scratch ADD COLUMN v_length integer GENERATED ALWAYS AS (length(v)) VIRTUAL;
  ALTER TABLE app.event_note ADD CONSTRAINT event_note_note_not_null NOT NULL note NOT VALID;
`;

const EXTENSION_SCHEMA = `
  CREATE SCHEMA extensions;
  CREATE EXTENSION citext WITH SCHEMA extensions;
  CREATE EXTENSION btree_gist WITH SCHEMA extensions;
  CREATE TABLE app.room_booking (
    room integer NOT NULL,
    during tstzrange NOT NULL,
    guest_email extensions.citext,
    EXCLUDE USING gist (room WITH =, during WITH &&)
  );
`;

const HANDWRITTEN_ROWS = `
  INSERT INTO "Sales Data"."Customer" ("Name", mood, lucky) VALUES ('Ann', 'happy', 2), ('Bob', 'sad', 4);
  INSERT INTO "Sales Data".ticket (customer_id, qty) SELECT "Id", 3 FROM "Sales Data"."Customer" ORDER BY "Id";
  INSERT INTO "Sales Data".event (region, happened, payload) VALUES ('eu', '2024-05-01', '{}'), ('us', '2024-05-01', NULL);
  REFRESH MATERIALIZED VIEW app.ticket_totals;
`;
