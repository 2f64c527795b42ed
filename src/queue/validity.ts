/**
 * SMPP time fields (3.4 §7.1.1) as epoch milliseconds: how long a queued message may still be
 * delivered. "YYMMDDhhmmsstnnp": absolute when p is '+' or '-' (local time nn quarter hours ahead of
 * or behind UTC), relative to now when p is 'R'. Empty means the SMSC default: no deadline of the
 * message's own (the account's max age applies).
 */
const TIME = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d)(\d\d)([-+R])$/;

/** The deadline `value` names, null when empty, undefined when malformed. */
export function smppTime(value: string, now: number): number | null | undefined {
  if (value === '') return null;
  const m = TIME.exec(value);
  if (!m) return undefined;
  const [yy, mo, dd, hh, mi, ss, t, nn] = m.slice(1, 9).map(Number) as [number, number, number, number, number, number, number, number];
  if (m[9] === 'R') {
    // Relative: years and months as 365 and 30 days (the spec leaves them to the SMSC; this is common).
    const days = yy * 365 + mo * 30 + dd;
    return now + ((days * 24 + hh) * 60 + mi) * 60_000 + ss * 1000;
  }
  if (mo < 1 || mo > 12 || dd < 1 || dd > 31 || hh > 23 || mi > 59 || ss > 59 || nn > 48) return undefined;
  const offsetMs = nn * 15 * 60_000 * (m[9] === '+' ? 1 : -1);
  return Date.UTC(2000 + yy, mo - 1, dd, hh, mi, ss, t * 100) - offsetMs;
}

/**
 * When a message accepted at `acceptedAt` stops being worth delivering: its validity_period, capped
 * by the account's maximum age. A malformed validity period is the cap alone (the SMSC would have
 * refused it; we accepted it only because it was queued, so we do not invent a stricter rule).
 */
export function expiryOf(validityPeriod: string, acceptedAt: number, maxAgeMs: number): number {
  const cap = acceptedAt + maxAgeMs;
  const v = smppTime(validityPeriod, acceptedAt);
  return typeof v === 'number' ? Math.min(v, cap) : cap;
}
