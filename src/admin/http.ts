/**
 * admin/: the gateway's HTTP face. Operational endpoints every deployment scrapes or probes, all
 * unauthenticated: /metrics (Prometheus), /healthz (the process is alive), /readyz (it can carry
 * traffic: at least one SMSC bind up and Redis answering; each check's detail only with
 * http.readyz_details or a valid admin token), /openapi.json (the API description). A 5xx says
 * nothing internal: a correlation id, logged with the error (errors.ts).
 * Given admin deps, the bearer-token admin API (api.ts: one plugin per resource) is mounted under /api/v1,
 * and with console.enabled the web console under /console (console/plugin.ts).
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { documentRoute } from './openapi.js';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { TlsServerConfig } from '../config/schema.js';
import type { Metrics } from '../telemetry/metrics.js';
import { tlsServerOptions } from '../upstream/tls.js';
import { registerAdminApi, type AdminDeps } from './api.js';
import { TokenTable } from './auth.js';
import { AuthFailures } from './auth-failures.js';
import { serverError } from './errors.js';
import { ConsoleGrants } from '../console/grants.js';
import { registerConsole } from '../console/plugin.js';
import type { Redis } from '../store/redis.js';

export interface Readiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail: string }>;
}

export interface HttpDeps {
  metrics: Metrics;
  /** The /metrics text (workers: the box's, aggregated by the primary); default `metrics`'s. */
  metricsText?: () => Promise<string>;
  readiness: () => Promise<Readiness>;
  /** Mounts the admin API (/api/v1) when given. */
  admin?: AdminDeps;
  /** HTTPS instead of HTTP (http.tls): certificate, client certificates, minimum version. */
  tls?: TlsServerConfig;
  /** Where the web console keeps its sessions (console.enabled needs it and admin). */
  consoleRedis?: Redis;
}

export function buildHttp(deps: HttpDeps): FastifyInstance {
  // Unknown fields are errors (not silently dropped), so a typo in a request is a 400.
  const opts = { logger: false, ajv: { customOptions: { removeAdditional: false } } };
  // An https.Server is a tls.Server, so the gateway can hand it new certificates (setSecureContext);
  // the routes do not care which of the two they are served by.
  const app = deps.tls ? (Fastify({ ...opts, https: tlsServerOptions(deps.tls) }) as unknown as FastifyInstance) : Fastify(opts);
  const cfg = deps.admin?.cfg;
  const log = deps.admin?.log ?? null;
  const tokens = new TokenTable(cfg?.admin.tokens ?? []);
  const failures = cfg ? new AuthFailures(cfg.admin.failed_auth, log, deps.metrics) : null;
  app.setErrorHandler((err: FastifyError, req, reply) =>
    (err.statusCode ?? 500) < 500 ? reply.send(err) : serverError(log, req, reply, err, 500, 'internal', 'internal error (the log has the cause under this correlation_id)'),
  );
  void app.register(swagger, {
    // Shared schemas become components named by their $id (ConsentView, DndView) instead of def-N.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
    transform: documentRoute as never,
    openapi: {
      openapi: '3.1.0',
      servers: [
        {
          url: '{scheme}://{host}:{port}',
          description: "A gateway's HTTP listener (http.host/port; https when http.tls is set)",
          variables: {
            scheme: { default: 'http', enum: ['http', 'https'] },
            host: { default: 'localhost' },
            port: { default: '9090' },
          },
        },
      ],
      info: {
        title: 'smppguard admin API',
        version: '1',
        license: { name: 'Proprietary (UNLICENSED)', identifier: 'UNLICENSED' },
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
  // The API reference, browsable: Swagger UI from the package's own assets (no CDN), reading /openapi.json.
  void app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true, tryItOutEnabled: false }, staticCSP: true });
  // Registered as a plugin so the routes are added after @fastify/swagger starts collecting them.
  void app.register(async (ops) => {
    ops.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    ops.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics' } }, async (_req, reply) => {
      reply.type(deps.metrics.registry.contentType);
      return (deps.metricsText ?? (() => deps.metrics.text()))();
    });
    ops.get('/healthz', { schema: { tags: ['operations'], summary: 'Liveness' } }, async () => ({ status: 'ok' }));
    ops.get(
      '/readyz',
      { schema: { tags: ['operations'], summary: 'Readiness (SMSC bind, Redis, policy data); check details with http.readyz_details or an admin token' } },
      async (req, reply) => {
        const r = await deps.readiness();
        reply.code(r.ready ? 200 : 503);
        const status = r.ready ? 'ready' : 'not ready';
        if (cfg?.http.readyz_details) return { status, checks: r.checks };
        // Details name hosts and Redis errors: only for a valid admin token (a wrong one counts as a failed attempt).
        const header = req.headers.authorization;
        if (header === undefined || tokens.empty) return { status };
        const a = tokens.authenticate(header);
        if (a.ok) return { status, checks: r.checks };
        const wait = failures?.fail(req.ip, a.reason) ?? 0;
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        return { status };
      },
    );
  });
  // The web console (console/plugin.ts) calls the admin API with one-shot grants instead of tokens.
  const grants = cfg?.console.enabled && deps.consoleRedis ? new ConsoleGrants() : undefined;
  if (deps.admin) registerAdminApi(app, { metrics: deps.metrics, ...deps.admin, ...(failures ? { failures } : {}), ...(grants ? { grants } : {}) });
  if (cfg && grants && deps.consoleRedis) {
    registerConsole(app, { cfg, redis: deps.consoleRedis, metrics: deps.metrics, readiness: deps.readiness, grants, failures, log, tls: !!deps.tls });
  }
  return app;
}
