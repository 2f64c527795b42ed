/**
 * The admin API (/api/v1): senders (码号 registrations), consent, the do-not-disturb register,
 * `explain` (the decision for a hypothetical message, nothing sent), the change journal, and the
 * queue's review routes (queue-api.ts).
 *
 * Every request needs `Authorization: Bearer <token>` (auth.ts); with no tokens configured the API
 * answers 503 — never open by default. Bodies, params and query strings are checked by the route
 * schemas (schemas.ts) and then for meaning here: numbers are normalised with the gateway's
 * numbering plan, senders go through SenderInputSchema and senderProblems, accounts must exist.
 * Every write goes through PolicyAdmin, which journals it with the token's name as "who" and the
 * request's channel/evidence. Sender writes also reach every instance's registry via pub/sub; this
 * instance applies them at once so its next submit already sees them.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';
import { normaliseMsisdn } from '../policy/address.js';
import type { Explained, ExplainInput } from '../policy/gateway-policy.js';
import { REASONS } from '../policy/reasons.js';
import { type SenderRegistry } from '../policy/senders.js';
import { SenderInputSchema, senderId, senderProblems, type SenderRecord } from '../domain/sender.js';
import { statusName } from '../protocol/status.js';
import type { Actor, ConsentRecord, PolicyAdmin } from '../store/policy-admin.js';
import type { ComplaintDesk } from '../complaints/desk.js';
import type { AuditStream } from '../store/audit-stream.js';
import type { ComplaintStore } from '../store/complaint-store.js';
import { TokenTable } from './auth.js';
import { registerComplaintApi } from './complaints-api.js';
import { ApiError, bad, errorHandler, notFound } from './errors.js';
import { S, sharedSchemas } from './schemas.js';
import { registerQueueRoutes } from './queue-api.js';
import type { MessageQueue } from '../queue/message-queue.js';

export const API_PREFIX = '/api/v1';

export interface AdminDeps {
  cfg: Config;
  store: PolicyAdmin;
  /** This instance's sender registry: updated at once after a sender write (others follow via pub/sub). */
  registry: SenderRegistry;
  /** The running policy's explain; null when the gateway runs with policy off. */
  explain: ((m: ExplainInput) => Promise<Explained>) | null;
  /** The message queue (review, depth); null when the gateway runs without it. */
  queue?: MessageQueue | null;
  /** Complaint intake and cases (complaints-api.ts); null when policy is off. */
  complaints?: ComplaintDesk | null;
  cases?: ComplaintStore | null;
  /** The decision stream evidence reads; null when audit.stream is off. */
  audit?: AuditStream | null;
}

/** The input checks complaints-api.ts shares with this file. */
export interface InputHelpers {
  number(field: string, raw: string): string;
  parseSenderId(field: string, raw: string): { id: string; kind: SenderKind; value: string };
  actor(req: FastifyRequest, f: ActorFields | undefined): Actor;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated admin token's name (journal "who"). */
    adminWho: string;
  }
}

export type SenderKind = SenderRecord['kind'];
const SENDER_KINDS: readonly SenderKind[] = ['number', 'prefix', 'range', 'alpha'];
/** E.164: at most 15 digits (the store's key layout relies on it). */
const MAX_DIGITS = 15;

