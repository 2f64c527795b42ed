/**
 * admin/: the gateway's HTTP face. Operational endpoints every deployment scrapes or probes, all
 * unauthenticated: /metrics (Prometheus), /healthz (the process is alive), /readyz (it can carry
 * traffic: at least one SMSC bind up and Redis answering), /openapi.json (the API description).
 * Given admin deps, the bearer-token admin API (api.ts: one plugin per resource) is mounted under /api/v1.
 */
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Metrics } from '../telemetry/metrics.js';
import { registerAdminApi, type AdminDeps } from './api.js';

export interface Readiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail: string }>;
}

export interface HttpDeps {
  metrics: Metrics;
  readiness: () => Promise<Readiness>;
  /** Mounts the admin API (/api/v1) when given. */
  admin?: AdminDeps;
}

export function buildHttp(deps: HttpDeps): FastifyInstance {
  // Unknown fields are errors (not silently dropped), so a typo in a request is a 400.
  const app = Fastify({ logger: false, ajv: { customOptions: { removeAdditional: false } } });
  void app.register(swagger, {
    // Shared schemas become components named by their $id (ConsentView, DndView) instead of def-N.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'smppguard admin API',
        version: '1',
        description:
          'Senders, consent, do-not-disturb, explain, the change journal, complaints and evidence. Every /api/v1 call needs "Authorization: Bearer <token>"; ' +
          'errors are JSON {error, message, field?}. See docs/admin-api.md.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
      tags: [
        { name: 'senders', description: 'Sender number / id registrations (码号) per account' },
        { name: 'consent', description: 'Recipient consent per scope (sender, brand, account)' },
        { name: 'dnd', description: 'The do-not-disturb register' },
        { name: 'explain', description: 'Dry-run decisions' },
        { name: 'journal', description: 'Who changed what, when' },
        { name: 'queue', description: 'Messages held for review; queue depth' },
        { name: 'complaints', description: 'Complaint cases (12321, 7726, customer care): intake, deadlines, auto-suspension' },
        { name: 'evidence', description: "A recipient's consent journal and the gateway's decisions for it" },
        { name: 'dead-letters', description: 'Held receipts/MO a receiver refused too often: list, retry' },
        { name: 'operations', description: 'Metrics and probes (no authentication)' },
      ],
    },
  });
  // Registered as a plugin so the routes are added after @fastify/swagger starts collecting them.
  void app.register(async (ops) => {
    ops.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    ops.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics' } }, async (_req, reply) => {
      reply.type(deps.metrics.registry.contentType);
      return deps.metrics.text();
    });
    ops.get('/healthz', { schema: { tags: ['operations'], summary: 'Liveness' } }, async () => ({ status: 'ok' }));
    ops.get('/readyz', { schema: { tags: ['operations'], summary: 'Readiness (SMSC bind, Redis, policy data)' } }, async (_req, reply) => {
      const r = await deps.readiness();
      reply.code(r.ready ? 200 : 503);
      return { status: r.ready ? 'ready' : 'not ready', checks: r.checks };
    });
  });
  if (deps.admin) registerAdminApi(app, deps.admin);
  return app;
}
