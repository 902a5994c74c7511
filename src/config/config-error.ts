/** Line-numbered problems in a config file, and the error that carries them. */
import { FailsafeError } from '../core/errors.js';

/** One problem in a config file, reported on one line. */
export interface ConfigProblem {
  /** The file as the user named it, e.g. `failsafe.yaml`. */
  readonly file: string;
  /** 1-based line, when known. */
  readonly line: number | undefined;
  /** 1-based column; only YAML syntax errors have one. */
  readonly column: number | undefined;
  /** Key path in YAML spelling, e.g. `repositories.main.connections`; empty for the whole file. */
  readonly path: string;
  readonly message: string;
}

/**
 * A `CONFIG` error listing every problem found in a config file, one per line of `message`, sorted by
 * line: `failsafe.yaml:12: repositories.main.connections: expected an integer from 1 to 256, got "eight"`.
 */
export class ConfigError extends FailsafeError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], options: { readonly cause?: unknown } = {}) {
    const sorted = [...problems].sort(
      (a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0) || a.path.localeCompare(b.path),
    );
    const lines = [...new Set(sorted.map(formatProblem))];
    super('CONFIG', lines.join('\n'), {
      cause: options.cause,
      hint: 'every key of failsafe.yaml is described in docs/config.md',
    });
    this.problems = Object.freeze(sorted);
  }
}

/** `file:line[:column]: path: message`. */
export function formatProblem(problem: ConfigProblem): string {
  const line = problem.line === undefined ? '' : `:${problem.line}`;
  const column = problem.line === undefined || problem.column === undefined ? '' : `:${problem.column}`;
  const path = problem.path === '' ? '' : `${problem.path}: `;
  return `${problem.file}${line}${column}: ${path}${problem.message}`;
}

/** `repositories.main.paths[2]` from `['repositories', 'main', 'paths', 2]`. */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text;
}
