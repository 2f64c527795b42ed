/**
 * Consent rows: `msisdn,scope,state,channel,evidence[,expires_at]` (CSV, header optional) or the
 * same keys as JSON → a consent write, checked and made canonical as the admin API does it: the
 * number normalised, the scope `sender:<kind>:<value>` | `brand:<name>` | `account:<system_id>`
 * (a configured account, when accounts are given), state granted/revoked (and their short forms),
 * evidence required for a grant, expires_at (ISO 8601 or epoch ms) only on a grant and in the future.
 */
import type { Numbering } from '../domain/address.js';
import { SENDER_KINDS, senderId, type SenderKind } from '../domain/sender.js';
import type { ConsentWrite } from '../store/bulk-load.js';
import { clip, Columns, numberOf, senderValueOf, str, type Checked, type RowValidator } from './fields.js';

const CONSENT_STATES: Record<string, 'granted' | 'revoked'> = {
  granted: 'granted',
  grant: 'granted',
  g: 'granted',
  yes: 'granted',
  revoked: 'revoked',
  revoke: 'revoked',
  r: 'revoked',
  no: 'revoked',
};

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

export class ConsentRows implements RowValidator<ConsentWrite> {
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
    return this.header_;
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
