/**
 * The admin API's OpenAPI document as people use it: dumped from a live gateway and linted with
 * Redocly's recommended rules (redocly.yaml; warnings count), an operationId for every operation,
 * a described response for every status each route can answer (400, 401, 403, 404, 409, 413, 415,
 * 503 with the error shape), servers and tags; the 413/415 answers really have that shape; and
 * Swagger UI served at /docs from the package's local assets.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminStack, TOKENS, type AdminStack } from '../helpers/admin.js';

const ROOT = resolve(import.meta.dirname, '../..');
type Op = { operationId?: string; tags?: string[]; responses: Record<string, { description: string; content?: Record<string, { schema: { properties?: Record<string, unknown> } }> }> };

describe('the OpenAPI document', () => {
  let s: AdminStack;
  let doc: { servers: { url: string }[]; tags: { name: string }[]; paths: Record<string, Record<string, Op>> };
  const dir = mkdtempSync(join(tmpdir(), 'sg-openapi-'));
  beforeAll(async () => {
    s = await startAdminStack();
    doc = (await s.api('GET', '/openapi.json', { token: null })).body;
  });
  afterAll(async () => {
    await s?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const ops = () => Object.entries(doc.paths).flatMap(([path, m]) => Object.entries(m).map(([method, op]) => ({ path, method, op })));

  it('passes Redocly lint (recommended rules, no warnings)', () => {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc, null, 2));
    let out: string;
    try {
      out = execFileSync(join(ROOT, 'node_modules/.bin/redocly'), ['lint', '--config', join(ROOT, 'redocly.yaml'), '--format', 'stylish', '--max-problems', '50', file], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      });
    } catch (err) {
      const e = err as { stdout: string; stderr: string };
      throw new Error(`redocly lint failed:\n${e.stdout}\n${e.stderr}`, { cause: err });
    }
    expect(out + '').not.toMatch(/warning/i);
  });

  it('every operation has a unique operationId, a tag and a described response for each status it can answer', () => {
    const ids = ops().map((o) => o.op.operationId);
    expect(ids.every((i) => typeof i === 'string' && /^[a-z][A-Za-z]+$/.test(i))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain('getDndByMsisdn');
    for (const { path, method, op } of ops()) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(op.tags?.length, where).toBeGreaterThan(0);
      const codes = Object.keys(op.responses);
      expect(codes.some((c) => c.startsWith('2')), `${where}: a 2xx`).toBe(true);
      for (const [c, r] of Object.entries(op.responses)) expect(r.description, `${where} ${c}`).not.toBe('Default Response');
      if (!path.startsWith('/api/v1/')) continue;
      const want = ['400', '401', '403', '503', ...(path.includes('{') ? ['404'] : []), ...(method === 'post' || method === 'put' ? ['413', '415'] : [])];
      expect(codes, where).toEqual(expect.arrayContaining(want));
      for (const c of codes.filter((k) => Number(k) >= 400)) {
        expect(Object.keys(op.responses[c]!.content!['application/json']!.schema.properties!), `${where} ${c}`).toEqual(expect.arrayContaining(['error', 'message']));
      }
    }
    expect(doc.paths['/api/v1/senders']!.post!.responses['409']).toBeDefined();
    expect(doc.paths['/api/v1/evidence/{msisdn}']!.get!.responses['200']).toBeDefined();
    expect(doc.servers[0]!.url).toBe('{scheme}://{host}:{port}');
    expect(doc.tags.map((t) => t.name)).toEqual(expect.arrayContaining(['senders', 'dnd', 'explain', 'operations']));
  });

  it('413 and 415 answers have the documented error shape', async () => {
    const res = await fetch(`${s.base}/api/v1/dnd`, { method: 'POST', body: '<msisdn>1</msisdn>', headers: { 'content-type': 'application/xml', authorization: `Bearer ${TOKENS.ops}` } });
    const wrongType = { status: res.status, body: (await res.json()) as unknown };
    expect(wrongType.status).toBe(415);
    expect(wrongType.body).toMatchObject({ error: 'unsupported_media_type', message: expect.any(String) });
    const big = await s.api('POST', '/api/v1/dnd', { body: JSON.stringify({ msisdn: '1', channel: 'x'.repeat(2 * 1024 * 1024) }) });
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ error: 'payload_too_large', message: expect.any(String) });
  });

  it('serves Swagger UI at /docs from local assets, without a token', async () => {
    const page = await fetch(`${s.base}/docs/`, { redirect: 'follow' });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toMatch(/swagger-ui/i);
    expect(html).not.toMatch(/https?:\/\/(cdn|unpkg|cdnjs)/);
    const init = await (await fetch(`${s.base}/docs/static/swagger-initializer.js`)).text();
    expect(init).toMatch(/json/);
    // The spec it shows is the gateway's.
    expect(((await (await fetch(`${s.base}/docs/json`)).json()) as { info: { title: string } }).info.title).toBe('smppguard admin API');
    const bundle = await fetch(`${s.base}/docs/static/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
  });
});
