/**
 * DND rows: `msisdn[,category]` (CSV, header optional: msisdn/number/phone/mobile, category/cat) or
 * `{"msisdn": …, "category": …}` → a number (international digits, at most 15) and a category 0–7
 * (0 = all commercial; rows that give none get the import's default).
 *
 * The hot path: CSV lines of digits (`8613812345678`, `13812345678`, `013812345678`,
 * `008613812345678`, `+8613812345678`, `…,3`, with optional spaces/CR) are read straight from the
 * bytes by fastLine(), normalised as normaliseMsisdn does; anything else (quotes, separators in
 * numbers, a header's other column order) goes through the CSV decoder and csv()/json(), with the
 * same result.
 */
import type { Numbering } from '../domain/address.js';
import { DND_MAX_DIGITS } from '../store/bulk-load.js';
import { clip, Columns, numberOf, type Checked, type RowValidator } from './fields.js';

export interface DndRow {
  /** International digits as a number (exact: at most 15 digits). */
  number: number;
  category: number;
}

function categoryOf(raw: unknown, dflt: number): Checked<number> {
  if (raw === undefined || raw === null || raw === '') return { ok: dflt };
  const n = typeof raw === 'number' ? raw : /^\d+$/.test(String(raw).trim()) ? Number(String(raw).trim()) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 7) return { bad: `category must be 0–7 (0 = all commercial): ${clip(String(raw))}` };
  return { ok: n };
}

export class DndRows implements RowValidator<DndRow> {
  /** False once a header changes the column order: every line then takes the general path. */
  fast = true;
  /** The row fastLine() read. */
  number = 0;
  category = 0;

  private readonly cols = new Columns(['msisdn', 'category'], { number: 'msisdn', phone: 'msisdn', mobile: 'msisdn', cat: 'category' });
  private header_ = false;
  /** Whether the fast path reads a category after a comma (false: a comma sends the line to the general path). */
  private fastCategory = true;
  private readonly cc: number[];
  private readonly ccValue: number;
  private readonly intl: number[];
  private readonly natl: number[];
  /** The most digits a line may have to be read by the fast path (the longest prefix + 15). */
  private readonly maxRaw: number;

  constructor(
    private readonly numbering: Numbering,
    /** The category of rows that give none. */
    private readonly dfltCategory: number,
  ) {
    const bytes = (s: string) => [...Buffer.from(s)];
    this.cc = bytes(numbering.country_code);
    this.ccValue = Number(numbering.country_code);
    this.intl = bytes(numbering.international_prefix);
    this.natl = bytes(numbering.national_prefix);
    this.maxRaw = DND_MAX_DIGITS + Math.max(this.intl.length, this.natl.length);
  }

  private valueOf(buf: Buffer, from: number, to: number): number {
    let v = 0;
    for (let k = from; k < to; k++) v = v * 10 + buf[k]! - 48;
    return v;
  }

  private starts(buf: Buffer, at: number, end: number, p: number[]): boolean {
    if (p.length === 0 || end - at < p.length) return false;
    for (let k = 0; k < p.length; k++) if (buf[at + k] !== p[k]) return false;
    return true;
  }

  /**
   * `[+]digits` (after optional spaces) at bytes start..end of buf, normalised as normaliseMsisdn
   * does: the index after the digits, with the number in `number`; -1 when the line needs the
   * general path. Shared with the ported-number rows (ported-rows.ts).
   */
  readNumber(buf: Buffer, start: number, end: number): number {
    let i = start;
    while (i < end && (buf[i] === 32 || buf[i] === 9)) i++;
    let plus = false;
    if (buf[i] === 43) {
      plus = true;
      i++;
    }
    const ds = i;
    let v = 0;
    while (i < end) {
      const d = buf[i]! - 48;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      i++;
    }
    const digits = i - ds;
    if (digits === 0 || digits > this.maxRaw) return -1;
    // Normalised as normaliseMsisdn does: after "+" as it is; else without the international
    // prefix, else the trunk prefix replaced by the country code, else the country code prepended
    // unless it is there. (v is exact for the at most 15 digits kept.)
    let n = digits;
    if (!plus) {
      if (this.starts(buf, ds, i, this.intl)) {
        const from = ds + this.intl.length;
        if (from === i) return -1;
        v = this.valueOf(buf, from, i);
        n = i - from;
      } else if (this.starts(buf, ds, i, this.natl)) {
        const from = ds + this.natl.length;
        v = this.ccValue * 10 ** (i - from) + this.valueOf(buf, from, i);
        n = this.cc.length + i - from;
      } else if (!this.starts(buf, ds, i, this.cc)) {
        v = this.ccValue * 10 ** digits + v;
        n = this.cc.length + digits;
      }
    }
    if (n > DND_MAX_DIGITS) return -1;
    this.number = v;
    return i;
  }

  /**
   * The hot path: `[+]digits[,category]` with optional spaces/CR in bytes start..end of buf. True
   * when it read a valid row (then in `number` and `category`); false: the line needs the general
   * path (which decides whether it is valid).
   */
  fastLine(buf: Buffer, start: number, end: number): boolean {
    if (!this.fast) return false;
    let i = this.readNumber(buf, start, end);
    if (i < 0) return false;
    let cat = this.dfltCategory;
    while (i < end && (buf[i] === 32 || buf[i] === 9 || buf[i] === 13)) i++;
    if (i < end && buf[i] === 44 && this.fastCategory) {
      i++;
      while (i < end && (buf[i] === 32 || buf[i] === 9)) i++;
      const d = buf[i]! - 48;
      if (i < end && d >= 0 && d <= 7) {
        cat = d;
        i++;
      } else if (i < end && buf[i] !== 13) return false;
      while (i < end && (buf[i] === 32 || buf[i] === 9 || buf[i] === 13)) i++;
    }
    if (i !== end) return false;
    this.category = cat;
    return true;
  }

  header(f: string[]): boolean {
    if (/\d/.test(f[0] ?? '')) return false;
    if (!this.cols.useHeader(f.map((h) => h.toLowerCase()), ['msisdn'])) return false;
    this.header_ = true;
    // The fast path reads `msisdn[,category]`; any other layout goes through the general path.
    const { msisdn, category } = this.cols.index;
    if (msisdn !== 0 || (category !== undefined && category !== 1)) this.fast = false;
    this.fastCategory = category === 1;
    return true;
  }

  csv(f: string[]): Checked<DndRow> {
    if (f.length > 2 && !this.header_) return { bad: `expected msisdn[,category], got ${f.length} fields` };
    return this.json({ msisdn: this.cols.get(f, 'msisdn'), category: this.cols.get(f, 'category') });
  }

  json(o: Record<string, unknown>): Checked<DndRow> {
    const num = numberOf(o.msisdn, this.numbering);
    if ('bad' in num) return num;
    const cat = categoryOf(o.category, this.dfltCategory);
    if ('bad' in cat) return cat;
    return { ok: { number: Number(num.ok), category: cat.ok } };
  }
}
