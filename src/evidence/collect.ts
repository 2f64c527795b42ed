/**
 * evidence/: what the carrier can show about one recipient — "did this person consent, and what
 * did the gateway do with the messages sent to them?" — for a complaint, a regulator's request or
 * a dispute. This file gathers it (thin I/O over the stores); table.ts renders it for people.
 *
 *   consent.current   the recipient's consent records now (store/policy-admin.ts)
 *   consent.journal   every consent and DND change for the number, oldest first (the journal)
 *   dnd               the number's do-not-disturb registrations now
 *   decisions         the gateway's decisions for messages to the number: the archive and the
 *                     buffer not yet archived (archive/reader.ts; store/audit-stream.ts alone works too)
 *   complaints        complaint cases the number raised (store/complaint-store.ts)
 *
 * With a sender, consent is limited to the scopes that sender's messages are checked against
 * (sender, brand, account) and decisions to messages from it.
 */
import { normaliseAddress } from '../policy/address.js';
import { type Numbering, type NormalAddress } from '../domain/address.js';
import { senderId, type SenderRecord } from '../domain/sender.js';
import { statusName } from '../protocol/status.js';
import { SMSC_ID_ACTION, type DecisionRecord } from '../store/audit-stream.js';
import type { ComplaintStore } from '../store/complaint-store.js';
import type { PolicyAdmin } from '../store/policy-admin.js';

/** Where a recipient's decisions are read: archive/reader.ts (archive + buffer), or a store/audit-stream.ts buffer alone. */
export interface DecisionSource {
  decisionsFor(
    msisdn: string,
    q: { from?: number; to?: number; limit?: number; match?: (d: DecisionRecord) => boolean },
  ): Promise<{ decisions: DecisionRecord[]; truncated: boolean }>;
}

export interface EvidenceDeps {
  store: PolicyAdmin;
  audit: DecisionSource | null;
  cases: ComplaintStore | null;
  senders: { find(addr: NormalAddress): SenderRecord | null; get(id: string): SenderRecord | undefined };
  numbering: Numbering;
  now?: () => number;
}

export interface EvidenceQuery {
  /** Normalised recipient. */
  msisdn: string;
  /** A sender id ("number:8610690001") or an address as sent ("10690001", "ACME"). */
  sender?: string;
  from?: number;
  to?: number;
  /** At most this many decisions and journal entries (newest kept). */
  limit?: number;
}

