/**
 * The admin API's journal plugin (/journal): the policy store's change journal, newest first —
 * who changed what and when, through which channel, on what evidence — filtered by number, sender
 * id or operation.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Numbering } from '../domain/address.js';
import type { PolicyAdmin } from '../store/policy-admin.js';
import { msisdn, parseSenderId } from './input.js';
import { errors, msisdnField, security, str } from './schemas.js';

export interface JournalApiOptions {
  store: Pick<PolicyAdmin, 'journalEntries'>;
  numbering: Numbering;
}

const schema = {
  tags: ['journal'],
  summary: 'Journal of changes (newest first): who, when, what, channel, evidence',
  security,
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      msisdn: msisdnField,
      sender: str(3, 64, 'Only changes of this sender id.'),
      op: str(1, 40, 'Only this operation, e.g. consent.grant, dnd.add, sender.put.'),
      count: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        count: { type: 'integer' },
        entries: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: { type: 'string' },
            properties: { id: { type: 'string' }, time: { type: 'string' }, op: { type: 'string' }, who: { type: 'string' } },
          },
        },
      },
    },
    ...errors(400, 401, 503),
  },
} as const;

export const journalApi: FastifyPluginAsync<JournalApiOptions> = async (api, o) => {
  api.get<{ Querystring: { msisdn?: string; sender?: string; op?: string; count?: number } }>('/journal', { schema }, async (req) => {
    const q = req.query;
    const count = q.count ?? 100;
    const number = q.msisdn === undefined ? undefined : msisdn(o.numbering, 'msisdn', q.msisdn);
    const sender = q.sender === undefined ? undefined : parseSenderId(o.numbering, 'sender', q.sender).id;
    const entries = await o.store.journalEntries({
      msisdn: number,
      match: (e) => (!sender || e.sender === sender) && (!q.op || e.op === q.op),
      count,
    });
    return { count: entries.length, entries };
  });
};
