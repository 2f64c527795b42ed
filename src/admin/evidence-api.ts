/**
 * The admin API's evidence plugin (/evidence/:msisdn): a recipient's consent journal and the
 * gateway's decisions for messages to it, as JSON or a readable text table (evidence/collect.ts
 * gathers it, evidence/table.ts renders it).
 */
import type { FastifyPluginAsync } from 'fastify';
import { collectEvidence, type EvidenceDeps } from '../evidence/collect.js';
import { evidenceTable } from '../evidence/table.js';
import { isValidZone } from '../domain/time.js';
import { bad } from './errors.js';
import { msisdn, time } from './input.js';
import { datetime, errors, msisdnParams, security, str } from './schemas.js';

/** What evidence is collected from: the policy store, the decision stream (null when audit.stream is off), complaint cases, the sender registry. */
export type EvidenceApiOptions = Omit<EvidenceDeps, 'now'>;

const schema = {
  tags: ['evidence'],
  summary: "A recipient's consent journal and the gateway's decisions for messages to it (JSON, or a readable table)",
  security,
  params: msisdnParams,
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      sender: str(1, 64, 'Limit to one sender: a sender id (number:8610690001) or an address as sent.'),
      from: datetime('From (inclusive).'),
      to: datetime('To (inclusive).'),
      limit: { type: 'integer', minimum: 1, maximum: 10000, default: 1000, description: 'At most this many decisions and journal entries (newest kept).' },
      format: { type: 'string', enum: ['json', 'table'], default: 'json', description: 'table: text/plain report.' },
      tz: { type: 'string', minLength: 1, maxLength: 64, default: 'UTC', description: 'With format=table: the IANA zone its times are shown in, e.g. Asia/Shanghai (JSON is always ISO UTC).' },
    },
  },
  response: { ...errors(400, 401, 503) },
} as const;

export const evidenceApi: FastifyPluginAsync<EvidenceApiOptions> = async (api, o) => {
  const deps: EvidenceDeps = { store: o.store, audit: o.audit, cases: o.cases, senders: o.senders, numbering: o.numbering };

  api.get<{ Params: { msisdn: string }; Querystring: { sender?: string; from?: string; to?: string; limit?: number; format?: 'json' | 'table'; tz?: string } }>(
    '/evidence/:msisdn',
    { schema },
    async (req, reply) => {
      const q = req.query;
      const from = time('from', q.from);
      const to = time('to', q.to);
      if (from !== undefined && to !== undefined && from > to) throw bad('from', 'must not be after to');
      if (q.tz !== undefined && !isValidZone(q.tz)) throw bad('tz', 'must be an IANA time zone such as Asia/Shanghai or UTC');
      const e = await collectEvidence({ msisdn: msisdn(o.numbering, 'msisdn', req.params.msisdn), sender: q.sender, from, to, limit: q.limit ?? 1000 }, deps);
      if (q.format === 'table') return reply.type('text/plain; charset=utf-8').send(evidenceTable(e, q.tz ?? 'UTC'));
      return e;
    },
  );
};
