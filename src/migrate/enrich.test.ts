import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { EnrichError, type EnrichSpec } from './definition.js';
import { enrichRows } from './enrich.js';

const rows = Array.from({ length: 12 }, (_, i) => ({ id: i, city: `City ${i}` }));

describe('enrichRows', () => {
  it("adds the returned fields to each row, in the rows' order, never more calls in flight than allowed", async () => {
    let running = 0;
    let most = 0;
    const spec: EnrichSpec = {
      ratePerSecond: 10_000,
      concurrency: 3,
      fn: async (row) => {
        most = Math.max(most, ++running);
        await sleep(Number(row.id) % 2 === 0 ? 8 : 1);
        running--;
        return { geo: `geo of ${String(row.city)}`, city: 'overridden' };
      },
    };
    const { rows: enriched, failures } = await enrichRows(spec, rows, '42');
    expect(failures).toEqual([]);
    expect(enriched.map((row) => row.id)).toEqual(rows.map((row) => row.id));
    expect(enriched[5]).toEqual({ id: 5, city: 'overridden', geo: 'geo of City 5' });
    expect(most).toBe(3);
  });

  it('tries a failing call again, and fails only the row whose every try failed', async () => {
    const tries = new Map<number, number>();
    const spec: EnrichSpec = {
      ratePerSecond: 10_000,
      attempts: 2,
      fn: async (row, ctx) => {
        const id = Number(row.id);
        tries.set(id, (tries.get(id) ?? 0) + 1);
        if (id === 3 && tries.get(id) === 1) throw new Error('HTTP 503');
        if (id === 7) throw new Error(`HTTP 422 for tenant ${ctx.tenant}`);
        return { ok: true };
      },
    };
    const { rows: enriched, failures } = await enrichRows(spec, rows, '42');
    expect(enriched.map((row) => row.id)).toEqual(rows.map((row) => row.id).filter((id) => id !== 7));
    expect(failures).toEqual([{ row: rows[7], error: 'enrichment failed after 2 tries: HTTP 422 for tenant 42' }]);
    expect(tries.get(3)).toBe(2);
    expect(tries.get(7)).toBe(2);
  });

  it('fails a row at once on a permanent error, and makes every call wait when the service asks to', async () => {
    const tries = new Map<number, number>();
    const started: { id: number; at: number }[] = [];
    let asked = 0;
    const spec: EnrichSpec = {
      ratePerSecond: 10_000,
      concurrency: 4,
      fn: async (row) => {
        const id = Number(row.id);
        started.push({ id, at: Date.now() });
        tries.set(id, (tries.get(id) ?? 0) + 1);
        if (id === 7) throw new EnrichError('HTTP 422: no such address', { permanent: true });
        if (id === 0 && tries.get(id) === 1) {
          asked = Date.now();
          throw new EnrichError('HTTP 429', { retryAfterMs: 300 });
        }
        await sleep(5);
        return {};
      },
    };
    const { failures } = await enrichRows(spec, rows, '42');
    expect(failures).toEqual([{ row: rows[7], error: 'enrichment failed: HTTP 422: no such address' }]);
    expect(tries.get(7)).toBe(1);
    expect(tries.get(0)).toBe(2);
    // Within the 429's wait, only calls whose turn had come before it was seen began (at most one per
    // other worker); without the wait every remaining row would have gone in those 300 ms.
    const during = started.filter((call) => call.at > asked && call.at - asked < 299);
    expect(during.length).toBeLessThanOrEqual(3);
    expect(started.filter((call) => call.at - asked >= 299).length).toBeGreaterThanOrEqual(12 - 4 - during.length);
  });

  it('shares one rate limit between the calls of every tenant', async () => {
    // A bucket of 2 (half a second at 4/s) and then one call per 250 ms: six calls from two tenants need ≥ 1 s of waits.
    const calls: number[] = [];
    const spec: EnrichSpec = { ratePerSecond: 4, concurrency: 8, fn: async () => (calls.push(Date.now()), {}) };
    await Promise.all([enrichRows(spec, rows.slice(0, 3), '1'), enrichRows(spec, rows.slice(3, 6), '2')]);
    const spread = Math.max(...calls) - Math.min(...calls);
    expect(spread).toBeGreaterThanOrEqual(900);
  });
});
