/**
 * The rows of a {@link DownSet} as keys for comparing sets in memory: for one column its
 * {@link SetValue}s, for several one string per row, the values' text NUL-separated (PostgreSQL text
 * holds no NUL); null where a column is NULL.
 */
import { parse as parseArray } from 'postgres-array';
import { setValue, type DownSet, type SetValue } from './down-set.js';

/** A row's key: a {@link SetValue}, or a string for several columns. */
export type RowKey = SetValue;

/** Parsed array literals, per set: sets read by a query carry only those. */
const parsedSets = new WeakMap<DownSet, readonly (readonly SetValue[])[]>();

/**
 * Each row's values of `columns` as one key. `names` are the set's columns in order.
 *
 * For example, with `names` id and hotel_id and `columns` hotel_id: `[100, 100, null]`.
 */
function rowKeys(set: DownSet, names: readonly string[], columns: readonly string[]): readonly RowKey[] {
  const values = set.values ?? parsedSets.get(set) ?? set.arrays.map((array) => (parseArray(array) as (string | null)[]).map(setValue));
  if (!set.values) parsedSets.set(set, values);
  const picked = columns.map((column) => values[names.indexOf(column)]!);
  if (picked.length === 1) return picked[0]!;
  // A plain loop: sets reach hundreds of thousands of rows, and a tuple array per row cost three times as much.
  const keys = new Array<RowKey>(set.rows);
  for (let row = 0; row < set.rows; row++) {
    let key: RowKey = picked[0]![row]!;
    for (let column = 1; column < picked.length && key !== null; column++) {
      const value = picked[column]![row]!;
      key = value === null ? null : `${key}\u0000${value}`;
    }
    keys[row] = key;
  }
  return keys;
}

/** A set's keys for some columns: one per row (null: a NULL column), and the distinct ones. */
export interface SetKeys {
  readonly rows: readonly RowKey[];
  readonly distinct: ReadonlySet<string | number>;
}

const keysBySet = new WeakMap<DownSet, Map<string, SetKeys>>();

/**
 * {@link rowKeys} and the distinct keys, made once per set and columns: the checks after the copies and
 * the closure compare the same sets.
 *
 * @example const inParent = setKeys(parent, parentNames, ['id']).distinct
 */
export function setKeys(set: DownSet, names: readonly string[], columns: readonly string[]): SetKeys {
  let bySet = keysBySet.get(set);
  if (!bySet) keysBySet.set(set, (bySet = new Map()));
  const cacheKey = columns.join('\u0000');
  let keys = bySet.get(cacheKey);
  if (!keys) {
    const rows = rowKeys(set, names, columns);
    let distinct: Set<string | number> | undefined;
    keys = {
      rows,
      // Made when first asked for: a child's side of a comparison needs only the rows.
      get distinct() {
        if (!distinct) {
          const all = new Set(rows);
          all.delete(null);
          distinct = all as Set<string | number>;
        }
        return distinct;
      },
    };
    bySet.set(cacheKey, keys);
  }
  return keys;
}

/** The values of a key from {@link rowKeys}, one per column. */
export function keyValues(key: string): string[] {
  return key.split('\u0000');
}
