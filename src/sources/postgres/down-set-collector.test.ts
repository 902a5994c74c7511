import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../test/postgres.js';
import { quoteLiteral } from '../../postgres/catalog.js';
import { DownSetCollector } from './down-set-collector.js';
import { arrayLiteral, setValue } from './down-set.js';

describe('DownSetCollector', () => {
  const pg = useTestDatabase('collector');

  it('reads back exactly the keys PostgreSQL wrote as COPY text, whatever the characters and however the stream is cut', async () => {
    // Text with every character COPY escapes, quotes, braces, commas, spaces, non-ASCII; NULL too.
    const text = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', '\t', '\n', '\r', '\\', '"', "'", '{', '}', ',', 'é', '€', '😀', '\b', '\f', '\v'), maxLength: 8 });
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.tuple(text, fc.option(text)), { minLength: 0, maxLength: 12, selector: ([k]) => k }), fc.integer({ min: 1, max: 7 }), async (rows, cut) => {
        await pg.session.query('DROP TABLE IF EXISTS t; CREATE TABLE t (k text PRIMARY KEY, payload text, v text)');
        for (const [k, v] of rows) await pg.session.query(`INSERT INTO t VALUES (${quoteLiteral(k)}, 'x\ty', ${v === null ? 'NULL' : quoteLiteral(v)})`);
        const collector = new DownSetCollector([2, 0], 1000, { left: Infinity });
        for await (const chunk of pg.session.copyOut('COPY (SELECT k, payload, v FROM t ORDER BY k) TO STDOUT') as AsyncIterable<Buffer>) {
          for (let at = 0; at < chunk.length; at += cut) collector.push(chunk.subarray(at, at + cut));
        }
        const set = collector.finish()!;
        expect(set.rows).toBe(rows.length);
        const back = await pg.session.query<{ k: string; v: string | null }>(
          `SELECT k, v FROM unnest(${quoteLiteral(set.arrays[1]!)}::text[], ${quoteLiteral(set.arrays[0]!)}::text[]) AS s(k, v) ORDER BY k`,
        );
        const sorted = (await pg.session.query<{ k: string; v: string | null }>('SELECT k, v FROM t ORDER BY k')).rows;
        expect(back.rows).toEqual(sorted);
        expect(set.values).toEqual([sorted.map((r) => r.v), sorted.map((r) => r.k)]);
      }),
      { numRuns: 60 },
    );
  });

  it('holds canonical safe integers as numbers and every other text as itself, so equal texts stay equal values', () => {
    const digits = fc.string({ unit: fc.constantFrom('0', '1', '7', '9', '-', '+', ' ', 'e', '.'), maxLength: 19 });
    const numeric = fc.oneof(digits, fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String), fc.integer().map(String));
    fc.assert(
      fc.property(fc.array(numeric, { minLength: 1, maxLength: 20 }), (texts) => {
        const collector = new DownSetCollector([0], 100, { left: Infinity });
        collector.push(Buffer.from(texts.map((text) => `${text}\tpayload\n`).join('')));
        const values = collector.finish()!.values![0]!;
        texts.forEach((text, i) => {
          const value = values[i];
          expect(value).toBe(setValue(text));
          expect(String(value)).toBe(text);
          if (typeof value === 'number') expect(Number.isSafeInteger(value) && !Object.is(value, -0)).toBe(true);
        });
        for (const [i, a] of texts.entries()) for (const [j, b] of texts.entries()) expect(values[i] === values[j]).toBe(a === b);
      }),
      { numRuns: 300 },
    );
  });

  it('writes sets of integers, texts and NULLs as array literals PostgreSQL reads back as the same values', async () => {
    const value = fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.maxSafeInteger(), fc.constant(null), fc.constantFrom('x', '"q"', 'a\\b', 'NULL', '{1}', ' 7 '));
    await fc.assert(
      fc.asyncProperty(fc.array(value, { maxLength: 10 }), async (values) => {
        const integers = values.filter((v): v is number | null => typeof v !== 'string');
        const asBigint = await pg.session.query<{ v: string | null }>(`SELECT v::text FROM unnest(${quoteLiteral(arrayLiteral(integers))}::bigint[]) AS s(v)`);
        expect(asBigint.rows.map((r) => r.v)).toEqual(integers.map((v) => (v === null ? null : String(v))));
        const asText = await pg.session.query<{ v: string | null }>(`SELECT v FROM unnest(${quoteLiteral(arrayLiteral(values))}::text[]) AS s(v)`);
        expect(asText.rows.map((r) => r.v)).toEqual(values.map((v) => (v === null ? null : String(v))));
      }),
      { numRuns: 60 },
    );
  });

  it('gives no set when the rows pass the limit', () => {
    const collector = new DownSetCollector([0], 2, { left: Infinity });
    collector.push(Buffer.from('1\n2\n3\n'));
    expect(collector.finish()).toBeUndefined();
  });

  it('shares a budget of values: a set that would pass it gives no set and hands back what it took', () => {
    const budget = { left: 7 };
    const first = new DownSetCollector([0, 1], 100, budget);
    first.push(Buffer.from('1\ta\n2\tb\n'));
    expect(budget.left).toBe(3);
    const second = new DownSetCollector([0, 1], 100, budget);
    second.push(Buffer.from('3\tc\n4\td\n'));
    expect(second.finish()).toBeUndefined();
    expect(budget.left).toBe(3);
    expect(first.finish()!.values).toEqual([[1, 2], ['a', 'b']]);
  });
});
