/**
 * The admin API's explain plugin (/explain): the decision for a hypothetical submit_sm — action,
 * reason, status and the check that produced it — without sending anything. The decision comes
 * from an injected function (the running policy's explain); with the policy off every message is
 * forwarded and the answer says so.
 */
import { HOLD_KINDS } from '../domain/hold.js';
import type { FastifyPluginAsync } from 'fastify';
import { explainAt, type Explained, type ExplainInput } from '../decision/service.js';
import { REASONS } from '../policy/reasons.js';
import { statusName } from '../protocol/status.js';
import { bad } from './errors.js';
import { knownAccount } from './input.js';
import { errors, security, str } from './schemas.js';

export interface ExplainApiOptions {
  /** The running policy's explain; null when the gateway runs with policy off. */
  explain: ((m: ExplainInput) => Promise<Explained>) | null;
  /** The configured accounts (system_id): the message's account must be one. */
  accounts: ReadonlySet<string>;
}

const schema = {
  tags: ['explain'],
  summary: 'The decision for a hypothetical submit_sm, the reason and the check that produced it (nothing is sent)',
  security,
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['account', 'source_addr', 'destination_addr'],
    properties: {
      account: str(1, 15, 'system_id the message would be submitted on.'),
      source_addr: str(0, 20, 'As the ESME would send it (TON decides normalisation).'),
      source_addr_ton: { type: 'integer', minimum: 0, maximum: 6, description: 'Default 1 (international); 5 = alphanumeric.' },
      destination_addr: str(0, 20),
      dest_addr_ton: { type: 'integer', minimum: 0, maximum: 6, description: 'Default 1 (international).' },
      service_type: str(0, 5),
      text: str(0, 254, 'short_message as UTF-8 text.'),
      at: {
        type: 'string',
        format: 'date-time',
        description: 'Decide as at this time (RFC 3339 with an offset, e.g. 2026-12-05T10:00:00+08:00): time windows, sender validity and consent expiry are judged then; consent and DND as stored now. Default: now.',
        examples: ['2026-12-05T10:00:00+08:00'],
      },
      tlvs: {
        type: 'object',
        description: 'Optional TLVs: tag (decimal or 0x…) → value as text, e.g. {"0x1400": "1201160000000001"}.',
        additionalProperties: false,
        patternProperties: { '^(0[xX][0-9a-fA-F]{1,4}|[0-9]{1,5})$': str(0, 255) },
      },
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        action: { type: 'string', enum: ['forward', 'reject', 'queue'] },
        queue: { type: 'string', enum: [...HOLD_KINDS] },
        release_at: { type: 'string', format: 'date-time' },
        reason: { type: 'string', description: 'Reason code (policy/reasons.ts).' },
        status: { type: 'integer', description: 'submit_sm_resp command_status (0 when forwarded).' },
        status_name: { type: 'string' },
        rule: { type: 'string', description: 'The check that decided, e.g. policy/sender-authorization.' },
        class: { type: ['string', 'null'] },
        route: {
          type: ['object', 'null'],
          description: 'The MT route and SMSC group a forward takes (routes.mt; absent without routes); null: no_route.',
          properties: {
            name: { type: 'string' },
            group: { type: 'string' },
            ported_to: { type: 'string', description: 'The ported network tag that chose this route (a ported_to route won).' },
          },
        },
        portability: {
          type: 'object',
          description: 'Number portability, when a route uses ported_to: the recipient\'s network tag (null: not ported), whether it decided the route, and the lookup error when Redis failed.',
          properties: { network: { type: ['string', 'null'] }, decided: { type: 'boolean' }, error: { type: 'string' } },
        },
        explanation: { type: 'string' },
        trace: { type: 'array', items: { type: 'string' } },
        scores: {
          type: 'array',
          description: 'Content scores the rules computed (score conditions), each with the n-grams that pushed it most (push: change of the log-odds; positive: towards spam).',
          items: {
            type: 'object',
            properties: {
              model: { type: 'string' },
              p: { type: 'number' },
              top: { type: 'array', items: { type: 'object', properties: { ngram: { type: 'string' }, push: { type: 'number' } } } },
            },
          },
        },
      },
    },
    ...errors(400, 401, 503),
  },
} as const;

/** The answer with the policy off: every message is forwarded without checks. */
const POLICY_OFF: Explained = {
  action: 'forward',
  reason: 'policy_off',
  status: 0,
  rule: 'policy/off',
  class: null,
  explanation: REASONS.policy_off.text,
  trace: ['policy.enabled is false: every message is forwarded without checks'],
};

export const explainApi: FastifyPluginAsync<ExplainApiOptions> = async (api, o) => {
  api.post<{ Body: ExplainInput }>('/explain', { schema }, async (req) => {
    const b = req.body;
    knownAccount(o.accounts, 'account', b.account);
    if (b.at !== undefined) {
      try {
        explainAt(b.at, 0);
      } catch (err) {
        throw bad('at', (err as Error).message.replace(/^at: /, ''));
      }
    }
    for (const tag of Object.keys(b.tlvs ?? {})) {
      const n = Number(tag);
      if (!(n >= 1 && n <= 0xffff)) throw bad(`tlvs.${tag}`, 'TLV tag must be 1–0xFFFF');
    }
    let r: Explained;
    if (!o.explain) {
      r = POLICY_OFF;
    } else {
      try {
        r = await o.explain(b);
      } catch (err) {
        throw bad('body', `the message cannot be built: ${(err as Error).message}`);
      }
    }
    return { ...r, status_name: statusName(r.status) };
  });
};
