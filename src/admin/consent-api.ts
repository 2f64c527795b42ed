/**
 * The admin API's consent plugin (/consent): record a recipient's consent (granted, with evidence
 * and an optional expiry) or explicit refusal (revoked) for a scope — a sender, a brand or an
 * account — read a number's consent records, and delete one. Numbers and scopes are made canonical
 * (input.ts); every write is journaled through the policy store with the token's name.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Numbering } from '../domain/address.js';
import type { ConsentRecord, PolicyAdmin } from '../store/policy-admin.js';
import { bad, notFound } from './errors.js';
import { actor, knownAccount, msisdn, parseSenderId, type ActorFields } from './input.js';
import { actorFields, datetime, errors, msisdnField, msisdnParams, security, str } from './schemas.js';

export interface ConsentApiOptions {
  store: Pick<PolicyAdmin, 'setConsent' | 'consentsOf' | 'deleteConsent'>;
  numbering: Numbering;
  /** The configured accounts (system_id): an "account:" scope being granted must name one. */
  accounts: ReadonlySet<string>;
}

interface ConsentBody extends ActorFields {
  msisdn: string;
  scope: string;
  state: 'granted' | 'revoked';
  expires_at?: string;
}

/** The response shape of every consent route (an OpenAPI component). */
export const consentViewSchema = {
  $id: 'ConsentView',
  title: 'ConsentView',
  type: 'object',
  properties: {
    msisdn: { type: 'string' },
    consents: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          scope: { type: 'string' },
          state: { type: 'string', enum: ['granted', 'revoked'] },
          at: { type: 'string', format: 'date-time' },
          expires_at: { type: ['string', 'null'], format: 'date-time' },
          effective: { type: 'string', enum: ['granted', 'revoked', 'expired'] },
        },
      },
    },
  },
} as const;

const schemas = {
  set: {
    tags: ['consent'],
    summary: "Record a recipient's consent (granted) or explicit refusal (revoked) for a scope",
    security,
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['msisdn', 'scope', 'state', 'channel'],
      properties: {
        msisdn: msisdnField,
        scope: str(
          3,
          80,
          '"sender:<sender id>" (e.g. sender:number:8610690001), "brand:<brand>" (the sender\'s first signature) or "account:<system_id>".',
        ),
        state: { type: 'string', enum: ['granted', 'revoked'] },
        channel: actorFields.channel,
        evidence: { ...actorFields.evidence, description: 'Required when granting: where the consent can be proven.' },
        expires_at: datetime('Granted only: consent lapses at this time.'),
      },
    },
    response: { 200: { $ref: 'ConsentView#' }, ...errors(400, 401, 503) },
  },
  get: {
    tags: ['consent'],
    summary: 'Every consent record of a number',
    security,
    params: msisdnParams,
    response: { 200: { $ref: 'ConsentView#' }, ...errors(400, 401, 503) },
  },
  delete: {
    tags: ['consent'],
    summary: 'Delete a consent record (no record counts as refusal; prefer state "revoked" to keep an explicit refusal)',
    security,
    params: msisdnParams,
    querystring: {
      type: 'object',
      additionalProperties: false,
      required: ['scope'],
      properties: { scope: str(3, 80), ...actorFields },
    },
    response: { 200: { $ref: 'ConsentView#' }, ...errors(400, 401, 404, 503) },
  },
} as const;

export const consentApi: FastifyPluginAsync<ConsentApiOptions> = async (api, o) => {
  const { store, numbering, accounts } = o;
  api.addSchema(consentViewSchema);

  /** "sender:<id>" | "brand:<brand>" | "account:<system_id>", canonical. */
  const parseScope = (field: string, raw: string, mustExist: boolean): string => {
    const colon = raw.indexOf(':');
    const type = raw.slice(0, colon);
    const rest = raw.slice(colon + 1);
    if (colon < 0 || rest === '') {
      throw bad(field, `"${raw}" is not a consent scope: expected "sender:<sender id>", "brand:<brand>" or "account:<system_id>"`);
    }
    switch (type) {
      case 'sender':
        return `sender:${parseSenderId(numbering, field, rest).id}`;
      case 'brand':
        if (rest.length > 18) throw bad(field, `brand "${rest}" is longer than 18 characters (signatures are 2–18)`);
        return raw;
      case 'account':
        if (mustExist) knownAccount(accounts, field, rest);
        return raw;
      default:
        throw bad(field, `unknown scope type "${type}": expected sender, brand or account`);
    }
  };

  const consentView = async (number: string) => {
    const now = Date.now();
    const list = await store.consentsOf(number);
    list.sort((a, b) => a.scope.localeCompare(b.scope));
    return {
      msisdn: number,
      consents: list.map((c: ConsentRecord) => ({
        scope: c.scope,
        state: c.state,
        at: new Date(c.at).toISOString(),
        expires_at: c.expires ? new Date(c.expires).toISOString() : null,
        effective: c.state === 'revoked' ? 'revoked' : c.expires !== null && c.expires <= now ? 'expired' : 'granted',
      })),
    };
  };

  api.post<{ Body: ConsentBody }>('/consent', { schema: schemas.set }, async (req) => {
    const b = req.body;
    const number = msisdn(numbering, 'msisdn', b.msisdn);
    const scope = parseScope('scope', b.scope, true);
    let expires: number | null = null;
    if (b.state === 'granted') {
      if (!b.evidence) throw bad('evidence', 'is required when granting consent (where the consent can be proven)');
      if (b.expires_at !== undefined) {
        expires = Date.parse(b.expires_at);
        if (!Number.isFinite(expires)) throw bad('expires_at', `"${b.expires_at}" is not a date-time`);
        if (expires <= Date.now()) throw bad('expires_at', `${b.expires_at} is in the past`);
      }
    } else if (b.expires_at !== undefined) {
      throw bad('expires_at', 'only a granted consent can expire');
    }
    await store.setConsent(number, scope, b.state, actor(req, b), expires);
    return consentView(number);
  });

  api.get<{ Params: { msisdn: string } }>('/consent/:msisdn', { schema: schemas.get }, async (req) =>
    consentView(msisdn(numbering, 'msisdn', req.params.msisdn)),
  );

  api.delete<{ Params: { msisdn: string }; Querystring: ActorFields & { scope: string } }>('/consent/:msisdn', { schema: schemas.delete }, async (req) => {
    const number = msisdn(numbering, 'msisdn', req.params.msisdn);
    const scope = parseScope('scope', req.query.scope, false);
    if (!(await store.deleteConsent(number, scope, actor(req, req.query)))) throw notFound(`no consent record for ${number} in scope ${scope}`);
    return consentView(number);
  });
};
