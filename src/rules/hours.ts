/**
 * Allowed hours for rules ("08:00-21:00", the `time:` match and the until-window queue's release)
 * in the recipient's time zone (number prefix → IANA zone, longest prefix wins), and the
 * calling-code table behind destination_country. A zone's local time comes from domain/time.ts.
 */
import { minuteOfDay } from '../domain/time.js';

/** Minutes since local midnight, [from, to): to < from wraps past midnight ("21:00-08:00"). */
export interface DailyHours {
  from: number;
  to: number;
}

export function parseHours(s: string): DailyHours | null {
  const m = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$/.exec(s);
  if (!m) return null;
  const from = Number(m[1]) * 60 + Number(m[2]);
  const to = Number(m[3]) * 60 + Number(m[4]);
  if (to > 1440 || from === to) return null;
  return { from, to };
}

export function withinHours(minute: number, w: DailyHours): boolean {
  return w.from < w.to ? minute >= w.from && minute < w.to : minute >= w.from || minute < w.to;
}

/**
 * Zones of single-zone countries, by calling code. Countries spanning several zones (US/Canada,
 * Russia, Brazil, Australia, Indonesia, Mexico, …) are left out: give `zones:` per area code.
 */
export const BUILTIN_ZONES: Readonly<Record<string, string>> = {
  '86': 'Asia/Shanghai',
  '852': 'Asia/Hong_Kong',
  '853': 'Asia/Macau',
  '886': 'Asia/Taipei',
  '91': 'Asia/Kolkata',
  '92': 'Asia/Karachi',
  '880': 'Asia/Dhaka',
  '94': 'Asia/Colombo',
  '977': 'Asia/Kathmandu',
  '81': 'Asia/Tokyo',
  '82': 'Asia/Seoul',
  '65': 'Asia/Singapore',
  '60': 'Asia/Kuala_Lumpur',
  '66': 'Asia/Bangkok',
  '84': 'Asia/Ho_Chi_Minh',
  '63': 'Asia/Manila',
  '971': 'Asia/Dubai',
  '966': 'Asia/Riyadh',
  '974': 'Asia/Qatar',
  '972': 'Asia/Jerusalem',
  '90': 'Europe/Istanbul',
  '44': 'Europe/London',
  '353': 'Europe/Dublin',
  '33': 'Europe/Paris',
  '49': 'Europe/Berlin',
  '34': 'Europe/Madrid',
  '39': 'Europe/Rome',
  '31': 'Europe/Amsterdam',
  '32': 'Europe/Brussels',
  '41': 'Europe/Zurich',
  '43': 'Europe/Vienna',
  '46': 'Europe/Stockholm',
  '47': 'Europe/Oslo',
  '45': 'Europe/Copenhagen',
  '48': 'Europe/Warsaw',
  '351': 'Europe/Lisbon',
  '30': 'Europe/Athens',
  '380': 'Europe/Kyiv',
  '20': 'Africa/Cairo',
  '27': 'Africa/Johannesburg',
  '234': 'Africa/Lagos',
  '254': 'Africa/Nairobi',
  '64': 'Pacific/Auckland',
};

/** Longest-prefix zone lookup over the built-in table plus a rule file's `zones:`. */
export class ZoneTable {
  private readonly byPrefix = new Map<string, string>();
  private readonly lengths: number[];

  constructor(
    extra: Readonly<Record<string, string>>,
    readonly fallback: string,
  ) {
    for (const [p, z] of Object.entries(BUILTIN_ZONES)) this.byPrefix.set(p, z);
    for (const [p, z] of Object.entries(extra)) this.byPrefix.set(p, z);
    this.lengths = [...new Set([...this.byPrefix.keys()].map((p) => p.length))].sort((a, b) => b - a);
  }

  zoneOf(msisdn: string): string {
    for (const len of this.lengths) {
      if (len > msisdn.length) continue;
      const z = this.byPrefix.get(msisdn.slice(0, len));
      if (z) return z;
    }
    return this.fallback;
  }
}

/**
 * ISO 3166 alpha-2 → calling-code prefixes (E.164). NANP numbers all start with 1: US and CA share
 * it here (use destination_prefix with area codes to tell them apart).
 */
export const CALLING_CODES: Readonly<Record<string, readonly string[]>> = {
  US: ['1'], CA: ['1'], RU: ['7'], KZ: ['7'], EG: ['20'], ZA: ['27'], GR: ['30'], NL: ['31'], BE: ['32'],
  FR: ['33'], ES: ['34'], HU: ['36'], IT: ['39'], RO: ['40'], CH: ['41'], AT: ['43'], GB: ['44'], DK: ['45'],
  SE: ['46'], NO: ['47'], PL: ['48'], DE: ['49'], PE: ['51'], MX: ['52'], CU: ['53'], AR: ['54'], BR: ['55'],
  CL: ['56'], CO: ['57'], VE: ['58'], MY: ['60'], AU: ['61'], ID: ['62'], PH: ['63'], NZ: ['64'], SG: ['65'],
  TH: ['66'], JP: ['81'], KR: ['82'], VN: ['84'], CN: ['86'], TR: ['90'], IN: ['91'], PK: ['92'], AF: ['93'],
  LK: ['94'], MM: ['95'], IR: ['98'], MA: ['212'], DZ: ['213'], TN: ['216'], NG: ['234'], KE: ['254'],
  TZ: ['255'], UG: ['256'], PT: ['351'], IE: ['353'], FI: ['358'], UA: ['380'], HK: ['852'], MO: ['853'],
  KH: ['855'], LA: ['856'], BD: ['880'], TW: ['886'], SA: ['966'], AE: ['971'], IL: ['972'], QA: ['974'],
  NP: ['977'],
};

/**
 * When a time condition stops matching: the first minute at or after `now` that is inside `w`
 * (`outside: true`, "outside 08:00-21:00" waits for 08:00) or outside it (`outside: false`,
 * "inside 21:00-08:00" waits for 08:00), in `zone`. Checked minute by minute across DST shifts.
 */
export function nextOpening(zone: string, now: number, w: DailyHours, outside: boolean): number {
  const open = (t: number) => withinHours(minuteOfDay(zone, t), w) === outside;
  if (open(now)) return now;
  const m = minuteOfDay(zone, now);
  const target = outside ? w.from : w.to;
  let t = Math.floor(now / 60_000) * 60_000 + ((target - m + 1440) % 1440) * 60_000;
  // A DST change between now and then shifts local time by up to an hour: find the exact minute.
  for (let i = 0; i < 120 && t - 60_000 > now && open(t - 60_000); i++) t -= 60_000;
  for (let i = 0; i < 120 && !open(t); i++) t += 60_000;
  return Math.max(t, now);
}
