/**
 * `${VAR}` interpolation of environment variables into the string values of a parsed YAML document.
 *
 * Interpolation runs on scalar values after parsing, never on the raw text, so a variable's value is
 * always data: it cannot add keys, close a quote or start a new YAML structure.
 */
import { isAlias, isMap, isScalar, isSeq, Scalar } from 'yaml';
import type { Document, Node } from 'yaml';
import { FailsafeError } from '../core/errors.js';

/** The environment interpolation reads from; `process.env` fits. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** One failed reference in a document, located by its key path and YAML node. */
export interface InterpolationProblem {
  readonly path: readonly (string | number)[];
  readonly node: Node;
  readonly message: string;
}

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([^]*))?$/;

interface Interpolated {
  readonly value: string;
  /** True when at least one `${...}` reference was replaced (escapes alone do not count). */
  readonly substituted: boolean;
}

/**
 * Replaces `${NAME}` with the value of environment variable NAME and `${NAME:-default}` with the value,
 * or `default` when NAME is unset or empty; `$${` stands for a literal `${`. Text without `${` comes
 * back unchanged. Defaults are literal text up to the first `}` (they are not interpolated again).
 * Throws a `CONFIG` {@link FailsafeError} naming the variable when an unset variable has no default.
 *
 * @example
 * interpolate('s3://${BUCKET:-backups}/db', { BUCKET: 'acme' }) === 's3://acme/db'
 * interpolate('cost: $${PRICE}', {}) === 'cost: ${PRICE}'
 */
export function interpolate(text: string, env: Environment): string {
  return interpolateString(text, env).value;
}

function interpolateString(text: string, env: Environment): Interpolated {
  let value = '';
  let substituted = false;
  let index = 0;
  while (index < text.length) {
    const dollar = text.indexOf('$', index);
    if (dollar < 0) {
      value += text.slice(index);
      break;
    }
    value += text.slice(index, dollar);
    if (text.startsWith('$${', dollar)) {
      value += '${';
      index = dollar + 3;
      continue;
    }
    if (text[dollar + 1] !== '{') {
      value += '$';
      index = dollar + 1;
      continue;
    }
    const close = text.indexOf('}', dollar + 2);
    if (close < 0) {
      throw new FailsafeError('CONFIG', 'unterminated "${" (close it with "}", or write "$${" for a literal "${")');
    }
    const expression = text.slice(dollar + 2, close);
    const match = REFERENCE.exec(expression);
    if (!match) {
      throw new FailsafeError(
        'CONFIG',
        `invalid reference "\${${shorten(expression)}}" (expected \${NAME} or \${NAME:-default}, ` +
          'NAME made of letters, digits and "_")',
      );
    }
    const name = match[1]!;
    const fallback = match[2];
    const found = env[name];
    if (found !== undefined && (found !== '' || fallback === undefined)) {
      value += found;
    } else if (fallback !== undefined) {
      value += fallback;
    } else {
      throw new FailsafeError('CONFIG', `environment variable ${name} is not set`, {
        hint: `set ${name}, or give a default with \${${name}:-value}`,
      });
    }
    substituted = true;
    index = close + 1;
  }
  return { value, substituted };
}

/**
 * Interpolates every string scalar value of `doc` in place (map keys are left alone) and returns one
 * problem per value that failed. An unquoted value that contained a reference is re-read as a YAML
 * number or boolean when its result looks like one, so `connections: ${CONNECTIONS:-8}` is the number 8;
 * quoted values always stay strings.
 *
 * @example
 * const problems = interpolateDocument(parseDocument('url: ${REPO}'), process.env);
 */
export function interpolateDocument(doc: Document, env: Environment): InterpolationProblem[] {
  const problems: InterpolationProblem[] = [];
  const visit = (node: unknown, path: readonly (string | number)[]): void => {
    if (isAlias(node)) return; // the anchored node is interpolated where it is defined
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        visit(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => visit(item, [...path, i]));
    } else if (isScalar(node) && typeof node.value === 'string') {
      try {
        const result = interpolateString(node.value, env);
        node.value = result.substituted && node.type === Scalar.PLAIN ? retype(result.value) : result.value;
      } catch (err) {
        if (!(err instanceof FailsafeError)) throw err;
        problems.push({ path, node, message: err.message });
      }
    }
  };
  visit(doc.contents, []);
  return problems;
}

/** The YAML 1.2 core-schema reading of a plain scalar, limited to numbers and booleans. */
function retype(text: string): string | number | boolean {
  if (/^[-+]?[0-9]+$/.test(text)) return Number.parseInt(text, 10);
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(text)) return Number.parseFloat(text);
  if (/^(true|True|TRUE)$/.test(text)) return true;
  if (/^(false|False|FALSE)$/.test(text)) return false;
  return text;
}

function shorten(text: string): string {
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}
