/**
 * The admin API (/api/v1): one authenticated scope (scope.ts: bearer tokens, the error shape, JSON
 * 404s) holding one fastify plugin per resource, each given only what it needs — senders (码号
 * registrations), consent, the do-not-disturb register, the number portability table, `explain` (the decision for a hypothetical
 * message, nothing sent), the queue's review routes, the change journal, complaints with sender
 * reinstatement, evidence for a recipient, bind lockouts, and dead letters (held receipts/MO a
 * receiver refused too often).
 *
 * Every request needs `Authorization: Bearer <token>`; with no tokens configured the API answers
 * 503 — never open by default. Each token's role decides which routes it may call (roles.ts). Bodies, params and query strings are checked by each plugin's route
 * schemas and then for meaning (input.ts): numbers are normalised with the gateway's numbering
 * plan, senders go through SenderInputSchema and senderProblems, accounts must exist. Every write
 * goes through PolicyAdmin, which journals it with the token's name as "who" and the request's
 * channel/evidence. Plugins import shared modules only, never each other.
 */
import type { FastifyInstance } from 'fastify';
import type { ComplaintDesk } from '../complaints/desk.js';
import type { Config } from '../config/schema.js';
import type { Explained, ExplainInput } from '../decision/service.js';
import type { SenderRegistry } from '../policy/senders.js';
import type { MessageQueue } from '../queue/message-queue.js';
import type { DecisionSource } from '../evidence/collect.js';
import type { BindThrottleStore } from '../store/bind-throttle.js';
import type { Metrics } from '../telemetry/metrics.js';
import { AuthFailures } from './auth-failures.js';
import type { ComplaintStore } from '../store/complaint-store.js';
import type { HeldDeliveries } from '../store/held-deliveries.js';
import type { ConsoleGrants } from '../console/grants.js';
import type { PolicyAdmin } from '../store/policy-admin.js';
import { createLogger, type Logger } from '../telemetry/log.js';
import { complaintsApi } from './complaints-api.js';
import { consentApi } from './consent-api.js';
import { configApi } from './config-api.js';
import { deadLettersApi } from './dead-letters-api.js';
import { dndApi } from './dnd-api.js';
import { portedApi } from './ported-api.js';
import { PortedAdmin } from '../store/ported.js';
import { evidenceApi } from './evidence-api.js';
import { explainApi } from './explain-api.js';
import { journalApi } from './journal-api.js';
import { lockoutsApi } from './lockouts-api.js';
import { queueApi } from './queue-api.js';
import { adminScope } from './scope.js';
import { sendersApi } from './senders-api.js';

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
  audit?: DecisionSource | null;
  /** Bind lockouts (upstream bind throttling); null when it is off. */
  lockouts?: BindThrottleStore | null;
  /** Start-up warnings (a token without a role), refused tokens, 5xx errors. */
  log?: Logger;
  /** Where refused tokens are counted (http.ts passes its own). */
  metrics?: Metrics;
  /** Refused tokens, shared with /readyz (http.ts); made here when not given. */
  failures?: AuthFailures;
  /** Held receipts/MO (their dead letters: dead-letters-api.ts) and how to tell every instance an account has some. */
  held?: HeldDeliveries | null;
  announceHeld?: (account: string) => void;
  /** The web console's one-shot grants (console/grants.ts), when the console is on. */
  grants?: ConsoleGrants;
  /** The number portability table's single-number edits; default: on the policy store's Redis and prefix. */
  ported?: PortedAdmin;
}

/**
 * The configured accounts as the admin API checks names against them (`has` only): read from the
 * config at every call, since a live reload adds and removes accounts.
 */
class ConfiguredAccounts extends Set<string> {
  constructor(private readonly list: () => readonly { system_id: string }[]) {
    super();
  }

  override has(id: string): boolean {
    return this.list().some((a) => a.system_id === id);
  }
}

export function registerAdminApi(app: FastifyInstance, deps: AdminDeps): void {
  for (const t of deps.cfg.admin.tokens) {
    if (t.role === undefined) {
      deps.log?.warn({ token: t.name }, 'admin token has no role: read as admin (give it role: read, operate or admin; docs/security.md)');
    }
  }
  const failures = deps.failures ?? new AuthFailures(deps.cfg.admin.failed_auth, deps.log ?? null, deps.metrics ?? null);
  void app.register(
    async (api) => {
      adminScope(api, () => deps.cfg.admin.tokens, failures, deps.log ?? null, deps.grants ?? null);
      const { store, registry } = deps;
      const numbering = deps.cfg.policy.numbering;
      const accounts: ReadonlySet<string> = new ConfiguredAccounts(() => deps.cfg.accounts);
      const cases = deps.cases ?? null;

      // In this order: the OpenAPI document lists paths in registration order.
      await api.register(sendersApi, { store, registry, numbering, accounts });
      await api.register(consentApi, { store, numbering, accounts });
      await api.register(dndApi, { store, numbering });
      // Made on first use: on the policy store's Redis and key prefix unless given.
      let made: PortedAdmin | null = deps.ported ?? null;
      const ported = () => (made ??= new PortedAdmin(store.redis, store.keys.prefix, deps.cfg.policy.journal_retention_days * 86_400_000));
      await api.register(portedApi, {
        ported: { get: (n) => ported().get(n), set: (n, t, a) => ported().set(n, t, a), remove: (n, a) => ported().remove(n, a) },
        numbering,
      });
      await api.register(explainApi, { explain: deps.explain, accounts });
      await api.register(queueApi, { queue: deps.queue ?? null, accounts });
      await api.register(journalApi, { store, numbering });
      await api.register(complaintsApi, { desk: deps.complaints ?? null, cases, store, numbering });
      await api.register(evidenceApi, { store, audit: deps.audit ?? null, cases, senders: registry, numbering });
      await api.register(lockoutsApi, { lockouts: deps.lockouts ?? null });
      await api.register(deadLettersApi, {
        held: deps.held ?? null,
        accounts,
        announceHeld: deps.announceHeld ?? (() => undefined),
        log: deps.log ?? createLogger('silent'),
      });
      await api.register(configApi, { config: () => deps.cfg });
    },
    { prefix: API_PREFIX },
  );
}
