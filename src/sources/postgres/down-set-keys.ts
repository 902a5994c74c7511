/**
 * The rows of a {@link DownSet} as keys for comparing sets in memory: one string per row for some of
 * its columns, NUL-separated (PostgreSQL text holds no NUL), null where a column is NULL.
 */
import { parse as parseArray } from 'postgres-array';
import type { DownSet } from './subset-sql.js';

/** Parsed array literals, per set: sets read by a query carry only those. */
const parsedSets = new WeakMap<DownSet, readonly (readonly (string | null)[])[]>();

/**
 * Each row's values of `columns` as one key. `names` are the set's columns in order.
 *
 * @example const keys = rowKeys(set, ['id', 'hotel_id'], ['hotel_id']) // ['100', '100', null, ...]
 */
export function rowKeys(set: DownSet, names: readonly string[], columns: readonly string[]): readonly (string | null)[] {
  const values = set.values ?? parsedSets.get(set) ?? set.arrays.map((array) => parseArray(array) as (string | null)[]);
  if (!set.values) parsedSets.set(set, values);
  const picked = columns.map((column) => values[names.indexOf(column)]!);
  if (picked.length === 1) return picked[0]!;
  return Array.from({ length: set.rows }, (_, row) => {
    const tuple = picked.map((column) => column[row]!);
    return tuple.some((value) => value === null) ? null : tuple.join('\u0000');
  });
}

/** The values of a key from {@link rowKeys}, one per column. */
export function keyValues(key: string): string[] {
  return key.split('\u0000');
}
