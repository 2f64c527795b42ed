/**
 * The admin API's input meaning, shared by its route plugins: a phone number normalised with the
 * gateway's numbering plan, a sender value and "<kind>:<value>" id in canonical form, an account
 * that exists, a date-time, and the journal's actor (the token's name plus the request's channel
 * and evidence). Each check throws a 400 naming the field (errors.ts); none keeps state.
 */
import type { FastifyRequest } from 'fastify';
import type { Numbering } from '../domain/address.js';
import { SENDER_KINDS, senderId, type SenderKind } from '../domain/sender.js';
import { normaliseMsisdn } from '../policy/address.js';
import type { Actor } from '../store/policy-admin.js';
import { bad } from './errors.js';

/** E.164: at most 15 digits (the store's key layout relies on it). */
const MAX_DIGITS = 15;

/** The who-and-why fields a write may carry; journaled with the token's name. */
export interface ActorFields {
  channel?: string;
  evidence?: string;
}

/** The journal's actor for a request: the token's name (req.adminWho, set by scope.ts) and the body's (or query's) channel/evidence. */
export function actor(req: FastifyRequest, f: ActorFields | undefined): Actor {
  return {
    who: req.adminWho,
    ...(f?.channel ? { channel: f.channel } : {}),
    ...(f?.evidence ? { evidence: f.evidence } : {}),
  };
}

/** The body without its channel/evidence (those go to the journal, not the record). */
export function withoutActor<T extends ActorFields>(b: T): Omit<T, 'channel' | 'evidence'> {
  const { channel: _c, evidence: _e, ...rest } = b;
  return rest;
}

/**
 * What an admin may type as a phone number: digits, with the separators people write between them
 * (space, "-", ".", parentheses) after an optional leading "+". Anything else — a leading "-"
 * ("-1" would otherwise lose its sign and read as 861), letters, a "+" inside — is refused before
 * normalisation, which strips separators wherever they are.
 */
const NUMBER_SHAPE = /^\+?[ (]*\d[\d ().-]*$/;

/** A phone number in any accepted form → international digits. */
export function msisdn(numbering: Numbering, field: string, raw: string): string {
  const v = NUMBER_SHAPE.test(raw.trim()) ? normaliseMsisdn(raw, numbering) : null;
  if (v === null) throw bad(field, `"${raw}" is not a phone number (digits, optionally with "+", "${numbering.international_prefix}" or "${numbering.national_prefix}" in front)`);
  if (v.length > MAX_DIGITS) throw bad(field, `"${raw}" is ${v.length} digits in international form; a phone number has at most ${MAX_DIGITS}`);
  return v;
}

/** The name itself when it is a configured account (accounts[].system_id). */
export function knownAccount(accounts: ReadonlySet<string>, field: string, name: string): string {
  if (!accounts.has(name)) throw bad(field, `no account "${name}" is configured (accounts[].system_id)`);
  return name;
}

/** The canonical value of a sender of this kind ("field" names the input for messages). */
export function senderValue(numbering: Numbering, field: string, kind: SenderKind, raw: string): string {
  switch (kind) {
    case 'number':
      return msisdn(numbering, field, raw);
    case 'prefix':
      if (!/^\d{1,15}$/.test(raw)) throw bad(field, `prefix "${raw}" must be 1–15 digits in international form (no "+")`);
      return raw;
    case 'range': {
      const m = /^(\d{1,15})-(\d{1,15})$/.exec(raw);
      if (!m) throw bad(field, `range "${raw}" must be "from-to", each end 1–15 digits in international form, e.g. 8610690000-8610690099`);
      if (m[1]!.length !== m[2]!.length) throw bad(field, `range "${raw}": both ends must have the same number of digits`);
      if (m[1]! > m[2]!) throw bad(field, `range "${raw}": from must not be greater than to`);
      return raw;
    }
    case 'alpha':
      if (raw !== raw.trim() || raw.length > 20) throw bad(field, `sender name "${raw}" must be at most 20 characters without leading or trailing spaces`);
      return raw;
  }
}

/** "<kind>:<value>" → the canonical sender id (numbers normalised, names upper-cased). */
export function parseSenderId(numbering: Numbering, field: string, raw: string): { id: string; kind: SenderKind; value: string } {
  const colon = raw.indexOf(':');
  const kind = raw.slice(0, colon) as SenderKind;
  if (colon < 0 || !SENDER_KINDS.includes(kind)) {
    throw bad(field, `"${raw}" is not a sender id: expected "<kind>:<value>" with kind one of ${SENDER_KINDS.join(', ')}`);
  }
  const value = senderValue(numbering, field, kind, raw.slice(colon + 1));
  return { id: senderId(kind, value), kind, value };
}

/** An optional date-time query parameter → epoch ms. */
export function time(field: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const t = Date.parse(raw);
  if (!Number.isFinite(t)) throw bad(field, `"${raw}" is not a date-time`);
  return t;
}
