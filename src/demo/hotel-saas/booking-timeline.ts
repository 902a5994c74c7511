/**
 * The guest-and-booking activity of every hotel, simulated day by day: guests (with addresses, loyalty
 * memberships and identity documents), bookings with their rooms and nights, folios with their lines,
 * payments, reviews and loyalty points.
 *
 * One COPY stream is open at a time on a session, so each table is written by its own run of the whole
 * simulation that keeps only that table's rows. Every run draws the same random numbers in the same order
 * (draws never depend on which table is kept), so ids and references agree across tables. Ids are handed
 * out day by day across all hotels, as a real system's sequences would: recent rows have the highest ids.
 */
import { FailsafeError } from '../../core/errors.js';
import { BASE_DAY, HISTORY_DAYS, MS_PER_DAY, MS_PER_HOUR, TODAY_DAY, TODAY_MS, isWeekendNight } from './calendar.js';
import { NULL, bool, bytea, cents, date, json, text, textArray, timestamp } from './copy-text.js';
import { emailLocalPart, type HotelProfile } from './hotel-profiles.js';
import { AGENT_CHANNELS, COUNTRIES, type Country, FIRST_NAMES, GUEST_COUNTRIES, LAST_NAMES, LOYALTY_PROGRAMS, STREETS } from './lookups.js';
import { SeededRandom, mixSeed } from '../random.js';

export const BOOKING_TABLES: readonly string[] = [
  'public.address',
  'public.guest',
  'public.guest_loyalty',
  'public.guest_document',
  'public.booking',
  'public.booking_room',
  'public.stay_night',
  'public.folio',
  'public.folio_line',
  'public.payment',
  'public.review',
  'public.loyalty_transaction',
];

/** New bookings per day for a size-1 hotel. */
const BOOKINGS_PER_DAY = 0.9;
const CHUNK_LINES = 4000;

const CHANNELS: readonly number[] = [1, 1, 1, 1, 2, 3, 4, 4, 4, 5, 5, 6, 7, 8];
const EXTRAS = [
  { kind: 'food', description: 'Restaurant', min: 1_800, max: 9_000 },
  { kind: 'beverage', description: 'Bar', min: 600, max: 4_500 },
  { kind: 'minibar', description: 'Minibar', min: 300, max: 2_500 },
  { kind: 'parking', description: 'Car park', min: 1_500, max: 2_500 },
  { kind: 'spa', description: 'Spa treatment', min: 6_000, max: 15_000 },
  { kind: 'laundry', description: 'Laundry service', min: 800, max: 3_000 },
] as const;
const METHODS = ['card', 'card', 'card', 'card', 'card', 'card', 'cash', 'bank_transfer', 'voucher'] as const;
const RATINGS: readonly number[] = [5, 5, 5, 5, 4, 4, 4, 3, 3, 2, 1];
const REVIEW_TITLES: readonly string[] = ['', 'Awful stay', 'Disappointing', 'It was fine', 'Lovely stay', 'Perfect in every way'];
const REVIEW_TAGS: readonly string[] = ['location', 'breakfast', 'staff', 'cleanliness', 'value', 'noise', 'parking', 'wifi'];
const GUEST_TAGS: readonly string[] = ['repeat', 'corporate', 'allergy', 'accessibility', 'late_arrival'];
const REQUESTS: readonly string[] = ['High floor please', 'Late arrival, around 23:00', 'Cot for a baby', 'Quiet room away from the lift', 'Celebrating an anniversary'];
const COUNTRY_BY_CODE: ReadonlyMap<string, Country> = new Map(COUNTRIES.map((c) => [c.code, c]));
const DOCUMENT_KINDS = ['passport', 'passport', 'id_card', 'driving_licence'] as const;

interface HotelState {
  readonly profile: HotelProfile;
  readonly random: SeededRandom;
  /** Front office and restaurant staff, who post charges to folios. */
  readonly posters: readonly number[];
  readonly guests: number[];
  /** guest id → loyalty program id, for members. */
  readonly members: Map<number, number>;
}

