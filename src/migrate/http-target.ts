/**
 * Requests to an HTTP target, with what every request needs composed in one place: a token bucket of
 * records per second shared by every tenant loading into the target, a limit on requests in flight,
 * and retries with exponential backoff and full jitter on 5xx answers, resets and timeouts; on 429 and
 * 503 the wait is the `Retry-After` the target asked for and the whole bucket pauses, since the shared
 * limit was hit, not one request's bad luck. Other answers (2xx, 4xx) go back to the loader, through
 * {@link HttpLoadTarget}: a dataset's batch is one request to its endpoint.
 */
import { setMaxListeners } from 'node:events';
import { FailsafeError, messageOf } from '../core/errors.js';
import { Semaphore } from '../core/semaphore.js';
import { abortableSleep, TokenBucket } from '../core/token-bucket.js';
import type { HttpLoadSpec, HttpTarget } from './definition.js';
import type { CreateAnswer, LoadTarget, OpenTargetOptions, TargetRefusal, UpdateAnswer } from './load-target.js';

export interface TargetRequest {
  readonly method: string;
  /** Path under the base URL. */
  readonly path: string;
  readonly body: unknown;
  /** Sent as `Idempotency-Key`: the same key for a batch sent again. */
  readonly idempotencyKey: string;
  /** Records in the request: what it costs in the bucket. */
  readonly records: number;
}

export interface TargetResponse {
  readonly status: number;
  /** The body as JSON, or undefined when it is not JSON. */
  readonly json: unknown;
  readonly text: string;
  /** The `Retry-After` header, when given. */
  readonly retryAfter?: string;
}

export interface TargetClientOptions {
  /** Attempts per request, the first included; default 8. */
  readonly attempts?: number;
  /** Per request; default 30 s. */
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
}

/** Counts of what the client did, for `status` and the benchmark's retry figure. */
export interface TargetCounters {
  requests: number;
  retries: number;
  throttled: number;
}

/**
 * @example
 * const client = new TargetClient('qa', definition.targets.qa);
 * const answer = await client.send({ method: 'POST', path: '/guests', body: { records }, idempotencyKey, records: records.length });
 */
export class TargetClient {
  readonly counters: TargetCounters = { requests: 0, retries: 0, throttled: 0 };
  readonly #name: string;
  readonly #target: HttpTarget;
  readonly #options: TargetClientOptions;
  readonly #inFlight: Semaphore;
  /**
   * Records per second, in bursts of half a second's worth: a target's own bucket usually holds a
   * second's, so requests that reach it closer together than they left (network jitter, several in
   * flight) still fit. A 429's Retry-After pauses it for every tenant.
   */
  readonly #bucket: TokenBucket;

  constructor(name: string, target: HttpTarget, options: TargetClientOptions = {}) {
    this.#name = name;
    this.#target = target;
    this.#options = options;
    this.#inFlight = new Semaphore(target.concurrency ?? 4);
    this.#bucket = new TokenBucket(target.ratePerSecond ?? 100);
    // Every request in flight and every wait listens to the command's signal.
    if (options.signal) setMaxListeners(0, options.signal);
  }

