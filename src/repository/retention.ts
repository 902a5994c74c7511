/**
 * Retention ("forget") policies: which snapshots to keep. Pure logic with restic's semantics, so the
 * same flags mean the same thing to people who know restic.
 *
 * Snapshots are split into groups (by host and paths unless told otherwise) and each group is judged on
 * its own, newest first:
 * - `keepLast` n keeps the n newest snapshots;
 * - `keepHourly`/`Daily`/`Weekly`/`Monthly`/`Yearly` n keep the newest snapshot of each of the n newest
 *   hours/days/ISO weeks (Monday to Sunday)/months/years that have snapshots, all in UTC; if a rule still
 *   has count left when it reaches the group's oldest snapshot, that snapshot is kept too (restic ≥ 0.16,
 *   reason `oldest daily snapshot` etc.), so a short history is kept as long as possible;
 * - -1 as a count means unlimited: one snapshot per bucket however many buckets there are;
 * - `keepWithin` d keeps every snapshot newer than the group's newest snapshot minus d (snapshots dated
 *   after `now` do not count as newest, so a wrong clock cannot wipe the history);
 * - `keepTags` keeps every snapshot carrying at least one of the tags.
 * A snapshot is kept when any rule keeps it. A policy without any rule keeps everything.
 */
import { FailsafeError } from '../core/errors.js';
import { subtractCalendarDuration, type CalendarDuration } from '../core/units.js';

/** The fields of a snapshot the policy looks at. */
export interface SnapshotSummary {
  readonly id: string;
  readonly time: Date;
  readonly host: string;
  readonly paths: readonly string[];
  readonly tags: readonly string[];
  readonly source?: string;
  readonly tenant?: string;
}

export type GroupField = 'host' | 'paths' | 'tags' | 'source' | 'tenant';

export const GROUP_FIELDS: readonly GroupField[] = ['host', 'paths', 'tags', 'source', 'tenant'];

export interface RetentionPolicy {
  readonly keepLast?: number;
  readonly keepHourly?: number;
  readonly keepDaily?: number;
  readonly keepWeekly?: number;
  readonly keepMonthly?: number;
  readonly keepYearly?: number;
  /** A zero duration is no rule. */
  readonly keepWithin?: CalendarDuration;
  readonly keepTags?: readonly string[];
  /** Default `['host', 'paths']`, as restic; `[]` puts every snapshot in one group. */
  readonly groupBy?: readonly GroupField[];
}

/** The values a group shares; only the fields in `groupBy` are present (paths and tags sorted). */
export interface GroupKey {
  readonly host?: string;
  readonly paths?: readonly string[];
  readonly tags?: readonly string[];
  readonly source?: string;
  readonly tenant?: string;
}

export interface KeptSnapshot<S extends SnapshotSummary = SnapshotSummary> {
  readonly snapshot: S;
  /** Why it is kept, e.g. `['last snapshot', 'daily snapshot', 'within 30d', 'has tag release']`. */
  readonly reasons: readonly string[];
}

