/**
 * What the row validators (dnd-rows.ts, consent-rows.ts, sender-rows.ts) share: the shape of a
 * checked row, CSV column mapping (default order, or a header's), and the field checks more than
 * one kind needs — numbers normalised as the admin API does, sender values — with the wording of
 * their bad-row messages.
 */
import type { Numbering } from '../domain/address.js';
import type { SenderKind } from '../domain/sender.js';
import { normaliseMsisdn } from '../policy/address.js';
import { DND_MAX_DIGITS } from '../store/bulk-load.js';
import { ImportError } from './kinds.js';

/** A row that passed (ok) or the reason it is skipped (bad). */
export type Checked<T> = { ok: T } | { bad: string };

/** One validator per kind: a CSV header, CSV records, JSON objects → checked rows. */
export interface RowValidator<T> {
  /**
   * The first record of a CSV file: true when it is a header (taken: columns may then come in any
   * order). Throws ImportError when it names known columns but not every required one.
   */
  header(fields: string[]): boolean;
  csv(fields: string[]): Checked<T>;
  json(o: Record<string, unknown>): Checked<T>;
}

export const clip = (s: string) => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);

/** A present value as a string; empty, null and undefined are absent. */
export const str = (v: unknown): string | undefined => (v === undefined || v === null || v === '' ? undefined : String(v));

/** Normalised number (international digits), or the reason it is not one. */
export function numberOf(raw: unknown, n: Numbering): Checked<string> {
  if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw > 0) raw = String(raw);
  if (typeof raw !== 'string' || raw.trim() === '') return { bad: 'missing msisdn' };
  const v = normaliseMsisdn(raw, n);
  if (!v) return { bad: `not a phone number: ${clip(raw)}` };
  if (v.length > DND_MAX_DIGITS) return { bad: `number longer than ${DND_MAX_DIGITS} digits: ${clip(raw)}` };
  return { ok: v };
}

/** The canonical value of a sender of this kind, as the admin API makes it (numbers normalised). */
export function senderValueOf(kind: SenderKind, raw: string, n: Numbering): Checked<string> {
  switch (kind) {
    case 'number': {
      const v = numberOf(raw, n);
      return 'bad' in v ? { bad: `sender ${v.bad}` } : v;
    }
    case 'prefix':
      return /^\d{1,15}$/.test(raw) ? { ok: raw } : { bad: `prefix must be 1–15 digits in international form (no "+"): ${clip(raw)}` };
    case 'range':
      return /^\d{1,15}-\d{1,15}$/.test(raw) ? { ok: raw } : { bad: `range must be "from-to", each end 1–15 digits: ${clip(raw)}` };
    case 'alpha':
      return raw === raw.trim() && raw.length <= 20 && raw.length > 0
        ? { ok: raw }
        : { bad: `sender name must be 1–20 characters without leading or trailing spaces: ${clip(raw)}` };
  }
}

/** Maps CSV columns to names: default order, or the header's. */
export class Columns {
  index: Record<string, number>;
  constructor(
    readonly names: readonly string[],
    private readonly aliases: Record<string, string> = {},
  ) {
    this.index = Object.fromEntries(names.map((n, i) => [n, i]));
  }

  /** Takes a header (lower-cased names); false when it names no known column (it is then a data line). */
  useHeader(header: string[], required: readonly string[]): boolean {
    const idx: Record<string, number> = {};
    header.forEach((h, i) => {
      const n = this.aliases[h] ?? h;
      if (this.names.includes(n) && idx[n] === undefined) idx[n] = i;
    });
    if (Object.keys(idx).length === 0) return false;
    const missing = required.filter((r) => idx[r] === undefined);
    if (missing.length) throw new ImportError(`header names no column ${missing.join(', ')} (columns: ${this.names.join(', ')})`);
    this.index = idx;
    return true;
  }

  get(f: string[], name: string): string | undefined {
    const i = this.index[name];
    return i === undefined ? undefined : f[i];
  }
}
