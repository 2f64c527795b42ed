/**
 * Admin API routes for operations and compliance (mounted by api.ts inside the authenticated
 * /api/v1 scope): complaint intake and cases, reinstating a suspended sender, and evidence for a
 * recipient. Shapes are checked by the route schemas (schemas.ts); meaning by complaintFacts
 * (complaints/cases.ts) and the desk, whose errors become the API's {error, message, field}.
 */
import type { FastifyInstance } from 'fastify';
import { caseView, complaintFacts, type ComplaintInput } from '../complaints/cases.js';
import { type CaseAction, type CaseState } from '../domain/complaint.js';
import { DeskError, type ComplaintDesk } from '../complaints/desk.js';
import { collectEvidence } from '../evidence/collect.js';
import { evidenceTable } from '../evidence/table.js';
import type { AdminDeps, ActorFields, InputHelpers } from './api.js';
import { ApiError, bad } from './errors.js';
import { S } from './schemas.js';

const toApiError = (err: unknown): unknown => {
  if (!(err instanceof DeskError)) return err;
  const code = err.status === 404 ? 'not_found' : err.status === 409 ? 'conflict' : 'bad_request';
  return new ApiError(err.status, code, err.message, err.field ?? undefined);
};

const time = (field: string, raw: string | undefined): number | undefined => {
  if (raw === undefined) return undefined;
  const t = Date.parse(raw);
  if (!Number.isFinite(t)) throw bad(field, `"${raw}" is not a date-time`);
  return t;
};

export function registerComplaintApi(api: FastifyInstance, deps: AdminDeps, h: InputHelpers): void {
  const desk = (): ComplaintDesk => {
    if (!deps.complaints) throw new ApiError(503, 'unavailable', 'complaints need the policy (policy.enabled: true)');
    return deps.complaints;
  };

  // ---- complaints -------------------------------------------------------------------------------

  api.post<{ Body: ComplaintInput }>('/complaints', { schema: S.createComplaint }, async (req, reply) => {
    const f = complaintFacts(req.body, deps.cfg.policy.numbering, Date.now());
    if ('problem' in f) throw bad(f.problem.field, f.problem.message);
    try {
      const r = await desk().intake(f.ok, { who: req.adminWho, channel: `complaint:${f.ok.source}`, ...(f.ok.reference ? { evidence: f.ok.reference } : {}) });
      const sender = r.case.sender && r.case.sender_registered ? await deps.store.getSender(r.case.sender) : null;
      return reply
        .code(201)
        .header('location', `/api/v1/complaints/${r.case.id}`)
        .send({ case: caseView(r.case, Date.now()), complaints_in_window: r.count, suspension: r.suspension, sender });
    } catch (err) {
      throw toApiError(err);
    }
  });

  api.get<{
    Querystring: { state?: CaseState; overdue?: boolean; account?: string; sender?: string; msisdn?: string; from?: string; to?: string; count?: number };
  }>('/complaints', { schema: S.listComplaints }, async (req) => {
    const q = req.query;
    if (!deps.cases) throw new ApiError(503, 'unavailable', 'complaints need the policy (policy.enabled: true)');
    const now = Date.now();
    const cases = await deps.cases.list({
      state: q.state,
      overdue: q.overdue,
      account: q.account,
      sender: q.sender === undefined ? undefined : q.sender.includes(':') ? h.parseSenderId('sender', q.sender).id : q.sender,
      recipient: q.msisdn === undefined ? undefined : h.number('msisdn', q.msisdn),
      from: time('from', q.from),
      to: time('to', q.to),
      count: q.count ?? 100,
      now,
    });
    return { count: cases.length, cases: cases.map((c) => caseView(c, now)) };
  });

  api.get<{ Params: { id: string } }>('/complaints/:id', { schema: S.getComplaint }, async (req) => {
    const c = await desk().get(req.params.id);
    if (!c) throw new ApiError(404, 'not_found', `no complaint case ${req.params.id}`);
    return caseView(c, Date.now());
  });

  api.post<{ Params: { id: string; action: CaseAction }; Body: { to?: string; resolution?: string; note?: string } & ActorFields }>(
    '/complaints/:id/:action',
    { schema: S.actOnComplaint },
    async (req) => {
      const b = req.body ?? {};
      try {
        const c = await desk().act(req.params.id, req.params.action, { actor: h.actor(req, b), note: b.note, to: b.to, resolution: b.resolution });
        return caseView(c, Date.now());
      } catch (err) {
        throw toApiError(err);
      }
    },
  );

  // ---- reinstatement ----------------------------------------------------------------------------

  api.post<{ Params: { id: string }; Body: { reason?: string } & ActorFields }>('/senders/:id/reinstate', { schema: S.reinstateSender }, async (req) => {
    const { id } = h.parseSenderId('id', req.params.id);
    const b = req.body ?? {};
    try {
      return await desk().reinstate(id, h.actor(req, b), b.reason);
    } catch (err) {
      throw toApiError(err);
    }
  });

  // ---- evidence ---------------------------------------------------------------------------------

  api.get<{ Params: { msisdn: string }; Querystring: { sender?: string; from?: string; to?: string; limit?: number; format?: 'json' | 'table' } }>(
    '/evidence/:msisdn',
    { schema: S.evidence },
    async (req, reply) => {
      const q = req.query;
      const from = time('from', q.from);
      const to = time('to', q.to);
      if (from !== undefined && to !== undefined && from > to) throw bad('from', 'must not be after to');
      const e = await collectEvidence(
        { msisdn: h.number('msisdn', req.params.msisdn), sender: q.sender, from, to, limit: q.limit ?? 1000 },
        { store: deps.store, audit: deps.audit ?? null, cases: deps.cases ?? null, senders: deps.registry, numbering: deps.cfg.policy.numbering },
      );
      if (q.format === 'table') return reply.type('text/plain; charset=utf-8').send(evidenceTable(e));
      return e;
    },
  );
}
