/**
 * The decision itself, as pure functions (no I/O, no clock of its own):
 *   decideLocal  — destination, sender authorization and classification, from the in-process
 *                  sender registry; says whether the store must be asked (commercial messages).
 *   decideStored — the consent / do-not-disturb outcome, from the facts one store call returned.
 * Order (docs/compliance.md §3): a revocation for any scope wins over everything; an explicit grant wins over
 * DND; DND refuses; no record means refusal.
 */
import type { NormalAddress } from '../domain/address.js';
import { REASONS, type ReasonCode } from './reasons.js';
import type { SenderClass, SenderRecord } from '../domain/sender.js';
import type { StoreFacts, StoreQuery } from '../domain/store-facts.js';

export interface LocalInput {
  account: string;
  now: number;
  src: NormalAddress;
  dst: NormalAddress;
  sender: SenderRecord | null;
  /** Class set by service_type / TLV mapping (or rules); null: the sender's registered class. */
  messageClass: SenderClass | null;
  /** The account's default_class, for senders registered without a class. */
  accountClass: SenderClass;
  /** DND category (1–7) of the message, when known. */
  category: number | null;
  /** Collects the reasoning step by step when given (explain); null on the hot path. */
  trace: string[] | null;
}

export interface Outcome {
  action: 'forward' | 'reject';
  reason: ReasonCode;
  class: SenderClass | null;
  /** Why, step by step (explain only). */
  trace: string[] | null;
}

export type LocalResult = { done: Outcome } | { ask: StoreQuery; class: SenderClass; trace: string[] | null };

function finish(action: Outcome['action'], reason: ReasonCode, cls: SenderClass | null, trace: string[] | null): Outcome {
  trace?.push(`${action}: ${REASONS[reason].text}`);
  return { action, reason, class: cls, trace };
}

const reject = (reason: ReasonCode, cls: SenderClass | null, trace: string[] | null): { done: Outcome } => ({
  done: finish('reject', reason, cls, trace),
});

interface SenderFacts {
  scopes: readonly string[];
  validFrom: number;
  validUntil: number;
}

/** Per registration, computed once (records are replaced, never mutated, when they change). */
const senderFacts = new WeakMap<SenderRecord, SenderFacts>();

function factsOf(s: SenderRecord): SenderFacts {
  let f = senderFacts.get(s);
  if (!f) {
    const scopes = [`sender:${s.id}`];
    if (s.signatures[0]) scopes.push(`brand:${s.signatures[0]}`);
    scopes.push(`account:${s.account}`);
    f = {
      scopes,
      validFrom: s.valid_from ? Date.parse(s.valid_from) : -Infinity,
      validUntil: s.valid_until ? Date.parse(s.valid_until) : Infinity,
    };
    senderFacts.set(s, f);
  }
  return f;
}

export function decideLocal(i: LocalInput): LocalResult {
  const trace = i.trace;
  if (i.dst.kind !== 'number' || i.dst.value.length > 15) return reject('invalid_destination', null, trace);
  if (i.src.kind === 'empty') return reject('sender_hidden', null, trace);
  if (i.src.kind === 'invalid') return reject('sender_invalid', null, trace);
  const s = i.sender;
  if (!s) return reject('sender_unregistered', null, trace);
  trace?.push(`sender ${i.src.value} matches registration ${s.id} (account ${s.account}, class ${s.class ?? `${i.accountClass} (account default)`}, ${s.status})`);
  if (s.account !== i.account) return reject('sender_not_owned', null, trace);
  if (s.status === 'suspended') return reject('sender_suspended', null, trace);
  if (s.status === 'revoked') return reject('sender_revoked', null, trace);
  const facts = factsOf(s);
  if (i.now < facts.validFrom) return reject('sender_not_yet_valid', null, trace);
  if (i.now > facts.validUntil) return reject('sender_expired', null, trace);
  const senderClass = s.class ?? i.accountClass;
  const cls = i.messageClass ?? senderClass;
  trace?.push(`message class ${cls}${i.messageClass ? ' (from service_type/TLV)' : ' (sender registration)'}`);
  if (cls === 'commercial' && senderClass !== 'commercial') return reject('service_port_marketing', cls, trace);
  if (cls !== 'commercial') {
    return { done: finish('forward', 'not_commercial', cls, trace) };
  }
  const scopes = facts.scopes as string[];
  trace?.push(`commercial: consent needed in one of ${scopes.join(', ')}`);
  return { ask: { msisdn: i.dst.value, scopes, category: i.category }, class: cls, trace };
}

/** Consent as stored: "g:<granted ms>[:<expires ms>]" or "r:<revoked ms>". */
export function parseConsent(v: string | null): { state: 'granted' | 'revoked'; at: number; expires: number | null } | null {
  if (!v) return null;
  const [st, at, exp] = v.split(':');
  if (st !== 'g' && st !== 'r') return null;
  return { state: st === 'g' ? 'granted' : 'revoked', at: Number(at), expires: exp ? Number(exp) : null };
}


export function decideStored(q: StoreQuery, cls: SenderClass, t: string[] | null, f: StoreFacts, now: number): Outcome {
  if (t) {
    f.consent.map(parseConsent).forEach((c, k) => {
      if (c) t.push(`consent ${q.scopes[k]}: ${c.state} at ${new Date(c.at).toISOString()}${c.expires ? `, expires ${new Date(c.expires).toISOString()}` : ''}`);
    });
    if (f.dnd) t.push('recipient on the do-not-disturb register (all commercial)');
    if (f.dndCategory) t.push(`recipient refuses category ${q.category}`);
  }
  const out = (action: Outcome['action'], reason: ReasonCode): Outcome => finish(action, reason, cls, t);
  // Read the stored values in place (no parsing allocations on the hot path).
  let revoked = false;
  let live = false;
  let expired = false;
  for (const v of f.consent) {
    if (!v) continue;
    if (v.charCodeAt(0) === 114 /* r */) revoked = true;
    else if (v.charCodeAt(0) === 103 /* g */) {
      const exp = v.indexOf(':', 2);
      if (exp < 0 || Number(v.slice(exp + 1)) > now) live = true;
      else expired = true;
    }
  }
  if (revoked) return out('reject', 'consent_revoked');
  if (live) return out('forward', 'consent_granted');
  if (f.dnd || f.dndCategory) return out('reject', 'dnd');
  if (expired) return out('reject', 'consent_expired');
  return out('reject', 'no_consent');
}
