/**
 * The admin API's complaints plugin: complaint intake and cases (/complaints — take one in, list,
 * read, forward / handle / reject) and reinstating a suspended sender (/senders/:id/reinstate, the
 * desk's undo of an auto-suspension). Shapes are checked by the route schemas below; meaning by
 * complaintFacts (complaints/cases.ts) and the desk, whose errors become the API's
 * {error, message, field}. With the policy off there is no desk and these routes answer 503.
 */
import type { FastifyPluginAsync } from 'fastify';
import { caseView, complaintFacts, type ComplaintInput } from '../complaints/cases.js';
import { DeskError, type ComplaintDesk } from '../complaints/desk.js';
import type { Numbering } from '../domain/address.js';
import { CASE_ACTIONS, CASE_STATES, COMPLAINT_SOURCES, type CaseAction, type CaseState } from '../domain/complaint.js';
import type { ComplaintStore } from '../store/complaint-store.js';
import type { PolicyAdmin } from '../store/policy-admin.js';
import { ApiError, bad } from './errors.js';
import { actor, msisdn, parseSenderId, time, type ActorFields } from './input.js';
import { actorFields, datetime, errors, msisdnField, security, senderIdParams, senderRecordSchema, str } from './schemas.js';

export interface ComplaintsApiOptions {
  /** Complaint intake, case actions and reinstatement; null when policy is off. */
  desk: Pick<ComplaintDesk, 'intake' | 'get' | 'act' | 'reinstate'> | null;
  /** The case store the list reads; null when policy is off. */
  cases: Pick<ComplaintStore, 'list'> | null;
  /** Where intake reads the complained-about sender's registration back. */
  store: Pick<PolicyAdmin, 'getSender'>;
  numbering: Numbering;
}

/** A complaint case as the API returns it (an OpenAPI component). */
export const complaintCaseSchema = {
  $id: 'ComplaintCase',
  title: 'ComplaintCase',
  type: 'object',
  properties: {
    id: { type: 'string' },
    state: { type: 'string', enum: CASE_STATES },
    source: { type: 'string', enum: COMPLAINT_SOURCES },
    reference: { type: ['string', 'null'] },
    recipient: { type: 'string' },
    reported_sender: { type: ['string', 'null'] },
    message_id: { type: ['string', 'null'] },
    text: { type: ['string', 'null'] },
    reported_at: { type: 'string', format: 'date-time' },
    received_at: { type: 'string', format: 'date-time' },
    resolved_by: { type: 'string', enum: ['message_id', 'sender', 'none'] },
    account: { type: ['string', 'null'] },
    sender: { type: ['string', 'null'], description: 'Sender id (registered) or the normalised address.' },
    sender_registered: { type: 'boolean' },
    remarks: { type: 'array', items: { type: 'string' } },
    forward_due: { type: 'string', format: 'date-time' },
    handle_due: { type: 'string', format: 'date-time' },
    forwarded_at: { type: ['string', 'null'], format: 'date-time' },
    forwarded_to: { type: ['string', 'null'] },
    handled_at: { type: ['string', 'null'], format: 'date-time' },
    resolution: { type: ['string', 'null'] },
    overdue: { type: 'object', properties: { forward: { type: 'boolean' }, handle: { type: 'boolean' } } },
    forwarded_late: { type: 'boolean' },
    handled_late: { type: 'boolean' },
    history: {
      type: 'array',
      items: {
        type: 'object',
        properties: { at: { type: 'string', format: 'date-time' }, who: { type: 'string' }, event: { type: 'string' }, note: { type: 'string' } },
      },
    },
  },
} as const;