export interface RetentionGroup<S extends SnapshotSummary = SnapshotSummary> {
  readonly key: GroupKey;
  /** Newest first. */
  readonly keep: readonly KeptSnapshot<S>[];
  /** Newest first. */
  readonly remove: readonly S[];
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** 1970-01-01 was a Thursday; ISO weeks start on Monday, three days earlier. */
const EPOCH_WEEKDAY_OFFSET_DAYS = 3;

const COUNT_RULES = [
  { option: 'keepLast', reason: 'last snapshot', bucket: null },
  { option: 'keepHourly', reason: 'hourly snapshot', bucket: (ms: number) => Math.floor(ms / HOUR_MS) },
  { option: 'keepDaily', reason: 'daily snapshot', bucket: (ms: number) => Math.floor(ms / DAY_MS) },
  { option: 'keepWeekly', reason: 'weekly snapshot', bucket: isoWeekNumber },
  { option: 'keepMonthly', reason: 'monthly snapshot', bucket: monthNumber },
  { option: 'keepYearly', reason: 'yearly snapshot', bucket: (ms: number) => new Date(ms).getUTCFullYear() },
] as const;

type CountOption = (typeof COUNT_RULES)[number]['option'];

/**
 * True when the policy has no rule, i.e. applying it would keep everything. The CLI refuses to run
 * `forget` with such a policy rather than guess what the user meant.
 *
 * @example isEmptyPolicy({ groupBy: ['host'] }) === true
 */
export function isEmptyPolicy(policy: RetentionPolicy): boolean {
  return (
    COUNT_RULES.every(({ option }) => (policy[option] ?? 0) === 0) &&
    (policy.keepWithin === undefined || isZeroDuration(policy.keepWithin)) &&
    (policy.keepTags ?? []).length === 0
  );
}

/**
 * Checks a policy: counts must be integers ≥ -1 (-1 = unlimited), durations non-negative integers,
 * tags non-empty, group fields known. Throws `USAGE` otherwise.
 */
export function validateRetentionPolicy(policy: RetentionPolicy): void {
  for (const { option } of COUNT_RULES) {
    const value = policy[option];
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= -1)) {
      const expected = 'expected a whole number, or -1 for unlimited';
      throw new FailsafeError('USAGE', `invalid ${optionName(option)} ${value}: ${expected}`);
    }
  }
  const within = policy.keepWithin;
  if (within !== undefined) {
    const parts = [within.years, within.months, within.days, within.hours];
    if (!parts.every((part) => Number.isSafeInteger(part) && part >= 0)) {
      const text = JSON.stringify(within);
      throw new FailsafeError('USAGE', `invalid --keep-within ${text}: expected whole, non-negative parts`);
    }
  }
  for (const tag of policy.keepTags ?? []) {
    if (tag.length === 0) throw new FailsafeError('USAGE', 'invalid --keep-tag: a tag must not be empty');
  }
  for (const field of policy.groupBy ?? []) {
    if (!GROUP_FIELDS.includes(field)) {
      throw new FailsafeError('USAGE', `invalid --group-by "${field}": expected some of ${GROUP_FIELDS.join(', ')}`);
    }
  }
}

/**
 * Decides, per group, which snapshots a policy keeps and which it removes. Deletes nothing.
 *
 * @example
 * const groups = applyRetentionPolicy(snapshots, { keepDaily: 7, keepWeekly: 4, groupBy: ['host'] });
 * for (const group of groups) for (const snapshot of group.remove) plan.push(snapshot.id);
 */
export function applyRetentionPolicy<S extends SnapshotSummary>(
  snapshots: readonly S[],
  policy: RetentionPolicy,
  now: Date = new Date(),
): RetentionGroup<S>[] {
  validateRetentionPolicy(policy);
  for (const snapshot of snapshots) {
    if (Number.isNaN(snapshot.time.getTime())) {
      throw new FailsafeError('CORRUPT', `snapshot ${snapshot.id} has an invalid time`);
    }
  }
  const groups = new Map<string, { key: GroupKey; members: S[] }>();
  for (const snapshot of snapshots) {
    const key = groupKeyOf(snapshot, policy.groupBy ?? ['host', 'paths']);
    const text = JSON.stringify(key);
    const group = groups.get(text) ?? { key, members: [] };
    group.members.push(snapshot);
    groups.set(text, group);
  }
  return [...groups.values()]
    .sort((a, b) => compareGroupKeys(a.key, b.key))
    .map(({ key, members }) => ({ key, ...applyToGroup(members, policy, now) }));
}

