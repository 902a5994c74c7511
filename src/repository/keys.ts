/**
 * Managing the key files of a repository: several passwords (the tenant's, the operator's) each
 * unlock the same master secret.
 */
import { FailsafeError } from '../core/errors.js';
import { parseKeyFile } from './key-file.js';
import type { Repository } from './repository.js';

export interface KeyListing {
  readonly id: string;
  readonly created: string;
  readonly host: string;
  readonly username: string;
  /** True for the key the current password opened. */
  readonly current: boolean;
}

export async function listKeys(repo: Repository): Promise<KeyListing[]> {
  const keys: KeyListing[] = [];
  for await (const object of repo.storage.list('keys/')) {
    const id = object.key.slice('keys/'.length);
    const file = parseKeyFile(await repo.storage.get(object.key), id);
    keys.push({ id, created: file.created, host: file.host, username: file.username, current: id === repo.keyId });
  }
  return keys.sort((a, b) => a.created.localeCompare(b.created));
}

/**
 * Removes a key by id or unique id prefix. The key in use and the last key cannot be removed.
 *
 * @example await removeKey(repo, '3f9c2a')
 */
export async function removeKey(repo: Repository, idPrefix: string): Promise<string> {
  const keys = await listKeys(repo);
  const matches = keys.filter((key) => key.id.startsWith(idPrefix));
  if (matches.length === 0) throw new FailsafeError('NOT_FOUND', `no key with id ${idPrefix}`, { hint: 'run `failsafe key list`' });
  if (matches.length > 1) throw new FailsafeError('USAGE', `key id prefix ${idPrefix} is ambiguous`);
  const [key] = matches as [KeyListing];
  if (key.current) {
    throw new FailsafeError('USAGE', `key ${key.id.slice(0, 8)} is the one you opened the repository with`, {
      hint: 'open with another password to remove this key, or use `failsafe key passwd` to replace it',
    });
  }
  await repo.storage.delete([`keys/${key.id}`]);
  return key.id;
}

/** Replaces the current key with one for `newPassword`; returns the new key id. */
export async function changePassword(repo: Repository, newPassword: string): Promise<string> {
  const id = await repo.addKey(newPassword);
  await repo.storage.delete([`keys/${repo.keyId}`]);
  return id;
}
