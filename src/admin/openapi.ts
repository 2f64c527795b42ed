/**
 * The OpenAPI document's finishing, route by route (@fastify/swagger's `transform`: the document
 * only — request validation and response serialisation keep the routes' own schemas): an
 * operationId for every operation, a described and shaped response for every status a route can
 * answer (the admin scope's 400/401/403/404/409/413/415/503 all carry the error shape of
 * errors.ts), examples of the error bodies, and the operations routes' answers. Checked by
 * test/admin/openapi.test.ts, which also lints the whole document with Redocly.
 */
import { errorSchema } from './schemas.js';

type Schema = Record<string, unknown>;

const ERROR_TEXT: Record<number, [string, string, string?]> = {
  400: ['Bad input: the message names the field.', 'bad_request', 'msisdn'],
  401: ['Missing or invalid bearer token.', 'unauthorized'],
  403: ["The token's role may not call this route (docs/security.md lists the roles).", 'forbidden'],
  404: ['Not found.', 'not_found'],
  409: ['Conflict with an existing record.', 'conflict'],
  413: ['The body is larger than the server accepts.', 'payload_too_large'],
  415: ['The body is not application/json.', 'unsupported_media_type'],
  503: ['No admin tokens configured, the feature is off, or the policy store is unreachable.', 'unavailable'],
};

const EXAMPLE_MESSAGE: Record<number, string> = {
  400: 'msisdn: not a phone number',
  401: 'missing or invalid bearer token',
  403: 'token "crm" has role operate; DELETE /api/v1/senders/:id needs admin',
  404: '8613800138000 is not on the do-not-disturb register for all commercial messages',
  409: 'sender number:8610690001 already exists',
  413: 'Request body is too large',
  415: 'Unsupported Media Type: text/plain',
  503: 'the policy store is unreachable',
};

/** The error response for `code`, with its description and an example body. */
export function errorResponse(code: number): Schema {
  const [description, error, field] = ERROR_TEXT[code] ?? ['Error.', 'error'];
  return { description, ...errorSchema, examples: [{ error, message: EXAMPLE_MESSAGE[code] ?? description, ...(field ? { field } : {}) }] };
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const camel = (s: string) => s.replace(/[-_.](\w)/g, (_, c: string) => c.toUpperCase());

/** "POST /api/v1/queue/review/:id/approve" → "postQueueReviewByIdApprove"; unique per method and path. */
export function operationId(method: string, url: string): string {
  const parts = url
    .replace(/^\/api\/v1/, '')
    .split('/')
    .filter(Boolean)
    .map((p) => (p.startsWith(':') ? `By${cap(camel(p.slice(1)))}` : cap(camel(p))));
  return method.toLowerCase() + parts.join('');
}

/** What the operations routes answer (they declare no response schemas of their own). */
const OPERATIONS: Record<string, Schema> = {
  '/metrics': { 200: { description: 'Prometheus text exposition format.', content: { 'text/plain': { schema: { type: 'string' } } } } },
  '/healthz': { 200: { description: 'The process runs.', type: 'object', properties: { status: { type: 'string', enum: ['ok'] } } } },
  '/readyz': {
    200: { description: 'Ready: an SMSC bind is up, Redis answers, not shutting down.', ...readiness() },
    503: { description: 'Not ready; with details (http.readyz_details or an admin token), the failing check is named.', ...readiness() },
  },
};

function readiness(): Schema {
  return {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ready', 'not ready'] },
    checks: {
      type: 'object',
      description: 'Each check with ok and detail (only with http.readyz_details or a valid admin token).',
      additionalProperties: { type: 'object', properties: { ok: { type: 'boolean' }, detail: { type: 'string' } } },
    },
  },
  };
}

/** @fastify/swagger's transform: one route's schema as documented. */
export function documentRoute({ schema, url, route }: { schema: Schema | undefined; url: string; route: { method: string | string[] } }): { schema: Schema; url: string } {
  const method = Array.isArray(route.method) ? route.method[0]! : route.method;
  const s: Schema = { ...(schema ?? {}) };
  if (s.hide) return { schema: s, url };
  s.operationId ??= operationId(method, url);
  const responses: Schema = { ...((s.response as Schema | undefined) ?? {}) };
  if (!url.startsWith('/api/v1/')) {
    // Probes and metrics: no authentication.
    s.security ??= [];
    Object.assign(responses, OPERATIONS[url] ?? {});
  } else {
    const codes = [400, 401, 403, 503];
    if (url.includes('/:')) codes.push(404);
    if (method === 'POST' || method === 'PUT' || method === 'PATCH') codes.push(413, 415);
    for (const c of codes) responses[c] ??= errorResponse(c);
    for (const [c, r] of Object.entries(responses)) {
      const code = Number(c);
      if (code >= 400 && ERROR_TEXT[code]) responses[c] = { ...(r as Schema), ...errorResponse(code) };
    }
    if (!Object.keys(responses).some((c) => c.startsWith('2'))) {
      responses[200] = { description: 'OK: the JSON object docs/admin-api.md describes for this route.', type: 'object', additionalProperties: true };
    }
  }
  for (const [c, r] of Object.entries(responses)) {
    const rs = r as Schema;
    if (rs.description === undefined) responses[c] = { description: c === '201' ? 'Created.' : c === '204' ? 'Done; no body.' : 'OK.', ...rs };
  }
  s.response = responses;
  return { schema: s, url };
}
