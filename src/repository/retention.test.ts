import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCalendarDuration } from '../core/units.js';
import {
  applyRetentionPolicy,
  formatDuration,
  isEmptyPolicy,
  type GroupField,
  type RetentionGroup,
  type RetentionPolicy,
  type SnapshotSummary,
} from './retention.js';

let counter = 0;
function snap(time: string, extra: Partial<SnapshotSummary> = {}): SnapshotSummary {
  counter++;
  return { id: `s${String(counter).padStart(4, '0')}`, time: new Date(time), host: 'db1', paths: ['/data'], tags: [], ...extra };
}

const NOW = new Date('2030-01-01T00:00:00Z');

/** The only group's kept snapshots as `time → reasons`, and the removed times. */
function single(groups: RetentionGroup[]): { keep: Record<string, readonly string[]>; remove: string[] } {
  expect(groups).toHaveLength(1);
  const [group] = groups;
  return {
    keep: Object.fromEntries(group!.keep.map(({ snapshot, reasons }) => [snapshot.time.toISOString(), reasons])),
    remove: group!.remove.map((snapshot) => snapshot.time.toISOString()),
  };
}

const iso = (text: string): string => new Date(text).toISOString();

describe('applyRetentionPolicy: count rules', () => {
  const hourly = [
    '2024-03-10T10:05:00Z',
    '2024-03-10T10:45:00Z',
    '2024-03-10T11:15:00Z',
    '2024-03-10T12:30:00Z',
    '2024-03-10T12:59:59Z',
  ].map((time) => snap(time));

  it('keep-last keeps the n newest', () => {
    const { keep, remove } = single(applyRetentionPolicy(hourly, { keepLast: 2 }, NOW));
    expect(keep).toEqual({ [iso('2024-03-10T12:59:59Z')]: ['last snapshot'], [iso('2024-03-10T12:30:00Z')]: ['last snapshot'] });
    expect(remove).toEqual(['2024-03-10T11:15:00Z', '2024-03-10T10:45:00Z', '2024-03-10T10:05:00Z'].map(iso));
  });

  it('keep-hourly keeps the newest snapshot of each of the n newest hours', () => {
    const { keep } = single(applyRetentionPolicy(hourly, { keepHourly: 2 }, NOW));
    expect(Object.keys(keep)).toEqual(['2024-03-10T12:59:59Z', '2024-03-10T11:15:00Z'].map(iso));
  });

  it('keeps the oldest snapshot too when a rule has count left (restic ≥ 0.16)', () => {
    const { keep, remove } = single(applyRetentionPolicy(hourly, { keepHourly: 5 }, NOW));
    expect(keep).toEqual({
      [iso('2024-03-10T12:59:59Z')]: ['hourly snapshot'],
      [iso('2024-03-10T11:15:00Z')]: ['hourly snapshot'],
      [iso('2024-03-10T10:45:00Z')]: ['hourly snapshot'],
      [iso('2024-03-10T10:05:00Z')]: ['oldest hourly snapshot'],
    });
    expect(remove).toEqual([iso('2024-03-10T12:30:00Z')]);
  });

  it('keep-daily buckets by UTC day', () => {
    const list = ['2024-03-08T23:59:59Z', '2024-03-09T00:00:00Z', '2024-03-09T22:00:00Z', '2024-03-10T01:00:00Z'].map((t) => snap(t));
    const { keep, remove } = single(applyRetentionPolicy(list, { keepDaily: 2 }, NOW));
    expect(Object.keys(keep)).toEqual(['2024-03-10T01:00:00Z', '2024-03-09T22:00:00Z'].map(iso));
    expect(remove).toEqual(['2024-03-09T00:00:00Z', '2024-03-08T23:59:59Z'].map(iso));
  });

  it('keep-weekly uses ISO weeks (Monday to Sunday), also across a year boundary', () => {
    const list = [
      '2020-12-27T12:00:00Z', // Sunday, 2020-W52
      '2020-12-31T12:00:00Z', // Thursday, 2020-W53
      '2021-01-03T12:00:00Z', // Sunday, still 2020-W53
      '2021-01-04T00:00:00Z', // Monday, 2021-W01
    ].map((t) => snap(t));
    const { keep, remove } = single(applyRetentionPolicy(list, { keepWeekly: 3 }, NOW));
    expect(Object.keys(keep)).toEqual(['2021-01-04T00:00:00Z', '2021-01-03T12:00:00Z', '2020-12-27T12:00:00Z'].map(iso));
    expect(remove).toEqual([iso('2020-12-31T12:00:00Z')]);

    // 2024-12-30 (Monday) opens 2025-W01, which also holds 2025-01-05 (Sunday).
    const turn = ['2024-12-29T12:00:00Z', '2024-12-30T12:00:00Z', '2025-01-05T12:00:00Z'].map((t) => snap(t));
    const weekly = single(applyRetentionPolicy(turn, { keepWeekly: 1 }, NOW));
    expect(Object.keys(weekly.keep)).toEqual([iso('2025-01-05T12:00:00Z')]);
  });

  it('keep-monthly and keep-yearly bucket by calendar month and year', () => {
    const list = ['2022-12-31T23:00:00Z', '2023-01-01T01:00:00Z', '2023-01-20T00:00:00Z', '2023-02-01T00:00:00Z'].map((t) => snap(t));
    const monthly = single(applyRetentionPolicy(list, { keepMonthly: 2 }, NOW));
    expect(Object.keys(monthly.keep)).toEqual(['2023-02-01T00:00:00Z', '2023-01-20T00:00:00Z'].map(iso));
    const yearly = single(applyRetentionPolicy(list, { keepYearly: 1 }, NOW));
    expect(Object.keys(yearly.keep)).toEqual([iso('2023-02-01T00:00:00Z')]);
  });

  it('-1 means unlimited: one snapshot per bucket, for all buckets', () => {
    const list = Array.from({ length: 30 }, (_, i) => snap(new Date(Date.UTC(2024, 0, 1 + Math.floor(i / 2), i % 2)).toISOString()));
    const { keep, remove } = single(applyRetentionPolicy(list, { keepDaily: -1 }, NOW));
    expect(Object.keys(keep)).toHaveLength(16); // 15 days plus the oldest snapshot
    expect(remove).toHaveLength(14);
    expect(single(applyRetentionPolicy(list, { keepLast: -1 }, NOW)).remove).toEqual([]);
  });

  it('lists every reason that keeps a snapshot', () => {
    const list = [snap('2024-05-02T10:00:00Z', { tags: ['release'] }), snap('2024-05-01T10:00:00Z'), snap('2024-04-01T10:00:00Z')];
    const policy: RetentionPolicy = { keepLast: 1, keepDaily: 1, keepWithin: parseCalendarDuration('30d'), keepTags: ['release'] };
    const { keep, remove } = single(applyRetentionPolicy(list, policy, NOW));
    expect(keep).toEqual({
      [iso('2024-05-02T10:00:00Z')]: ['has tag release', 'within 30d', 'last snapshot', 'daily snapshot'],
      [iso('2024-05-01T10:00:00Z')]: ['within 30d'],
    });
    expect(remove).toEqual([iso('2024-04-01T10:00:00Z')]);
  });
});