export interface ActorFields {
  channel?: string;
  evidence?: string;
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
interface ConsentBody extends ActorFields {
  msisdn: string;
  scope: string;
  state: 'granted' | 'revoked';
  expires_at?: string;
}
interface DndBody extends ActorFields {
  msisdn: string;
  category?: number;
}

export function registerAdminApi(app: FastifyInstance, deps: AdminDeps): void {
  for (const s of sharedSchemas) app.addSchema(s);
  void app.register(
    async (api) => {
      const tokens = new TokenTable(deps.cfg.admin.tokens);
      const numbering = deps.cfg.policy.numbering;
      const accounts = new Set(deps.cfg.accounts.map((a) => a.system_id));
      const { store } = deps;

      api.decorateRequest('adminWho', '');
      api.setErrorHandler(errorHandler);
      api.setNotFoundHandler((req, reply) =>
        reply.code(404).send({ error: 'not_found', message: `no such endpoint: ${req.method} ${req.url.split('?')[0]}` }),
      );
      api.addHook('onRequest', async (req, reply) => {
        if (tokens.empty) {
          return reply.code(503).send({
            error: 'unavailable',
            message: 'no admin tokens are configured (admin.tokens in the config file): the admin API is disabled',
          });
        }
        const r = tokens.authenticate(req.headers.authorization);
        if (!r.ok) return reply.code(401).header('www-authenticate', 'Bearer realm="smppguard"').send({ error: 'unauthorized', message: r.message });
        req.adminWho = r.who;
      });

      // ---- input meaning ------------------------------------------------------------------------

      const actor = (req: FastifyRequest, f: ActorFields | undefined): Actor => ({
        who: req.adminWho,
        ...(f?.channel ? { channel: f.channel } : {}),
        ...(f?.evidence ? { evidence: f.evidence } : {}),
      });

      const number = (field: string, raw: string): string => {
        const v = normaliseMsisdn(raw, numbering);
        if (v === null) throw bad(field, `"${raw}" is not a phone number (digits, optionally with "+", "${numbering.international_prefix}" or "${numbering.national_prefix}" in front)`);
        if (v.length > MAX_DIGITS) throw bad(field, `"${raw}" is ${v.length} digits in international form; a phone number has at most ${MAX_DIGITS}`);
        return v;
      };

      const knownAccount = (field: string, name: string): string => {
        if (!accounts.has(name)) throw bad(field, `no account "${name}" is configured (accounts[].system_id)`);
        return name;
      };

      /** The canonical value of a sender of this kind ("field" names the input for messages). */
      const senderValue = (field: string, kind: SenderKind, raw: string): string => {
        switch (kind) {
          case 'number':
            return number(field, raw);
          case 'prefix':
            if (!/^\d{1,15}$/.test(raw)) throw bad(field, `prefix "${raw}" must be 1–15 digits in international form (no "+")`);
            return raw;
          case 'range': {
            const m = /^(\d{1,15})-(\d{1,15})$/.exec(raw);
            if (!m) throw bad(field, `range "${raw}" must be "from-to", each end 1–15 digits in international form, e.g. 8610690000-8610690099`);
            if (m[1]!.length !== m[2]!.length) throw bad(field, `range "${raw}": both ends must have the same number of digits`);
            if (m[1]! > m[2]!) throw bad(field, `range "${raw}": from must not be greater than to`);
            return raw;
          }
          case 'alpha':
            if (raw !== raw.trim() || raw.length > 20) throw bad(field, `sender name "${raw}" must be at most 20 characters without leading or trailing spaces`);
            return raw;
        }
      };

      /** "<kind>:<value>" → the canonical sender id (numbers normalised, names upper-cased). */
      const parseSenderId = (field: string, raw: string): { id: string; kind: SenderKind; value: string } => {
        const colon = raw.indexOf(':');
        const kind = raw.slice(0, colon) as SenderKind;
        if (colon < 0 || !SENDER_KINDS.includes(kind)) {
          throw bad(field, `"${raw}" is not a sender id: expected "<kind>:<value>" with kind one of ${SENDER_KINDS.join(', ')}`);
        }
        const value = senderValue(field, kind, raw.slice(colon + 1));
        return { id: senderId(kind, value), kind, value };
      };

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
            return `sender:${parseSenderId(field, rest).id}`;
          case 'brand':
            if (rest.length > 18) throw bad(field, `brand "${rest}" is longer than 18 characters (signatures are 2–18)`);
            return raw;
          case 'account':
            if (mustExist) knownAccount(field, rest);
            return raw;
          default:
            throw bad(field, `unknown scope type "${type}": expected sender, brand or account`);
        }
      };

      /**
       * status_by / status_at follow status changes (who set the status, when); a status_reason is
       * kept until the status changes again without one.
       */
      const statusMeta = (old: SenderRecord | null, rec: SenderRecord, reasonGiven: boolean): SenderRecord => {
        if (old && old.status === rec.status) {
          const kept: SenderRecord = { ...rec, ...(old.status_by ? { status_by: old.status_by } : {}), ...(old.status_at ? { status_at: old.status_at } : {}) };
          if (!reasonGiven && old.status_reason) kept.status_reason = old.status_reason;
          return kept;
        }
        const next: SenderRecord = { ...rec, status_by: rec.updated_by!, status_at: rec.updated_at! };
        if (!reasonGiven) delete next.status_reason;
        return next;
      };

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
        knownAccount('account', rec.account);
        return { ...rec, updated_at: new Date().toISOString(), updated_by: who };
      };

