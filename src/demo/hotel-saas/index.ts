/**
 * The hotel-SaaS sample database used by failsafe's demo, tests and benchmarks: a SaaS for hotel groups
 * where each hotel is a tenant (root table `public.hotel`, key `id`).
 *
 * Glossary:
 * - scale: 10 hotels per unit; each hotel has about 1,000–3,000 rows across its tables, and the largest
 *   hotels are about three times the size of the smallest.
 * - seed: with the scale, fixes every byte of every table (timestamps derive from a fixed calendar).
 * - shared table: a lookup table that belongs to no hotel (`HOTEL_SAAS_SHARED_TABLES`).
 * - next day: `mutateHotelSaas` updates and inserts a fraction of the rows, mostly recent ones.
 */
export { CROSS_TENANT_REFERENCE, createHotelSaas, hotelCount, type HotelSaasOptions, type HotelSaasSummary } from './create-hotel-saas.js';
export { mutateHotelSaas, type MutateHotelSaasOptions } from './mutate-hotel-saas.js';
export { HOTEL_SAAS_SCHEMA_SQL, HOTEL_SAAS_SHARED_TABLES, HOTEL_SAAS_TENANCY } from './schema-sql.js';
