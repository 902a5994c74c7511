/**
 * Turns zod issues into one-line messages for config files: "expected ..., got <value>", "unknown key
 * "x" (did you mean "y"?)", "missing required key "url"". Values of secret-looking keys are never shown.
 */
import { z } from 'zod';
import { didYouMean } from '../core/did-you-mean.js';

/** A message about one key, and where in the document to point at for its line. */
export interface KeyMessage {
  /** The key path the message is about. */
  readonly path: readonly PropertyKey[];
  /** The key path whose line the message is reported on (a missing key's parent, an unknown key itself). */
  readonly at: readonly PropertyKey[];
  readonly message: string;
}

const SECRET_KEY = /pass|secret|token|key|credential/i;
const SHOWN_LENGTH = 40;

/**
 * One {@link KeyMessage} per problem in `issues`, which came from `schema.safeParse(input, { reportInput: true })`.
 *
 * @example
 * const result = schema.safeParse(data, { reportInput: true });
 * if (!result.success) for (const m of describeIssues(result.error.issues, schema, data)) report(m);
 */
export function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  schema: z.ZodType,
  input: unknown,
): KeyMessage[] {
  return issues.flatMap((issue) => describeIssue(issue, schema, input));
}

function describeIssue(issue: z.core.$ZodIssue, schema: z.ZodType, input: unknown): KeyMessage[] {
  const path = issue.path;
  const parent = path.slice(0, -1);
  const last = path.at(-1);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeysAt(schema, path, input);
      return issue.keys.map((key) => ({
        path,
        at: [...path, key],
        message: `unknown key "${key}"${didYouMean(key, known)}`,
      }));
    }
    case 'invalid_key': {
      const reason = issue.issues[0]?.message ?? 'invalid name';
      return [{ path: parent, at: path, message: `invalid name ${show(last)}: ${reason}` }];
    }
    case 'invalid_union': {
      if (issue.discriminator === undefined) break;
      const options = (issue.inclusive !== false ? (issue.options ?? []) : []).map(String);
      const value = isRecord(issue.input) ? issue.input[issue.discriminator] : undefined;
      if (value === undefined) {
        return [{ path: parent, at: parent, message: `missing required key "${issue.discriminator}" (one of: ${options.join(', ')})` }];
      }
      const suggestion = typeof value === 'string' ? didYouMean(value, options) : '';
      return [{ path, at: path, message: `expected one of: ${options.join(', ')}, got ${show(value)}${suggestion}` }];
    }
    case 'invalid_type':
      if (issue.input === undefined && typeof last === 'string' && !hasKey(valueAt(input, parent), last)) {
        return [{ path: parent, at: parent, message: `missing required key "${last}"` }];
      }
      break;
    case 'invalid_value': {
      const suggestion =
        typeof issue.input === 'string' && !isSecretPath(path)
          ? didYouMean(issue.input, issue.values.filter((v) => typeof v === 'string'))
          : '';
      return [{ path, at: path, message: `${issue.message}${got(issue.input, path)}${suggestion}` }];
    }
    case 'custom':
      return [{ path, at: path, message: issue.message }];
    default:
      break;
  }
  return [{ path, at: path, message: `${issue.message}${got(issue.input, path)}` }];
}

/** `, got "eight"`, or nothing when the value is absent or belongs to a secret-looking key. */
function got(value: unknown, path: readonly PropertyKey[]): string {
  return value === undefined || isSecretPath(path) ? '' : `, got ${show(value)}`;
}

function isSecretPath(path: readonly PropertyKey[]): boolean {
  const key = path.findLast((segment) => typeof segment === 'string');
  return key !== undefined && SECRET_KEY.test(key);
}

/** A short rendering of a YAML value: strings quoted and shortened, collections by kind only. */
function show(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value.length > SHOWN_LENGTH ? `${value.slice(0, SHOWN_LENGTH - 1)}…` : value);
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasKey(value: unknown, key: string): boolean {
  return isRecord(value) && Object.hasOwn(value, key);
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

/** The keys the object schema at `path` accepts, following records, arrays and `kind` discriminators. */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[], input: unknown): string[] {
  let current: z.core.$ZodType | undefined = unwrap(schema, input);
  let value = input;
  for (const segment of path) {
    value = valueAt(value, [segment]);
    if (current instanceof z.ZodObject) current = current.shape[String(segment)];
    else if (current instanceof z.ZodRecord) current = current.valueType;
    else if (current instanceof z.ZodArray) current = current.element;
    else return [];
    current = current === undefined ? undefined : unwrap(current, value);
  }
  return current instanceof z.ZodObject ? Object.keys(current.shape) : [];
}

/** Looks through optional wrappers, transforms and the discriminated-union option `value` selects. */
function unwrap(schema: z.core.$ZodType, value: unknown): z.core.$ZodType | undefined {
  let current: z.core.$ZodType | undefined = schema;
  for (;;) {
    if (current instanceof z.ZodPipe) current = current.in;
    else if (current instanceof z.ZodOptional || current instanceof z.ZodNullable || current instanceof z.ZodDefault) {
      current = current.unwrap();
    } else if (current instanceof z.ZodDiscriminatedUnion) {
      const discriminator: string = current.def.discriminator;
      const wanted: unknown = isRecord(value) ? value[discriminator] : undefined;
      current = current.options.find((option): boolean => {
        const shape = unwrap(option, undefined);
        const tag: unknown = shape instanceof z.ZodObject ? shape.shape[discriminator] : undefined;
        return tag instanceof z.ZodLiteral && [...tag.values].some((literal): boolean => literal === wanted);
      });
    } else {
      return current;
    }
  }
}
