/**
 * Classification of everything the S3 client can throw into {@link FailsafeError}s. This is the only
 * place that knows S3 error names, HTTP statuses and Node socket error codes.
 */
import { FailsafeError, messageOf } from '../core/errors.js';

/** What was being done, for the message: `get data/ab/cd in s3://bucket/repo`. */
export interface S3ErrorContext {
  readonly operation: string;
  readonly key?: string;
  readonly bucket: string;
  /** `s3://bucket/prefix`. */
  readonly location: string;
  /** Custom endpoint, if any, named when the bucket is missing or unreachable. */
  readonly endpoint?: string;
}

const NOT_FOUND_NAMES = new Set(['NoSuchKey', 'NotFound', 'NoSuchUpload']);
const PERMISSION_NAMES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AllAccessDisabled',
  'AccountProblem',
  'CredentialsProviderError',
  'Forbidden',
]);
const CONFIG_NAMES = new Set([
  'PermanentRedirect',
  'AuthorizationHeaderMalformed',
  'InvalidBucketName',
  'IllegalLocationConstraintException',
]);
const RETRYABLE_NAMES = new Set([
  'SlowDown',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'TimeoutError',
  'OperationAborted',
]);
const RETRYABLE_SYSTEM_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
]);
const RETRYABLE_MESSAGE = /socket hang up|\baborted\b|ECONNRESET|EPIPE|premature close|other side closed/i;

interface ErrorShape {
  readonly name?: unknown;
  readonly Code?: unknown;
  readonly code?: unknown;
  readonly $retryable?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

/**
 * Turns an error from the S3 client (service error, socket error, timeout, credential-provider error) into
 * a {@link FailsafeError}:
 * - NoSuchBucket → `NOT_FOUND` naming the bucket; 404/NoSuchKey/NotFound → `NOT_FOUND`;
 * - 403, AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch, missing credentials → `PERMISSION`
 *   with a hint about credentials;
 * - wrong region/redirects/invalid bucket names → `CONFIG`;
 * - 429, 5xx (except 501), throttling, timeouts and connection errors → retryable `UNAVAILABLE`;
 * - other answers from the server → permanent `UNAVAILABLE`; anything else (bugs) → `INTERNAL`.
 *
 * @example
 * try { await client.send(command) }
 * catch (err) { throw classifyS3Error(err, { operation: 'get', key, bucket, location }) }
 */
export function classifyS3Error(err: unknown, context: S3ErrorContext): FailsafeError {
  if (err instanceof FailsafeError) return err;
  const shape = (typeof err === 'object' && err !== null ? err : {}) as ErrorShape;
  const name = typeof shape.Code === 'string' ? shape.Code : typeof shape.name === 'string' ? shape.name : '';
  const systemCode = typeof shape.code === 'string' ? shape.code : '';
  const status = shape.$metadata?.httpStatusCode;
  const message = messageOf(err);
  const what = context.key === undefined ? context.location : `${context.key} in ${context.location}`;
  const detail = [name && name !== 'Error' && !message.includes(name) ? name : '', status ? `HTTP ${status}` : '']
    .filter(Boolean)
    .join(', ');
  const text = `${context.operation} ${what}: ${message}${detail ? ` (${detail})` : ''}`;
  const at = context.endpoint === undefined ? '' : ` at ${context.endpoint}`;

  const cause = diagnosticCause(err, shape);

  if (name === 'NoSuchBucket') {
    const message = `bucket "${context.bucket}" does not exist${at} (${context.operation} ${what})`;
    return new FailsafeError('NOT_FOUND', message, {
      cause,
      hint: 'create the bucket, or check the bucket name in the repository URL and the S3 endpoint',
    });
  }
  if (NOT_FOUND_NAMES.has(name) || status === 404) {
    return new FailsafeError('NOT_FOUND', `object ${what} not found`, { cause });
  }
  if (PERMISSION_NAMES.has(name) || status === 403 || status === 401) {
    return new FailsafeError('PERMISSION', text, {
      cause,
      hint:
        'check the S3 credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the configured ' +
        `profile) and that they may read and write ${context.location}`,
    });
  }
  if (CONFIG_NAMES.has(name) || status === 301) {
    return new FailsafeError('CONFIG', text, {
      cause,
      hint: 'check the S3 region (AWS_REGION), endpoint (AWS_ENDPOINT_URL_S3) and bucket name',
    });
  }
  const retryable =
    shape.$retryable !== undefined ||
    RETRYABLE_NAMES.has(name) ||
    RETRYABLE_SYSTEM_CODES.has(systemCode) ||
    status === 429 ||
    (status !== undefined && status >= 500 && status !== 501) ||
    (status === undefined && RETRYABLE_MESSAGE.test(message));
  if (retryable) return new FailsafeError('UNAVAILABLE', text, { cause, retryable: true });
  if (systemCode === 'ENOTFOUND') {
    return new FailsafeError('UNAVAILABLE', text, { cause, hint: `check the S3 endpoint${at}` });
  }
  if (status !== undefined || systemCode !== '') return new FailsafeError('UNAVAILABLE', text, { cause });
  return new FailsafeError('INTERNAL', text, { cause });
}

/**
 * SDK errors carry the raw HTTP response (socket, parser, agent): logging or printing them dumps pages of
 * internals and keeps the socket alive as long as the error. Keep what helps a diagnosis.
 */
function diagnosticCause(err: unknown, shape: ErrorShape): unknown {
  if (!(err instanceof Error) || shape.$metadata === undefined) return err;
  const summary = new Error(err.message);
  summary.name = err.name;
  if (err.stack !== undefined) summary.stack = err.stack;
  const { httpStatusCode, requestId, extendedRequestId } = shape.$metadata as Record<string, unknown>;
  return Object.assign(summary, {
    ...(typeof shape.code === 'string' ? { code: shape.code } : {}),
    ...(httpStatusCode === undefined ? {} : { httpStatusCode }),
    ...(requestId === undefined ? {} : { requestId }),
    ...(extendedRequestId === undefined ? {} : { extendedRequestId }),
  });
}