      const writeSender = async (req: FastifyRequest, rec: SenderRecord, f: ActorFields): Promise<SenderRecord> => {
        await store.putSender(rec, actor(req, f));
        deps.registry.upsert(rec);
        return rec;
      };

      const withoutActor = <T extends ActorFields>(b: T): Omit<T, 'channel' | 'evidence'> => {
        const { channel: _c, evidence: _e, ...rest } = b;
        return rest;
      };

      const consentView = async (msisdn: string) => {
        const now = Date.now();
        const list = await store.consentsOf(msisdn);
        list.sort((a, b) => a.scope.localeCompare(b.scope));
        return {
          msisdn,
          consents: list.map((c: ConsentRecord) => ({
            scope: c.scope,
            state: c.state,
            at: new Date(c.at).toISOString(),
            expires_at: c.expires ? new Date(c.expires).toISOString() : null,
            effective: c.state === 'revoked' ? 'revoked' : c.expires !== null && c.expires <= now ? 'expired' : 'granted',
          })),
        };
      };

      const dndView = async (msisdn: string) => {
        const cats = await store.dndOf(msisdn);
        return { msisdn, registered: cats.length > 0, all: cats.includes(0), categories: cats.filter((c) => c > 0) };
      };

      // ---- senders ------------------------------------------------------------------------------

      api.post<{ Body: SenderBody }>('/senders', { schema: S.createSender }, async (req, reply) => {
        const b = req.body;
        const kind = b.kind!;
        const value = senderValue('value', kind, b.value!);
        const id = senderId(kind, value);
        const rec = statusMeta(null, senderRecord(id, { ...withoutActor(b), value }, req.adminWho), b.status_reason !== undefined);
        if (!(await store.createSender(rec, actor(req, b)))) {
          const existing = await store.getSender(id);
          throw new ApiError(409, 'conflict', `sender ${id} already exists (account ${existing?.account}); change it with PUT or PATCH ${API_PREFIX}/senders/${id}`);
        }
        deps.registry.upsert(rec);
        return reply.code(201).header('location', `${API_PREFIX}/senders/${encodeURIComponent(id)}`).send(rec);
      });

      api.get<{ Querystring: { account?: string; kind?: string; status?: string } }>('/senders', { schema: S.listSenders }, async (req) => {
        const q = req.query;
        const senders = (await store.allSenders())
          .filter((s) => (!q.account || s.account === q.account) && (!q.kind || s.kind === q.kind) && (!q.status || s.status === q.status))
          .sort((a, b) => a.id.localeCompare(b.id));
        return { count: senders.length, senders };
      });

      const existingSender = async (rawId: string): Promise<SenderRecord> => {
        const { id } = parseSenderId('id', rawId);
        const rec = await store.getSender(id);
        if (!rec) throw notFound(`no sender ${id}`);
        return rec;
      };

      api.get<{ Params: { id: string } }>('/senders/:id', { schema: S.getSender }, async (req) => existingSender(req.params.id));

      api.put<{ Params: { id: string }; Body: SenderBody }>('/senders/:id', { schema: S.putSender }, async (req) => {
        const old = await existingSender(req.params.id);
        const b = req.body;
        if (b.kind !== undefined && b.kind !== old.kind) throw bad('kind', `cannot change kind of ${old.id} (delete it and create a new sender)`);
        if (b.value !== undefined && senderValue('value', old.kind, b.value) !== old.value) {
          throw bad('value', `cannot change value of ${old.id} (delete it and create a new sender)`);
        }
        const rec = statusMeta(old, senderRecord(old.id, { ...withoutActor(b), kind: old.kind, value: old.value }, req.adminWho), b.status_reason !== undefined);
        return writeSender(req, rec, b);
      });

