/**
 * The two time spellings the config and the rule packs share: a duration ("60s", "15m", "1h",
 * "1d") and an IANA time-zone name.
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
