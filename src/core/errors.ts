/**
 * Typed, classified errors shared by every layer.
 *
 * Every failure that reaches a user is a {@link FailsafeError}: a stable `code` the CLI maps to an exit
 * code, a one-line `message` that says what happened, an optional `hint` that says what the operator can
 * do next, and `retryable`, which the storage retry wrapper (and later the job queue) trusts.
 */

/** Stable error codes. Never rename one: scripts and the server match on them. */
export type ErrorCode =
  /** The object, snapshot, key or file does not exist. */
  | 'NOT_FOUND'
  /** Something that must be created only once exists already (e.g. `init` on a repository). */
  | 'ALREADY_EXISTS'
  /** No repository at the given location. */
  | 'NO_REPOSITORY'
  /** No key file opens with the given password. */
  | 'WRONG_PASSWORD'
  /** Another process holds a conflicting lock. */
  | 'LOCKED'
  /** Stored data failed authentication, a hash check or parsing. */
  | 'CORRUPT'
  /** A verification (check, restore verify) found problems. */
  | 'VERIFY_FAILED'
  /** The configuration file or an option value is invalid. */
  | 'CONFIG'
  /** The command line is wrong (unknown flag, missing argument, conflicting options). */
  | 'USAGE'
  /** A remote service could not be reached or answered with a server-side error. */
  | 'UNAVAILABLE'
  /** Credentials were refused or permissions are missing. */
  | 'PERMISSION'
  /** A local input/output error (disk full, unreadable file). */
  | 'IO'
  /** The operation was cancelled (SIGINT, AbortSignal). */
  | 'ABORTED'
  /** A bug: an invariant did not hold. */
  | 'INTERNAL';

export interface FailsafeErrorOptions {
  readonly cause?: unknown;
  readonly retryable?: boolean;
  /** What the operator can do next, e.g. "run `failsafe init` to create one". */
  readonly hint?: string;
}

export class FailsafeError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: FailsafeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FailsafeError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.hint = options.hint;
  }
}

/** True when `err` is a {@link FailsafeError} with the given code. */
export function isErrorCode(err: unknown, code: ErrorCode): err is FailsafeError {
  return err instanceof FailsafeError && err.code === code;
}

/**
 * Prefixes the message of `err` with a short context ("restore /etc/hosts: ...") while keeping its code,
 * retryability and hint. Non-failsafe errors become `INTERNAL` unless they are Node system errors, which
 * become `IO`.
 *
 * @example
 * try { await writeFile(path, data) } catch (err) { throw withContext(`restore ${path}`, err) }
 */
export function withContext(context: string, err: unknown): FailsafeError {
  if (err instanceof FailsafeError) {
    const wrapped = new FailsafeError(err.code, `${context}: ${err.message}`, {
      cause: err.cause ?? err,
      retryable: err.retryable,
      ...(err.hint === undefined ? {} : { hint: err.hint }),
    });
    return wrapped;
  }
  if (isDatabaseError(err)) return fromDatabaseError(err, context);
  return new FailsafeError(isSystemError(err) ? 'IO' : 'INTERNAL', `${context}: ${messageOf(err)}`, { cause: err });
}

/** An error a PostgreSQL server sent (the driver's DatabaseError): a five-character SQLSTATE and a severity. */
export interface DatabaseError extends Error {
  readonly code: string;
  readonly severity: string;
}

export function isDatabaseError(err: unknown): err is DatabaseError {
  return err instanceof Error && typeof (err as Partial<DatabaseError>).severity === 'string' && /^[0-9A-Z]{5}$/.test(String((err as Partial<DatabaseError>).code));
}

/**
 * The failsafe error for a PostgreSQL server's: a lost connection, a deadlock or serialization
 * failure, exhausted resources or a shutdown (SQLSTATE classes 08, 40, 53, 57, 58) is `UNAVAILABLE`
 * and retryable — running the same command again is the remedy; any other is `INTERNAL`.
 */
export function fromDatabaseError(err: DatabaseError, context?: string): FailsafeError {
  const transient = /^(08|40|53|57|58)/.test(err.code);
  return new FailsafeError(transient ? 'UNAVAILABLE' : 'INTERNAL', `${context ? `${context}: ` : ''}PostgreSQL: ${messageOf(err)} (SQLSTATE ${err.code})`, {
    cause: err,
    retryable: transient,
    ...(transient ? { hint: 'run the same command again: it goes on from where it stopped' } : {}),
  });
}

/** A Node.js system error (`ENOENT`, `ECONNRESET`, ...). */
export interface SystemError extends Error {
  readonly code: string;
  readonly syscall?: string;
  readonly path?: string;
}

export function isSystemError(err: unknown, code?: string): err is SystemError {
  return (
    err instanceof Error &&
    !(err instanceof FailsafeError) &&
    !isDatabaseError(err) &&
    typeof (err as Partial<SystemError>).code === 'string' &&
    (code === undefined || (err as SystemError).code === code)
  );
}

/** The message of any thrown value, on one line. */
export function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
