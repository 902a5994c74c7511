import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { setKeys, type RowKey } from './down-set-keys.js';
import type { DownSet } from './down-set.js';

/** A one-column set holding `values`, as the collector gives it. */
function setOf(values: readonly RowKey[]): DownSet {
  return { rows: values.length, arrays: [], values: [values] };
}

describe('setKeys(...).distinct', () => {
  it('holds exactly the non-null keys, as a Set of them would, whether they are integers, texts or both', () => {
    const integer = fc.oneof(fc.integer({ min: -50, max: 50 }), fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), fc.maxSafeInteger(), fc.constant(Number.MIN_SAFE_INTEGER));
    const key = fc.oneof({ arbitrary: integer, weight: 5 }, { arbitrary: fc.constant(null), weight: 1 }, { arbitrary: fc.constantFrom('42', 'abc', '-7'), weight: 1 });
    fc.assert(
      fc.property(fc.array(key, { maxLength: 60 }), fc.array(key, { maxLength: 20 }), (rows, probes) => {
        const distinct = setKeys(setOf(rows), ['id'], ['id']).distinct;
        const expected = new Set(rows.filter((k) => k !== null));
        expect(distinct.size).toBe(expected.size);
        for (const probe of [...probes, ...rows]) expect(distinct.has(probe)).toBe(probe !== null && expected.has(probe));
        const listed = [...distinct];
        expect(new Set(listed)).toEqual(expected);
        expect(listed).toHaveLength(expected.size);
      }),
      { numRuns: 500 },
    );
  });

  it('lists integer keys in ascending order, the order of the index a query probes with them', () => {
    expect([...setKeys(setOf([30, 7, null, 12, 7, -3]), ['id'], ['id']).distinct]).toEqual([-3, 7, 12, 30]);
  });

  it("gives the distinct keys' values per column, each tuple once, rows with a NULL left out", () => {
    const set: DownSet = { rows: 5, arrays: [], values: [[7, 7, 8, 7, 9], [1, 2, 1, 1, null], ['a', 'b', 'c', 'd', 'e']] };
    const keys = setKeys(set, ['booking_id', 'line_no', 'note'], ['booking_id', 'line_no']);
    expect(keys.distinct.size).toBe(3);
    expect(keys.distinctColumns).toEqual([
      [7, 7, 8],
      [1, 2, 1],
    ]);
    expect(setKeys(set, ['booking_id', 'line_no', 'note'], ['booking_id']).distinctColumns).toEqual([[7, 8, 9]]);
  });

  it('keeps integers spread wider than a bitmap may span in a Set, with the same answers', () => {
    const rows: RowKey[] = [0, 2 ** 30, 5, null, 2 ** 30];
    const distinct = setKeys(setOf(rows), ['id'], ['id']).distinct;
    expect(distinct.size).toBe(3);
    expect([0, 5, 2 ** 30, 1, null].map((k) => distinct.has(k))).toEqual([true, true, true, false, false]);
  });
});