      api.patch<{ Params: { id: string }; Body: SenderPatch }>('/senders/:id', { schema: S.patchSender }, async (req) => {
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

      api.delete<{ Params: { id: string }; Querystring: ActorFields }>('/senders/:id', { schema: S.deleteSender }, async (req) => {
        const { id } = parseSenderId('id', req.params.id);
        if (!(await store.deleteSender(id, actor(req, req.query)))) throw notFound(`no sender ${id}`);
        deps.registry.remove(id);
        return { deleted: id };
      });

      // ---- consent ------------------------------------------------------------------------------

      api.post<{ Body: ConsentBody }>('/consent', { schema: S.setConsent }, async (req) => {
        const b = req.body;
        const msisdn = number('msisdn', b.msisdn);
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
        await store.setConsent(msisdn, scope, b.state, actor(req, b), expires);
        return consentView(msisdn);
      });

      api.get<{ Params: { msisdn: string } }>('/consent/:msisdn', { schema: S.getConsent }, async (req) =>
        consentView(number('msisdn', req.params.msisdn)),
      );

      api.delete<{ Params: { msisdn: string }; Querystring: ActorFields & { scope: string } }>(
        '/consent/:msisdn',
        { schema: S.deleteConsent },
        async (req) => {
          const msisdn = number('msisdn', req.params.msisdn);
          const scope = parseScope('scope', req.query.scope, false);
          if (!(await store.deleteConsent(msisdn, scope, actor(req, req.query)))) throw notFound(`no consent record for ${msisdn} in scope ${scope}`);
          return consentView(msisdn);
        },
      );

      // ---- DND ----------------------------------------------------------------------------------

      api.post<{ Body: DndBody }>('/dnd', { schema: S.addDnd }, async (req) => {
        const msisdn = number('msisdn', req.body.msisdn);
        await store.addDnd(msisdn, req.body.category ?? null, actor(req, req.body));
        return dndView(msisdn);
      });

      api.get<{ Params: { msisdn: string } }>('/dnd/:msisdn', { schema: S.getDnd }, async (req) => dndView(number('msisdn', req.params.msisdn)));

      api.delete<{ Params: { msisdn: string }; Querystring: ActorFields & { category?: string } }>(
        '/dnd/:msisdn',
        { schema: S.deleteDnd },
        async (req) => {
          const msisdn = number('msisdn', req.params.msisdn);
          const c = req.query.category;
          const targets: (number | null)[] =
            c === 'all' ? (await store.dndOf(msisdn)).map((k) => k || null) : [c === undefined ? null : Number(c)];
          let removed = false;
          for (const t of targets) if (await store.removeDnd(msisdn, t, actor(req, req.query))) removed = true;
          if (!removed) {
            throw notFound(`${msisdn} is not on the do-not-disturb register${c === undefined ? ' for all commercial messages' : c === 'all' ? '' : ` for category ${c}`}`);
          }
          return dndView(msisdn);
        },
      );

      // ---- explain ------------------------------------------------------------------------------

      api.post<{ Body: ExplainInput }>('/explain', { schema: S.explain }, async (req) => {
        const b = req.body;
        knownAccount('account', b.account);
        for (const tag of Object.keys(b.tlvs ?? {})) {
          const n = Number(tag);
          if (!(n >= 1 && n <= 0xffff)) throw bad(`tlvs.${tag}`, 'TLV tag must be 1–0xFFFF');
        }
        let r: Explained;
        if (!deps.explain) {
          r = {
            action: 'forward',
            reason: 'policy_off',
            status: 0,
            rule: 'policy/off',
            class: null,
            explanation: REASONS.policy_off.text,
            trace: ['policy.enabled is false: every message is forwarded without checks'],
          };
        } else {
          try {
            r = await deps.explain(b);
          } catch (err) {
            throw bad('body', `the message cannot be built: ${(err as Error).message}`);
          }
        }
        return { ...r, status_name: statusName(r.status) };
      });

      registerQueueRoutes(api, deps.queue ?? null, accounts);

      // ---- journal ------------------------------------------------------------------------------

      api.get<{ Querystring: { msisdn?: string; sender?: string; op?: string; count?: number } }>(
        '/journal',
        { schema: S.journal },
        async (req) => {
          const q = req.query;
          const count = q.count ?? 100;
          const msisdn = q.msisdn === undefined ? undefined : number('msisdn', q.msisdn);
          const sender = q.sender === undefined ? undefined : parseSenderId('sender', q.sender).id;
          const entries = await store.journalEntries({
            msisdn,
            match: (e) => (!sender || e.sender === sender) && (!q.op || e.op === q.op),
            count,
          });
          return { count: entries.length, entries };
        },
      );

      // ---- complaints, reinstatement, evidence (complaints-api.ts) ------------------------------

      registerComplaintApi(api, deps, { number, parseSenderId, actor });
    },
    { prefix: API_PREFIX },
  );
}
