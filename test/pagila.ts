/**
 * The Pagila sample schema (../shared/fixtures/pagila-schema.sql) with generated rows, for tests of the
 * planner, snapshots and restores. Store is the tenant root; each store has its own staff, customers,
 * inventory, rentals and payments; films, actors, languages and places are shared.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { SqlClient } from '../src/postgres/connection.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';

export const PAGILA_SCHEMA_FILE = fileURLToPath(new URL('../../shared/fixtures/pagila-schema.sql', import.meta.url));

/** The relationship Pagila does not declare; with it, store ↔ staff is a cycle. */
export const PAGILA_MANAGER_KEY = {
  from: 'public.store',
  fromColumns: ['manager_staff_id'],
  to: 'public.staff',
  toColumns: ['staff_id'],
} as const;

export interface PagilaRows {
  readonly stores: number;
  readonly customersPerStore: number;
  readonly rentalsPerStore: number;
  /** Make one rental of store 1 reference a customer of store 2. */
  readonly crossTenantRental?: boolean;
}

export async function loadPagilaSchema(client: SqlClient): Promise<void> {
  await client.query(await readFile(PAGILA_SCHEMA_FILE, 'utf8'));
  // The fixture empties search_path for its session; later statements of the test expect the default.
  await client.query('SELECT pg_catalog.set_config($1, $2, false)', ['search_path', '"$user", public']);
}

/** Deterministic rows: the same options give the same data. */
export async function fillPagila(client: SqlClient, rows: PagilaRows): Promise<void> {
  const { stores: s, customersPerStore: c, rentalsPerStore: r } = rows;
  const films = 20;
  await client.query(`
    INSERT INTO public.language (language_id, name, last_update)
      SELECT i, 'language ' || i, timestamptz '2022-01-01' FROM generate_series(1, 3) i;
    INSERT INTO public.country (country_id, country, last_update)
      SELECT i, 'country ' || i, timestamptz '2022-01-01' FROM generate_series(1, 4) i;
    INSERT INTO public.city (city_id, city, country_id, last_update)
      SELECT i, 'city ' || i, 1 + i % 4, timestamptz '2022-01-01' FROM generate_series(1, 8) i;
    INSERT INTO public.address (address_id, address, district, city_id, phone, last_update)
      SELECT i, i || ' Main Street', 'district ' || (i % 5), 1 + i % 8, '555-' || i, timestamptz '2022-01-01'
        FROM generate_series(1, ${s * 3 + s * c}) i;
    INSERT INTO public.category (category_id, name, last_update)
      SELECT i, 'category ' || i, timestamptz '2022-01-01' FROM generate_series(1, 4) i;
    INSERT INTO public.actor (actor_id, first_name, last_name, last_update)
      SELECT i, 'first' || i, 'last' || i, timestamptz '2022-01-01' FROM generate_series(1, 10) i;
    INSERT INTO public.film (film_id, title, language_id, original_language_id, last_update, fulltext, special_features)
      SELECT i, 'film ' || i, 1 + i % 3, CASE WHEN i % 4 = 0 THEN 2 END, timestamptz '2022-01-01',
             to_tsvector('film ' || i), ARRAY['Trailers']
        FROM generate_series(1, ${films}) i;
    INSERT INTO public.film_actor (actor_id, film_id, last_update)
      SELECT 1 + (i * 7) % 10, i, timestamptz '2022-01-01' FROM generate_series(1, ${films}) i;
    INSERT INTO public.film_category (film_id, category_id, last_update)
      SELECT i, 1 + i % 4, timestamptz '2022-01-01' FROM generate_series(1, ${films}) i;
    INSERT INTO public.store (store_id, manager_staff_id, address_id, last_update)
      SELECT i, i, i, timestamptz '2022-01-01' FROM generate_series(1, ${s}) i;
    INSERT INTO public.staff (staff_id, first_name, last_name, address_id, store_id, username, last_update, picture)
      SELECT i, 'staff' || i, 'last' || i, ${s} + i, 1 + (i - 1) % ${s}, 'user' || i, timestamptz '2022-01-01', '\\x0102'::bytea
        FROM generate_series(1, ${2 * s}) i;
    INSERT INTO public.customer (customer_id, store_id, first_name, last_name, address_id, create_date, last_update, active)
      SELECT i, 1 + (i - 1) % ${s}, 'customer' || i, 'last' || i, ${3 * s} + i, date '2022-01-01', timestamptz '2022-01-01', 1
        FROM generate_series(1, ${s * c}) i;
    INSERT INTO public.inventory (inventory_id, film_id, store_id, last_update)
      SELECT i, 1 + (i * 3) % ${films}, 1 + (i - 1) % ${s}, timestamptz '2022-01-01' FROM generate_series(1, ${s * 10}) i;
    INSERT INTO public.rental (rental_id, rental_date, inventory_id, customer_id, staff_id, last_update)
      SELECT i, timestamptz '2022-01-01' + i * interval '1 hour',
             1 + ((i - 1) % ${s}) + ${s} * (i % 10), 1 + ((i - 1) % ${s}) + ${s} * (i % ${c}), 1 + (i - 1) % ${s},
             timestamptz '2022-01-01'
        FROM generate_series(1, ${s * r}) i;
    INSERT INTO public.payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date)
      SELECT rental_id, customer_id, staff_id, rental_id, 1.99, timestamptz '2022-01-02' + rental_id * interval '37 minutes'
        FROM public.rental;
    ANALYZE;`);
  if (rows.crossTenantRental) {
    // Rental 1 is store 1's; point it at customer 2, who belongs to store 2.
    await client.query('UPDATE public.rental SET customer_id = 2 WHERE rental_id = 1');
  }
}

/**
 * A fresh database in the test cluster with the Pagila schema and `rows` loaded.
 *
 * @example const db = await createPagilaDatabase('plan', { stores: 3, customersPerStore: 4, rentalsPerStore: 30 });
 */
export async function createPagilaDatabase(prefix: string, rows: PagilaRows): Promise<TestDatabase> {
  const db = await createTestDatabase(prefix);
  const session = await db.connect();
  try {
    await loadPagilaSchema(session);
    await fillPagila(session, rows);
  } finally {
    await session.end();
  }
  return db;
}
