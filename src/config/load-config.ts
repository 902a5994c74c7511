/**
 * Finding and reading failsafe.yaml; parse-config.ts validates its text. The parser (YAML, ~20 ms to
 * load) is imported only when there is a file to parse: without one, commands run from flags alone.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { deepFreeze } from '../core/deep-freeze.js';
import { FailsafeError, isSystemError, messageOf } from '../core/errors.js';
import type { Environment } from './interpolate.js';
import { CONFIG_VERSION } from './schema.js';
import type { Config } from './schema.js';

/** The file looked for in the working directory when neither a path nor `FAILSAFE_CONFIG` is given. */
export const DEFAULT_CONFIG_FILE = 'failsafe.yaml';

/** The configuration used without a config file: every command then works from flags alone. */
export const EMPTY_CONFIG: Config = deepFreeze({
  version: CONFIG_VERSION,
  defaultRepository: undefined,
  repositories: Object.create(null) as Config['repositories'],
  sources: Object.create(null) as Config['sources'],
  tenants: Object.create(null) as Config['tenants'],
  retention: undefined,
});

export interface LoadConfigOptions {
  /** An explicit config file (e.g. `--config`); it must exist. */
  readonly path?: string | undefined;
  /** Read for `FAILSAFE_CONFIG` and for `${VAR}` interpolation; default `process.env`. */
  readonly env?: Environment;
  /** Directory relative paths are resolved against; default `process.cwd()`. */
  readonly cwd?: string;
}

export interface LoadedConfig {
  readonly config: Config;
  /** Absolute path of the file read, or undefined when no config file was found. */
  readonly path: string | undefined;
}

/**
 * Loads the config from `options.path`, else `FAILSAFE_CONFIG`, else `./failsafe.yaml` if it exists,
 * else returns {@link EMPTY_CONFIG}. A file named explicitly must exist. Throws a `CONFIG`
 * {@link FailsafeError} (a `ConfigError` for problems inside the file, one line per problem).
 *
 * @example
 * const { config, path } = await loadConfig({ path: options.config });
 * const main = config.repositories[config.defaultRepository ?? 'main'];
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const given = options.path ?? (env['FAILSAFE_CONFIG'] || undefined);
  const fileName = given ?? DEFAULT_CONFIG_FILE;
  const path = resolve(cwd, fileName);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (isSystemError(err, 'ENOENT') && given === undefined) return { config: EMPTY_CONFIG, path: undefined };
    throw readError(fileName, given !== undefined && options.path === undefined, err);
  }
  const { parseConfig } = await import('./parse-config.js');
  const config = parseConfig(text, { fileName, baseDir: dirname(path), env });
  return { config, path };
}

function readError(fileName: string, fromEnv: boolean, err: unknown): FailsafeError {
  const origin = fromEnv ? ' (from FAILSAFE_CONFIG)' : '';
  if (isSystemError(err, 'ENOENT')) {
    return new FailsafeError('CONFIG', `config file ${fileName}${origin} not found`, { cause: err });
  }
  if (isSystemError(err, 'EISDIR')) {
    return new FailsafeError('CONFIG', `config file ${fileName}${origin} is a directory`, { cause: err });
  }
  return new FailsafeError('CONFIG', `cannot read config file ${fileName}${origin}: ${messageOf(err)}`, { cause: err });
}
