/**
 * The admin API's queue routes (/api/v1/queue): messages held for review (list, inspect, approve,
 * reject, and all of one rule at once) and queue depth per account. Registered inside the admin
 * API's authenticated scope (api.ts); every decision is logged with the token's name.
 */
import type { FastifyInstance } from 'fastify';
import type { MessageQueue } from '../queue/message-queue.js';
import { ApiError, bad, notFound } from './errors.js';
import { QS } from './queue-schemas.js';

export function registerQueueRoutes(api: FastifyInstance, queue: MessageQueue | null, accounts: ReadonlySet<string>): void {
  const q = (): MessageQueue => {
    if (!queue) throw new ApiError(503, 'unavailable', 'this gateway runs without its queue (queue.enabled: false)');
    return queue;
  };
  const account = (name: string | undefined): string | undefined => {
    if (name !== undefined && !accounts.has(name)) throw bad('account', `no account "${name}" is configured (accounts[].system_id)`);
    return name;
  };

  api.get<{ Querystring: { rule?: string; account?: string; limit?: number } }>('/queue/review', { schema: QS.listReview }, async (req) => {
    const messages = await q().listReview({ rule: req.query.rule, account: account(req.query.account), limit: req.query.limit ?? 100 });
    return { count: messages.length, messages };
  });

  api.get<{ Params: { id: string } }>('/queue/messages/:id', { schema: QS.inspect }, async (req) => {
    const m = await q().inspect(req.params.id);
    if (!m) throw notFound(`no queued message ${req.params.id} (delivered, expired, rejected, or never queued)`);
    return m;
  });

  for (const decision of ['approve', 'reject'] as const) {
    api.post<{ Params: { id: string } }>(`/queue/review/:id/${decision}`, { schema: QS.decide(decision) }, async (req) => {
      const ok = await (decision === 'approve' ? q().approve(req.params.id, req.adminWho) : q().reject(req.params.id, req.adminWho));
      if (!ok) throw notFound(`no message ${req.params.id} waits for review`);
      return { id: req.params.id, decision };
    });
  }

  api.post<{ Body: { rule: string; decision: 'approve' | 'reject' } }>('/queue/review/bulk', { schema: QS.bulk }, async (req) => {
    const n = await q().decideRule(req.body.rule, req.body.decision, req.adminWho);
    return { rule: req.body.rule, decision: req.body.decision, count: n };
  });

  api.get<{ Params: { account: string } }>('/queue/depth/:account', { schema: QS.depth }, async (req) => ({
    account: account(req.params.account),
    queued: await q().depth(req.params.account),
  }));
}
