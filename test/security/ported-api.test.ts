/**
 * The number portability endpoints (/api/v1/ported/{msisdn}; docs/admin-api.md) under hostile
 * input, as admin-secrets.test.ts does for the other routes: no token or a wrong one → 401, a role
 * too low → 403; a malformed number or body → 400 naming the field; a wrong content type → 415; an
 * oversized body → 413; nothing written by any refused request; no token in the log.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLog, sha256, startAdminStack, type AdminStack } from '../helpers/admin.js';


const TOKENS = { admin: 'ported-admin-token-00000000', read: 'ported-reader-token-0000000' } as const;
const WRONG = 'not-a-token-but-looks-like-one-000';
const NUMBER = '8613800138000';

describe('admin API /ported under hostile input', () => {
  let s: AdminStack;
  const log = captureLog();
  beforeAll(async () => {
    s = await startAdminStack({
      policy: false,
      gw: { log: pino({ level: 'info' }, log.stream) },
      cfg: (c) => {
        c.admin.tokens = [
          { name: 'ported-admin', sha256: sha256(TOKENS.admin), role: 'admin' },
          { name: 'ported-reader', sha256: sha256(TOKENS.read), role: 'read' },
        ];
      },
    });
  });
  afterAll(async () => {
    await s?.stop();
  });
  const as = (t: keyof typeof TOKENS | 'wrong' | null) => ({ token: t === null ? null : { raw: t === 'wrong' ? WRONG : TOKENS[t] } });
  const put = (path: string, body: unknown, t: keyof typeof TOKENS | 'wrong' | null = 'admin') => s.api('PUT', `/api/v1/ported/${path}`, { body, ...as(t) });
  const tagOf = async (n: string) => (await s.api('GET', `/api/v1/ported/${n}`, as('admin'))).body.network as string | null;

  it('no token or a wrong one: 401 on every method; a read token may look but not write (403)', async () => {
    for (const t of [null, 'wrong'] as const) {
      for (const [method, body] of [['GET'], ['PUT', { network: 'cu' }], ['DELETE']] as const) {
        const r = await s.api(method, `/api/v1/ported/${NUMBER}`, { body, ...as(t) });
        expect(r.status, `${method} ${t}`).toBe(401);
      }
    }
    // A malformed Authorization header is a missing token, not a crash.
    for (const header of ['Bearer', 'Basic Zm9vOmJhcg==', `Bearer ${'x'.repeat(8192)}`, 'Bearer \u00ff\u00fe']) {
      const r = await fetch(`${s.base}/api/v1/ported/${NUMBER}`, { headers: { authorization: header } }).catch(() => null);
      if (r) expect(r.status, header.slice(0, 20)).toBe(401);
    }
    expect((await s.api('GET', `/api/v1/ported/${NUMBER}`, as('read'))).status).toBe(200);
    expect((await put(NUMBER, { network: 'cu' }, 'read')).status).toBe(403);
    expect((await s.api('DELETE', `/api/v1/ported/${NUMBER}`, as('read'))).status).toBe(403);
    expect(await tagOf(NUMBER)).toBeNull();
  });

  it('a malformed number in the path: 400 naming msisdn, on every method', async () => {
    for (const raw of ['abc', '-1', '+1234567890123456', '86a13800138000', '1+2', '%00', '%27%20OR%201=1', '9'.repeat(90)]) {
      for (const [method, body] of [['GET'], ['PUT', { network: 'cu' }], ['DELETE']] as const) {
        const r = await s.api(method, `/api/v1/ported/${raw}`, { body, ...as('admin') });
        expect(r.status, `${method} ${raw}`).toBe(400);
        expect(r.body).toMatchObject({ error: 'bad_request' });
        expect(r.body.message, raw).toMatch(/^(path parameter )?msisdn/);
        // The answer does not echo a long hostile value back whole.
        expect(JSON.stringify(r.body).length).toBeLessThan(400);
      }
    }
    // A path longer than the router takes is refused before any handler.
    expect((await s.api('GET', `/api/v1/ported/${'9'.repeat(300)}`, as('admin'))).status).toBe(414);
  });

  it('a malformed body: 400 naming the field; not JSON: 400; another content type: 415; over the body limit: 413; nothing written', async () => {
    const bad: [unknown, RegExp][] = [
      [{}, /network/],
      [{ network: '' }, /network/],
      [{ network: 'c u' }, /network/],
      [{ network: 'x'.repeat(33) }, /network/],
      [{ network: 'cu\u0000' }, /network/],
      [{ network: 'cu', extra: 1 }, /extra|additional/],
      [[{ network: 'cu' }], /body/],
      ['null', /body/],
    ];
    for (const [body, msg] of bad) {
      const r = await put(NUMBER, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.message, JSON.stringify(body)).toMatch(msg);
    }
    const notJson = await fetch(`${s.base}/api/v1/ported/${NUMBER}`, {
      method: 'PUT',
      body: '{"network": "cu"',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKENS.admin}` },
    });
    expect(notJson.status).toBe(400);
    const wrongType = await fetch(`${s.base}/api/v1/ported/${NUMBER}`, {
      method: 'PUT',
      body: 'network=cu',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${TOKENS.admin}` },
    });
    expect(wrongType.status).toBe(415);
    const big = await put(NUMBER, JSON.stringify({ network: 'cu', evidence: 'x'.repeat(2 * 1024 * 1024) }));
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ error: 'payload_too_large' });
    expect(await tagOf(NUMBER)).toBeNull();
    // The route still works after all that.
    const ok = await put(NUMBER, { network: 'cu' });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ msisdn: NUMBER, ported: true, network: 'cu', previous: null });
    expect((await s.api('DELETE', `/api/v1/ported/${NUMBER}`, as('admin'))).status).toBe(200);
    expect((await s.api('DELETE', `/api/v1/ported/${NUMBER}`, as('admin'))).status).toBe(404);
  });

  it('no token, right or wrong, appears in the log', () => {
    const all = log.lines.join('\n');
    expect(log.lines.length).toBeGreaterThan(0);
    for (const t of [...Object.values(TOKENS), WRONG]) expect(all).not.toContain(t);
    expect(all).not.toContain(sha256(TOKENS.admin));
  });
});
