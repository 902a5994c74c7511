/**
 * Validating the text of failsafe.yaml: YAML syntax, then `${VAR}` interpolation, then the zod schema;
 * every problem is reported with the file line of the key it is about.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import { deepFreeze } from '../core/deep-freeze.js';
import { messageOf } from '../core/errors.js';
import { ConfigError, formatKeyPath } from './config-error.js';
import type { ConfigProblem } from './config-error.js';
import { interpolateDocument } from './interpolate.js';
import type { Environment } from './interpolate.js';
import { configSchema } from './schema.js';
import type { Config } from './schema.js';
import { describeIssues } from './zod-issues.js';

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
