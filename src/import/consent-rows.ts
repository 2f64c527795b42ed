/**
 * Consent rows: `msisdn,scope,state,channel,evidence[,expires_at]` (CSV, header optional) or the
 * same keys as JSON → a consent write, checked and made canonical as the admin API does it: the
 * number normalised, the scope `sender:<kind>:<value>` | `brand:<name>` | `account:<system_id>`
 * (a configured account, when accounts are given), state granted/revoked (and their short forms),
 * evidence required for a grant, expires_at (ISO 8601 or epoch ms) only on a grant and in the future.
 *
 * The hot path: CSV lines `msisdn,scope,state[,channel[,evidence]]` of plain ASCII cells (no
 * quotes, no control characters, no spaces around a cell; a CR at the end allowed) are split
 * straight from the bytes by fastLine() and checked by the same functions as csv()/json() (the
 * scope's check remembered per scope text: files repeat a handful of scopes); anything else —
 * quotes, expires_at, Unicode, a header's other column order, a row the checks refuse — goes
 * through the CSV decoder and csv(), which decides and words the bad-row message. Written by hand
 * because csv-parse's per-record cost was the importer's largest (bench/RESULTS.md, issue 23).
 */
import type { Numbering } from '../domain/address.js';
import { SENDER_KINDS, senderId, type SenderKind } from '../domain/sender.js';
import type { ConsentWrite } from '../store/bulk-load.js';
import { clip, Columns, numberOf, senderValueOf, str, type Checked, type RowValidator } from './fields.js';

/** The states and their short forms (no prototype: "constructor" or "toString" is no state). */
const CONSENT_STATES: Record<string, 'granted' | 'revoked' | undefined> = Object.assign(Object.create(null) as Record<string, never>, {
  granted: 'granted',
  grant: 'granted',
  g: 'granted',
  yes: 'granted',
  revoked: 'revoked',
  revoke: 'revoked',
  r: 'revoked',
  no: 'revoked',
});

/** "sender:<kind>:<value>" | "brand:<name>" | "account:<system_id>", canonical as the admin API stores it. */
export function scopeOf(raw: string | undefined, n: Numbering, accounts: ReadonlySet<string> | null): Checked<string> {
  const usage = 'scope must be sender:<kind>:<value>, brand:<name> or account:<system_id>';
  if (!raw) return { bad: `missing scope (${usage})` };
  const colon = raw.indexOf(':');
  const type = raw.slice(0, colon);
  const rest = raw.slice(colon + 1);
  if (colon < 0 || rest === '') return { bad: `${usage}: ${clip(raw)}` };
  switch (type) {
    case 'sender': {
      const c2 = rest.indexOf(':');
      const kind = rest.slice(0, c2) as SenderKind;
      if (c2 < 0 || !SENDER_KINDS.includes(kind)) return { bad: `sender scope must be sender:<kind>:<value> (kind ${SENDER_KINDS.join(', ')}): ${clip(raw)}` };
      const v = senderValueOf(kind, rest.slice(c2 + 1), n);
      return 'bad' in v ? v : { ok: `sender:${senderId(kind, v.ok)}` };
    }
    case 'brand':
      return rest.length <= 18 ? { ok: raw } : { bad: `brand longer than 18 characters: ${clip(rest)}` };
    case 'account':
      return accounts && !accounts.has(rest) ? { bad: `no account ${clip(rest)} is configured` } : { ok: raw };
    default:
      return { bad: `${usage}: ${clip(raw)}` };
  }
}

/** ISO date-time or epoch milliseconds → ms. */
function timeOf(raw: unknown): number | null {
  if (typeof raw === 'number') return Number.isFinite(raw) && raw > 0 ? raw : null;
  const s = String(raw).trim();
  if (/^\d{10,}$/.test(s)) return Number(s);
  const t = Date.parse(s);
  return Number.isFinite(t) && /^\d{4}-\d{2}-\d{2}/.test(s) ? t : null;
}

/** Bytes a fast-path cell may hold: printable ASCII but the quote and the comma (space inside only). */
const CELL_BYTE = new Uint8Array(256);
for (let b = 32; b < 127; b++) CELL_BYTE[b] = b === 34 || b === 44 ? 0 : 1;

/** Scopes whose check fastLine() remembers (cleared when full: bounded whatever the file holds). */
const SCOPE_MEMO = 4096;

export class ConsentRows implements RowValidator<ConsentWrite> {
  /** False once a header changes the column order: every line then takes the general path. */
  fast = true;
  /** The row fastLine() read. */
  row: ConsentWrite | null = null;
  private readonly scopes = new Map<string, Checked<string>>();
  /** Cell boundaries of the line fastLine() splits (start, end per cell). */
  private readonly cells = new Int32Array(12);
  private readonly cols = new Columns(['msisdn', 'scope', 'state', 'channel', 'evidence', 'expires_at'], { expires: 'expires_at', number: 'msisdn' });
  private header_ = false;

