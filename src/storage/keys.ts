/**
 * Validation of storage keys and list prefixes, shared by every backend so that a key accepted by one
 * backend is accepted by all of them.
 */
import { FailsafeError } from '../core/errors.js';

/**
 * Throws `INTERNAL` unless `key` is a relative, `/`-separated path with no empty, `.` or `..` segment,
 * no backslash and no NUL. Bad keys are bugs in the caller, never user input.
 *
 * @example assertValidKey('data/3f/3f9c') // ok; assertValidKey('/etc/passwd') // throws
 */
export function assertValidKey(key: string): void {
  const problem = keyProblem(key);
  if (problem !== undefined) {
    throw new FailsafeError('INTERNAL', `invalid storage key ${JSON.stringify(key)}: ${problem}`);
  }
}

/**
 * Throws `INTERNAL` unless `prefix` is empty or the start of a valid key (it may end in `/` or in the
 * middle of a segment, as in `data/3f`).
 *
 * @example assertValidPrefix('index/') // ok; assertValidPrefix('../') // throws
 */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  const problem = keyProblem(prefix.endsWith('/') ? `${prefix}x` : prefix, true);
  if (problem !== undefined) {
    throw new FailsafeError('INTERNAL', `invalid storage prefix ${JSON.stringify(prefix)}: ${problem}`);
  }
}

function keyProblem(key: string, partialLastSegment = false): string | undefined {
  if (key === '') return 'empty';
  if (key.startsWith('/')) return 'leading slash';
  if (key.includes('\\')) return 'backslash';
  if (key.includes('\0')) return 'NUL character';
  const segments = key.split('/');
  for (const [i, segment] of segments.entries()) {
    const isLast = i === segments.length - 1;
    if (segment === '') return 'empty segment';
    if (segment === '..' || (segment === '.' && !(isLast && partialLastSegment))) return `"${segment}" segment`;
  }
  return undefined;
}

/** Throws `INTERNAL` unless `offset` and `length` are non-negative safe integers. */
export function assertValidRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new FailsafeError('INTERNAL', `invalid byte range: offset ${offset}, length ${length}`);
  }
}

/** The `CORRUPT` error for a range read past the end of an object of `size` bytes. */
export function truncated(key: string, location: string, offset: number, length: number, size: number): FailsafeError {
  return new FailsafeError(
    'CORRUPT',
    `object ${key} in ${location} is shorter than expected: ${length} bytes at offset ${offset} requested, ` +
      `object has ${size} bytes`,
    { hint: 'the object may be truncated or damaged; run `failsafe check` on the repository' },
  );
}