export interface Evidence {
  msisdn: string;
  generated_at: string;
  from: string | null;
  to: string | null;
  sender: { query: string; id: string | null; account: string | null; scopes: string[] } | null;
  consent: {
    current: { scope: string; state: string; at: string; expires_at: string | null; effective: string }[];
    journal: { time: string; op: string; scope: string | null; category: string | null; who: string; channel: string | null; evidence: string | null }[];
  };
  dnd: { all: boolean; categories: number[] };
  decisions: {
    time: string;
    account: string;
    sender: string;
    decision: string;
    reason: string;
    status: number;
    status_name: string;
    rule: string;
    class: string | null;
    /** The gateway's message id (absent on records from before it was kept). */
    message_id?: string;
    /** The SMSC's message id, when an SMSC took the message (its receipts and complaints name it). */
    smsc_message_id?: string;
    /** The message's campaign fingerprint (forwarded commercial messages; docs/intelligence.md). */
    fingerprint?: string;
    /** Content scores and the n-grams that pushed them most (only when a score rule read one). */
    score?: string;
  }[];
  complaints: { id: string; state: string; source: string; received_at: string; sender: string | null; account: string | null }[];
  truncated: { journal: boolean; decisions: boolean };
  /** When decisions are not recorded (audit.stream.enabled false). */
  notes: string[];
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The sender a query names: its registration if any, the scopes checked for it, and a matcher for decision sources. */
export function senderScope(query: string, deps: Pick<EvidenceDeps, 'senders' | 'numbering'>) {
  let addr: NormalAddress;
  let rec: SenderRecord | null = null;
  const m = /^(number|prefix|range|alpha):(.+)$/.exec(query);
  if (m) {
    const kind = m[1] as SenderRecord['kind'];
    const value = kind === 'number' ? (normaliseAddress(m[2]!, 0, deps.numbering).value) : m[2]!;
    rec = deps.senders.get(senderId(kind, value)) ?? null;
    addr = kind === 'alpha' ? { kind: 'alpha', value: value.toUpperCase() } : { kind: 'number', value };
  } else {
    addr = normaliseAddress(query, 0, deps.numbering);
    rec = addr.kind === 'number' || addr.kind === 'alpha' ? deps.senders.find(addr) : null;
  }
  const scopes = rec
    ? [`sender:${rec.id}`, ...(rec.signatures[0] ? [`brand:${rec.signatures[0]}`] : []), `account:${rec.account}`]
    : addr.kind === 'number' || addr.kind === 'alpha'
      ? [`sender:${senderId(addr.kind, addr.value)}`]
      : [];
  const matches = (src: string): boolean => {
    if (src === addr.value) return true;
    if (!rec) return false;
    const a: NormalAddress = /^\d+$/.test(src) ? { kind: 'number', value: src } : { kind: 'alpha', value: src };
    return deps.senders.find(a)?.id === rec.id;
  };
  return { id: rec?.id ?? null, account: rec?.account ?? null, scopes, matches };
}

export async function collectEvidence(q: EvidenceQuery, deps: EvidenceDeps): Promise<Evidence> {
  const now = (deps.now ?? Date.now)();
  const limit = q.limit ?? 1000;
  const sender = q.sender ? senderScope(q.sender, deps) : null;
  const inScope = (scope: string | undefined) => !sender || scope === undefined || sender.scopes.includes(scope);
  const notes: string[] = [];

  const [current, journal, dndCats, decided, cases] = await Promise.all([
    deps.store.consentsOf(q.msisdn),
    deps.store.journalEntries({
      msisdn: q.msisdn,
      from: q.from,
      to: q.to,
      count: limit + 1,
      match: (e) => (e.op.startsWith('consent.') && inScope(e.scope)) || e.op.startsWith('dnd.'),
    }),
    deps.store.dndOf(q.msisdn),
    // Twice the limit: a message released from the queue has two records (its decision and its SMSC id), folded into one below.
    deps.audit
      ? deps.audit.decisionsFor(q.msisdn, { from: q.from, to: q.to, limit: 2 * limit, match: sender ? (d: DecisionRecord) => sender.matches(d.src) : undefined })
      : Promise.resolve(null),
    deps.cases ? deps.cases.list({ recipient: q.msisdn, from: q.from, to: q.to, count: limit }) : Promise.resolve([]),
  ]);
  if (!decided) notes.push('decisions are not recorded: audit.stream.enabled is false');

  const journalTrunc = journal.length > limit;
  const decisions = decided ? withSmscIds(decided.decisions) : [];
  const decisionsTrunc = decisions.length > limit || (decided?.truncated ?? false);
  const entries = journal.slice(0, limit).reverse();
  return {
    msisdn: q.msisdn,
    generated_at: iso(now),
    from: q.from === undefined ? null : iso(q.from),
    to: q.to === undefined ? null : iso(q.to),
    sender: sender ? { query: q.sender!, id: sender.id, account: sender.account, scopes: sender.scopes } : null,
    consent: {
      current: current
        .filter((c) => inScope(c.scope))
        .sort((a, b) => a.scope.localeCompare(b.scope))
        .map((c) => ({
          scope: c.scope,
          state: c.state,
          at: iso(c.at),
          expires_at: c.expires ? iso(c.expires) : null,
          effective: c.state === 'revoked' ? 'revoked' : c.expires !== null && c.expires <= now ? 'expired' : 'granted',
        })),
      journal: entries.map((e) => ({
        time: e.time!,
        op: e.op!,
        scope: e.scope ?? null,
        category: e.category ?? null,
        who: e.who ?? '',
        channel: e.channel ?? null,
        evidence: e.evidence ?? null,
      })),
    },
    dnd: { all: dndCats.includes(0), categories: dndCats.filter((c) => c > 0) },
    decisions: decisions.slice(Math.max(0, decisions.length - limit)).map(({ d, smscId }) => ({
      time: iso(d.time),
      account: d.account,
      sender: d.src,
      decision: d.decision,
      reason: d.reason,
      status: d.status,
      status_name: d.decision === 'reject' ? statusName(d.status) : 'ESME_ROK',
      rule: d.rule,
      class: d.class,
      ...(d.msgId ? { message_id: d.msgId } : {}),
      ...(smscId ? { smsc_message_id: smscId } : {}),
      ...(d.fingerprint ? { fingerprint: d.fingerprint } : {}),
      ...(d.score ? { score: d.score } : {}),
    })),
    complaints: cases
      .filter((c) => !sender || c.sender === sender.id || (c.sender !== null && sender.matches(c.sender)))
      .reverse()
      .map((c) => ({ id: c.id, state: c.state, source: c.source, received_at: iso(c.received_at), sender: c.sender, account: c.account })),
    truncated: { journal: journalTrunc, decisions: decisionsTrunc },
    notes,
  };
}

/** The decisions, oldest first, each with the SMSC's id: its own, or the one its `smsc_id` record gave (joined on the gateway's message id). */
function withSmscIds(records: DecisionRecord[]): { d: DecisionRecord; smscId: string | null }[] {
  const smsc = new Map<string, string>();
  for (const r of records) if (r.decision === SMSC_ID_ACTION && r.smscId !== null) smsc.set(r.msgId, r.smscId);
  const out: { d: DecisionRecord; smscId: string | null }[] = [];
  // A live forward's decision carries its SMSC id; a queued message's (and older records') comes in an smsc_id record.
  for (const d of records) if (d.decision !== SMSC_ID_ACTION) out.push({ d, smscId: d.smscId ?? (d.msgId ? (smsc.get(d.msgId) ?? null) : null) });
  return out;
}
