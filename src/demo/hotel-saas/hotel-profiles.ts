/**
 * Per-hotel structure that the other generators draw from: size, country, departments, staff, room
 * types, rooms, rate plans and agents, with their ids. Each hotel's profile comes from its own random
 * stream, and ids are handed out hotel by hotel, so a profile depends only on `(seed, hotel)` and the
 * hotels before it.
 */
import { BASE_DAY } from './calendar.js';
import { COUNTRIES, FIRST_NAMES, HOTEL_COUNTRIES, LAST_NAMES, type Country } from './lookups.js';
import { SeededRandom, mixSeed } from '../random.js';

export interface StaffMember {
  readonly id: number;
  readonly department: string;
  readonly managerId: number | null;
  readonly title: string;
  readonly firstName: string;
  readonly lastName: string;
}

export interface RoomType {
  readonly code: string;
  readonly categoryId: number;
  readonly name: string;
  readonly maxOccupancy: number;
  readonly baseRateCents: number;
}

export interface Room {
  readonly number: string;
  readonly type: RoomType;
  readonly floor: number;
}

export interface RatePlan {
  readonly id: number;
  readonly code: string;
  readonly name: string;
  /** Price relative to the room type's base rate, in percent. */
  readonly factorPct: number;
  readonly refundable: boolean;
  readonly breakfast: boolean;
}

export interface HotelProfile {
  readonly id: number;
  /** 1..3: a size-3 hotel has about three times the rows of a size-1 hotel. */
  readonly size: number;
  /** `size` times the size factor of {@link buildProfiles}: how busy the hotel is (bookings, tickets per day). */
  readonly activity: number;
  readonly country: Country;
  readonly city: string;
  readonly brand: string;
  readonly name: string;
  readonly starRating: number;
  readonly openedOnDay: number;
  readonly departments: readonly string[];
  readonly staff: readonly StaffMember[];
  /** Null while the post is vacant (some hotels): the nullable side of the hotel ↔ staff cycle. */
  readonly generalManagerId: number | null;
  readonly staffByDepartment: ReadonlyMap<string, readonly number[]>;
  readonly roomTypes: readonly RoomType[];
  readonly rooms: readonly Room[];
  readonly ratePlans: readonly RatePlan[];
  readonly agentIds: readonly number[];
  /** Seed of the hotel's own streams. */
  readonly seed: number;
}

export const DEPARTMENTS: Readonly<Record<string, string>> = {
  MGT: 'Management',
  FO: 'Front Office',
  HK: 'Housekeeping',
  FB: 'Food and Beverage',
  MNT: 'Maintenance',
  SPA: 'Spa and Leisure',
};

const DEPARTMENT_HEADS: Readonly<Record<string, string>> = {
  FO: 'Front Office Manager',
  HK: 'Executive Housekeeper',
  FB: 'Food and Beverage Manager',
  MNT: 'Chief Engineer',
  SPA: 'Spa Manager',
};

const DEPARTMENT_TITLES: Readonly<Record<string, string>> = {
  FO: 'Receptionist',
  HK: 'Room Attendant',
  FB: 'Server',
  MNT: 'Maintenance Technician',
  SPA: 'Therapist',
};

const ROOM_TYPES: readonly RoomType[] = [
  { code: 'STD', categoryId: 1, name: 'Standard Double', maxOccupancy: 2, baseRateCents: 11_900 },
  { code: 'SUP', categoryId: 2, name: 'Superior King', maxOccupancy: 2, baseRateCents: 14_900 },
  { code: 'DLX', categoryId: 3, name: 'Deluxe King', maxOccupancy: 3, baseRateCents: 18_900 },
  { code: 'ACC', categoryId: 6, name: 'Accessible Double', maxOccupancy: 2, baseRateCents: 11_900 },
  { code: 'FAM', categoryId: 5, name: 'Family Room', maxOccupancy: 4, baseRateCents: 17_900 },
  { code: 'STE', categoryId: 4, name: 'Junior Suite', maxOccupancy: 3, baseRateCents: 29_900 },
];

const RATE_PLANS = [
  { code: 'BAR', name: 'Best Available Rate', factorPct: 100, refundable: true, breakfast: false },
  { code: 'NRF', name: 'Advance Purchase (non-refundable)', factorPct: 85, refundable: false, breakfast: false },
  { code: 'BB', name: 'Bed and Breakfast', factorPct: 118, refundable: true, breakfast: true },
  { code: 'CORP', name: 'Corporate Rate', factorPct: 90, refundable: true, breakfast: true },
] as const;

const BRANDS: readonly string[] = ['Ashgrove Hotel', 'Ashgrove Hotel', 'Clayfield Hotel', 'Clayfield Hotel', 'Harbour House'];
const LOCATIONS: readonly string[] = ['', '', ' City Centre', ' Airport', ' Docklands', ' Park', ' Quay', ' Station'];