/** The answer to an intake (an OpenAPI component). */
export const complaintIntakeSchema = {
  $id: 'ComplaintIntake',
  title: 'ComplaintIntake',
  type: 'object',
  properties: {
    case: { $ref: 'ComplaintCase#' },
    complaints_in_window: { type: ['integer', 'null'], description: "The sender's complaints counted toward auto-suspension (null: counts for no sender)." },
    suspension: { type: 'string', enum: ['suspend', 'would_suspend', 'none'], description: 'What the threshold did (would_suspend: monitor mode).' },
    sender: { type: ['object', 'null'], description: 'The sender registration after the complaint (status shows a suspension).', additionalProperties: true },
  },
} as const;

const schemas = {
  create: {
    tags: ['complaints'],
    summary: 'Take in a complaint: resolve it to account and sender, open a case with deadlines, count it toward auto-suspension',
    security,
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['recipient', 'source'],
      properties: {
        recipient: { ...msisdnField, description: 'The complainant: the number that received the message.' },
        sender: str(1, 32, 'The sender number or name the complainant reports.'),
        message_id: str(1, 64, 'The SMSC message id, if the complaint gives one (resolves account, sender and recipient as the gateway saw them).'),
        text: str(1, 2000, 'The text received. message_id or text is required.'),
        time: datetime('When the complaint was made (default now).'),
        received_at: datetime('When the carrier received the case; deadlines count from here (default now).'),
        source: { type: 'string', enum: COMPLAINT_SOURCES, description: '12321 (referral from the 12321 centre), 7726 (GSMA spam report), customer_care.' },
        reference: str(1, 100, "The complaint centre's reference (ticket number)."),
        note: str(1, 1000),
      },
    },
    response: { 201: { $ref: 'ComplaintIntake#' }, ...errors(400, 401, 503) },
  },
  list: {
    tags: ['complaints'],
    summary: 'Complaint cases, newest first',
    security,
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: {
        state: { type: 'string', enum: CASE_STATES },
        overdue: { type: 'boolean', description: 'Only cases past a deadline.' },
        account: str(1, 15),
        sender: str(1, 64, 'Sender id, e.g. number:8610690001.'),
        msisdn: msisdnField,
        from: datetime('Received at or after.'),
        to: datetime('Received at or before.'),
        count: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
      },
    },
    response: {
      200: { type: 'object', properties: { count: { type: 'integer' }, cases: { type: 'array', items: { $ref: 'ComplaintCase#' } } } },
      ...errors(400, 401, 503),
    },
  },
  get: {
    tags: ['complaints'],
    summary: 'One complaint case',
    security,
    params: { type: 'object', required: ['id'], properties: { id: str(1, 40) } },
    response: { 200: { $ref: 'ComplaintCase#' }, ...errors(401, 404, 503) },
  },
  act: {
    tags: ['complaints'],
    summary: 'Move a case on: forward (to the responsible account), handle (close with a resolution) or reject (unfounded; stops counting)',
    security,
    params: {
      type: 'object',
      required: ['id', 'action'],
      properties: { id: str(1, 40), action: { type: 'string', enum: CASE_ACTIONS } },
    },
    body: {
      type: 'object',
      additionalProperties: false,
      properties: {
        to: str(1, 100, 'forward: to whom (default: the resolved account).'),
        resolution: str(1, 2000, 'handle: the outcome fed back to the complainant (required).'),
        note: str(1, 1000),
        ...actorFields,
      },
    },
    response: { 200: { $ref: 'ComplaintCase#' }, ...errors(400, 401, 404, 409, 503) },
  },
  reinstate: {
    tags: ['senders'],
    summary: 'Reinstate a suspended sender (status active; complaints received before now stop counting)',
    security,
    params: senderIdParams,
    body: {
      type: 'object',
      additionalProperties: false,
      properties: { reason: str(1, 500, 'Why (journaled, shown as status_reason).'), ...actorFields },
    },
    response: { 200: senderRecordSchema, ...errors(400, 401, 404, 409, 503) },
  },
} as const;

const toApiError = (err: unknown): unknown => {
  if (!(err instanceof DeskError)) return err;
  const code = err.status === 404 ? 'not_found' : err.status === 409 ? 'conflict' : 'bad_request';
  return new ApiError(err.status, code, err.message, err.field ?? undefined);
};

