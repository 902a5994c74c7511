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

/** The values of `columns` in a set, one array per column. `names` are the set's columns in order. */
function columnValues(set: DownSet, names: readonly string[], columns: readonly string[]): readonly (readonly SetValue[])[] {
  const values = set.values ?? parsedSets.get(set) ?? set.arrays.map((array) => (parseArray(array) as (string | null)[]).map(setValue));
  if (!set.values) parsedSets.set(set, values);
  return columns.map((column) => values[names.indexOf(column)]!);
}

/**
 * Each row's values of some columns (`picked`, from {@link columnValues}) as one key.
 *
 * For example, with one column hotel_id: `[100, 100, null]`.
 */
function rowKeys(picked: readonly (readonly SetValue[])[], rows: number): readonly RowKey[] {
  if (picked.length === 1) return picked[0]!;
  // A plain loop: sets reach hundreds of thousands of rows, and a tuple array per row cost three times as much.
  const keys = new Array<RowKey>(rows);
  for (let row = 0; row < rows; row++) {
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
  readonly distinct: KeySet;
  /** The distinct keys' values, one array per column, in the order `distinct` lists them. */
  readonly distinctColumns: readonly (readonly SetValue[])[];
}

/**
 * The distinct keys of a set, for membership tests and for writing them into SQL. Integer keys held
 * as a bitmap come out in ascending order (the order of the index a query probes with them); others
 * in the rows' order.
 */
export interface KeySet extends Iterable<string | number> {
  readonly size: number;
  has(key: RowKey): boolean;
}

/** A set's distinct keys and their values per column, in the same order. */
interface DistinctKeys {
  readonly keys: KeySet;
  readonly columns: readonly (readonly SetValue[])[];
}

/** Integers spanning at most this many values are held as a bitmap (16 MB at most), others in a Set. */
const BITMAP_SPAN = 2 ** 27;

/**
 * The distinct non-null keys of `rows`, with their values per column (`picked`). Integer keys of one
 * column (a tenant's ids, usually) go into a bitmap over their span: built and probed without hashing,
 * and no hash table for the garbage collector to sweep (at 1% of 24 GB the closure's and the checks'
 * Sets cost ~0.3 s of the main thread).
 */
function distinctKeys(rows: readonly RowKey[], picked: readonly (readonly SetValue[])[]): DistinctKeys {
  let min = Infinity;
  let max = -Infinity;
  for (const key of rows) {
    if (key === null) continue;
    if (typeof key !== 'number') return hashed(rows, picked);
    if (key < min) min = key;
    if (key > max) max = key;
  }
  if (min === Infinity || max - min >= BITMAP_SPAN) return hashed(rows, picked);
  const keys = new IntegerBitmap(rows as readonly (number | null)[], min, max);
  let columns: SetValue[][] | undefined;
  return {
    keys,
    get columns() {
      return (columns ??= [[...keys]]);
    },
  };
}

/** The distinct keys in a Set, in the rows' order; each column's values taken from the key's first row. */
function hashed(rows: readonly RowKey[], picked: readonly (readonly SetValue[])[]): DistinctKeys {
  const keys = new Set<string | number>();
  const firstRows: number[] = [];
  for (let row = 0; row < rows.length; row++) {
    const key = rows[row]!;
    if (key === null || keys.has(key)) continue;
    keys.add(key);
    firstRows.push(row);
  }
  return { keys, columns: picked.map((values) => firstRows.map((row) => values[row]!)) };
}

class IntegerBitmap implements KeySet {
  readonly #bits: Uint8Array;
  readonly #min: number;
  readonly size: number;

  constructor(rows: readonly (number | null)[], min: number, max: number) {
    const bits = new Uint8Array(Math.floor((max - min) / 8) + 1);
    let size = 0;
    for (const key of rows) {
      if (key === null) continue;
      const at = key - min;
      const mask = 1 << (at & 7);
      if ((bits[at >>> 3]! & mask) === 0) {
        bits[at >>> 3]! |= mask;
        size++;
      }
    }
    this.#bits = bits;
    this.#min = min;
    this.size = size;
  }

  has(key: RowKey): boolean {
    if (typeof key !== 'number') return false;
    const at = key - this.#min;
    return at >= 0 && at < this.#bits.length * 8 && (this.#bits[at >>> 3]! & (1 << (at & 7))) !== 0;
  }

  [Symbol.iterator](): IterableIterator<number> {
    // Into an array with plain loops, then its iterator: a generator yielding each key cost 4× as much.
    const bits = this.#bits;
    const keys = new Array<number>(this.size);
    let next = 0;
    for (let byte = 0; byte < bits.length; byte++) {
      const value = bits[byte]!;
      if (value === 0) continue;
      for (let bit = 0; bit < 8; bit++) if (value & (1 << bit)) keys[next++] = this.#min + byte * 8 + bit;
    }
    return keys.values();
  }
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
    const picked = columnValues(set, names, columns);
    const rows = rowKeys(picked, set.rows);
    let distinct: DistinctKeys | undefined;
    keys = {
      rows,
      // Made when first asked for: a child's side of a comparison needs only the rows.
      get distinct() {
        return (distinct ??= distinctKeys(rows, picked)).keys;
      },
      get distinctColumns() {
        return (distinct ??= distinctKeys(rows, picked)).columns;
      },
    };
    bySet.set(cacheKey, keys);
  }
  return keys;
}
