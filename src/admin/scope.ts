/**
 * The authenticated scope every admin route plugin runs in (api.ts sets it up once under /api/v1):
 * the bearer-token check before anything else (401, or 503 when no tokens are configured — never
 * open by default), the token's name on the request (`adminWho`, the journal's "who"), the API's
 * one error shape (errors.ts) and a JSON 404 for unknown endpoints. It is applied to a scope, not
 * registered as a plugin, so it covers the route plugins registered beside each other inside it.
 */
import type { FastifyInstance } from 'fastify';
import { TokenTable, type TokenEntry } from './auth.js';
import { errorHandler } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated admin token's name (journal "who"). */
    adminWho: string;
  }
}

export function adminScope(api: FastifyInstance, tokenEntries: readonly TokenEntry[]): void {
  const tokens = new TokenTable(tokenEntries);
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
}