function applyToGroup<S extends SnapshotSummary>(
  members: readonly S[],
  policy: RetentionPolicy,
  now: Date,
): { keep: KeptSnapshot<S>[]; remove: S[] } {
  const list = [...members].sort(newestFirst);
  if (isEmptyPolicy(policy)) {
    return { keep: list.map((snapshot) => ({ snapshot, reasons: ['policy is empty'] })), remove: [] };
  }
  const counters = COUNT_RULES.map((rule) => ({ ...rule, left: policy[rule.option] ?? 0, last: NaN }));
  const within = policy.keepWithin !== undefined && !isZeroDuration(policy.keepWithin) ? policy.keepWithin : undefined;
  const cutoff = within === undefined ? undefined : withinCutoff(list, within, now);
  const keepTags = policy.keepTags ?? [];
  const keep: KeptSnapshot<S>[] = [];
  const remove: S[] = [];
  list.forEach((snapshot, nr) => {
    const reasons: string[] = [];
    const ms = snapshot.time.getTime();
    for (const tag of keepTags) if (snapshot.tags.includes(tag)) reasons.push(`has tag ${tag}`);
    if (within !== undefined && (cutoff === undefined || ms > cutoff)) reasons.push(`within ${formatDuration(within)}`);
    const oldest = nr === list.length - 1;
    for (const counter of counters) {
      if (counter.left === 0) continue;
      const bucket = counter.bucket === null ? nr : counter.bucket(ms);
      if (bucket === counter.last && !oldest) continue;
      reasons.push(bucket === counter.last ? `oldest ${counter.reason}` : counter.reason);
      counter.last = bucket;
      if (counter.left > 0) counter.left--;
    }
    if (reasons.length > 0) keep.push({ snapshot, reasons });
    else remove.push(snapshot);
  });
  return { keep, remove };
}

/** Newest first; ties broken by id so the result does not depend on the input order. */
function newestFirst(a: SnapshotSummary, b: SnapshotSummary): number {
  return b.time.getTime() - a.time.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * Snapshots strictly newer than this are within the duration, measured from the newest snapshot that
 * is not in the future; undefined (everything is within) when all are in the future.
 */
function withinCutoff(list: readonly SnapshotSummary[], within: CalendarDuration, now: Date): number | undefined {
  const latest = list.find((snapshot) => snapshot.time.getTime() < now.getTime());
  return latest === undefined ? undefined : subtractCalendarDuration(latest.time, within).getTime();
}

function groupKeyOf(snapshot: SnapshotSummary, fields: readonly GroupField[]): GroupKey {
  const key: { -readonly [F in keyof GroupKey]: GroupKey[F] } = {};
  // Fixed field order, whatever the order of `fields`, so equal groups serialize equally.
  for (const field of GROUP_FIELDS) {
    if (!fields.includes(field)) continue;
    if (field === 'paths' || field === 'tags') key[field] = [...snapshot[field]].sort();
    else key[field] = snapshot[field] ?? '';
  }
  return key;
}

/** Field by field in {@link GROUP_FIELDS} order; lists element by element, a prefix first. */
function compareGroupKeys(a: GroupKey, b: GroupKey): number {
  for (const field of GROUP_FIELDS) {
    const x = toList(a[field]);
    const y = toList(b[field]);
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
    }
    if (x.length !== y.length) return x.length - y.length;
  }
  return 0;
}

function toList(value: string | readonly string[] | undefined): readonly string[] {
  return value === undefined ? [] : typeof value === 'string' ? [value] : value;
}

/** Consecutive number of the ISO week (Monday to Sunday, UTC) containing `ms`. */
function isoWeekNumber(ms: number): number {
  return Math.floor((Math.floor(ms / DAY_MS) + EPOCH_WEEKDAY_OFFSET_DAYS) / 7);
}

function monthNumber(ms: number): number {
  const date = new Date(ms);
  return date.getUTCFullYear() * 12 + date.getUTCMonth();
}

function isZeroDuration(duration: CalendarDuration): boolean {
  return duration.years === 0 && duration.months === 0 && duration.days === 0 && duration.hours === 0;
}

/** `1y6m`, `30d`, `12h`: the inverse of parseCalendarDuration (weeks come back as days). */
export function formatDuration(duration: CalendarDuration): string {
  const parts: Array<[number, string]> = [
    [duration.years, 'y'],
    [duration.months, 'm'],
    [duration.days, 'd'],
    [duration.hours, 'h'],
  ];
  const text = parts.filter(([value]) => value !== 0).map(([value, unit]) => `${value}${unit}`).join('');
  return text === '' ? '0h' : text;
}

function optionName(option: CountOption): string {
  return `--keep-${option.slice(4).toLowerCase()}`;
}
