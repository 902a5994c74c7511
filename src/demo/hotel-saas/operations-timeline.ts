/**
 * The back-of-house activity of every hotel, day by day: housekeeping tasks (last 30 days), staff
 * shifts (last 7 days) and maintenance tickets (whole history). Like the booking timeline, each table is
 * written by its own run that draws the same random numbers, and ids follow the calendar.
 */
import { FailsafeError } from '../../core/errors.js';
import { BASE_DAY, HISTORY_DAYS, MS_PER_DAY, MS_PER_HOUR, TODAY_DAY, TODAY_MS } from './calendar.js';
import { NULL, date, text, textArray, timestamp } from './copy-text.js';
import type { HotelProfile } from './hotel-profiles.js';
import { SeededRandom, mixSeed } from '../random.js';

export const OPERATIONS_TABLES: readonly string[] = ['public.housekeeping_task', 'public.shift', 'public.maintenance_ticket'];

const HOUSEKEEPING_DAYS = 30;
const SHIFT_DAYS = 7;
const CHUNK_LINES = 4000;

const TASK_KINDS: readonly string[] = ['checkout_clean', 'checkout_clean', 'stayover_clean', 'stayover_clean', 'turndown', 'deep_clean', 'inspection'];
const TASK_NOTES: readonly string[] = ['Guest asked for extra towels', 'Do not disturb until noon', 'Replace shower curtain', 'Allergy: no feather pillows'];
const SHIFT_STARTS: Readonly<Record<string, readonly number[]>> = { MGT: [9], FO: [7, 15, 23], HK: [7, 8], FB: [6, 14], MNT: [8], SPA: [10] };
const TICKET_CATEGORIES = [
  { category: 'plumbing', title: 'Leaking tap' },
  { category: 'plumbing', title: 'Shower drains slowly' },
  { category: 'electrical', title: 'Bedside lamp not working' },
  { category: 'hvac', title: 'Air conditioning too noisy' },
  { category: 'furniture', title: 'Wardrobe door loose' },
  { category: 'it', title: 'TV has no signal' },
  { category: 'elevator', title: 'Lift stops between floors' },
  { category: 'painting', title: 'Scuffed paintwork' },
] as const;
const TICKET_TAGS: readonly string[] = ['guest_reported', 'recurring', 'safety', 'contractor', 'parts_ordered'];

/**
 * COPY text rows of one operations table, in chunks.
 *
 * @example
 * for (const chunk of operationsTableRows('public.shift', profiles)) stream.write(chunk);
 */
export function* operationsTableRows(table: string, profiles: readonly HotelProfile[]): Generator<string> {
  if (!OPERATIONS_TABLES.includes(table)) throw new FailsafeError('INTERNAL', `not an operations table: ${table}`);
  const randoms = profiles.map((profile) => new SeededRandom(mixSeed(profile.seed, 3)));
  const ids = { task: 0, shift: 0, ticket: 0 };
  let out: string[] = [];
  for (let day = BASE_DAY; day < BASE_DAY + HISTORY_DAYS; day++) {
    const dayMs = day * MS_PER_DAY;
    const isToday = day === TODAY_DAY - 1;
    profiles.forEach((p, i) => {
      const r = randoms[i]!;
      const housekeepers = p.staffByDepartment.get('HK') ?? [];
      const engineers = p.staffByDepartment.get('MNT') ?? [];

      if (day >= TODAY_DAY - HOUSEKEEPING_DAYS) {
        for (let n = Math.floor(p.rooms.length * 0.06 * (0.5 + r.float()) + r.float()); n > 0; n--) {
          const id = ++ids.task;
          const room = r.pick(p.rooms);
          const kind = r.pick(TASK_KINDS);
          const staff = r.chance(0.9) ? r.pick(housekeepers) : null;
          const u = r.float();
          const status = isToday ? (u < 0.4 ? 'open' : u < 0.7 ? 'in_progress' : 'done') : u < 0.95 ? 'done' : 'skipped';
          const completedAt = status === 'done' ? dayMs + 9 * MS_PER_HOUR + r.below(8 * 60) * 60_000 : null;
          const notes = r.chance(0.1) ? r.pick(TASK_NOTES) : null;
          if (table === 'public.housekeeping_task') {
            out.push(`${id}\t${p.id}\t${room.number}\t${staff ?? NULL}\t${date(day)}\t${kind}\t${status}\t${text(notes)}\t${timestamp(completedAt)}\t${timestamp(dayMs + 6 * MS_PER_HOUR)}\n`);
          }
        }
      }

      if (day >= TODAY_DAY - SHIFT_DAYS) {
        for (const member of p.staff) {
          if (!r.chance(0.7)) continue;
          const id = ++ids.shift;
          const startsAt = dayMs + r.pick(SHIFT_STARTS[member.department]!) * MS_PER_HOUR;
          const hours = member.department === 'MGT' ? 9 : 8;
          const breakMinutes = r.pick([30, 30, 45, 60]);
          if (table === 'public.shift') {
            out.push(`${id}\t${p.id}\t${member.id}\t${member.department}\t${timestamp(startsAt)}\t${timestamp(startsAt + hours * MS_PER_HOUR)}\t${breakMinutes}\n`);
          }
        }
      }

      if (r.chance(Math.min(1, 0.08 * p.activity))) {
        const id = ++ids.ticket;
        const room = r.chance(0.7) ? r.pick(p.rooms).number : null;
        const reporter = r.pick(p.staff).id;
        const assignee = r.chance(0.8) && engineers.length > 0 ? r.pick(engineers) : null;
        const { category, title } = r.pick(TICKET_CATEGORIES);
        const priority = 1 + r.below(4);
        const openedAt = dayMs + 7 * MS_PER_HOUR + r.below(12 * 60) * 60_000;
        const age = TODAY_DAY - day;
        const u = r.float();
        const status = age > 7 ? (u < 0.9 ? 'closed' : 'in_progress') : u < 0.5 ? 'open' : u < 0.8 ? 'in_progress' : 'closed';
        const closedAt = status === 'closed' ? Math.min(TODAY_MS - 60_000, openedAt + (1 + r.below(5 * 24)) * MS_PER_HOUR) : null;
        const tags = TICKET_TAGS.filter(() => r.chance(0.15));
        if (table === 'public.maintenance_ticket') {
          const where = room === null ? 'a public area' : `room ${room}`;
          out.push(`${id}\t${p.id}\t${text(room)}\t${reporter}\t${assignee ?? NULL}\t${category}\t${priority}\t${text(title)}\t${text(`${title} in ${where}.`)}\t${status}\t${textArray(tags)}\t${timestamp(openedAt)}\t${timestamp(closedAt)}\n`);
        }
      }
    });
    if (out.length >= CHUNK_LINES) {
      yield out.join('');
      out = [];
    }
  }
  if (out.length > 0) yield out.join('');
}