describe('applyRetentionPolicy: keep-within and keep-tag', () => {
  it('measures keep-within from the newest snapshot, not from now', () => {
    const list = ['2024-06-30T00:00:00Z', '2024-06-01T00:00:01Z', '2024-06-01T00:00:00Z', '2024-01-01T00:00:00Z'].map((t) => snap(t));
    const { keep, remove } = single(applyRetentionPolicy(list, { keepWithin: parseCalendarDuration('29d') }, NOW));
    expect(Object.keys(keep)).toEqual(['2024-06-30T00:00:00Z', '2024-06-01T00:00:01Z'].map(iso));
    // Exactly at the cutoff is not within.
    expect(remove).toEqual(['2024-06-01T00:00:00Z', '2024-01-01T00:00:00Z'].map(iso));
    expect(single(applyRetentionPolicy(list, { keepWithin: parseCalendarDuration('1y') }, NOW)).remove).toEqual([]);
  });

  it('ignores snapshots dated after now when finding the newest', () => {
    const list = ['2031-01-01T00:00:00Z', '2029-12-20T00:00:00Z', '2029-12-01T00:00:00Z'].map((t) => snap(t));
    const { keep, remove } = single(applyRetentionPolicy(list, { keepWithin: parseCalendarDuration('7d') }, NOW));
    expect(Object.keys(keep)).toEqual(['2031-01-01T00:00:00Z', '2029-12-20T00:00:00Z'].map(iso));
    expect(remove).toEqual([iso('2029-12-01T00:00:00Z')]);
    // All in the future: nothing to measure from, so everything is kept.
    const all = single(applyRetentionPolicy(list, { keepWithin: parseCalendarDuration('7d') }, new Date('2020-01-01T00:00:00Z')));
    expect(all.remove).toEqual([]);
  });

  it('keep-tag keeps snapshots carrying any of the tags', () => {
    const list = [snap('2024-01-03T00:00:00Z', { tags: ['a'] }), snap('2024-01-02T00:00:00Z', { tags: ['b', 'c'] }), snap('2024-01-01T00:00:00Z', { tags: ['d'] })];
    const { keep } = single(applyRetentionPolicy(list, { keepTags: ['c', 'd'] }, NOW));
    expect(keep).toEqual({ [iso('2024-01-02T00:00:00Z')]: ['has tag c'], [iso('2024-01-01T00:00:00Z')]: ['has tag d'] });
  });
});

