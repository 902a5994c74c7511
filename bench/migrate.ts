/**
 * `npm run bench:migrate`: the migration engine on the reference example (issue 4, seed 003).
 *
 * One hotel of ~500k source rows (`--guests 100000`: about five rows per guest over the example's ten
 * legacy tables — the guest, a preference, three stays per two guests, three notes per four, a task per
 * two, a loyalty membership per four, a room per 100 and a vendor and a staff member per 200; see
 * examples/concierge-migration/generate-legacy.ts) is staged into the example's thirteen datasets,
 * then loaded into the example's reference API, which allows `--rate` records per second (default
 * 5000) in batches of 100; then ten hotels of a tenth the size at once, under the same limit. Prints
 * staging rows/s, the loader's records/s as a share of the allowed rate, retries per request (429s)
 * and end-to-end time against the targets. There is no peer
 * to run here (AWS Glue is a managed service): the targets are absolute.
 *
 * Usage: npm run bench:migrate -- [--guests 100000] [--rate 5000] [--work DIR] [--json FILE]
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { formatBytes } from '../src/core/units.js';
import { connect } from '../src/postgres/connection.js';
import { EmbeddedCluster } from '../src/postgres/embedded-cluster.js';
import { generateLegacy } from '../examples/concierge-migration/generate-legacy.js';
import { log, parseArgs, timed, type Measurement } from './support.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'bin', 'failsafe.js');
const EXAMPLE = join(ROOT, 'examples', 'concierge-migration');

const args = parseArgs(process.argv.slice(2), 'bench/migrate.ts [--guests 100000] [--rate 5000] [--work DIR] [--json FILE]');
const guests = Number(args.guests ?? 100_000);
const rate = Number(args.rate ?? 5000);
const work = resolve(args.work ?? join(ROOT, '.bench', 'migrate'));

await rm(work, { recursive: true, force: true });
await mkdir(work, { recursive: true });
const cluster = await EmbeddedCluster.start({ baseDir: join(work, 'cluster'), ephemeral: true });
try {
  await main(cluster);
} finally {
  await cluster.stop();
}

interface Phase {
  readonly seconds: number;
  readonly peakRssBytes: number;
  readonly requests: Record<string, number>;
}

async function main(cluster: EmbeddedCluster): Promise<void> {
  const admin = await connect({ ...cluster.connection('postgres'), sslMode: 'disable' });
  for (const db of ['legacy_one', 'legacy_ten', 'staging_one', 'staging_ten', 'api_one', 'api_ten']) await admin.query(`CREATE DATABASE ${db}`);
  await admin.end();
  const url = (db: string) => `postgres://postgres@127.0.0.1:${cluster.port}/${db}?sslmode=disable`;
  const env = { PGPASSWORD: cluster.password };
  const schemaSql = await readFile(join(EXAMPLE, 'legacy-schema.sql'), 'utf8');

  log(`generating one hotel with ${guests.toLocaleString('en')} guests, and ten with ${(guests / 10).toLocaleString('en')}`);
  const rowsOne = await generate('legacy_one', schemaSql, { hotels: 1, guestsPerHotel: guests });
  const rowsEachOfTen = await generate('legacy_ten', schemaSql, { hotels: 10, guestsPerHotel: Math.floor(guests / 10) });
  log(`  ${rowsOne.toLocaleString('en')} rows for the one hotel, ${(10 * rowsEachOfTen).toLocaleString('en')} for the ten`);

  const migrate = (extra: readonly string[], apiUrl: string): Measurement =>
    timed(work, process.execPath, [CLI, '--quiet', 'migrate', 'run', '-m', join(EXAMPLE, 'migration.ts'), ...extra], {
      ...env,
      CONCIERGE_API_URL: apiUrl,
      CONCIERGE_API_RATE: String(rate),
    });

  const one = await withApi(url('api_one'), async (apiUrl, stats) => {
    const base = ['--source', url('legacy_one'), '--staging', url('staging_one'), '--tenant', '1'];
    log('one hotel: stage');
    const stage = migrate([...base, '--stage-only'], apiUrl);
    log(`  ${stage.seconds.toFixed(1)} s`);
    log('one hotel: load');
    const load = migrate([...base, '--load-only'], apiUrl);
    log(`  ${load.seconds.toFixed(1)} s`);
    return { stage, load: { ...load, requests: await stats() } };
  });
  const records = await stagedRecords('staging_one');

  const ten = await withApi(url('api_ten'), async (apiUrl, stats) => {
    log('ten hotels at once: stage and load');
    const both = migrate(['--source', url('legacy_ten'), '--staging', url('staging_ten'), '--tenant', ...Array.from({ length: 10 }, (_, i) => String(i + 1)), '--concurrency', '10'], apiUrl);
    return { ...both, requests: await stats() };
  });
  const recordsTen = await stagedRecords('staging_ten');

  const stagingRate = rowsOne / one.stage.seconds;
  const loadRate = records / one.load.seconds;
  const endToEnd = one.stage.seconds + one.load.seconds;
  const allowed = (records / rate) * 1.1 + 10;
  const retries = (phase: Phase): number => (phase.requests['429'] ?? 0) / Object.values(phase.requests).reduce((a, b) => a + b, 0);
  const rows: [string, string, string][] = [
    ['', 'measured', 'target'],
    ['one hotel: source rows / records staged', `${rowsOne.toLocaleString('en')} / ${records.toLocaleString('en')}`, ''],
    ['extract + transform + stage', `${Math.round(stagingRate).toLocaleString('en')} rows/s (${one.stage.seconds.toFixed(1)} s)`, '≥ 50,000 rows/s'],
    ['loader', `${Math.round(loadRate).toLocaleString('en')} records/s = ${((loadRate / rate) * 100).toFixed(1)}% of ${rate.toLocaleString('en')}/s (${one.load.seconds.toFixed(1)} s)`, '≥ 90%'],
    ['429 answers per request', `${(retries(one.load) * 100).toFixed(2)}%`, '< 1%'],
    ['end to end', `${endToEnd.toFixed(1)} s`, `≤ ${allowed.toFixed(1)} s`],
    ['peak RSS stage / load', `${formatBytes(one.stage.peakRssBytes)} / ${formatBytes(one.load.peakRssBytes)}`, ''],
    ['ten hotels at once: records', recordsTen.toLocaleString('en'), ''],
    ['ten hotels: end to end', `${ten.seconds.toFixed(1)} s, ${((recordsTen / ten.seconds / rate) * 100).toFixed(1)}% of the rate`, `≤ ${((recordsTen / rate) * 1.1 + 10).toFixed(1)} s`],
    ['ten hotels: 429 answers per request', `${(retries(ten) * 100).toFixed(2)}%`, '< 1%'],
  ];
  const machine = `${cpus().length} × ${cpus()[0]?.model.replace(/\s+/g, ' ').trim()}, ${formatBytes(totalmem())} RAM, Node ${process.version}`;
  console.log(`\nbench:migrate ${new Date().toISOString().slice(0, 10)} — ${machine}\n`);
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  for (const row of rows) console.log(`| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`);
  if (args.json) await writeFile(args.json, JSON.stringify({ date: new Date().toISOString(), machine, guests, rate, rowsOne, records, one, ten, recordsTen }, null, 2));
}

async function generate(database: string, schemaSql: string, size: { hotels: number; guestsPerHotel: number }): Promise<number> {
  const session = await connect({ ...cluster.connection(database), sslMode: 'disable' });
  try {
    return await generateLegacy(session, schemaSql, size);
  } finally {
    await session.end();
  }
}

async function stagedRecords(database: string): Promise<number> {
  const session = await connect({ ...cluster.connection(database), sslMode: 'disable' });
  try {
    const { rows } = await session.query<{ n: number }>('SELECT count(*)::int AS n FROM failsafe_migrate.staged');
    return rows[0]!.n;
  } finally {
    await session.end();
  }
}

/**
 * Runs `work` with the reference API serving from its own process (the CLI runs synchronously under
 * GNU time, which would stall an API in this one); `stats` reads its answer counts.
 */
async function withApi<T>(databaseUrl: string, work: (apiUrl: string, stats: () => Promise<Record<string, number>>) => Promise<T>): Promise<T> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(EXAMPLE, 'serve-target-api.ts'), databaseUrl, String(rate)], {
    env: { ...process.env, PGPASSWORD: cluster.password },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const apiUrl = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`the reference API exited (${code})`)));
    });
    const stats = async (): Promise<Record<string, number>> => ((await (await fetch(`${apiUrl}/_stats`)).json()) as { requests: Record<string, number> }).requests;
    return await work(apiUrl, stats);
  } finally {
    child.kill('SIGTERM');
  }
}
