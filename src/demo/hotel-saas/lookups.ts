/**
 * The shared lookup rows (currencies, countries, room categories, amenities, booking channels,
 * loyalty programs) and the vocabulary the generators draw names from. Fixed data: no seed involved.
 */
import { cents, text, textArray } from './copy-text.js';

export interface Currency {
  readonly code: string;
  readonly name: string;
  readonly symbol: string;
  readonly minorUnits: number;
}

export const CURRENCIES: readonly Currency[] = [
  { code: 'AUD', name: 'Australian dollar', symbol: 'A$', minorUnits: 2 },
  { code: 'CAD', name: 'Canadian dollar', symbol: 'C$', minorUnits: 2 },
  { code: 'CHF', name: 'Swiss franc', symbol: 'CHF', minorUnits: 2 },
  { code: 'CZK', name: 'Czech koruna', symbol: 'Kč', minorUnits: 2 },
  { code: 'DKK', name: 'Danish krone', symbol: 'kr', minorUnits: 2 },
  { code: 'EUR', name: 'Euro', symbol: '€', minorUnits: 2 },
  { code: 'GBP', name: 'Pound sterling', symbol: '£', minorUnits: 2 },
  { code: 'JPY', name: 'Japanese yen', symbol: '¥', minorUnits: 0 },
  { code: 'NOK', name: 'Norwegian krone', symbol: 'kr', minorUnits: 2 },
  { code: 'PLN', name: 'Polish złoty', symbol: 'zł', minorUnits: 2 },
  { code: 'SEK', name: 'Swedish krona', symbol: 'kr', minorUnits: 2 },
  { code: 'USD', name: 'US dollar', symbol: '$', minorUnits: 2 },
];

export interface Country {
  readonly code: string;
  readonly name: string;
  readonly currency: string;
  readonly callingCode: string;
  /** Where guests from this country live, when the generator needs a city. */
  readonly capital: string;
  /** Cities hotels of the group operate in; empty: guests come from here, no hotels. */
  readonly cities: readonly string[];
  readonly timezone: string;
}

export const COUNTRIES: readonly Country[] = [
  { code: 'AT', name: 'Austria', currency: 'EUR', callingCode: '+43', capital: 'Vienna', cities: [], timezone: 'Europe/Vienna' },
  { code: 'AU', name: 'Australia', currency: 'AUD', callingCode: '+61', capital: 'Sydney', cities: [], timezone: 'Australia/Sydney' },
  { code: 'BE', name: 'Belgium', currency: 'EUR', callingCode: '+32', capital: 'Brussels', cities: [], timezone: 'Europe/Brussels' },
  { code: 'CA', name: 'Canada', currency: 'CAD', callingCode: '+1', capital: 'Toronto', cities: [], timezone: 'America/Toronto' },
  { code: 'CH', name: 'Switzerland', currency: 'CHF', callingCode: '+41', capital: 'Zurich', cities: [], timezone: 'Europe/Zurich' },
  { code: 'CZ', name: 'Czechia', currency: 'CZK', callingCode: '+420', capital: 'Prague', cities: ['Prague', 'Brno'], timezone: 'Europe/Prague' },
  { code: 'DE', name: 'Germany', currency: 'EUR', callingCode: '+49', capital: 'Berlin', cities: ['Berlin', 'Frankfurt', 'Hamburg', 'Munich'], timezone: 'Europe/Berlin' },
  { code: 'DK', name: 'Denmark', currency: 'DKK', callingCode: '+45', capital: 'Copenhagen', cities: [], timezone: 'Europe/Copenhagen' },
  { code: 'ES', name: 'Spain', currency: 'EUR', callingCode: '+34', capital: 'Madrid', cities: ['Madrid', 'Barcelona', 'Malaga'], timezone: 'Europe/Madrid' },
  { code: 'FR', name: 'France', currency: 'EUR', callingCode: '+33', capital: 'Paris', cities: [], timezone: 'Europe/Paris' },
  { code: 'GB', name: 'United Kingdom', currency: 'GBP', callingCode: '+44', capital: 'London', cities: ['London', 'Manchester', 'Birmingham', 'Leeds', 'Belfast', 'Edinburgh', 'Glasgow', 'Bristol', 'Liverpool', 'Cardiff'], timezone: 'Europe/London' },
  { code: 'IE', name: 'Ireland', currency: 'EUR', callingCode: '+353', capital: 'Dublin', cities: ['Dublin', 'Cork', 'Galway', 'Limerick', 'Kilkenny', 'Waterford', 'Sligo', 'Killarney', 'Wexford', 'Athlone', 'Portlaoise', 'Tralee'], timezone: 'Europe/Dublin' },
  { code: 'IT', name: 'Italy', currency: 'EUR', callingCode: '+39', capital: 'Rome', cities: [], timezone: 'Europe/Rome' },
  { code: 'JP', name: 'Japan', currency: 'JPY', callingCode: '+81', capital: 'Tokyo', cities: [], timezone: 'Asia/Tokyo' },
  { code: 'NL', name: 'Netherlands', currency: 'EUR', callingCode: '+31', capital: 'Amsterdam', cities: ['Amsterdam', 'Rotterdam'], timezone: 'Europe/Amsterdam' },
  { code: 'NO', name: 'Norway', currency: 'NOK', callingCode: '+47', capital: 'Oslo', cities: [], timezone: 'Europe/Oslo' },
  { code: 'PL', name: 'Poland', currency: 'PLN', callingCode: '+48', capital: 'Warsaw', cities: [], timezone: 'Europe/Warsaw' },
  { code: 'PT', name: 'Portugal', currency: 'EUR', callingCode: '+351', capital: 'Lisbon', cities: ['Lisbon', 'Porto'], timezone: 'Europe/Lisbon' },
  { code: 'SE', name: 'Sweden', currency: 'SEK', callingCode: '+46', capital: 'Stockholm', cities: [], timezone: 'Europe/Stockholm' },
  { code: 'US', name: 'United States', currency: 'USD', callingCode: '+1', capital: 'New York', cities: [], timezone: 'America/New_York' },
];