describe('applyRetentionPolicy: groups', () => {
  const list = [
    snap('2024-01-03T00:00:00Z', { host: 'b', paths: ['/y', '/x'], tags: ['t'] }),
    snap('2024-01-02T00:00:00Z', { host: 'a', paths: ['/x', '/y'], source: 'pg' }),
    snap('2024-01-01T00:00:00Z', { host: 'a', paths: ['/x'], tenant: 'acme' }),
  ];

  it('groups by host and paths by default, paths in any order', () => {
    const groups = applyRetentionPolicy(list, { keepLast: 1 }, NOW);
    expect(groups.map((group) => group.key)).toEqual([
      { host: 'a', paths: ['/x'] },
      { host: 'a', paths: ['/x', '/y'] },
      { host: 'b', paths: ['/x', '/y'] },
    ]);
    expect(groups.every((group) => group.keep.length === 1 && group.remove.length === 0)).toBe(true);
  });

  it('groups by the chosen fields, or not at all', () => {
    const byHost = applyRetentionPolicy(list, { keepLast: 1, groupBy: ['host'] }, NOW);
    expect(byHost.map((group) => [group.key, group.keep.length, group.remove.length])).toEqual([
      [{ host: 'a' }, 1, 1],
      [{ host: 'b' }, 1, 0],
    ]);
    const byTenant = applyRetentionPolicy(list, { keepLast: 1, groupBy: ['tenant', 'source', 'tags'] }, NOW);
    expect(byTenant.map((group) => group.key)).toEqual([
      { tags: [], source: '', tenant: 'acme' },
      { tags: [], source: 'pg', tenant: '' },
      { tags: ['t'], source: '', tenant: '' },
    ]);
    const all = applyRetentionPolicy(list, { keepLast: 1, groupBy: [] }, NOW);
    expect(all).toHaveLength(1);
    expect(all[0]!.key).toEqual({});
    expect(all[0]!.keep.map(({ snapshot }) => snapshot.host)).toEqual(['b']);
  });

  it('returns an empty list for no snapshots', () => {
    expect(applyRetentionPolicy([], { keepLast: 1 }, NOW)).toEqual([]);
  });
});

describe('policy checks', () => {
  it('detects an empty policy, which keeps everything', () => {
    expect(isEmptyPolicy({})).toBe(true);
    expect(isEmptyPolicy({ groupBy: ['host'], keepLast: 0, keepTags: [], keepWithin: parseCalendarDuration('0d') })).toBe(true);
    expect(isEmptyPolicy({ keepLast: -1 })).toBe(false);
    expect(isEmptyPolicy({ keepTags: ['x'] })).toBe(false);
    expect(isEmptyPolicy({ keepWithin: parseCalendarDuration('1h') })).toBe(false);
    const list = [snap('2024-01-02T00:00:00Z'), snap('2024-01-01T00:00:00Z')];
    const { keep, remove } = single(applyRetentionPolicy(list, {}, NOW));
    expect(Object.values(keep)).toEqual([['policy is empty'], ['policy is empty']]);
    expect(remove).toEqual([]);
  });

  it.each<[string, RetentionPolicy]>([
    ['negative count', { keepDaily: -2 }],
    ['fractional count', { keepLast: 1.5 }],
    ['NaN count', { keepWeekly: NaN }],
    ['negative duration', { keepWithin: { years: 0, months: 0, days: -1, hours: 0 } }],
    ['empty tag', { keepTags: [''] }],
    ['unknown group field', { keepLast: 1, groupBy: ['hostname' as GroupField] }],
  ])('rejects a %s with USAGE', (_, policy) => {
    expect(() => applyRetentionPolicy([snap('2024-01-01T00:00:00Z')], policy, NOW)).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });

  it('rejects a snapshot with an invalid time as CORRUPT', () => {
    expect(() => applyRetentionPolicy([snap('not a date')], { keepLast: 1 }, NOW)).toThrow(expect.objectContaining({ code: 'CORRUPT' }));
  });

  it('formats durations the way they are written', () => {
    expect(formatDuration(parseCalendarDuration('1y6m'))).toBe('1y6m');
    expect(formatDuration(parseCalendarDuration('2w12h'))).toBe('14d12h');
  });
});

