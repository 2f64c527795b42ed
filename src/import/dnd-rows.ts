/**
 * DND rows: `msisdn[,category]` (CSV, header optional: msisdn/number/phone/mobile, category/cat) or
 * `{"msisdn": …, "category": …}` → a number (international digits, at most 15) and a category 0–7
 * (0 = all commercial; rows that give none get the import's default).
 *
 * The hot path: CSV lines of the common shapes (`8613812345678`, `13812345678`, `+8613812345678`,
 * `…,3`, with optional spaces/CR) are read straight from the bytes by fastLine(); anything else
 * (quotes, trunk or international prefixes, a header's other column order) goes through the CSV
 * decoder and csv()/json(), with the same result.
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
  }

  private starts(buf: Buffer, at: number, end: number, p: number[]): boolean {
    if (p.length === 0 || end - at < p.length) return false;
    for (let k = 0; k < p.length; k++) if (buf[at + k] !== p[k]) return false;
    return true;
  }

  /**
   * The hot path: `[+]digits[,category]` with optional spaces/CR in bytes start..end of buf. True
   * when it read a valid row (then in `number` and `category`); false: the line needs the general
   * path (which decides whether it is valid).
   */
  fastLine(buf: Buffer, start: number, end: number): boolean {
    if (!this.fast) return false;
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
    let digits = i - ds;
    let ok = digits > 0 && digits <= DND_MAX_DIGITS;
    if (ok && !plus) {
      if (this.starts(buf, ds, i, this.intl) || this.starts(buf, ds, i, this.natl)) ok = false;
      else if (!this.starts(buf, ds, i, this.cc)) {
        digits += this.cc.length;
        v = this.ccValue * 10 ** (i - ds) + v;
        ok = digits <= DND_MAX_DIGITS;
      }
    }
    let cat = this.dfltCategory;
    if (ok) {
      while (i < end && (buf[i] === 32 || buf[i] === 9 || buf[i] === 13)) i++;
      if (i < end && buf[i] === 44 && this.fastCategory) {
        i++;
        while (i < end && (buf[i] === 32 || buf[i] === 9)) i++;
        const d = buf[i]! - 48;
        if (i < end && d >= 0 && d <= 7) {
          cat = d;
          i++;
        } else if (i < end && buf[i] !== 13) ok = false;
        while (i < end && (buf[i] === 32 || buf[i] === 9 || buf[i] === 13)) i++;
      }
      if (i !== end) ok = false;
    }
    if (!ok) return false;
    this.number = v;
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