/** Countries with hotels, weighted: most hotels are in Ireland and the UK. */
export const HOTEL_COUNTRIES: readonly string[] = ['IE', 'IE', 'IE', 'IE', 'GB', 'GB', 'GB', 'NL', 'DE', 'ES', 'PT', 'CZ'];

/** Guest nationalities, weighted towards the hotels' own markets. */
export const GUEST_COUNTRIES: readonly string[] = ['IE', 'IE', 'IE', 'GB', 'GB', 'GB', 'US', 'US', 'DE', 'FR', 'ES', 'IT', 'NL', 'CA', 'AU', 'AT', 'BE', 'CH', 'CZ', 'DK', 'JP', 'NO', 'PL', 'PT', 'SE'];

export const ROOM_TYPE_CATEGORIES = [
  { id: 1, code: 'standard', name: 'Standard' },
  { id: 2, code: 'superior', name: 'Superior' },
  { id: 3, code: 'deluxe', name: 'Deluxe' },
  { id: 4, code: 'suite', name: 'Suite' },
  { id: 5, code: 'family', name: 'Family' },
  { id: 6, code: 'accessible', name: 'Accessible' },
] as const;

export const AMENITIES = [
  { id: 1, code: 'wifi', name: 'Wi-Fi', category: 'technology' },
  { id: 2, code: 'smart_tv', name: 'Smart TV', category: 'technology' },
  { id: 3, code: 'air_conditioning', name: 'Air conditioning', category: 'comfort' },
  { id: 4, code: 'minibar', name: 'Minibar', category: 'food' },
  { id: 5, code: 'safe', name: 'In-room safe', category: 'security' },
  { id: 6, code: 'kettle', name: 'Tea and coffee', category: 'food' },
  { id: 7, code: 'coffee_machine', name: 'Coffee machine', category: 'food' },
  { id: 8, code: 'bathtub', name: 'Bathtub', category: 'bathroom' },
  { id: 9, code: 'rain_shower', name: 'Rain shower', category: 'bathroom' },
  { id: 10, code: 'balcony', name: 'Balcony', category: 'view' },
  { id: 11, code: 'city_view', name: 'City view', category: 'view' },
  { id: 12, code: 'sea_view', name: 'Sea view', category: 'view' },
  { id: 13, code: 'desk', name: 'Work desk', category: 'comfort' },
  { id: 14, code: 'sofa_bed', name: 'Sofa bed', category: 'comfort' },
  { id: 15, code: 'iron', name: 'Iron and board', category: 'comfort' },
  { id: 16, code: 'accessible_bathroom', name: 'Accessible bathroom', category: 'accessibility' },
] as const;

