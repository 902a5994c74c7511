import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_PASSWORD, cli, cliJson, runCli, tempDir } from '../../../test/cli.js';
import { trackLeaks } from '../../../test/leak-check.js';
import type { KeyListing } from '../../repository/keys.js';

describe('failsafe key', () => {
  let work: { path: string; remove: () => Promise<void> };
  let repo: string;
  let originalKey: string;
  const leaks = trackLeaks();
  const withPassword = (password: string) => ({ env: { FAILSAFE_PASSWORD: password } });

  beforeAll(async () => {
    work = await tempDir();
    repo = join(work.path, 'repo');
    originalKey = (await cliJson<{ keyId: string }>(['init', '--repo', repo])).keyId;
    await cli(['backup', '--repo', repo, '--stdin', '--stdin-name', 'note.txt'], { input: 'guarded by several passwords\n' });
  });

  afterAll(async () => {
    await work.remove();
    await leaks.assertNoLeaks();
  });

  async function keys(password = TEST_PASSWORD): Promise<KeyListing[]> {
    return cliJson<KeyListing[]>(['key', 'list', '--repo', repo], withPassword(password));
  }

  async function opens(password: string): Promise<boolean> {
    const result = await runCli(['restore', 'latest', '--repo', repo, '--stdout'], withPassword(password));
    if (result.code === 0) {
      expect(result.stdout).toBe('guarded by several passwords\n');
      return true;
    }
    expect(result.code, result.stderr).toBe(12);
    return false;
  }

  it('adds a key for a second password, which then opens the repository and its data', async () => {
    const added = await cliJson<{ id: string }>(['key', 'add', '--repo', repo], { env: { FAILSAFE_NEW_PASSWORD: 'operator password' } });
    expect(added.id).toMatch(/^[0-9a-f]{32}$/);
    expect(await Promise.all([opens('operator password'), opens(TEST_PASSWORD)])).toEqual([true, true]);

    const file = join(work.path, 'tenant.pass');
    await writeFile(file, 'tenant password\n');
    const fromFile = await cli(['key', 'add', '--repo', repo, '--new-password-file', file]);
    expect(fromFile).toMatch(/^added key [0-9a-f]{8}\n$/);
    // The trailing line break of the file is not part of the password.
    expect(await Promise.all([opens('tenant password'), opens('tenant password\n')])).toEqual([true, false]);
  });

  it('lists the keys oldest first and marks the one the password opened with *', async () => {
    const asOriginal = await keys();
    expect(asOriginal).toHaveLength(3);
    expect(asOriginal[0]).toMatchObject({ id: originalKey, current: true });
    expect(asOriginal.filter((key) => key.current)).toHaveLength(1);
    const asOperator = await keys('operator password');
    expect(asOperator.map((key) => key.id)).toEqual(asOriginal.map((key) => key.id));
    expect(asOperator.findIndex((key) => key.current)).toBe(1);

    const text = await cli(['key', 'list', '--repo', repo], withPassword('operator password'));
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\s+ID\s+Created \(UTC\)\s+User\s+Host$/);
    expect(lines).toHaveLength(4);
    expect(lines[2]).toMatch(new RegExp(`^\\*  ${asOriginal[1]!.id.slice(0, 8)}  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d  `));
    expect(lines[1]).toMatch(new RegExp(`^ {3}${originalKey.slice(0, 8)} `));
    expect(lines[3]).toMatch(/^ {3}[0-9a-f]{8} /);
  });

  it('removes a key by id prefix; that password stops working', async () => {
    const tenantKey = (await keys())[2]!;
    const output = await cli(['key', 'remove', tenantKey.id.slice(0, 6), '--repo', repo]);
    expect(output).toBe(`removed key ${tenantKey.id.slice(0, 8)}\n`);
    const [tenantOpens, listed] = await Promise.all([opens('tenant password'), keys()]);
    expect(tenantOpens).toBe(false);
    expect(listed.map((key) => key.id)).not.toContain(tenantKey.id);
  });

  it('refuses to remove the key in use, or a key that does not exist', async () => {
    const current = await runCli(['key', 'remove', originalKey.slice(0, 8), '--repo', repo]);
    expect(current.code).toBe(2);
    expect(current.stderr.trim().split('\n')).toHaveLength(1);
    expect(current.stderr).toContain(`key ${originalKey.slice(0, 8)} is the one you opened the repository with`);
    expect(current.stderr).toContain('failsafe key passwd');
    expect(await opens(TEST_PASSWORD)).toBe(true);

    const others = new Set((await keys()).map((key) => key.id[0]));
    const missingPrefix = [...'0123456789abcdef'].find((digit) => !others.has(digit))!;
    const missing = await runCli(['key', 'remove', missingPrefix, '--repo', repo]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no key with id ${missingPrefix}`);
    expect((await keys()).length).toBe(2);
  });

  it('changes the password of the key in use with passwd: the old one stops working, the new one works', async () => {
    const file = join(work.path, 'new.pass');
    await writeFile(file, 'rotated operator password');
    const result = await cliJson<{ id: string; removed: string }>(['key', 'passwd', '--repo', repo, '--new-password-file', file], withPassword('operator password'));
    expect(result.removed).not.toBe(originalKey);
    const [oldOpens, newOpens, otherOpens, listed] = await Promise.all([
      opens('operator password'),
      opens('rotated operator password'),
      opens(TEST_PASSWORD),
      keys('rotated operator password'),
    ]);
    expect([oldOpens, newOpens, otherOpens]).toEqual([false, true, true]);
    expect(listed.map((key) => key.id)).toEqual([originalKey, result.id]);
    expect(listed[1]!.current).toBe(true);

    const text = await cli(['key', 'passwd', '--repo', repo], { env: { FAILSAFE_NEW_PASSWORD: 'original, rotated' } });
    expect(text).toMatch(new RegExp(`^password changed: new key [0-9a-f]{8} replaces ${originalKey.slice(0, 8)}\\n$`));
    expect(await Promise.all([opens(TEST_PASSWORD), opens('original, rotated')])).toEqual([false, true]);
  });

  it('needs the new password from the environment or a file, never argv: exit 2 without one', async () => {
    for (const command of ['add', 'passwd']) {
      const result = await runCli(['key', command, '--repo', repo], withPassword('original, rotated'));
      expect(result.code, command).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain('no new password given');
      expect(result.stderr).toContain('FAILSAFE_NEW_PASSWORD');
    }
    const emptyFile = join(work.path, 'empty.pass');
    await writeFile(emptyFile, '\n');
    const empty = await runCli(['key', 'add', '--repo', repo, '--new-password-file', emptyFile], withPassword('original, rotated'));
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('is empty');
    const missing = await runCli(['key', 'add', '--repo', repo, '--new-password-file', join(work.path, 'nope')], withPassword('original, rotated'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('does not exist');
    expect(await keys('original, rotated')).toHaveLength(2);
  });
});
