/**
 * COPY rows of the tables that describe a hotel rather than its activity: hotel, department, staff,
 * room_type, room, room_amenity, rate_plan, rate and agent. Rows come hotel by hotel from the profiles;
 * details each table adds draw from that table's own per-hotel stream.
 */
import { FailsafeError } from '../../core/errors.js';
import { MS_PER_DAY, MS_PER_HOUR, TODAY_DAY, TODAY_MS, isWeekendNight } from './calendar.js';
import { NULL, bool, bytea, cents, date, json, text, textArray, timestamp } from './copy-text.js';
import { DEPARTMENTS, emailLocalPart, type HotelProfile } from './hotel-profiles.js';
import { AMENITIES, COUNTRIES, LAST_NAMES } from './lookups.js';
import { SeededRandom, mixSeed } from '../random.js';

/** Days of rates loaded per rate plan and room type, from "today". */
export const RATE_DAYS = 7;

type RowWriter = (profile: HotelProfile, random: SeededRandom) => Iterable<string>;

const ROOM_TAGS: readonly string[] = ['quiet', 'connecting', 'high_floor', 'near_lift', 'renovated', 'courtyard'];
const AGENT_NAMES: readonly string[] = ['Travel', 'Tours', 'Holidays', 'Business Travel', 'Events', 'Journeys'];

const writers: Readonly<Record<string, RowWriter>> = {
  'public.hotel': function* (p, r) {
    const created = p.openedOnDay * MS_PER_DAY - 90 * MS_PER_DAY;
    const settings = {
      checkIn: '15:00',
      checkOut: r.chance(0.3) ? '12:00' : '11:00',
      overbookingPct: r.below(6),
      languages: r.chance(0.5) ? ['en', 'ga'] : ['en'],
      breakfast: { from: '07:00', to: r.chance(0.5) ? '10:30' : '10:00' },
    };
    yield `${p.id}\t${text(p.name)}\t${text(p.brand)}\t${p.country.code}\t${p.country.currency}\t${text(p.city)}\t${p.country.timezone}\t${p.starRating}\t${date(p.openedOnDay)}\t${p.generalManagerId ?? NULL}\t${json(settings)}\t${timestamp(created)}\t${timestamp(TODAY_MS - r.below(60) * MS_PER_DAY)}\n`;
  },
  'public.department': function* (p) {
    for (const code of p.departments) yield `${p.id}\t${code}\t${text(DEPARTMENTS[code]!)}\tCC-${p.id}-${code}\n`;
  },
  'public.staff': function* (p, r) {
    for (const s of p.staff) {
      const hired = Math.max(p.openedOnDay, TODAY_DAY - 30 - r.below(3000));
      const rate = s.managerId === null ? 6_500 : p.staff.some((x) => x.managerId === s.id) ? 3_200 : 1_450 + r.below(600);
      const signature = r.chance(0.6) ? r.bytes(24 + r.below(24)) : null;
      const created = hired * MS_PER_DAY;
      yield `${s.id}\t${p.id}\t${s.department}\t${s.managerId ?? NULL}\t${text(s.firstName)}\t${text(s.lastName)}\t${emailLocalPart(s.firstName, s.lastName)}.${s.id}@hotel${p.id}.example.com\t${text(s.title)}\t${date(hired)}\t${cents(rate)}\t${bytea(signature)}\t${bool(!r.chance(0.03))}\t${timestamp(created)}\t${timestamp(Math.min(TODAY_MS, created + r.below(200) * MS_PER_DAY))}\n`;
    }
  },
  'public.room_type': function* (p, r) {
    for (const t of p.roomTypes) {
      const rate = Math.round((t.baseRateCents * (85 + r.below(40))) / 100);
      yield `${p.id}\t${t.code}\t${t.categoryId}\t${text(t.name)}\t${t.maxOccupancy}\t${cents(rate)}\t${text(`${t.name} at ${p.name}`)}\n`;
    }
  },
  'public.room': function* (p, r) {
    for (const room of p.rooms) {
      const u = r.float();
      const status = u < 0.95 ? 'available' : u < 0.98 ? 'out_of_service' : 'out_of_order';
      const tags = ROOM_TAGS.filter(() => r.chance(0.15));
      const renovated = r.chance(0.4) ? TODAY_DAY - r.below(2000) : null;
      yield `${p.id}\t${room.number}\t${room.type.code}\t${room.floor}\t${status}\t${textArray(tags)}\t${date(renovated)}\n`;
    }
  },
  'public.room_amenity': function* (p, r) {
    for (const room of p.rooms) {
      const ids = new Set<number>([1]);
      for (let extra = 1 + r.below(4); extra > 0; extra--) ids.add(1 + r.below(AMENITIES.length));
      for (const amenity of [...ids].sort((a, b) => a - b)) yield `${p.id}\t${room.number}\t${amenity}\n`;
    }
  },
  'public.rate_plan': function* (p) {
    for (const plan of p.ratePlans) {
      yield `${plan.id}\t${p.id}\t${plan.code}\t${text(plan.name)}\t${bool(plan.refundable)}\t${bool(plan.breakfast)}\t${plan.code === 'NRF' ? 2 : 1}\t${timestamp(p.openedOnDay * MS_PER_DAY)}\n`;
    }
  },
  'public.rate': function* (p, r) {
    for (const plan of p.ratePlans) {
      for (const type of p.roomTypes) {
        for (let day = TODAY_DAY; day < TODAY_DAY + RATE_DAYS; day++) {
          const weekend = isWeekendNight(day) ? 115 : 100;
          const amount = Math.round((((type.baseRateCents * plan.factorPct) / 100) * weekend * (95 + r.below(11))) / 10_000);
          yield `${p.id}\t${plan.id}\t${type.code}\t${date(day)}\t${cents(amount)}\t${p.country.currency}\t${timestamp(TODAY_MS - r.below(72) * MS_PER_HOUR)}\n`;
        }
      }
    }
  },
  'public.agent': function* (p, r) {
    for (const id of p.agentIds) {
      const kind = r.pick(['travel_agent', 'travel_agent', 'corporate', 'wholesaler'] as const);
      const name = `${r.pick(LAST_NAMES)} ${r.pick(AGENT_NAMES)}`;
      const iata = kind === 'travel_agent' ? String(10_000_000 + r.below(89_999_999)) : null;
      const commission = kind === 'corporate' ? 0 : 800 + r.below(8) * 100;
      const email = r.chance(0.8) ? `bookings.${id}@agent${id}.example.com` : null;
      yield `${id}\t${p.id}\t${text(name)}\t${kind}\t${text(iata)}\t${cents(commission)}\t${text(email)}\t${r.chance(0.7) ? p.country.code : r.pick(COUNTRIES).code}\n`;
    }
  },
};

/** Qualified names of the tables this module writes. */
export const HOTEL_TABLES: readonly string[] = Object.keys(writers);

/**
 * COPY text rows of one hotel-structure table, hotel by hotel.
 *
 * @example
 * for (const line of hotelTableRows('public.room', profiles)) stream.write(line);
 */
export function* hotelTableRows(table: string, profiles: readonly HotelProfile[]): Generator<string> {
  const writer = writers[table];
  if (!writer) throw new FailsafeError('INTERNAL', `not a hotel-structure table: ${table}`);
  const stream = HOTEL_TABLES.indexOf(table);
  for (const profile of profiles) yield* writer(profile, new SeededRandom(mixSeed(profile.seed, 100 + stream)));
}