interface RoomLine {
  readonly lineNo: number;
  readonly typeCode: string;
  readonly roomNumber: string | null;
  readonly rateCents: number;
  readonly guests: number;
  /** Amount per night, in night order. */
  readonly nights: readonly number[];
}

/**
 * COPY text rows of one booking-activity table, in chunks of a few thousand lines.
 *
 * @example
 * for (const chunk of bookingTableRows('public.booking', profiles)) stream.write(chunk);
 */
export function* bookingTableRows(table: string, profiles: readonly HotelProfile[]): Generator<string> {
  if (!BOOKING_TABLES.includes(table)) throw new FailsafeError('INTERNAL', `not a booking-activity table: ${table}`);
  yield* new BookingSimulation(table).run(profiles);
}

class BookingSimulation {
  readonly #want: string;
  #out: string[] = [];
  readonly #ids = { address: 0, guest: 0, document: 0, booking: 0, folio: 0, folioLine: 0, payment: 0, review: 0, loyalty: 0 };

  constructor(want: string) {
    this.#want = want;
  }

  *run(profiles: readonly HotelProfile[]): Generator<string> {
    const states: HotelState[] = profiles.map((profile) => ({
      profile,
      random: new SeededRandom(mixSeed(profile.seed, 2)),
      posters: [...(profile.staffByDepartment.get('FO') ?? []), ...(profile.staffByDepartment.get('FB') ?? [])],
      guests: [],
      members: new Map(),
    }));
    for (let day = BASE_DAY; day < BASE_DAY + HISTORY_DAYS; day++) {
      for (const state of states) {
        const expected = BOOKINGS_PER_DAY * state.profile.activity;
        const count = Math.floor(expected * (0.5 + state.random.float()) + state.random.float());
        for (let i = 0; i < count; i++) this.#booking(state, day);
        if (this.#out.length >= CHUNK_LINES) {
          yield this.#out.join('');
          this.#out = [];
        }
      }
    }
    if (this.#out.length > 0) yield this.#out.join('');
  }

  #wants(table: string): boolean {
    return this.#want === table;
  }