  async send(request: TargetRequest): Promise<TargetResponse> {
    const attempts = this.#target.retry?.attempts ?? this.#options.attempts ?? 8;
    for (let attempt = 1; ; attempt++) {
      await this.#bucket.take(request.records, this.#options.signal);
      let answer: TargetResponse | undefined;
      let failure: string;
      try {
        answer = await this.#inFlight.run(() => this.#fetch(request));
        if (answer.status !== 429 && answer.status !== 503 && answer.status < 500) return answer;
        failure = `HTTP ${answer.status}`;
      } catch (err) {
        if (this.#options.signal?.aborted || (err instanceof FailsafeError && !err.retryable)) throw err;
        failure = fetchFailure(err);
      }
      if (attempt >= attempts) {
        throw new FailsafeError('UNAVAILABLE', `target ${this.#name}: ${request.method} ${this.#url(request)} failed ${attempts} times, last: ${failure}`, {
          retryable: true,
        });
      }
      this.counters.retries++;
      const retryAfter = answer && (answer.status === 429 || answer.status === 503) ? retryAfterMs(answer) : undefined;
      if (retryAfter !== undefined) {
        this.counters.throttled++;
        this.#bucket.pause(retryAfter);
      } else {
        await abortableSleep(Math.random() * Math.min(10_000, 100 * 2 ** attempt), this.#options.signal);
      }
    }
  }

  /** The request's URL: the endpoint path under the target's base URL. */
  #url(request: TargetRequest): string {
    return `${this.#target.baseUrl.replace(/\/$/, '')}${request.path}`;
  }

  async #fetch(request: TargetRequest): Promise<TargetResponse> {
    this.counters.requests++;
    const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': request.idempotencyKey };
    const auth = this.#target.auth;
    if (auth) {
      const secret = (this.#options.env ?? process.env)[auth.env];
      if (!secret) throw new FailsafeError('USAGE', `target ${this.#name}: environment variable ${auth.env} (its ${auth.header}) is not set`);
      headers[auth.header.toLowerCase()] = `${auth.prefix ?? ''}${secret}`;
    }
    const signals = [AbortSignal.timeout(this.#target.retry?.timeoutMs ?? this.#options.timeoutMs ?? 30_000), ...(this.#options.signal ? [this.#options.signal] : [])];
    const response = await fetch(this.#url(request), {
      method: request.method,
      headers,
      body: JSON.stringify(request.body),
      signal: AbortSignal.any(signals),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const retryAfter = response.headers.get('retry-after');
    return { status: response.status, json, text, ...(retryAfter === null ? {} : { retryAfter }) };
  }
}

/** `Retry-After` in seconds or as an HTTP date, at most a minute; one second when absent or unreadable. */
function retryAfterMs(answer: TargetResponse): number {
  const value = answer.retryAfter?.trim() ?? '';
  const ms = /^\d+(\.\d+)?$/.test(value) ? Number(value) * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) ? Math.min(60_000, Math.max(0, ms)) : 1000;
}

/** What went wrong with a request that got no answer: fetch says "fetch failed" and names the cause only in `cause`. */
function fetchFailure(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  const detail = [cause?.code, cause?.message].filter((part): part is string => typeof part === 'string' && part !== '');
  return detail.length > 0 ? `${messageOf(err)}: ${[...new Set(detail)].join(', ')}` : messageOf(err);
}

/** An HTTP API: a batch is one request to the dataset's endpoint, `{ "records": [...] }`; an update one request for one record. */
export class HttpLoadTarget implements LoadTarget {
  readonly name: string;
  readonly #client: TargetClient;
  readonly #specs: Readonly<Record<string, HttpLoadSpec>>;
  readonly #file: string;

  constructor(name: string, target: HttpTarget, specs: Readonly<Record<string, HttpLoadSpec>>, file: string, options: OpenTargetOptions = {}) {
    this.name = name;
    this.#client = new TargetClient(name, target, options);
    this.#specs = specs;
    this.#file = file;
  }

  get counters(): LoadTarget['counters'] {
    return this.#client.counters;
  }

  async create(dataset: string, records: readonly unknown[], idempotencyKey: string): Promise<CreateAnswer> {
    const spec = this.#specs[dataset]!;
    const answer = await this.#client.send({ method: spec.method ?? 'POST', path: spec.endpoint, body: { records }, idempotencyKey, records: records.length });
    if (!isSuccess(answer)) return { refused: refusal(answer) };
    const ids = spec.ids(answer.json);
    if (!Array.isArray(ids) || ids.length !== records.length) {
      throw new FailsafeError('CONFIG', `${this.#file}: load.ids of dataset ${dataset} gave ${Array.isArray(ids) ? ids.length : 'no'} ids for ${records.length} records`);
    }
    return { ids };
  }

  updates(dataset: string): boolean {
    return this.#specs[dataset]!.update !== undefined;
  }

  async update(dataset: string, targetId: string | number, record: unknown, idempotencyKey: string): Promise<UpdateAnswer> {
    const update = this.#specs[dataset]!.update!;
    const answer = await this.#client.send({ method: update.method ?? 'PUT', path: update.endpoint(String(targetId)), body: record, idempotencyKey, records: 1 });
    return isSuccess(answer) ? undefined : refusal(answer);
  }

  async close(): Promise<void> {}
}

function isSuccess(answer: TargetResponse): boolean {
  return answer.status >= 200 && answer.status < 300;
}

function refusal(answer: TargetResponse): TargetRefusal {
  return { error: `the target answered HTTP ${answer.status}`, httpStatus: answer.status, body: answer.text.slice(0, 4000) };
}
