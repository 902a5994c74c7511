/** Who and what is running: recorded in snapshots, locks and key files. */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';

/** The failsafe version, from package.json (works from src/ and dist/). */
export const PROGRAM_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** The login name of this process, or `unknown` when the system has none for its uid. */
export function currentUsername(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
