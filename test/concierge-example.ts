/** The example migration (examples/concierge-migration/) for tests: its file and a legacy database with its sample data. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from './postgres.js';

const EXAMPLE = fileURLToPath(new URL('../examples/concierge-migration/', import.meta.url));

/** The example's migration.ts. */
export const EXAMPLE_MIGRATION = join(EXAMPLE, 'migration.ts');

/** What loading tenant 1 of the sample puts in the reference API, by kind: every staged record but vendor LIMO and its task 61. */
export const TENANT_1_LOADED: Readonly<Record<string, number>> = {
  hotels: 1,
  'hotel-locations': 1,
  rooms: 10,
  'staff-members': 5,
  guests: 38,
  'loyalty-accounts': 9,
  preferences: 76,
  'guest-notes': 5,
  stays: 20,
  'guest-summaries': 10,
  vendors: 2,
  'vendor-contacts': 3,
  tasks: 56,
};

/** A fresh database with the legacy schema and its small sample (two hotels, a few dirty rows). */
export async function createLegacyDatabase(prefix: string): Promise<TestDatabase> {
  const db = await createTestDatabase(prefix);
  const session = await db.connect();
  try {
    for (const file of ['legacy-schema.sql', 'legacy-sample.sql']) await session.query(await readFile(join(EXAMPLE, file), 'utf8'));
  } finally {
    await session.end();
  }
  return db;
}
