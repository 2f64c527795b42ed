/** JSON schemas of the queue routes (queue-api.ts), in the same style as schemas.ts. */
import { errorSchema } from './schemas.js';

const security = [{ bearerAuth: [] as string[] }];
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, errorSchema]));

const queued = {
  type: 'object',
  properties: {
    id: { type: 'string', description: 'The gateway message id the ESME was given.' },
    queue: { type: 'string', enum: ['window', 'saf', 'review'] },
    account: { type: 'string' },
    rule: { type: 'string', description: 'The rule (or store-and-forward) that queued it.' },
    reason: { type: 'string' },
    source_addr: { type: 'string' },
    destination_addr: { type: 'string' },
    text: { type: 'string' },
    registered_delivery: { type: 'integer' },
    accepted_at: { type: 'string', format: 'date-time' },
    release_at: { type: 'string', format: 'date-time' },
    expires_at: { type: 'string', format: 'date-time' },
  },
} as const;

const id = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } as const;

export const QS = {
  listReview: {
    tags: ['queue'],
    summary: 'Messages held for review, oldest first',
    security,
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: {
        rule: { type: 'string', minLength: 1, maxLength: 128 },
        account: { type: 'string', minLength: 1, maxLength: 15 },
        limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 100 },
      },
    },
    response: { 200: { type: 'object', properties: { count: { type: 'integer' }, messages: { type: 'array', items: queued } } }, ...errors(400, 401, 503) },
  },
  inspect: {
    tags: ['queue'],
    summary: 'One queued message (any queue): who sent it, to whom, the text, why it is queued',
    security,
    params: id,
    response: { 200: queued, ...errors(401, 404, 503) },
  },
  decide: (decision: 'approve' | 'reject') => ({
    tags: ['queue'],
    summary:
      decision === 'approve'
        ? 'Approve a held message: it is delivered (its receipt carries the id the ESME was given)'
        : 'Reject a held message: dropped, with a REJECTD receipt if the ESME asked for receipts',
    security,
    params: id,
    response: { 200: { type: 'object', properties: { id: { type: 'string' }, decision: { type: 'string' } } }, ...errors(401, 404, 503) },
  }),
  bulk: {
    tags: ['queue'],
    summary: 'Approve or reject every held message of one rule',
    security,
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['rule', 'decision'],
      properties: { rule: { type: 'string', minLength: 1, maxLength: 128 }, decision: { type: 'string', enum: ['approve', 'reject'] } },
    },
    response: { 200: { type: 'object', properties: { rule: { type: 'string' }, decision: { type: 'string' }, count: { type: 'integer' } } }, ...errors(400, 401, 503) },
  },
  depth: {
    tags: ['queue'],
    summary: "Messages an account has queued (all queues), the figure its quota (max_queued) is checked against",
    security,
    params: { type: 'object', required: ['account'], properties: { account: { type: 'string', minLength: 1, maxLength: 15 } } },
    response: { 200: { type: 'object', properties: { account: { type: 'string' }, queued: { type: 'integer' } } }, ...errors(400, 401, 503) },
  },
};
