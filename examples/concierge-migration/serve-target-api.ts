/**
 * Runs the reference target API until interrupted:
 *
 *   PGPASSWORD=... node --import tsx examples/concierge-migration/serve-target-api.ts postgres://postgres@127.0.0.1:5432/api [records-per-second] [port]
 *
 * Prints its URL on the first line of standard output. The geocoder the example's hotel_location
 * enrichment calls is served at the same URL (`/_geocode`), so CONCIERGE_API_URL is all a run needs.
 */
import { connect, parsePostgresUrl } from '../../src/postgres/connection.js';
import { startTargetApi } from './target-api.js';

const [url, rate, port] = process.argv.slice(2);
if (!url) {
  process.stderr.write('usage: serve-target-api.ts DATABASE_URL [RECORDS_PER_SECOND] [PORT]\n');
  process.exit(2);
}
const session = await connect(parsePostgresUrl(url));
const api = await startTargetApi(session, { ...(rate ? { ratePerSecond: Number(rate) } : {}), ...(port ? { port: Number(port) } : {}) });
process.stdout.write(`${api.url}\n`);
const stop = async (): Promise<void> => {
  await api.close();
  await session.end();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
