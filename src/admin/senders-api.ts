/**
 * The admin API's senders plugin (/senders): register, list, read, replace, change and delete
 * sender registrations (码号) — numbers, prefixes, ranges and alphanumeric ids, each owned by one
 * account. Input goes through the route schemas below, then input.ts (canonical value and id),
 * SenderInputSchema and senderProblems (domain/sender.ts) and the account table. Every write goes
 * through the policy store (journaled with the token's name) and into this instance's registry at
 * once, so its next submit already sees it; other instances follow via pub/sub.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Numbering } from '../domain/address.js';
import { SenderInputSchema, senderId, senderProblems, type SenderRecord } from '../domain/sender.js';
import type { SenderRegistry } from '../policy/senders.js';
import type { PolicyAdmin } from '../store/policy-admin.js';
import { ApiError, bad, notFound } from './errors.js';
import { actor, knownAccount, parseSenderId, senderValue, withoutActor, type ActorFields } from './input.js';
import { actorFields, errors, nullable, security, senderFields, senderIdParams, senderRecordSchema, str } from './schemas.js';

export interface SendersApiOptions {
  store: Pick<PolicyAdmin, 'createSender' | 'putSender' | 'getSender' | 'allSenders' | 'deleteSender'>;
  /** This instance's sender registry: updated at once after a write (others follow via pub/sub). */
  registry: Pick<SenderRegistry, 'upsert' | 'remove'>;
  numbering: Numbering;
  /** The configured accounts (system_id); a sender's account must be one. */
  accounts: ReadonlySet<string>;
}

type SenderBody = Partial<Omit<SenderRecord, 'id' | 'updated_at' | 'updated_by'>> & ActorFields;
type SenderPatch = {
  account?: string;
  class?: SenderRecord['class'] | null;
  status?: SenderRecord['status'];
  status_reason?: string;
  valid_from?: string | null;
  valid_until?: string | null;
  signatures?: string[];
} & ActorFields;

const schemas = {
  create: {
    tags: ['senders'],
    summary: 'Register a sender (number, prefix, range or alphanumeric id) to an account',
    security,
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'value', 'account'],
      properties: { ...senderFields, ...actorFields },
    },
    response: { 201: senderRecordSchema, ...errors(400, 401, 409, 503) },
  },
  list: {
    tags: ['senders'],
    summary: 'List senders',
    security,
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: {
        account: str(1, 15, 'Only this account.'),
        kind: senderFields.kind,
        status: senderFields.status,
      },
    },
    response: {
      200: { type: 'object', properties: { count: { type: 'integer' }, senders: { type: 'array', items: senderRecordSchema } } },
      ...errors(400, 401, 503),
    },
  },
  get: {
    tags: ['senders'],
    summary: 'One sender',
    security,
    params: senderIdParams,
    response: { 200: senderRecordSchema, ...errors(400, 401, 404, 503) },
  },
  put: {
    tags: ['senders'],
    summary: 'Replace a sender registration (status changes: suspend, revoke, reactivate)',
    description: 'Fields left out take their defaults (status active, no class, no validity, no signatures). kind/value may be given but must match the id.',
    security,
    params: senderIdParams,
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['account'],
      properties: { ...senderFields, ...actorFields },
    },
    response: { 200: senderRecordSchema, ...errors(400, 401, 404, 503) },
  },
  patch: {
    tags: ['senders'],
    summary: 'Change some fields of a sender (null clears class / valid_from / valid_until)',
    security,
    params: senderIdParams,
    body: {
      type: 'object',
      additionalProperties: false,
      properties: {
        account: senderFields.account,
        class: nullable(senderFields.class),
        status: senderFields.status,
        status_reason: senderFields.status_reason,
        valid_from: nullable(senderFields.valid_from),
        valid_until: nullable(senderFields.valid_until),
        signatures: senderFields.signatures,
        ...actorFields,
      },
    },
    response: { 200: senderRecordSchema, ...errors(400, 401, 404, 503) },
  },
  delete: {
    tags: ['senders'],
    summary: 'Delete a sender registration',
    security,
    params: senderIdParams,
    querystring: { type: 'object', additionalProperties: false, properties: { ...actorFields } },
    response: {
      200: { type: 'object', properties: { deleted: { type: 'string' } } },
      ...errors(400, 401, 404, 503),
    },
  },
} as const;

/**
 * status_by / status_at follow status changes (who set the status, when); a status_reason is
 * kept until the status changes again without one.
 */
function statusMeta(old: SenderRecord | null, rec: SenderRecord, reasonGiven: boolean): SenderRecord {
  if (old && old.status === rec.status) {
    const kept: SenderRecord = { ...rec, ...(old.status_by ? { status_by: old.status_by } : {}), ...(old.status_at ? { status_at: old.status_at } : {}) };
    if (!reasonGiven && old.status_reason) kept.status_reason = old.status_reason;
    return kept;
  }
  const next: SenderRecord = { ...rec, status_by: rec.updated_by!, status_at: rec.updated_at! };
  if (!reasonGiven) delete next.status_reason;
  return next;
}