export const BOOKING_CHANNELS = [
  { id: 1, code: 'direct_web', name: 'Hotel website', commissionPct: 0 },
  { id: 2, code: 'phone', name: 'Reservations phone line', commissionPct: 0 },
  { id: 3, code: 'walk_in', name: 'Walk-in', commissionPct: 0 },
  { id: 4, code: 'ota_booking', name: 'Online travel agency A', commissionPct: 1500 },
  { id: 5, code: 'ota_expedia', name: 'Online travel agency B', commissionPct: 1800 },
  { id: 6, code: 'gds', name: 'Global distribution system', commissionPct: 1000 },
  { id: 7, code: 'travel_agent', name: 'Travel agent', commissionPct: 1000 },
  { id: 8, code: 'corporate', name: 'Corporate account', commissionPct: 0 },
] as const;

/** Channel ids whose bookings name an agent. */
export const AGENT_CHANNELS: readonly number[] = [7, 8];

export const LOYALTY_PROGRAMS = [
  { id: 1, code: 'harbour_rewards', name: 'Harbour Rewards', tiers: ['blue', 'silver', 'gold', 'platinum'] },
  { id: 2, code: 'corporate_club', name: 'Corporate Club', tiers: ['member', 'preferred'] },
  { id: 3, code: 'frequent_stay', name: 'Frequent Stay', tiers: ['classic', 'elite'] },
] as const;

export const FIRST_NAMES: readonly string[] = [
  'Aoife', 'Liam', 'Saoirse', 'Conor', 'Niamh', 'Seán', 'Mia', 'Noah', 'Emma', 'Luca', 'Sofia', 'Mateo', 'Amara', 'Kenji',
  'Priya', 'Omar', 'Ciara', 'Oisín', 'Grace', 'Jack', 'Chloé', 'Jonas', 'Léa', 'Tomás', 'Zofia', 'Erik', 'Hannah', 'Diego',
];
export const LAST_NAMES: readonly string[] = [
  'Murphy', 'Kelly', 'Byrne', 'Walsh', 'Ryan', "O'Brien", 'Garcia', 'Rossi', 'Novak', 'Tanaka', 'Patel', 'Haddad', 'Schmidt',
  'Dubois', 'Nolan', 'Doyle', 'Fitzgerald', 'Kowalski', 'Jensen', 'Silva', 'van Dijk', 'Müller', 'Smith', 'Brown',
];
export const STREETS: readonly string[] = ['Main Street', 'High Street', 'Church Road', 'Station Road', 'Harbour View', 'Mill Lane', 'Park Avenue', 'Quay Street'];

/**
 * COPY text rows of each shared table, by qualified name.
 *
 * @example
 * sharedTableRows().get('public.currency')?.[0]; // 'AUD\tAustralian dollar\tA$\t2\n'
 */
export function sharedTableRows(): ReadonlyMap<string, readonly string[]> {
  return new Map<string, readonly string[]>([
    ['public.currency', CURRENCIES.map((c) => `${c.code}\t${text(c.name)}\t${text(c.symbol)}\t${c.minorUnits}\n`)],
    ['public.country', COUNTRIES.map((c) => `${c.code}\t${text(c.name)}\t${c.currency}\t${c.callingCode}\n`)],
    ['public.room_type_category', ROOM_TYPE_CATEGORIES.map((c) => `${c.id}\t${c.code}\t${c.name}\n`)],
    ['public.amenity', AMENITIES.map((a) => `${a.id}\t${a.code}\t${text(a.name)}\t${a.category}\n`)],
    ['public.booking_channel', BOOKING_CHANNELS.map((c) => `${c.id}\t${c.code}\t${text(c.name)}\t${cents(c.commissionPct)}\n`)],
    ['public.loyalty_program', LOYALTY_PROGRAMS.map((p) => `${p.id}\t${p.code}\t${text(p.name)}\t${textArray(p.tiers)}\n`)],
  ]);
}
