/**
 * The admin API's queue plugin (/queue): messages held for review (list, inspect, approve,
 * reject, and all of one rule at once) and queue depth per account. Every decision is logged with
 * the token's name. Without the queue (queue.enabled: false) every route answers 503.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { MessageQueue } from '../queue/message-queue.js';
import { ApiError, notFound } from './errors.js';
import { knownAccount } from './input.js';
import { errorSchema, security } from './schemas.js';

export interface QueueApiOptions {
  /** The message queue's review and depth side; null when the gateway runs without it. */
  queue: Pick<MessageQueue, 'listReview' | 'inspect' | 'approve' | 'reject' | 'decideRule' | 'depth'> | null;
  /** The configured accounts (system_id): an account filter or path must name one. */
  accounts: ReadonlySet<string>;
}

/** The queue routes' error responses: the error shape without a description (as they have always been documented). */
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

const schemas = {
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

export const queueApi: FastifyPluginAsync<QueueApiOptions> = async (api, o) => {
  const q = (): NonNullable<QueueApiOptions['queue']> => {
    if (!o.queue) throw new ApiError(503, 'unavailable', 'this gateway runs without its queue (queue.enabled: false)');
    return o.queue;
  };
  const account = (name: string | undefined): string | undefined => (name === undefined ? undefined : knownAccount(o.accounts, 'account', name));

  api.get<{ Querystring: { rule?: string; account?: string; limit?: number } }>('/queue/review', { schema: schemas.listReview }, async (req) => {
    const messages = await q().listReview({ rule: req.query.rule, account: account(req.query.account), limit: req.query.limit ?? 100 });
    return { count: messages.length, messages };
  });

  api.get<{ Params: { id: string } }>('/queue/messages/:id', { schema: schemas.inspect }, async (req) => {
    const m = await q().inspect(req.params.id);
    if (!m) throw notFound(`no queued message ${req.params.id} (delivered, expired, rejected, or never queued)`);
    return m;
  });

  for (const decision of ['approve', 'reject'] as const) {
    api.post<{ Params: { id: string } }>(`/queue/review/:id/${decision}`, { schema: schemas.decide(decision) }, async (req) => {
      // The queue tells the gateway (labels, campaign feedback: MessageQueue.onReviewed), for bulk decisions too.
      const ok = await (decision === 'approve' ? q().approve(req.params.id, req.adminWho) : q().reject(req.params.id, req.adminWho));
      if (!ok) throw notFound(`no message ${req.params.id} waits for review`);
      return { id: req.params.id, decision };
    });
  }

  api.post<{ Body: { rule: string; decision: 'approve' | 'reject' } }>('/queue/review/bulk', { schema: schemas.bulk }, async (req) => {
    const n = await q().decideRule(req.body.rule, req.body.decision, req.adminWho);
    return { rule: req.body.rule, decision: req.body.decision, count: n };
  });

  api.get<{ Params: { account: string } }>('/queue/depth/:account', { schema: schemas.depth }, async (req) => ({
    account: account(req.params.account),
    queued: await q().depth(req.params.account),
  }));
};