export const sendersApi: FastifyPluginAsync<SendersApiOptions> = async (api, o) => {
  const { store, registry, numbering, accounts } = o;

  /** A complete sender record from input, through the schema and senderProblems; throws 400. */
  const senderRecord = (id: string, input: Record<string, unknown>, who: string): SenderRecord => {
    const parsed = SenderInputSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw bad(issue.path.map(String).join('.') || 'body', issue.message);
    }
    const rec: SenderRecord = { ...parsed.data, id };
    const problems = senderProblems(rec);
    if (problems.length > 0) {
      const p = problems[0]!;
      throw bad(/valid_from|valid_until/.test(p) ? 'valid_from' : 'value', p);
    }
    knownAccount(accounts, 'account', rec.account);
    return { ...rec, updated_at: new Date().toISOString(), updated_by: who };
  };

  const writeSender = async (req: FastifyRequest, rec: SenderRecord, f: ActorFields): Promise<SenderRecord> => {
    await store.putSender(rec, actor(req, f));
    registry.upsert(rec);
    return rec;
  };

  const existingSender = async (rawId: string): Promise<SenderRecord> => {
    const { id } = parseSenderId(numbering, 'id', rawId);
    const rec = await store.getSender(id);
    if (!rec) throw notFound(`no sender ${id}`);
    return rec;
  };

  api.post<{ Body: SenderBody }>('/senders', { schema: schemas.create }, async (req, reply) => {
    const b = req.body;
    const kind = b.kind!;
    const value = senderValue(numbering, 'value', kind, b.value!);
    const id = senderId(kind, value);
    const rec = statusMeta(null, senderRecord(id, { ...withoutActor(b), value }, req.adminWho), b.status_reason !== undefined);
    if (!(await store.createSender(rec, actor(req, b)))) {
      const existing = await store.getSender(id);
      throw new ApiError(409, 'conflict', `sender ${id} already exists (account ${existing?.account}); change it with PUT or PATCH ${api.prefix}/senders/${id}`);
    }
    registry.upsert(rec);
    return reply.code(201).header('location', `${api.prefix}/senders/${encodeURIComponent(id)}`).send(rec);
  });

  api.get<{ Querystring: { account?: string; kind?: string; status?: string } }>('/senders', { schema: schemas.list }, async (req) => {
    const q = req.query;
    const senders = (await store.allSenders())
      .filter((s) => (!q.account || s.account === q.account) && (!q.kind || s.kind === q.kind) && (!q.status || s.status === q.status))
      .sort((a, b) => a.id.localeCompare(b.id));
    return { count: senders.length, senders };
  });

  api.get<{ Params: { id: string } }>('/senders/:id', { schema: schemas.get }, async (req) => existingSender(req.params.id));

  api.put<{ Params: { id: string }; Body: SenderBody }>('/senders/:id', { schema: schemas.put }, async (req) => {
    const old = await existingSender(req.params.id);
    const b = req.body;
    if (b.kind !== undefined && b.kind !== old.kind) throw bad('kind', `cannot change kind of ${old.id} (delete it and create a new sender)`);
    if (b.value !== undefined && senderValue(numbering, 'value', old.kind, b.value) !== old.value) {
      throw bad('value', `cannot change value of ${old.id} (delete it and create a new sender)`);
    }
    const rec = statusMeta(old, senderRecord(old.id, { ...withoutActor(b), kind: old.kind, value: old.value }, req.adminWho), b.status_reason !== undefined);
    return writeSender(req, rec, b);
  });

  api.patch<{ Params: { id: string }; Body: SenderPatch }>('/senders/:id', { schema: schemas.patch }, async (req) => {
    const old = await existingSender(req.params.id);
    const changes = withoutActor(req.body);
    if (Object.keys(changes).length === 0) throw bad('body', 'nothing to change: give at least one of account, class, status, valid_from, valid_until, signatures');
    const { id: _i, updated_at: _u, updated_by: _w, status_by: _sb, status_at: _sa, ...merged } = { ...old } as SenderRecord & Record<string, unknown>;
    if (changes.status !== undefined && changes.status !== old.status && changes.status_reason === undefined) delete merged.status_reason;
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) delete merged[k];
      else merged[k] = v;
    }
    const rec = statusMeta(old, senderRecord(old.id, merged, req.adminWho), true);
    return writeSender(req, rec, req.body);
  });

  api.delete<{ Params: { id: string }; Querystring: ActorFields }>('/senders/:id', { schema: schemas.delete }, async (req) => {
    const { id } = parseSenderId(numbering, 'id', req.params.id);
    if (!(await store.deleteSender(id, actor(req, req.query)))) throw notFound(`no sender ${id}`);
    registry.remove(id);
    return { deleted: id };
  });
};
