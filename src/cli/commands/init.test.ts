import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_PASSWORD, cli, runCli, tempDir } from '../../../test/cli.js';
import { trackLeaks } from '../../../test/leak-check.js';

describe('failsafe init and opening a repository', () => {
  let work: { path: string; remove: () => Promise<void> };
  const leaks = trackLeaks();

  beforeAll(async () => {
    work = await tempDir();
  });

  afterAll(async () => {
    await work.remove();
    await leaks.assertNoLeaks();
  });

  it('creates a repository, and refuses to create one where one exists', async () => {
    const repo = join(work.path, 'repo');
    expect(await cli(['init', '--repo', repo])).toContain('created repository');
    const again = await runCli(['init', '--repo', repo]);
    expect(again.code).not.toBe(0);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toContain('a repository already exists');
  });

  it('refuses a directory that holds other files', async () => {
    const dir = join(work.path, 'not-empty');
    await mkdir(dir);
    await writeFile(join(dir, 'notes.txt'), 'x');
    const result = await runCli(['init', '--repo', dir]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('is not empty');
  });

  it('says "wrong password or no matching key" in one line and exits 12', async () => {
    const repo = join(work.path, 'repo');
    const result = await runCli(['snapshots', '--repo', repo], { env: { FAILSAFE_PASSWORD: 'not the password' } });
    expect(result.code).toBe(12);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('wrong password or no matching key');
  });

  it('says how to create a repository when there is none, exit 10', async () => {
    const missing = join(work.path, 'nothing-here');
    const result = await runCli(['snapshots', '--repo', missing]);
    expect(result.code).toBe(10);
    expect(result.stderr).toContain(`no repository at ${missing}`);
    expect(result.stderr).toContain('failsafe init');
  });

  it('takes the password from a file, never from argv', async () => {
    const repo = join(work.path, 'file-password');
    const passwordFile = join(work.path, 'password.txt');
    await writeFile(passwordFile, 'from a file\n');
    await cli(['init', '--repo', repo, '--password-file', passwordFile], { env: { FAILSAFE_PASSWORD: undefined } });
    await cli(['snapshots', '--repo', repo], { env: { FAILSAFE_PASSWORD: undefined, FAILSAFE_PASSWORD_FILE: passwordFile } });
    const wrong = await runCli(['snapshots', '--repo', repo]);
    expect(wrong.code).toBe(12);
    const missingFile = await runCli(['snapshots', '--repo', repo, '--password-file', join(work.path, 'nope')]);
    expect(missingFile.code).toBe(2);
    expect(missingFile.stderr).toContain('does not exist');
    const none = await runCli(['snapshots', '--repo', repo], { env: { FAILSAFE_PASSWORD: undefined } });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no password given');
  });

  it('logs structured lines with -vv and never the password', async () => {
    const repo = join(work.path, 'repo');
    const result = await runCli(['snapshots', '--repo', repo, '-vv']);
    expect(result.code).toBe(0);
    const logs = result.stderr.trim().split('\n').map((line) => JSON.parse(line) as { msg: string });
    expect(logs.map((log) => log.msg)).toEqual(expect.arrayContaining(['command started', 'repository opened', 'command finished']));
    expect(result.stderr).not.toContain(TEST_PASSWORD);
    expect(result.stdout).not.toContain(TEST_PASSWORD);
  });

  it('rejects unknown options and missing repositories as usage errors (exit 2)', async () => {
    const unknown = await runCli(['snapshots', '--no-such-flag']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option/);
    const noRepo = await runCli(['snapshots']);
    expect(noRepo.code).toBe(2);
    expect(noRepo.stderr).toContain('no repository given');
    const badScheme = await runCli(['snapshots', '--repo', 'ftp://example.com/x']);
    expect(badScheme.code).toBe(2);
  });
});
