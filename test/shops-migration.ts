/** A small migration for CLI tests of the migrate commands: shops and their customers, in a source database and a migration file. */

/** The source: three shops of twenty customers each. */
export const SHOPS_SOURCE_SQL = `
CREATE TABLE shop (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE customer (shop_id int REFERENCES shop, no int, name text, tier text, PRIMARY KEY (shop_id, no));
INSERT INTO shop VALUES (1, 'Corner'), (2, 'Harbour'), (3, 'Market');
INSERT INTO customer SELECT s, n, 'Customer ' || n, 'basic' FROM generate_series(1, 3) s, generate_series(1, 20) n;`;

/** The target tables for {@link shopsMigration}'s PostgreSQL target. */
export const SHOPS_TARGET_SQL = `
CREATE TABLE shops (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, shop_id int NOT NULL REFERENCES shops, name text NOT NULL, tier text CHECK (tier IN ('basic', 'gold')));`;

/**
 * The migration file's text, as a user would write it (without the package import: defineMigration is
 * the identity). `tenants`: with the tenants query `--all` needs; `postgresTargetEnv`: a PostgreSQL
 * target whose URL is in that environment variable; `sourceEnv`: the source's URL, likewise.
 */
export function shopsMigration(options: { readonly tenants?: boolean; readonly postgresTargetEnv?: string; readonly sourceEnv?: string } = {}): string {
  return `
export default {
  ${options.sourceEnv ? `source: { url: process.env.${options.sourceEnv} },` : ''}
  ${options.tenants === false ? '' : "tenants: 'SELECT id FROM shop ORDER BY id',"}
  ${options.postgresTargetEnv ? `targets: { warehouse: { kind: 'postgres', url: process.env.${options.postgresTargetEnv} } },` : ''}
  datasets: {
    shop: {
      extract: 'SELECT * FROM shop WHERE id = $1::int',
      key: ['id'],
      transform: (row) => ({ name: row.name }),
      load: { endpoint: '/shops', ids: (r) => r.ids, table: 'shops' },
    },
    customer: {
      dependsOn: ['shop'],
      extract: 'SELECT * FROM customer WHERE shop_id = $1::int',
      key: ['shop_id', 'no'],
      transform: (row, ctx) => (${options.postgresTargetEnv ? '{ shop_id: ctx.ref(\'shop\', row.shop_id), name: row.name, tier: row.tier }' : "{ shopId: ctx.ref('shop', row.shop_id), name: row.name, tier: row.tier }"}),
      load: { endpoint: '/customers', ids: (r) => r.ids, table: 'customers' },
    },
  },
};
`;
}
