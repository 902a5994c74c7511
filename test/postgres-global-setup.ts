/**
 * vitest global setup: one embedded PostgreSQL cluster for the whole test run. Test files create their own
 * databases in it (see `test/postgres.ts`), so they stay isolated without paying for an initdb each.
 */
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
  return async () => {
    await cluster.stop();
    await rm(baseDir, { recursive: true, force: true });
  };
}
