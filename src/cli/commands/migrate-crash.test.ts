/**
 * SIGKILL of `migrate run` at random instants while it loads into the reference API, then the same
 * command again: the API ends with exactly one record per staged record (idempotency keys for batches
 * that were in flight, the key map for the rest).
 */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTargetApi } from '../../../examples/concierge-migration/target-api.js';
import { cli, collect, spawnCli } from '../../../test/cli.js';
import { createLegacyDatabase, EXAMPLE_MIGRATION, TENANT_1_LOADED } from '../../../test/concierge-example.js';
import { trackLeaks } from '../../../test/leak-check.js';
import { createTestDatabase, type TestDatabase } from '../../../test/postgres.js';

const TRIALS = 5;
/** Records per second, for the API and the migration's limit alike: loading tenant 1 (236 records in 13 datasets, answers 150 ms late) takes ~3.5 s. */
const RATE = 100;

describe('migrate run killed while loading', () => {
  let source: TestDatabase;
  const databases: TestDatabase[] = [];
  const leaks = trackLeaks();
  const migration = EXAMPLE_MIGRATION;

  beforeAll(async () => {
    source = await createLegacyDatabase('migrate_kill_src');
  });
  afterAll(async () => {
    await Promise.all([source, ...databases].map((db) => db.drop()));
    await leaks.assertNoLeaks();
  });

  it(`loads every record exactly once after SIGKILL at ${TRIALS} random instants`, async () => {
    const outcomes: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const [staging, apiDb] = await Promise.all([createTestDatabase('migrate_kill_stage'), createTestDatabase('migrate_kill_api')]);
      databases.push(staging, apiDb);
      const apiSession = await apiDb.connect();
      // Answers come 150 ms after the records are stored, so kills also land between the two.
      const api = await startTargetApi(apiSession, { ratePerSecond: RATE, answerDelayMs: 150 });
      try {
        const args = ['migrate', 'run', '-m', migration, '--source', source.url, '--staging', staging.url, '--tenant', '1'];
        const env = { ...source.env, CONCIERGE_API_URL: api.url, CONCIERGE_API_RATE: String(RATE) };
        await cli([...args, '--stage-only'], { env });
        const child = spawnCli(args, { env });
        const done = collect(child);
        child.stdin?.end();
        const delay = 300 + Math.floor(Math.random() * 1700);
        await sleep(delay);
        child.kill('SIGKILL');
        const killed = await done;
        outcomes.push(`${delay}ms:${killed.signal ?? `exit ${killed.code}`}`);

        await cli(args, { env });
        const { rows } = await apiSession.query<{ kind: string; n: number; distinct_bodies: number }>(
          'SELECT kind, count(*)::int AS n, count(DISTINCT body)::int AS distinct_bodies FROM api_record GROUP BY kind ORDER BY kind COLLATE "C"',
        );
        // Each kind as many times as the sample yields, every one a different record.
        expect(rows, `trial ${trial} (${outcomes.at(-1)})`).toEqual(
          Object.entries(TENANT_1_LOADED)
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([kind, n]) => ({ kind, n, distinct_bodies: n })),
        );
      } finally {
        await api.close();
        await apiSession.end();
      }
    }
    // Some kills must have hit a running load, or the test proved nothing.
    expect(outcomes.filter((outcome) => outcome.endsWith('SIGKILL')).length, outcomes.join(', ')).toBeGreaterThanOrEqual(3);
  });

  it('sends a batch the target stored but never answered again under its key, and gets the same ids', async () => {
    const [staging, apiDb] = await Promise.all([createTestDatabase('migrate_kill_stage'), createTestDatabase('migrate_kill_api')]);
    databases.push(staging, apiDb);
    const apiSession = await apiDb.connect();
    let child: ChildProcess | undefined;
    // The first batch of guests is stored, then the client dies before the answer reaches it.
    const api = await startTargetApi(apiSession, { answerDelayMs: 200, onStored: (kind) => kind === 'guests' && child?.kill('SIGKILL') });
    try {
      const args = ['migrate', 'run', '-m', migration, '--source', source.url, '--staging', staging.url, '--tenant', '1'];
      const env = { ...source.env, CONCIERGE_API_URL: api.url };
      child = spawnCli(args, { env });
      const done = collect(child);
      child.stdin?.end();
      expect((await done).signal).toBe('SIGKILL');
      const { rows: before } = await apiSession.query<{ n: number }>("SELECT count(*)::int AS n FROM api_record WHERE kind = 'guests'");
      expect(before[0]!.n).toBe(30);
      child = undefined;
      const out = await cli(args, { env });
      expect(out).toMatch(/guest\s+38\s+0\s+0\s+0/);
      const { rows } = await apiSession.query<{ n: number }>("SELECT count(*)::int AS n FROM api_record WHERE kind = 'guests'");
      expect(rows[0]!.n).toBe(38);
    } finally {
      await api.close();
      await apiSession.end();
    }
  });
});
