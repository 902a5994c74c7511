/**
 * `failsafe backup` driven by failsafe.yaml: several sources, each into its own repository with its
 * own password variable.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliJson, runCli, tempDir } from '../../../test/cli.js';
import { trackLeaks } from '../../../test/leak-check.js';
import type { Snapshot } from '../../repository/snapshot.js';

const CONFIG = `# two repositories, one source each
version: 1
default-repository: alpha

repositories:
  alpha:
    url: ./repos/alpha
    password-env: ALPHA_PASSWORD
  beta:
    url: ./repos/beta
    password-env: BETA_PASSWORD

sources:
  app-files:
    kind: paths
    paths: [./app]
    exclude: ["*.tmp"]
    tags: [files]
    repository: alpha
  home:
    kind: paths
    paths:
      - ./home
    repository: beta
`;

/** No FAILSAFE_PASSWORD: each repository's password comes from its own variable. */
const PASSWORDS = { FAILSAFE_PASSWORD: undefined, ALPHA_PASSWORD: 'alpha secret', BETA_PASSWORD: 'beta secret' };

describe('failsafe backup with sources from failsafe.yaml', () => {
  let work: { path: string; remove: () => Promise<void> };
  let project: string;
  let config: string;
  const leaks = trackLeaks();

  beforeAll(async () => {
    work = await tempDir();
    project = join(work.path, 'project');
    config = join(project, 'failsafe.yaml');
    await mkdir(join(project, 'app'), { recursive: true });
    await mkdir(join(project, 'home', 'ops'), { recursive: true });
    await writeFile(join(project, 'app', 'config.json'), '{"name":"app"}\n');
    await writeFile(join(project, 'app', 'scratch.tmp'), 'temporary');
    await writeFile(join(project, 'home', 'ops', 'notes.txt'), 'remember the milk\n');
    await writeFile(config, CONFIG);
    // Repository names from the config work wherever a location does.
    await Promise.all(['alpha', 'beta'].map((name) => cli(['init', '--repo', name], { cwd: project, env: PASSWORDS })));
  });

  afterAll(async () => {
    await work.remove();
    await leaks.assertNoLeaks();
  });

  async function snapshotsOf(repository: 'alpha' | 'beta'): Promise<Snapshot[]> {
    return cliJson<Snapshot[]>(['snapshots', '--repo', repository, '--config', config], { env: PASSWORDS });
  }

  it('backs up every source into its repository when run without flags', async () => {
    const results = await cliJson<{ snapshot: Snapshot }[]>(['backup'], { cwd: project, env: PASSWORDS });
    expect(results.map((result) => [result.snapshot.source, result.snapshot.paths, result.snapshot.tags])).toEqual([
      [{ kind: 'paths', name: 'app-files' }, [join(project, 'app')], ['files']],
      [{ kind: 'paths', name: 'home' }, [join(project, 'home')], []],
    ]);
    const [alpha, beta] = await Promise.all([snapshotsOf('alpha'), snapshotsOf('beta')]);
    expect(alpha.map((snapshot) => snapshot.id)).toEqual([results[0]!.snapshot.id]);
    expect(beta.map((snapshot) => snapshot.id)).toEqual([results[1]!.snapshot.id]);

    const listing = await cli(['ls', 'latest', '--repo', 'alpha'], { cwd: project, env: PASSWORDS });
    expect(listing).toContain(join(project, 'app', 'config.json'));
    expect(listing).not.toContain('scratch.tmp');
    // Each repository has its own password: the other one's does not open it.
    const crossed = await runCli(['snapshots', '--repo', join(project, 'repos', 'beta')], { env: { FAILSAFE_PASSWORD: 'alpha secret' } });
    expect(crossed.code).toBe(12);
  });

  it('backs up only the sources named with --source, and finds the file with --config from anywhere', async () => {
    const output = await cli(['backup', '--config', config, '--source', 'home'], { cwd: work.path, env: PASSWORDS });
    expect(output).toMatch(/^snapshot [0-9a-f]{8} saved: 1 file,/m);
    expect(output.match(/^snapshot /gm)).toHaveLength(1);
    const viaEnv = await cli(['backup', '--source', 'home', '--source', 'app-files'], { cwd: work.path, env: { ...PASSWORDS, FAILSAFE_CONFIG: config } });
    expect(viaEnv.match(/^snapshot /gm)).toHaveLength(2);
    const [alpha, beta] = await Promise.all([snapshotsOf('alpha'), snapshotsOf('beta')]);
    expect(alpha).toHaveLength(2);
    expect(beta).toHaveLength(3);
    expect(beta.every((snapshot) => snapshot.source.name === 'home')).toBe(true);
  });

  it('rejects an unknown source with exit 2, naming the defined ones, and backs up nothing', async () => {
    const result = await runCli(['backup', '--source', 'hmoe'], { cwd: project, env: PASSWORDS });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('no source named "hmoe" in the config (defined: app-files, home)');
    const combined = await runCli(['backup', '--source', 'home', '--path', project], { cwd: project, env: PASSWORDS });
    expect(combined.code).toBe(2);
    expect(combined.stderr).toContain('--path and --source cannot be combined');
    expect(await snapshotsOf('beta')).toHaveLength(3);
  });

  it('still backs up the other sources when one repository cannot be opened, then fails', async () => {
    const result = await runCli(['backup'], { cwd: project, env: { ...PASSWORDS, ALPHA_PASSWORD: undefined } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('source app-files: environment variable ALPHA_PASSWORD (password-env of repository alpha) is not set');
    expect(result.stderr).toMatch(/1 of 2 backups failed: app-files/);
    expect(result.stdout.match(/^snapshot /gm)).toHaveLength(1);
    expect(await snapshotsOf('beta')).toHaveLength(4);
    expect(await snapshotsOf('alpha')).toHaveLength(2);
  });

  it('reports a malformed config file as file:line: key.path: message on one line, exit 2', async () => {
    const broken = join(work.path, 'broken.yaml');
    await writeFile(broken, CONFIG.replace('    password-env: BETA_PASSWORD\n', '    password-env: BETA_PASSWORD\n    connections: eight\n'));
    const result = await runCli(['backup', '--config', broken], { env: PASSWORDS });
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    // The file as it was named, its line, the key path, the problem.
    expect(lines[0]!.startsWith(`failsafe: ${broken}:12: repositories.beta.connections: expected an integer from 1 to 256, got "eight"`)).toBe(true);

    const misspelled = join(project, 'failsafe.yaml.bad');
    await writeFile(misspelled, CONFIG.replace('repository: beta', 'repository: btea'));
    const unknownRepository = await runCli(['backup', '--config', misspelled], { cwd: project, env: PASSWORDS });
    expect(unknownRepository.code).toBe(2);
    expect(unknownRepository.stderr).toMatch(/failsafe\.yaml\.bad:\d+: sources\.home\.repository: no repository named "btea" \(did you mean "beta"\?\)/);
    expect(await snapshotsOf('beta')).toHaveLength(4);
  });
});