/** Ids handed out so far; profiles are built in hotel order. */
interface IdCounters {
  staff: number;
  ratePlan: number;
  agent: number;
}

/**
 * The profiles of hotels 1..`hotels`.
 *
 * @example
 * const [first] = buildProfiles(10, 1); // first.id === 1, first.staff[0].id === 1
 */
/** `sizeFactor` multiplies every hotel's rooms and staff (and so its bookings): 1 is the usual size. */
export function buildProfiles(hotels: number, seed: number, sizeFactor = 1): HotelProfile[] {
  const counters: IdCounters = { staff: 0, ratePlan: 0, agent: 0 };
  const profiles: HotelProfile[] = [];
  for (let id = 1; id <= hotels; id++) profiles.push(buildProfile(id, seed, counters, sizeFactor));
  return profiles;
}

function buildProfile(id: number, seed: number, counters: IdCounters, sizeFactor: number): HotelProfile {
  const hotelSeed = mixSeed(seed, id);
  const random = new SeededRandom(mixSeed(hotelSeed, 1));
  const size = 1 + 2 * random.float() ** 1.5;
  const countryCode = random.pick(HOTEL_COUNTRIES);
  const country = COUNTRIES.find((c) => c.code === countryCode)!;
  const city = random.pick(country.cities);
  const brand = random.pick(BRANDS);

  const departments = ['MGT', 'FO', 'HK', 'FB', 'MNT', ...(size > 2.2 ? ['SPA'] : [])];
  const staff: StaffMember[] = [];
  const person = (department: string, managerId: number | null, title: string): StaffMember => {
    const member = { id: ++counters.staff, department, managerId, title, firstName: random.pick(FIRST_NAMES), lastName: random.pick(LAST_NAMES) };
    staff.push(member);
    return member;
  };
  const vacant = random.chance(0.1);
  const manager = person('MGT', null, vacant ? 'Acting General Manager' : 'General Manager');
  const heads = new Map<string, number>();
  for (const department of departments.slice(1)) heads.set(department, person(department, manager.id, DEPARTMENT_HEADS[department]!).id);
  const teamSize = Math.round((4 + 8 * size) * sizeFactor);
  const weighted = departments.flatMap((d) => (d === 'MGT' ? [] : d === 'HK' ? [d, d, d] : d === 'FO' || d === 'FB' ? [d, d] : [d]));
  for (let i = 0; i < teamSize; i++) {
    const department = random.pick(weighted);
    person(department, heads.get(department)!, DEPARTMENT_TITLES[department]!);
  }
  const staffByDepartment = new Map<string, number[]>();
  for (const member of staff) staffByDepartment.set(member.department, [...(staffByDepartment.get(member.department) ?? []), member.id]);

  const roomTypes = ROOM_TYPES.filter((t) => ['STD', 'SUP', 'DLX'].includes(t.code) || (t.code === 'ACC' && random.chance(0.4)) || (t.code === 'FAM' && size > 1.6) || (t.code === 'STE' && size > 2.3));
  const typeWeights = roomTypes.flatMap((t) => Array<RoomType>(t.code === 'STD' ? 6 : t.code === 'SUP' ? 3 : t.code === 'DLX' ? 2 : 1).fill(t));
  const roomCount = Math.round((14 + 14 * size) * sizeFactor);
  const perFloor = 8 + random.below(10);
  const rooms: Room[] = [];
  for (let i = 0; i < roomCount; i++) {
    const floor = 1 + Math.floor(i / perFloor);
    rooms.push({ number: String(floor * 100 + 1 + (i % perFloor)), type: random.pick(typeWeights), floor });
  }
  // Every room type has at least one room, so bookings of any type can be assigned.
  roomTypes.forEach((type, i) => {
    if (!rooms.some((room) => room.type === type)) rooms[i] = { ...rooms[i]!, type };
  });

  const ratePlans = RATE_PLANS.filter((plan) => plan.code !== 'CORP' || size > 2).map((plan) => ({ id: ++counters.ratePlan, ...plan }));
  const agentIds = Array.from({ length: 2 + Math.floor(size) }, () => ++counters.agent);

  return {
    id,
    size,
    activity: size * sizeFactor,
    country,
    city,
    brand,
    name: `${brand} ${city}${random.pick(LOCATIONS)}`,
    starRating: brand === 'Harbour House' ? 5 : 3 + random.below(2),
    openedOnDay: BASE_DAY - 365 * (2 + random.below(30)) - random.below(365),
    departments,
    staff,
    generalManagerId: vacant ? null : manager.id,
    staffByDepartment,
    roomTypes,
    rooms,
    ratePlans,
    agentIds,
    seed: hotelSeed,
  };
}

/** A lower-case ASCII e-mail local part from a name: `Seán O'Brien` → `sean.obrien`. */
export function emailLocalPart(first: string, last: string): string {
  const clean = (s: string): string =>
    s
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '');
  return `${clean(first)}.${clean(last)}`;
}
