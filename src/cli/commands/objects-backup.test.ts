import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, tempDir } from '../../../test/cli.js';
import { trackLeaks } from '../../../test/leak-check.js';
import { createPagilaDatabase } from '../../../test/pagila.js';
import { createTestDatabase, type TestDatabase } from '../../../test/postgres.js';
import { startS3Server, type S3Server } from '../../../test/s3-server.js';

describe('objects in database snapshots (S3 source, tenant prefix)', () => {
  let s3: S3Server;
  let client: S3Client;
  let db: TestDatabase;
  const targets: TestDatabase[] = [];
  let work: { path: string; remove: () => Promise<void> };
  let env: Record<string, string>;
  const leaks = trackLeaks();

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['app-files', 'tenant-files'] });
    client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    const put = (key: string, body: string, contentType: string, metadata: Record<string, string> = {}) =>
      client.send(new PutObjectCommand({ Bucket: 'app-files', Key: key, Body: body, ContentType: contentType, Metadata: metadata }));
    await put('stores/1/logo.png', 'PNG of store one', 'image/png', { uploader: 'alice' });
    await put('stores/1/contracts/2024.pdf', 'PDF of store one', 'application/pdf');
    await put('stores/2/logo.png', 'PNG of store two', 'image/png');
    db = await createPagilaDatabase('objects_src', { stores: 2, customersPerStore: 3, rentalsPerStore: 10 });
    work = await tempDir();
    env = {
      ...db.env,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_REGION: 'us-east-1',
    };
    await writeFile(
      join(work.path, 'failsafe.yaml'),
      [
        'repositories: { main: { url: ./repo } }',
        'sources:',
        '  rentals:',
        '    kind: postgres',
        `    url: ${db.url}`,
        '    tenancy: { root: public.store, key: store_id }',
        '  files:',
        '    kind: objects',
        '    url: s3://app-files/',
        '    tenant-prefix: "stores/{tenant}/"',
      ].join('\n'),
    );
    await cli(['init'], { cwd: work.path, env });
  });
  afterAll(async () => {
    client.destroy();
    await Promise.all([db, ...targets].map((d) => d.drop()));
    await s3.stop();
    await work.remove();
    await leaks.assertNoLeaks();
  });

  it("puts one tenant's rows and only its objects in one snapshot, and restores both", async () => {
    await cli(['backup', '--source', 'rentals', '--tenant', '1'], { cwd: work.path, env });
    const listing = await cli(['ls', 'latest'], { cwd: work.path, env });
    expect(listing).toContain('/files/objects/stores/1/logo.png');
    expect(listing).toContain('/rentals/tables/public.customer.copy');
    expect(listing).not.toContain('stores/2');

    const target = await createTestDatabase('objects_dst');
    targets.push(target);
    const out = await cli(['restore', 'latest', '--postgres', target.url, '--objects', 's3://tenant-files/restored'], { cwd: work.path, env });
    expect(out).toMatch(/verified: /);
    expect(out).toMatch(/restored 2 objects, .* to s3:\/\/tenant-files\/restored/);
    const logo = await client.send(new GetObjectCommand({ Bucket: 'tenant-files', Key: 'restored/stores/1/logo.png' }));
    expect(logo.ContentType).toBe('image/png');
    expect(logo.Metadata).toEqual({ uploader: 'alice' });
    expect(await logo.Body!.transformToString()).toBe('PNG of store one');
  });

  it('restores objects into a directory', async () => {
    const dir = join(work.path, 'restored-files');
    await cli(['restore', 'latest', '--objects', dir], { cwd: work.path, env });
    expect(await readFile(join(dir, 'stores', '1', 'contracts', '2024.pdf'), 'utf8')).toBe('PDF of store one');
    expect(await readdir(join(dir, 'stores'))).toEqual(['1']);
  });
});
