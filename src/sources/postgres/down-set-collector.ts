/**
 * A table's down set taken from the COPY text of its rows as they stream into the repository, so the
 * tables below it are selected from a literal set without a second pass over the table.
 */
import { arrayLiteral, setValue, type DownSet, type SetValue } from './down-set.js';

const NEWLINE = 0x0a;

/** The escapes COPY TO writes in text format (`CopyAttributeOutText`); any other character stands for itself. */
const ESCAPES: Readonly<Record<string, string>> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** Values (rows × columns) several collectors may still take together; shared by reference. */
export interface ValueBudget {
  left: number;
}

/**
 * Collects the values of some columns of COPY text rows, up to `limit` rows and while `budget` lasts.
 *
 * @example
 * const collector = new DownSetCollector([0, 2], 100_000, { left: 1_000_000 });
 * for await (const chunk of copyStream) collector.push(chunk);
 * const set = collector.finish(); // undefined when over the limit or the budget
 */
export class DownSetCollector {
  /** For each field of a row up to the last wanted one: its place in the set, or -1. */
  readonly #slots: readonly number[];
  readonly #limit: number;
  readonly #budget: ValueBudget;
  readonly #values: SetValue[][];
  #rows = 0;
  #rest: Buffer = Buffer.alloc(0);
  #over = false;

  /** `columns`: positions in the COPY row, in the order the set lists them. */
  constructor(columns: readonly number[], limit: number, budget: ValueBudget) {
    this.#slots = Array.from({ length: Math.max(-1, ...columns) + 1 }, (_, field) => columns.indexOf(field));
    this.#limit = limit;
    this.#budget = budget;
    this.#values = columns.map(() => []);
  }

  push(chunk: Buffer): void {
    if (this.#over) return;
    const data = this.#rest.length > 0 ? Buffer.concat([this.#rest, chunk]) : chunk;
    const end = data.lastIndexOf(NEWLINE);
    if (end < 0) {
      this.#rest = Buffer.from(data);
      return;
    }
    // A newline byte never occurs inside a UTF-8 sequence, so whole lines decode on their own.
    const text = data.toString('utf8', 0, end);
    this.#rest = Buffer.from(data.subarray(end + 1));
    const slots = this.#slots;
    for (let start = 0; start <= text.length; ) {
      let lineEnd = text.indexOf('\n', start);
      if (lineEnd < 0) lineEnd = text.length;
      this.#budget.left -= this.#values.length;
      if (++this.#rows > this.#limit || this.#budget.left < 0) {
        // What this set took goes back to the others.
        this.#budget.left += this.#rows * this.#values.length;
        this.#over = true;
        this.#values.length = 0;
        return;
      }
      // Only the fields up to the last wanted one are cut out of the line.
      for (let field = 0, from = start; field < slots.length; field++) {
        let to = text.indexOf('\t', from);
        if (to < 0 || to > lineEnd) to = lineEnd;
        const slot = slots[field]!;
        if (slot >= 0) this.#values[slot]!.push(integerAt(text, from, to) ?? setValue(decodeField(text.slice(from, to))));
        from = to + 1;
      }
      start = lineEnd + 1;
    }
  }

  /** The set, or undefined when the rows were more than the limit or the budget. Its array literals are made when first read. */
  finish(): DownSet | undefined {
    if (this.#over) return undefined;
    const values = this.#values;
    let arrays: readonly string[] | undefined;
    return {
      rows: this.#rows,
      values,
      get arrays() {
        return (arrays ??= values.map(arrayLiteral));
      },
    };
  }
}

/**
 * The field `text[from, to)` as a number when it is a canonical integer of at most 15 digits (always
 * exact), read without cutting a string out of the line; undefined otherwise (then {@link setValue}
 * decides, which agrees for every text this accepts).
 */
function integerAt(text: string, from: number, to: number): number | undefined {
  const negative = text.charCodeAt(from) === 0x2d;
  let at = negative ? from + 1 : from;
  const digits = to - at;
  if (digits < 1 || digits > 15) return undefined;
  if (text.charCodeAt(at) === 0x30) return digits === 1 && !negative ? 0 : undefined;
  let value = 0;
  for (; at < to; at++) {
    const digit = text.charCodeAt(at) - 0x30;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}

/** One field of COPY TO text output: `\N` is NULL, backslash sequences are unescaped. */
export function decodeField(field: string): string | null {
  if (field === '\\N') return null;
  if (!field.includes('\\')) return field;
  return field.replace(/\\(.)/gs, (_, code: string) => ESCAPES[code] ?? code);
}