describe('applyRetentionPolicy: properties', () => {
  const START = Date.UTC(2023, 0, 1);
  const time = fc.oneof(
    fc.integer({ min: START, max: START + 3 * 86_400_000 }), // dense: many snapshots per hour and day
    fc.integer({ min: START, max: START + 3 * 365 * 86_400_000 }),
  );
  const snapshots = fc
    .array(
      fc.record({
        time,
        host: fc.constantFrom('a', 'b'),
        paths: fc.subarray(['/x', '/y']),
        tags: fc.subarray(['t1', 't2', 't3']),
      }),
      { maxLength: 60 },
    )
    .map((list) => list.map((s, i): SnapshotSummary => ({ ...s, id: `id${i}`, time: new Date(s.time) })));
  const count = fc.option(fc.integer({ min: -1, max: 6 }), { nil: undefined });
  const policy = fc.record(
    {
      keepLast: count,
      keepHourly: count,
      keepDaily: count,
      keepWeekly: count,
      keepMonthly: count,
      keepYearly: count,
      keepWithin: fc.record({ years: fc.nat(1), months: fc.nat(3), days: fc.nat(40), hours: fc.nat(48) }),
      keepTags: fc.subarray(['t1', 't2', 't3']),
      groupBy: fc.subarray<GroupField>(['host', 'paths', 'tags']),
    },
    { requiredKeys: ['groupBy'] },
  );
  const now = fc.integer({ min: START, max: START + 4 * 365 * 86_400_000 }).map((ms) => new Date(ms));

  const keptIds = (groups: RetentionGroup[]): Set<string> => new Set(groups.flatMap((g) => g.keep.map((k) => k.snapshot.id)));
  const removedIds = (groups: RetentionGroup[]): string[] => groups.flatMap((g) => g.remove.map((s) => s.id));

  it('splits the input into kept and removed, without overlap', () => {
    fc.assert(
      fc.property(snapshots, policy, now, (list, p, at) => {
        const groups = applyRetentionPolicy(list, p, at);
        const kept = [...keptIds(groups)];
        const removed = removedIds(groups);
        expect([...kept, ...removed].sort()).toEqual(list.map((s) => s.id).sort());
        expect(kept.length + removed.length).toBe(list.length);
      }),
    );
  });

  it('keep-last n alone keeps exactly the min(n, size) newest of each group', () => {
    fc.assert(
      fc.property(snapshots, fc.integer({ min: 1, max: 8 }), fc.subarray<GroupField>(['host', 'paths', 'tags']), (list, n, groupBy) => {
        for (const group of applyRetentionPolicy(list, { keepLast: n, groupBy }, NOW)) {
          const size = group.keep.length + group.remove.length;
          expect(group.keep).toHaveLength(Math.min(n, size));
          const oldestKept = Math.min(...group.keep.map((k) => k.snapshot.time.getTime()));
          expect(group.remove.every((s) => s.time.getTime() <= oldestKept)).toBe(true);
        }
      }),
    );
  });

  it('keeps the newest snapshot of every group when any count rule is set', () => {
    fc.assert(
      fc.property(snapshots, policy, now, (list, p, at) => {
        const counts = [p.keepLast, p.keepHourly, p.keepDaily, p.keepWeekly, p.keepMonthly, p.keepYearly];
        fc.pre(counts.some((c) => c !== undefined && c !== 0));
        for (const group of applyRetentionPolicy(list, p, at)) {
          const newest = Math.max(...[...group.keep.map((k) => k.snapshot), ...group.remove].map((s) => s.time.getTime()));
          expect(group.keep[0]!.snapshot.time.getTime()).toBe(newest);
        }
      }),
    );
  });

  it('is idempotent: applied to what it keeps, it keeps all of it', () => {
    fc.assert(
      fc.property(snapshots, policy, now, (list, p, at) => {
        const kept = keptIds(applyRetentionPolicy(list, p, at));
        const again = applyRetentionPolicy(list.filter((s) => kept.has(s.id)), p, at);
        expect(removedIds(again)).toEqual([]);
      }),
    );
  });

  it('never removes more when a rule is added', () => {
    const rule = fc.oneof(
      fc.record({ keepLast: fc.integer({ min: -1, max: 5 }) }),
      fc.record({ keepDaily: fc.integer({ min: -1, max: 5 }) }),
      fc.record({ keepWeekly: fc.integer({ min: -1, max: 5 }) }),
      fc.record({ keepYearly: fc.integer({ min: -1, max: 5 }) }),
      fc.record({ keepWithin: fc.record({ years: fc.constant(0), months: fc.nat(2), days: fc.nat(10), hours: fc.nat(5) }) }),
      fc.record({ keepTags: fc.subarray(['t1', 't2']) }),
    );
    fc.assert(
      fc.property(snapshots, policy, rule, now, (list, p, extra, at) => {
        const base: Record<string, unknown> = { ...p };
        for (const key of Object.keys(extra)) delete base[key];
        fc.pre(!isEmptyPolicy(base as RetentionPolicy));
        const before = keptIds(applyRetentionPolicy(list, base as RetentionPolicy, at));
        const after = keptIds(applyRetentionPolicy(list, { ...base, ...extra } as RetentionPolicy, at));
        for (const id of before) expect(after.has(id)).toBe(true);
      }),
    );
  });
});
