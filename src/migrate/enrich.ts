/**
 * Enrichment (a dataset's `enrich`): one call to another service per source row, under the service's
 * own limits — a token bucket of calls per second and a bound on calls in flight, both shared by every
 * tenant the process migrates, since they spend the same service's quota. A call that throws is tried
 * again after a jittered backoff, or when the service asked to wait (an {@link EnrichError} with
 * `retryAfterMs`) after that wait, which every call honours; when every try fails, or one throws a
 * permanent {@link EnrichError}, that row fails alone.
 */
import { forEachConcurrently } from '../core/concurrently.js';
import { messageOf } from '../core/errors.js';
import { abortableSleep, TokenBucket } from '../core/token-bucket.js';
import { EnrichError, type EnrichSpec, type SourceRow } from './definition.js';

export interface EnrichedRows {
  /** The rows whose calls succeeded, with the returned fields added, in their order. */
  readonly rows: SourceRow[];
  /** The rows whose calls failed every try, with the last error. */
  readonly failures: { readonly row: SourceRow; readonly error: string }[];
}

/** One bucket per enrichment of the loaded migration (the spec object is its identity). */
const buckets = new WeakMap<EnrichSpec, TokenBucket>();

/**
 * @example
 * const { rows, failures } = await enrichRows(definition.enrich, fetchedRows, '42', signal);
 */
export async function enrichRows(spec: EnrichSpec, rows: readonly SourceRow[], tenant: string, signal?: AbortSignal): Promise<EnrichedRows> {
  let bucket = buckets.get(spec);
  if (!bucket) buckets.set(spec, (bucket = new TokenBucket(spec.ratePerSecond ?? 10)));
  const attempts = Math.max(1, spec.attempts ?? 3);
  const results: ({ readonly fields: Readonly<Record<string, unknown>> } | { readonly error: string })[] = new Array(rows.length);
  await forEachConcurrently(rows, spec.concurrency ?? 4, async (row, _worker, index) => {
    for (let attempt = 1; ; attempt++) {
      await bucket.take(1, signal);
      try {
        results[index] = { fields: await spec.fn(row, { tenant, signal }) };
        return;
      } catch (err) {
        signal?.throwIfAborted();
        const permanent = err instanceof EnrichError && err.permanent;
        if (permanent || attempt >= attempts) {
          results[index] = { error: `enrichment failed${permanent ? '' : ` after ${attempts} ${attempts === 1 ? 'try' : 'tries'}`}: ${messageOf(err)}` };
          return;
        }
        // The service asked every caller to wait: the bucket pauses, so no other call spends the wait.
        if (err instanceof EnrichError && err.retryAfterMs !== undefined) bucket.pause(Math.min(60_000, err.retryAfterMs));
        else await abortableSleep(Math.random() * Math.min(5_000, 100 * 2 ** attempt), signal);
      }
    }
  });
  const enriched: EnrichedRows = { rows: [], failures: [] };
  rows.forEach((row, index) => {
    const result = results[index]!;
    if ('error' in result) enriched.failures.push({ row, error: result.error });
    else enriched.rows.push({ ...row, ...result.fields });
  });
  return enriched;
}