const POLICY_OFF = 'complaints need the policy (policy.enabled: true)';

export const complaintsApi: FastifyPluginAsync<ComplaintsApiOptions> = async (api, o) => {
  const { numbering } = o;
  api.addSchema(complaintCaseSchema);
  api.addSchema(complaintIntakeSchema);

  const desk = (): NonNullable<ComplaintsApiOptions['desk']> => {
    if (!o.desk) throw new ApiError(503, 'unavailable', POLICY_OFF);
    return o.desk;
  };

  // ---- complaints -------------------------------------------------------------------------------

  api.post<{ Body: ComplaintInput }>('/complaints', { schema: schemas.create }, async (req, reply) => {
    msisdn(numbering, 'recipient', req.body.recipient); // the admin input shape (input.ts): "-1" is not 861
    const f = complaintFacts(req.body, numbering, Date.now());
    if ('problem' in f) throw bad(f.problem.field, f.problem.message);
    try {
      const r = await desk().intake(f.ok, { who: req.adminWho, channel: `complaint:${f.ok.source}`, ...(f.ok.reference ? { evidence: f.ok.reference } : {}) });
      const sender = r.case.sender && r.case.sender_registered ? await o.store.getSender(r.case.sender) : null;
      return reply
        .code(201)
        .header('location', `${api.prefix}/complaints/${r.case.id}`)
        .send({ case: caseView(r.case, Date.now()), complaints_in_window: r.count, suspension: r.suspension, sender });
    } catch (err) {
      throw toApiError(err);
    }
  });

  api.get<{
    Querystring: { state?: CaseState; overdue?: boolean; account?: string; sender?: string; msisdn?: string; from?: string; to?: string; count?: number };
  }>('/complaints', { schema: schemas.list }, async (req) => {
    const q = req.query;
    if (!o.cases) throw new ApiError(503, 'unavailable', POLICY_OFF);
    const now = Date.now();
    const cases = await o.cases.list({
      state: q.state,
      overdue: q.overdue,
      account: q.account,
      sender: q.sender === undefined ? undefined : q.sender.includes(':') ? parseSenderId(numbering, 'sender', q.sender).id : q.sender,
      recipient: q.msisdn === undefined ? undefined : msisdn(numbering, 'msisdn', q.msisdn),
      from: time('from', q.from),
      to: time('to', q.to),
      count: q.count ?? 100,
      now,
    });
    return { count: cases.length, cases: cases.map((c) => caseView(c, now)) };
  });

  api.get<{ Params: { id: string } }>('/complaints/:id', { schema: schemas.get }, async (req) => {
    const c = await desk().get(req.params.id);
    if (!c) throw new ApiError(404, 'not_found', `no complaint case ${req.params.id}`);
    return caseView(c, Date.now());
  });

  api.post<{ Params: { id: string; action: CaseAction }; Body: { to?: string; resolution?: string; note?: string } & ActorFields }>(
    '/complaints/:id/:action',
    { schema: schemas.act },
    async (req) => {
      const b = req.body ?? {};
      try {
        const c = await desk().act(req.params.id, req.params.action, { actor: actor(req, b), note: b.note, to: b.to, resolution: b.resolution });
        return caseView(c, Date.now());
      } catch (err) {
        throw toApiError(err);
      }
    },
  );

  // ---- reinstatement ----------------------------------------------------------------------------

  api.post<{ Params: { id: string }; Body: { reason?: string } & ActorFields }>('/senders/:id/reinstate', { schema: schemas.reinstate }, async (req) => {
    const { id } = parseSenderId(numbering, 'id', req.params.id);
    const b = req.body ?? {};
    try {
      return await desk().reinstate(id, actor(req, b), b.reason);
    } catch (err) {
      throw toApiError(err);
    }
  });
};
