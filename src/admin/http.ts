/**
 * admin/: the gateway's HTTP face. This file serves the operational endpoints every deployment
 * scrapes or probes: /metrics (Prometheus), /healthz (the process is alive), /readyz (it can carry
 * traffic: at least one SMSC bind up and Redis answering). The admin API joins it in later issues.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Metrics } from '../telemetry/metrics.js';

export interface Readiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail: string }>;
}

export function buildHttp(deps: { metrics: Metrics; readiness: () => Promise<Readiness> }): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_req, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.text();
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const r = await deps.readiness();
    reply.code(r.ready ? 200 : 503);
    return { status: r.ready ? 'ready' : 'not ready', checks: r.checks };
  });
  return app;
}
