import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../test/postgres.js';
import { readTableGraph } from '../../postgres/catalog.js';
import { fetchDownSets } from './down-sets.js';
import { SubsetSql } from './subset-sql.js';
import { planTenancy, type TenancyRules } from './tenant-plan.js';

// A configured key may reference columns that are not a key of the parent: two of org 1's prices
// are 1.0 and 1.00, distinct texts that PostgreSQL's = calls equal. A charge of 1 references both.
const SCHEMA = `
  CREATE TABLE org (id int PRIMARY KEY);
  CREATE TABLE price (id int PRIMARY KEY, org_id int NOT NULL REFERENCES org, amount numeric NOT NULL);
  CREATE TABLE charge (id int PRIMARY KEY, amount numeric NOT NULL);
  CREATE TABLE charge_note (id int PRIMARY KEY, charge_id int NOT NULL REFERENCES charge, note text);
  INSERT INTO org VALUES (1), (2);
  INSERT INTO price VALUES (1, 1, 1.0), (2, 1, 1.00), (3, 2, 5);
  INSERT INTO charge VALUES (10, 1), (11, 5), (12, 1.000);
  INSERT INTO charge_note VALUES (100, 10, 'a'), (101, 10, 'b'), (102, 11, 'c'), (103, 12, 'd');
`;
const RULES: TenancyRules = {
  root: 'public.org',
  key: 'id',
  extraForeignKeys: [{ from: 'public.charge', fromColumns: ['amount'], to: 'public.price', toColumns: ['amount'] }],
};

describe('SubsetSql on down sets read from the snapshot', () => {
  const pg = useTestDatabase('subset_sql');
  beforeAll(async () => {
    await pg.session.query(SCHEMA);
  });

  it('selects each row once, whether its key is a key of the parent (probed per key) or not (IN)', async () => {
    const plan = planTenancy(await readTableGraph(pg.session), RULES);
    const downSets = await fetchDownSets(pg.session, plan, '1');
    const sql = new SubsetSql(plan, '1', { down: new Map(), extras: new Map(), downSets });
    const idsOf = async (table: string): Promise<number[]> => {
      const select = sql.selectDirect(table)!;
      return (await pg.session.query<{ id: number }>(select)).rows.map((row) => row.id);
    };
    // charge.amount → price.amount names no key of price: a semi-join, or charge 10 would come twice.
    expect(await idsOf('public.charge')).toEqual([10, 12]);
    // charge_note.charge_id → charge.id is charge's key: one probe per charge, each note once.
    const notes = sql.selectDirect('public.charge_note')!;
    expect(notes).toContain('CROSS JOIN LATERAL');
    expect(await idsOf('public.charge_note')).toEqual([100, 101, 103]);
  });
});
