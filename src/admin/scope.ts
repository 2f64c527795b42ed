/**
 * The authenticated scope every admin route plugin runs in (api.ts sets it up once under /api/v1):
 * the bearer-token check before anything else (401, or 503 when no tokens are configured — never
 * open by default), the token's name on the request (`adminWho`, the journal's "who"), the API's
 * one error shape (errors.ts) and a JSON 404 for unknown endpoints; then the token's role against
 * the route's (roles.ts: 403 outside it). A refused token is counted, logged and slowed per source
 * address (auth-failures.ts) before its 401., and for a `read` token every subscriber number in the
 * answer masked. It is applied to a scope, not registered as a plugin, so it covers the route
 * plugins registered beside each other inside it. The web console's requests (console/grants.ts)
 * come injected in-process with a one-shot grant naming the signed-in operator instead of a token;
 * from then on they are checked, masked and journaled exactly as a token's.
 */
import type { FastifyInstance } from 'fastify';
import { roleAllows, type AdminRole } from '../domain/admin-role.js';
import { TokenTable, type TokenEntry } from './auth.js';
import type { AuthFailures } from './auth-failures.js';
import { errorHandlerWith } from './errors.js';
import type { Logger } from '../telemetry/log.js';
import { GRANT_HEADER, type ConsoleGrants } from '../console/grants.js';
import { maskNumbers, maskText, roleFor } from './roles.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated admin token's name (journal "who"). */
    adminWho: string;
    /** The authenticated admin token's role. */
    adminRole: AdminRole;
  }
}

export function adminScope(
  api: FastifyInstance,
  tokenEntries: readonly TokenEntry[] | (() => readonly TokenEntry[]),
  failures: AuthFailures | null = null,
  log: Logger | null = null,
  /** The web console's one-shot grants (console/grants.ts): its injected requests carry one instead of a token. */
  grants: ConsoleGrants | null = null,
): void {
  const tokens = new TokenTable(tokenEntries);
  api.decorateRequest('adminWho', '');
  api.decorateRequest('adminRole', 'read');
  api.setErrorHandler(errorHandlerWith(log));
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
    const granted = grants?.take(req.headers[GRANT_HEADER]) ?? null;
    const r = granted ? ({ ok: true, ...granted } as const) : tokens.authenticate(req.headers.authorization);
    if (!r.ok) {
      const wait = failures?.fail(req.ip, r.reason) ?? 0;
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      return reply.code(401).header('www-authenticate', 'Bearer realm="smppguard"').send({ error: 'unauthorized', message: r.message });
    }
    req.adminWho = r.who;
    req.adminRole = r.role;
    const path = req.routeOptions.url;
    if (path === undefined) return; // no such route: the JSON 404
    const needs = roleFor(req.method, path.slice(api.prefix.length));
    if (!roleAllows(r.role, needs)) {
      return reply.code(403).send({
        error: 'forbidden',
        message: `token "${r.who}" has role ${r.role}; ${req.method} ${path} needs ${needs}`,
      });
    }
  });
  // A read token sees subscriber numbers masked, in JSON answers and in the evidence table.
  api.addHook('preSerialization', async (req, _reply, payload) => (req.adminRole === 'read' ? maskNumbers(payload) : payload));
  api.addHook('onSend', async (req, reply, payload) =>
    req.adminRole === 'read' && typeof payload === 'string' && String(reply.getHeader('content-type')).startsWith('text/plain') ? maskText(payload) : payload,
  );
}
