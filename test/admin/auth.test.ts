/**
 * Admin API access: bearer tokens (SHA-256 in config), 401/503, unauthenticated operational
 * endpoints, the OpenAPI document, the error format, and explain with policy off.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminStack, TOKENS, type AdminStack } from '../helpers/admin.js';

describe('admin API authentication', () => {
  let s: AdminStack;
  let closed: AdminStack;
  beforeAll(async () => {
    // Policy off here: explain must say so.
    [s, closed] = await Promise.all([startAdminStack({ policy: false }), startAdminStack({ tokens: false })]);
  });
  afterAll(async () => {
    await Promise.all([s?.stop(), closed?.stop()]);
  });

  it('refuses a request without a token with 401 and says how to authenticate', async () => {
    const r = await s.api('GET', '/api/v1/senders', { token: null });
    expect(r.status).toBe(401);
    expect(r.body.error).toBe('unauthorized');
    expect(r.body.message).toMatch(/Authorization: Bearer/);
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('refuses a wrong token and a non-Bearer scheme with 401', async () => {
    const wrong = await s.api('GET', '/api/v1/senders', { token: { raw: 'not-the-token' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ error: 'unauthorized', message: 'invalid bearer token' });
    const basic = await s.api('GET', '/api/v1/senders', { token: null, headers: { authorization: `Basic ${TOKENS.ops}` } });
    expect(basic.status).toBe(401);
    expect(basic.body.message).toMatch(/Bearer <token>/);
    // The configured digest itself is not a token.
    const digest = s.cfg.admin.tokens[0]!.sha256;
    expect((await s.api('GET', '/api/v1/senders', { token: { raw: digest } })).status).toBe(401);
  });

  it('accepts every configured token', async () => {
    for (const t of ['ops', 'crm'] as const) {
      const r = await s.api('GET', '/api/v1/senders', { token: t });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ count: 0, senders: [] });
    }
  });

  it('answers 401 before 404 for unknown endpoints, and 404 JSON with a token', async () => {
    expect((await s.api('GET', '/api/v1/nothing', { token: null })).status).toBe(401);
    const r = await s.api('GET', '/api/v1/nothing');
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ error: 'not_found', message: 'no such endpoint: GET /api/v1/nothing' });
  });

  it('keeps /metrics, /healthz, /readyz and /openapi.json open', async () => {
    for (const path of ['/metrics', '/healthz', '/readyz', '/openapi.json']) {
      const r = await s.api('GET', path, { token: null });
      expect(r.status, path).toBe(200);
    }
  });

  it('with no admin tokens configured answers 503 to everyone, never opens', async () => {
    for (const token of [null, { raw: TOKENS.ops }]) {
      const r = await closed.api('GET', '/api/v1/senders', { token });
      expect(r.status).toBe(503);
      expect(r.body.error).toBe('unavailable');
      expect(r.body.message).toMatch(/no admin tokens are configured/);
    }
    expect((await closed.api('POST', '/api/v1/dnd', { token: null, body: { msisdn: '8613800138000' } })).status).toBe(503);
    expect((await closed.api('GET', '/healthz', { token: null })).status).toBe(200);
  });

  it('serves an OpenAPI 3 document describing every endpoint and the bearer scheme', async () => {
    const r = await s.api('GET', '/openapi.json', { token: null });
    const doc = r.body;
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(doc.info.title).toMatch(/smppguard/);
    expect(doc.components.securitySchemes.bearerAuth).toEqual({ type: 'http', scheme: 'bearer' });
    const expected: Record<string, string[]> = {
      '/api/v1/senders': ['get', 'post'],
      '/api/v1/senders/{id}': ['get', 'put', 'patch', 'delete'],
      '/api/v1/consent': ['post'],
      '/api/v1/consent/{msisdn}': ['get', 'delete'],
      '/api/v1/dnd': ['post'],
      '/api/v1/dnd/{msisdn}': ['get', 'delete'],
      '/api/v1/explain': ['post'],
      '/api/v1/journal': ['get'],
    };
    for (const [path, methods] of Object.entries(expected)) {
      expect(doc.paths[path], path).toBeDefined();
      for (const m of methods) {
        const op = doc.paths[path][m];
        expect(op, `${m} ${path}`).toBeDefined();
        expect(op.security).toEqual([{ bearerAuth: [] }]);
        expect(op.responses['401']).toBeDefined();
      }
    }
    expect(doc.paths['/api/v1/senders'].post.requestBody.content['application/json'].schema.required).toEqual(['kind', 'value', 'account']);
    expect(doc.paths['/healthz'].get.security).toEqual([]); // explicitly none
    expect(doc.paths['/openapi.json']).toBeUndefined();
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['ConsentView', 'DndView']));
  });

  it('errors are JSON {error, message}: bad JSON, wrong content type', async () => {
    const badJson = await s.api('POST', '/api/v1/dnd', { body: '{"msisdn":' });
    expect(badJson.status).toBe(400);
    expect(badJson.body.error).toBe('bad_request');
    expect(badJson.body.message).toMatch(/not valid JSON/);
    const post = (type: string, body: string) =>
      fetch(`${s.base}/api/v1/dnd`, { method: 'POST', headers: { authorization: `Bearer ${TOKENS.ops}`, 'content-type': type }, body });
    const text = await post('text/plain', 'msisdn=1');
    expect(text.status).toBe(400);
    expect(await text.json()).toEqual({ error: 'bad_request', message: 'request body must be a JSON object', field: 'request body' });
    const res = await post('application/x-www-form-urlencoded', 'msisdn=1');
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ error: 'unsupported_media_type' });
  });

  it('explain with policy off says every message is forwarded (policy_off)', async () => {
    const r = await s.api('POST', '/api/v1/explain', {
      body: { account: 'esme', source_addr: '8610690001', destination_addr: '8613800138000' },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ action: 'forward', reason: 'policy_off', status: 0, rule: 'policy/off' });
  });
});