  constructor(
    private readonly numbering: Numbering,
    /** Configured account names; null: account scopes are not checked. */
    private readonly accounts: ReadonlySet<string> | null,
    private readonly now: () => number = Date.now,
  ) {}

  header(f: string[]): boolean {
    if (/\d/.test(f[0] ?? '')) return false;
    this.header_ = this.cols.useHeader(
      f.map((h) => h.toLowerCase()),
      ['msisdn', 'scope', 'state'],
    );
    if (this.header_) {
      // The fast path reads cells in the default order: a header that is anything but the first
      // default columns (another order, a column it does not know, a repeat) sends every line to
      // the general path.
      const idx = this.cols.index;
      const names = this.cols.names;
      this.fast = Object.keys(idx).length === f.length && f.every((_, i) => idx[names[i]!] === i);
    }
    return this.header_;
  }

  /**
   * The hot path (see the header): true when bytes start..end of buf are a valid row, then in
   * `row`; false: the line takes the general path, which decides whether it is valid.
   */
  fastLine(buf: Buffer, start: number, end: number): boolean {
    if (!this.fast) return false;
    if (end > start && buf[end - 1] === 13) end--;
    const cells = this.cells;
    let n = 0;
    let from = start;
    for (let i = start; ; i++) {
      if (i === end || buf[i] === 44) {
        // No space at a cell's edges (csv-parse would trim it): the general path does that.
        if (i > from && (buf[from] === 32 || buf[i - 1] === 32)) return false;
        if (n === 10) return false;
        cells[n++] = from;
        cells[n++] = i;
        if (i === end) break;
        from = i + 1;
      } else if (CELL_BYTE[buf[i]!] !== 1) return false;
    }
    // msisdn, scope, state[, channel[, evidence]]: 3–5 cells (expires_at takes the general path).
    if (n < 6 || n > 10) return false;
    const cell = (k: number) => (cells[2 * k + 1]! > cells[2 * k]! ? buf.toString('latin1', cells[2 * k]!, cells[2 * k + 1]!) : undefined);
    const rawScope = cell(1);
    const rawState = cell(2);
    if (rawScope === undefined || rawState === undefined) return false;
    const state = CONSENT_STATES[rawState];
    if (state === undefined) return false;
    const evidence = n > 8 ? cell(4) : undefined;
    if (state === 'granted' && evidence === undefined) return false;
    const num = numberOf(cell(0), this.numbering);
    if ('bad' in num) return false;
    let scope = this.scopes.get(rawScope);
    if (scope === undefined) {
      if (this.scopes.size >= SCOPE_MEMO) this.scopes.clear();
      scope = scopeOf(rawScope, this.numbering, this.accounts);
      this.scopes.set(rawScope, scope);
    }
    if ('bad' in scope) return false;
    this.row = { msisdn: num.ok, scope: scope.ok, state, expires: null, channel: n > 6 ? cell(3) : undefined, evidence };
    return true;
  }

  csv(f: string[]): Checked<ConsentWrite> {
    if (f.length < 3 || (!this.header_ && f.length > 6)) return { bad: `expected msisdn,scope,state,channel,evidence[,expires_at], got ${f.length} fields` };
    const o: Record<string, unknown> = {};
    for (const n of this.cols.names) o[n] = this.cols.get(f, n);
    return this.json(o);
  }

  json(o: Record<string, unknown>): Checked<ConsentWrite> {
    const num = numberOf(o.msisdn, this.numbering);
    if ('bad' in num) return num;
    const scope = scopeOf(str(o.scope), this.numbering, this.accounts);
    if ('bad' in scope) return scope;
    const state = CONSENT_STATES[String(o.state ?? '').trim().toLowerCase()];
    if (!state) return { bad: `state must be granted or revoked: ${clip(String(o.state ?? ''))}` };
    let expires: number | null = null;
    if (str(o.expires_at)) {
      if (state !== 'granted') return { bad: 'only a granted consent can expire (expires_at on a revocation)' };
      expires = timeOf(o.expires_at);
      if (expires === null) return { bad: `expires_at must be an ISO date-time or epoch milliseconds: ${clip(String(o.expires_at))}` };
      if (expires <= this.now()) return { bad: `expires_at is in the past: ${clip(String(o.expires_at))}` };
    }
    if (state === 'granted' && !str(o.evidence)) return { bad: 'evidence is required when granting consent (where the consent can be proven)' };
    return { ok: { msisdn: num.ok, scope: scope.ok, state, expires, channel: str(o.channel), evidence: str(o.evidence) } };
  }
}
