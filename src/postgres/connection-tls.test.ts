/**
 * sslmode against a real TLS-serving PostgreSQL (its own embedded cluster with a self-signed certificate
 * for 127.0.0.1): prefer and require encrypt, verify-full checks the certificate, disable does not encrypt.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isErrorCode } from '../core/errors.js';
import { connect, parsePostgresUrl, type ConnectionSettings } from './connection.js';
import { EmbeddedCluster } from './embedded-cluster.js';

describe('TLS (sslmode)', () => {
  let dir: string;
  let cluster: EmbeddedCluster;
  let caFile: string;
  let otherCaFile: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'failsafe-tls-'));
    await chmod(dir, 0o711); // the server runs as nobody when the tests run as root
    const extensions = [
      { name: 'basicConstraints' as const, cA: true },
      { name: 'subjectAltName' as const, altNames: [{ type: 7 as const, ip: '127.0.0.1' }] },
    ];
    const server = await generate([{ name: 'commonName', value: '127.0.0.1' }], { algorithm: 'sha256', keySize: 2048, extensions });
    const other = await generate([{ name: 'commonName', value: 'someone else' }], { algorithm: 'sha256', keySize: 2048, extensions });
    caFile = join(dir, 'ca.pem');
    otherCaFile = join(dir, 'other-ca.pem');
    await writeFile(caFile, server.cert);
    await writeFile(otherCaFile, other.cert);
    cluster = await EmbeddedCluster.start({ baseDir: join(dir, 'cluster'), ephemeral: true, tls: { cert: server.cert, key: server.private } });
  });
  afterAll(async () => {
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const settings = (query: string): ConnectionSettings => ({
    ...parsePostgresUrl(`postgres://postgres@127.0.0.1:${cluster.port}/postgres${query}`),
    password: cluster.password,
  });

  it.each([
    ['', true],
    ['?sslmode=prefer', true],
    ['?sslmode=require', true],
    ['?sslmode=disable', false],
  ])('sslmode %s → encrypted %s', async (query, encrypted) => {
    const session = await connect(settings(query));
    try {
      expect(session.encrypted).toBe(encrypted);
      const { rows } = await session.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
      expect(rows[0]!.ssl).toBe(encrypted);
      // COPY reads the (TLS) socket itself, and gives it back to the driver after the last row.
      let copied = '';
      for await (const piece of session.copyOut('COPY (SELECT x, repeat(md5(x::text), 50) FROM generate_series(1, 5000) x) TO STDOUT') as AsyncIterable<Buffer>) {
        copied += piece.toString('utf8');
      }
      const lines = copied.split('\n');
      expect(lines).toHaveLength(5001);
      expect(lines[4999]).toMatch(/^5000\t[0-9a-f]{1600}$/);
      expect((await session.query<{ n: number }>('SELECT 7 AS n')).rows[0]!.n).toBe(7);
    } finally {
      await session.end();
    }
  });

  it('verify-full accepts the right CA and refuses another', async () => {
    const ok = await connect(settings(`?sslmode=verify-full&sslrootcert=${caFile}`));
    expect(ok.encrypted).toBe(true);
    await ok.end();
    const refused = await connect(settings(`?sslmode=verify-full&sslrootcert=${otherCaFile}`)).catch((err: unknown) => err);
    expect(isErrorCode(refused, 'PERMISSION')).toBe(true);
    expect((refused as Error).message).toMatch(/TLS with PostgreSQL .* failed/);
  });
});
