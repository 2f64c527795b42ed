/**
 * Time as the config and the rule packs spell it — a duration ("60s", "15m", "1h", "1d"), an IANA
 * time-zone name — and a zone's local time: its UTC offset is cached per zone and quarter hour
 * (offsets only change on quarter-hour boundaries), so the hot path does one Map lookup.
 */
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "60s" | "15m" | "1h" | "1d" → milliseconds; null when malformed. */
export function parseDuration(s: string): number | null {
  const m = /^(\d{1,6})([smhd])$/.exec(s);
  if (!m) return null;
  const ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms > 0 ? ms : null;
}

export function isValidZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const QUARTER_HOUR = 15 * 60_000;
const formats = new Map<string, Intl.DateTimeFormat>();
const offsets = new Map<string, { quarter: number; offsetMin: number }>();

/** The zone's UTC offset in minutes (east positive) at `now`. */
export function offsetMinutes(zone: string, now: number): number {
  const quarter = Math.floor(now / QUARTER_HOUR);
  const hit = offsets.get(zone);
  if (hit && hit.quarter === quarter) return hit.offsetMin;
  let fmt = formats.get(zone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    formats.set(zone, fmt);
  }
  const at = quarter * QUARTER_HOUR;
  const p: Record<string, number> = {};
  for (const part of fmt.formatToParts(at)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const local = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!);
  const offsetMin = Math.round((local - at) / 60_000);
  offsets.set(zone, { quarter, offsetMin });
  return offsetMin;
}

/** Minutes since local midnight in `zone` at epoch ms `now`. */
export function minuteOfDay(zone: string, now: number): number {
  const localMin = Math.floor(now / 60_000) + offsetMinutes(zone, now);
  return ((localMin % 1440) + 1440) % 1440;
}

/**
 * "2026-12-05 13:15:02 +08:00": epoch ms `t` as the wall clock in `zone`, with the offset shown so
 * the instant stays unambiguous (tables for people; JSON keeps ISO UTC).
 */
export function formatInZone(t: number, zone: string): string {
  const off = offsetMinutes(zone, t);
  const local = new Date(Math.floor(t / 1000) * 1000 + off * 60_000).toISOString();
  const a = Math.abs(off);
  const sign = off < 0 ? '-' : '+';
  return `${local.slice(0, 10)} ${local.slice(11, 19)} ${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

/** An ISO (or other Date.parse-able) time in `zone` (formatInZone); null/empty → null; unparsable text as given. */
export function isoInZone(iso: string | null | undefined, zone: string): string | null {
  if (iso === null || iso === undefined || iso === '') return null;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? formatInZone(t, zone) : iso;
}
