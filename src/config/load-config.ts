/**
 * Finding, reading and validating failsafe.yaml: YAML syntax, then `${VAR}` interpolation, then the
 * zod schema; every problem is reported with the file line of the key it is about.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import { FailsafeError, isSystemError, messageOf } from '../core/errors.js';
import { ConfigError, formatKeyPath } from './config-error.js';
import type { ConfigProblem } from './config-error.js';
import { interpolateDocument } from './interpolate.js';
import type { Environment } from './interpolate.js';
import { CONFIG_VERSION, configSchema } from './schema.js';
import type { Config } from './schema.js';
import { describeIssues } from './zod-issues.js';

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
 * {@link FailsafeError} ({@link ConfigError} for problems inside the file, one line per problem).
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

export interface ParseConfigOptions {
  /** The file name shown in messages, e.g. `failsafe.yaml`. */
  readonly fileName: string;
  /** Directory relative paths are resolved against (the config file's directory). */
  readonly baseDir: string;
  /** Variables for `${VAR}` interpolation; default `process.env`. */
  readonly env?: Environment;
}

/**
 * Validates the text of a config file and returns the deeply frozen {@link Config}. An empty file (or
 * one holding only comments) gives an empty config. Throws a {@link ConfigError} listing every problem.
 *
 * @example
 * const config = parseConfig('repositories:\n  main:\n    url: ./repo\n', { fileName: 'failsafe.yaml', baseDir: '/srv' });
 * config.repositories['main']?.url === '/srv/repo'
 */
export function parseConfig(text: string, options: ParseConfigOptions): Config {
  const { fileName } = options;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((err) => ({
        file: fileName,
        line: err.linePos?.[0].line,
        column: err.linePos?.[0].col,
        path: '',
        message: yamlMessage(err.message),
      })),
    );
  }

  const problem = (path: readonly PropertyKey[], at: readonly PropertyKey[], message: string): ConfigProblem => ({
    file: fileName,
    line: lineOf(doc, lineCounter, at),
    column: undefined,
    path: formatKeyPath(path),
    message,
  });

  const interpolationProblems = interpolateDocument(doc, options.env ?? process.env);
  if (interpolationProblems.length > 0) {
    throw new ConfigError(interpolationProblems.map((p) => problem(p.path, p.path, p.message)));
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (err) {
    throw new ConfigError([{ file: fileName, line: undefined, column: undefined, path: '', message: messageOf(err) }], {
      cause: err,
    });
  }

  const schema = configSchema({ baseDir: options.baseDir });
  const result = schema.safeParse(data, { reportInput: true });
  if (!result.success) {
    throw new ConfigError(describeIssues(result.error.issues, schema, data).map((m) => problem(m.path, m.at, m.message)));
  }
  return deepFreeze(result.data);
}

/** The first line of a YAML parser message, without the position the problem already carries. */
function yamlMessage(message: string): string {
  const first = message.split('\n', 1)[0] ?? message;
  return first.replace(/ at line \d+, column \d+:?\s*$/, '');
}

/**
 * The 1-based line of the key at `path` (of the item, for sequences). When the path leads to a key that
 * does not exist, the line of the deepest existing ancestor key.
 */
function lineOf(doc: Document, lineCounter: LineCounter, path: readonly PropertyKey[]): number | undefined {
  let node: unknown = doc.contents;
  let offset = isNodeWithRange(node) ? node.range[0] : undefined;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(segment));
      if (pair === undefined) break;
      if (isNodeWithRange(pair.key)) offset = pair.key.range[0];
      next = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment];
      if (next === undefined) break;
      if (isNodeWithRange(next)) offset = next.range[0];
    } else {
      break;
    }
    node = next;
  }
  return offset === undefined ? undefined : lineCounter.linePos(offset).line;
}

function isNodeWithRange(node: unknown): node is { range: [number, number, number] } {
  return typeof node === 'object' && node !== null && Array.isArray((node as { range?: unknown }).range);
}

/** Freezes `value` and everything reachable from it. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  }
  return value;
}