  #guest(state: HotelState, createdAt: number): number {
    const r = state.random;
    const p = state.profile;
    const id = ++this.#ids.guest;
    const first = r.pick(FIRST_NAMES);
    const last = r.pick(LAST_NAMES);
    const nationality = r.chance(0.9) ? r.pick(GUEST_COUNTRIES) : null;
    const home = COUNTRY_BY_CODE.get(nationality ?? p.country.code)!;
    const email = r.chance(0.85) ? `${emailLocalPart(first, last)}.${id}@example.com` : null;
    const phone = r.chance(0.7) ? `${home.callingCode} ${100 + r.below(900)} ${1_000_000 + r.below(9_000_000)}` : null;
    const birth = r.chance(0.5) ? BASE_DAY - 365 * (20 + r.below(55)) - r.below(365) : null;
    const preferences = {
      pillow: r.pick(['soft', 'firm', 'any']),
      ...(r.chance(0.3) ? { floor: r.pick(['high', 'low']) } : {}),
      ...(r.chance(0.15) ? { dietary: [r.pick(['vegetarian', 'vegan', 'gluten_free', 'nut_allergy'])] } : {}),
      newsletter: r.chance(0.4),
    };
    const tags = GUEST_TAGS.filter(() => r.chance(0.08));
    const vip = r.chance(0.03);
    const optIn = r.chance(0.4);
    const hasAddress = r.chance(0.5);
    const addressId = hasAddress ? ++this.#ids.address : null;
    const line1 = `${1 + r.below(200)} ${r.pick(STREETS)}`;
    const line2 = r.chance(0.2) ? `Apartment ${1 + r.below(40)}` : null;
    const postal = r.chance(0.8) ? `${String.fromCharCode(65 + r.below(26))}${10 + r.below(90)} ${r.below(10)}${String.fromCharCode(65 + r.below(26), 65 + r.below(26))}` : null;
    if (hasAddress && this.#wants('public.address')) {
      this.#out.push(`${addressId}\t${p.id}\t${text(line1)}\t${text(line2)}\t${text(home.capital)}\t${text(postal)}\t${home.code}\n`);
    }
    if (this.#wants('public.guest')) {
      this.#out.push(
        `${id}\t${p.id}\t${text(first)}\t${text(last)}\t${text(email)}\t${text(phone)}\t${date(birth)}\t${nationality ?? NULL}\t${addressId ?? NULL}\t${json(preferences)}\t${textArray(tags)}\t${bool(vip)}\t${bool(optIn)}\t${timestamp(createdAt)}\t${timestamp(createdAt)}\n`,
      );
    }
    if (r.chance(0.3)) {
      const program = LOYALTY_PROGRAMS[r.chance(0.7) ? 0 : 1 + r.below(2)]!;
      const tier = r.pick(program.tiers);
      state.members.set(id, program.id);
      if (this.#wants('public.guest_loyalty')) {
        this.#out.push(`${id}\t${program.id}\t${program.code.slice(0, 2).toUpperCase()}${String(id).padStart(9, '0')}\t${tier}\t${timestamp(createdAt)}\n`);
      }
    }
    if (r.chance(0.25)) {
      const docId = ++this.#ids.document;
      const kind = r.pick(DOCUMENT_KINDS);
      const number = `${String.fromCharCode(65 + r.below(26), 65 + r.below(26))}${1_000_000 + r.below(9_000_000)}`;
      const expires = TODAY_DAY + 100 + r.below(3650);
      const thumbnail = r.bytes(32 + r.below(64));
      if (this.#wants('public.guest_document')) {
        this.#out.push(`${docId}\t${id}\t${kind}\t${number}\t${home.code}\t${date(expires)}\t${bytea(thumbnail)}\t${timestamp(createdAt)}\n`);
      }
    }
    state.guests.push(id);
    return id;
  }

  #booking(state: HotelState, day: number): void {
    const r = state.random;
    const p = state.profile;
    const createdAt = day * MS_PER_DAY + r.below(86_400) * 1000;
    const guestId = state.guests.length > 0 && r.chance(0.3) ? state.guests[r.below(state.guests.length)]! : this.#guest(state, createdAt - r.below(3600) * 1000);
    const id = ++this.#ids.booking;
    const lead = Math.floor(r.float() ** 2 * 120);
    const arrival = day + lead;
    const nightCount = 1 + Math.floor(r.float() ** 2 * 6);
    const departure = arrival + nightCount;
    const roomCount = r.chance(0.85) ? 1 : r.chance(0.8) ? 2 : 3;
    const channel = r.pick(CHANNELS);
    const agentId = AGENT_CHANNELS.includes(channel) ? r.pick(p.agentIds) : null;
    const plan = r.pick(p.ratePlans);
    const adults = roomCount * (r.chance(0.6) ? 2 : 1);
    const children = r.chance(0.15) ? 1 + r.below(2) : 0;
    const requests = r.chance(0.15) ? r.pick(REQUESTS) : null;
    const status = r.chance(0.08)
      ? 'cancelled'
      : departure < TODAY_DAY
        ? r.chance(0.02) ? 'no_show' : 'checked_out'
        : arrival < TODAY_DAY
          ? 'checked_in'
          : r.chance(0.1) ? 'pending' : 'confirmed';
    const cancelledAt = status === 'cancelled' ? Math.min(TODAY_MS - 1000, createdAt + r.below(Math.max(1, lead) * 86_400) * 1000) : null;
    const arrived = status === 'checked_in' || status === 'checked_out' || status === 'no_show';

    const lines: RoomLine[] = [];
    for (let lineNo = 1; lineNo <= roomCount; lineNo++) {
      const room = p.rooms[r.below(p.rooms.length)]!;
      const rateCents = Math.round((room.type.baseRateCents * plan.factorPct * (90 + r.below(21))) / 10_000);
      const nights: number[] = [];
      for (let night = arrival; night < departure; night++) nights.push(isWeekendNight(night) ? Math.round(rateCents * 1.1) : rateCents);
      const assigned = arrived || arrival - TODAY_DAY < 3;
      lines.push({ lineNo, typeCode: room.type.code, roomNumber: assigned ? room.number : null, rateCents, guests: Math.min(room.type.maxOccupancy, 1 + r.below(2)), nights });
    }
    const total = lines.reduce((sum, line) => sum + line.nights.reduce((a, b) => a + b, 0), 0);

    if (this.#wants('public.booking')) {
      this.#out.push(
        `${id}\t${p.id}\tH${p.id}-${id}\t${guestId}\t${agentId ?? NULL}\t${channel}\t${plan.id}\t${status}\t${date(arrival)}\t${date(departure)}\t${adults}\t${children}\t${cents(total)}\t${p.country.currency}\t${text(requests)}\t${timestamp(createdAt)}\t${timestamp(cancelledAt ?? createdAt)}\t${timestamp(cancelledAt)}\n`,
      );
    }
    if (this.#wants('public.booking_room')) {
      for (const line of lines) this.#out.push(`${id}\t${line.lineNo}\t${p.id}\t${line.typeCode}\t${text(line.roomNumber)}\t${cents(line.rateCents)}\t${line.guests}\n`);
    }
    if (this.#wants('public.stay_night') && status !== 'cancelled' && status !== 'no_show') {
      for (const line of lines) {
        line.nights.forEach((amount, n) => this.#out.push(`${id}\t${line.lineNo}\t${date(arrival + n)}\t${p.id}\t${text(line.roomNumber)}\t${cents(amount)}\n`));
      }
    }
    if (arrived) this.#folio(state, { id, guestId, arrival, departure, status, lines, createdAt });
    if (status === 'checked_out') this.#afterStay(state, { id, guestId, departure, total });
  }

  #folio(state: HotelState, booking: { id: number; guestId: number; arrival: number; departure: number; status: string; lines: readonly RoomLine[]; createdAt: number }): void {
    const r = state.random;
    const p = state.profile;
    const folioId = ++this.#ids.folio;
    const openedAt = booking.arrival * MS_PER_DAY + 14 * MS_PER_HOUR + r.below(6 * 60) * 60_000;
    const closedAt =
      booking.status === 'checked_out'
        ? booking.departure * MS_PER_DAY + 9 * MS_PER_HOUR + r.below(150) * 60_000
        : booking.status === 'no_show'
          ? (booking.arrival + 1) * MS_PER_DAY + 2 * MS_PER_HOUR
          : null;
    if (this.#wants('public.folio')) {
      this.#out.push(`${folioId}\t${p.id}\t${booking.id}\t${booking.guestId}\t${closedAt === null ? 'open' : 'closed'}\t${p.country.currency}\t${timestamp(openedAt)}\t${timestamp(closedAt)}\n`);
    }
    const postLine = (kind: string, description: string, quantity: number, amount: number, reverses: number | null, staff: number | null, at: number): number => {
      const lineId = ++this.#ids.folioLine;
      if (this.#wants('public.folio_line')) {
        this.#out.push(`${lineId}\t${folioId}\t${kind}\t${text(description)}\t${quantity}\t${cents(amount)}\t${reverses ?? NULL}\t${staff ?? NULL}\t${timestamp(at)}\n`);
      }
      return lineId;
    };

    let balance = 0;
    if (booking.status === 'no_show') {
      const fee = booking.lines[0]!.nights[0]!;
      postLine('no_show_fee', 'No-show: first night', 1, fee, null, null, closedAt!);
      balance = fee;
    } else {
      const end = closedAt ?? TODAY_MS;
      for (const line of booking.lines) {
        // In-house guests have been charged for the nights already passed.
        const nights = closedAt === null ? line.nights.slice(0, TODAY_DAY - booking.arrival) : line.nights;
        const amount = nights.reduce((a, b) => a + b, 0);
        if (nights.length > 0) postLine('room', `Room ${line.roomNumber} x ${nights.length} night(s)`, nights.length, amount, null, null, Math.min(end, (booking.arrival + nights.length) * MS_PER_DAY + 3 * MS_PER_HOUR));
        balance += amount;
      }
      for (let extras = r.below(4); extras > 0; extras--) {
        const extra = r.pick(EXTRAS);
        const amount = r.between(extra.min, extra.max);
        const at = openedAt + r.below(Math.max(1, Math.floor((end - openedAt) / 60_000))) * 60_000;
        const poster = r.chance(0.8) ? r.pick(state.posters) : null;
        const lineId = postLine(extra.kind, extra.description, 1, amount, null, poster, at);
        balance += amount;
        if (r.chance(0.08)) {
          postLine('adjustment', `Reversal of line ${lineId}`, 1, -amount, lineId, poster, at + MS_PER_HOUR);
          balance -= amount;
        }
      }
    }

    const payments: (readonly [number, number])[] = [];
    if (booking.status === 'checked_in') {
      if (r.chance(0.5) && balance > 0) payments.push([Math.floor(balance / 2), openedAt]);
    } else if (balance > 0) {
      if (r.chance(0.2) && balance > 1_000) {
        const deposit = Math.floor(balance * 0.3);
        payments.push([deposit, booking.createdAt], [balance - deposit, closedAt!]);
      } else {
        payments.push([balance, closedAt!]);
      }
    }
    for (const [amount, paidAt] of payments) {
      const paymentId = ++this.#ids.payment;
      const method = r.pick(METHODS);
      const last4 = method === 'card' ? String(r.below(10_000)).padStart(4, '0') : null;
      const authorisation = method === 'card' ? r.next().toString(36).toUpperCase().padStart(7, '0').slice(0, 6) : null;
      if (this.#wants('public.payment')) {
        this.#out.push(`${paymentId}\t${p.id}\t${folioId}\t${method}\t${cents(amount)}\t${p.country.currency}\t${text(last4)}\t${text(authorisation)}\tf\t${timestamp(paidAt)}\n`);
      }
    }
  }

  #afterStay(state: HotelState, booking: { id: number; guestId: number; departure: number; total: number }): void {
    const r = state.random;
    const p = state.profile;
    if (r.chance(0.25)) {
      const publishedAt = booking.departure * MS_PER_DAY + (1 + r.below(10)) * MS_PER_DAY + r.below(86_400) * 1000;
      const rating = r.pick(RATINGS);
      const tags = REVIEW_TAGS.filter(() => r.chance(0.2));
      const responder = r.chance(0.5) ? (p.generalManagerId ?? p.staff[0]!.id) : null;
      if (publishedAt < TODAY_MS) {
        const reviewId = ++this.#ids.review;
        if (this.#wants('public.review')) {
          const body = `${REVIEW_TITLES[rating]}. ${tags.length > 0 ? `About: ${tags.join(', ')}.` : 'No further comments.'}\n${rating >= 4 ? 'Would recommend.' : 'Would not recommend.'}`;
          const response = responder === null ? null : rating >= 4 ? 'Thank you, we hope to welcome you back soon.' : 'We are sorry to hear this and have shared your feedback with the team.';
          this.#out.push(`${reviewId}\t${p.id}\t${booking.id}\t${booking.guestId}\t${rating}\t${text(REVIEW_TITLES[rating]!)}\t${text(body)}\t${textArray(tags)}\t${timestamp(publishedAt)}\t${text(response)}\t${responder ?? NULL}\n`);
        }
      }
    }
    const program = state.members.get(booking.guestId);
    if (program !== undefined) {
      const txId = ++this.#ids.loyalty;
      if (this.#wants('public.loyalty_transaction')) {
        this.#out.push(`${txId}\t${booking.guestId}\t${program}\t${booking.id}\t${Math.floor(booking.total / 100)}\tstay\t${timestamp(booking.departure * MS_PER_DAY + 12 * MS_PER_HOUR)}\n`);
      }
    }
  }
}
