/**
 * Ported-number rows (docs/routing.md): `msisdn,network` (CSV, header optional:
 * msisdn/number/phone/mobile, network/tag/operator/carrier) or `{"msisdn": …, "network": …}` → a
 * number (international digits, at most 15) and its network tag (what routes name in ported_to).
 *
 * The hot path: CSV lines `digits,tag` (the number in any form dnd-rows.ts reads, the tag letters,
 * digits, _ . -; optional spaces/CR) are read straight from the bytes by fastLine(); anything else
 * goes through the CSV decoder and csv()/json(), with the same result.
 */
import type { Numbering } from '../domain/address.js';
import { NETWORK_TAG, NETWORK_TAG_TEXT } from '../domain/ported.js';
import { DndRows } from './dnd-rows.js';
import { clip, Columns, numberOf, type Checked, type RowValidator } from './fields.js';

export interface PortedRow {
  /** International digits as a number (exact: at most 15 digits). */
  number: number;
  network: string;
}

/** Tag bytes: A-Z a-z 0-9 _ . - */
const TAG_BYTE = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-') TAG_BYTE[c.charCodeAt(0)] = 1;

export class PortedRows implements RowValidator<PortedRow> {
  /** False once a header changes the column order: every line then takes the general path. */
  fast = true;
  /** The row fastLine() read. */
  number = 0;
  network = '';

  private readonly cols = new Columns(['msisdn', 'network'], { number: 'msisdn', phone: 'msisdn', mobile: 'msisdn', tag: 'network', operator: 'network', carrier: 'network' });
  private header_ = false;
  private readonly numbers: DndRows;
  /** The last tag read, and its bytes: rows repeat a handful of tags, so most lines make no string. */
  private lastTag = Buffer.alloc(0);

  constructor(private readonly numbering: Numbering) {
    this.numbers = new DndRows(numbering, 0);
  }

  /** The hot path: `[+]digits,tag` in bytes start..end of buf; false: the line needs the general path. */
  fastLine(buf: Buffer, start: number, end: number): boolean {
    if (!this.fast) return false;
    let i = this.numbers.readNumber(buf, start, end);
    if (i < 0) return false;
    while (i < end && (buf[i] === 32 || buf[i] === 9)) i++;
    if (i >= end || buf[i] !== 44) return false;
    i++;
    while (i < end && (buf[i] === 32 || buf[i] === 9)) i++;
    const ts = i;
    while (i < end && TAG_BYTE[buf[i]!] === 1) i++;
    const te = i;
    if (te === ts || te - ts > 32) return false;
    while (i < end && (buf[i] === 32 || buf[i] === 9 || buf[i] === 13)) i++;
    if (i !== end) return false;
    const last = this.lastTag;
    if (last.length !== te - ts || buf.compare(last, 0, last.length, ts, te) !== 0) {
      this.network = buf.toString('latin1', ts, te);
      this.lastTag = Buffer.from(this.network, 'latin1');
    }
    this.number = this.numbers.number;
    return true;
  }

  header(f: string[]): boolean {
    if (/\d/.test(f[0] ?? '')) return false;
    if (!this.cols.useHeader(f.map((h) => h.trim().toLowerCase()), ['msisdn', 'network'])) return false;
    this.header_ = true;
    const { msisdn, network } = this.cols.index;
    if (msisdn !== 0 || network !== 1) this.fast = false;
    return true;
  }

  csv(f: string[]): Checked<PortedRow> {
    if (f.length !== 2 && !this.header_) return { bad: `expected msisdn,network, got ${f.length} field${f.length === 1 ? '' : 's'}` };
    return this.json({ msisdn: this.cols.get(f, 'msisdn'), network: this.cols.get(f, 'network') });
  }

  json(o: Record<string, unknown>): Checked<PortedRow> {
    const num = numberOf(o.msisdn, this.numbering);
    if ('bad' in num) return num;
    const raw = o.network;
    if (raw === undefined || raw === null || raw === '') return { bad: 'missing network' };
    // A JSON number is read as its digits (as msisdn is); true, an object or an array is not a tag.
    if (typeof raw !== 'string' && typeof raw !== 'number') return { bad: `network must be a string, got ${Array.isArray(raw) ? 'an array' : typeof raw}` };
    const network = typeof raw === 'string' ? raw.trim() : String(raw);
    if (!NETWORK_TAG.test(network)) return { bad: `network must be ${NETWORK_TAG_TEXT} (a tag routes name in ported_to): ${clip(String(raw))}` };
    return { ok: { number: Number(num.ok), network } };
  }
}
