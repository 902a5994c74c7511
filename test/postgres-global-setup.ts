/**
 * vitest global setup: one embedded PostgreSQL cluster for the whole test run. Test files create their own
 * databases in it (see `test/postgres.ts`), so they stay isolated without paying for an initdb each.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { EmbeddedCluster } from '../src/postgres/embedded-cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgres: { readonly port: number; readonly password: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const baseDir = await mkdtemp(join(tmpdir(), 'failsafe-test-pg-'));
  const cluster = await EmbeddedCluster.start({ baseDir, ephemeral: true });
  project.provide('postgres', { port: cluster.port, password: cluster.password });
  // An interrupted run (Ctrl-C, a timeout's SIGTERM) exits without the teardown below: the server,
  // which pg_ctl started in the background, would outlive it.
  const stopIfRunning = (): void => stopAbandoned(baseDir);
  process.once('exit', stopIfRunning);
  return async () => {
    process.off('exit', stopIfRunning);
    await cluster.stop();
    await rm(baseDir, { recursive: true, force: true });
  };
}

/**
 * Synchronous, for an exit handler: an immediate shutdown of the cluster's server, and a detached shell
 * that removes its directory once the server is gone.
 */
function stopAbandoned(baseDir: string): void {
  let pid: number;
  try {
    pid = Number(readFileSync(join(baseDir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGQUIT');
  } catch {
    return; // not running
  }
  const cleanup = `while kill -0 ${pid} 2>/dev/null; do sleep 0.1; done; rm -rf '${baseDir}'`;
  spawn('sh', ['-c', cleanup], { detached: true, stdio: 'ignore' }).unref();
}
