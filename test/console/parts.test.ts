/**
 * The console's parts without a browser: HTML escaping, one-shot grants, sessions in real Redis
 * (flash, decisions list, idle and hard expiry), the evidence CSV, datetime-local in the operator's
 * zone, "back" paths that cannot leave the console, and — over HTTPS via inject — the Secure cookie
 * and HSTS; a grant header from outside the process opens nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildHttp } from '../../src/admin/http.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { consolePath } from '../../src/console/env.js';
import { ConsoleGrants, GRANT_HEADER } from '../../src/console/grants.js';
import { duration, formatTime, html, localToIso, query } from '../../src/console/html.js';
import { evidenceCsv } from '../../src/console/pages/evidence.js';
import { DecisionSampler } from '../../src/console/pages/overview.js';
import { SessionStore, sameToken } from '../../src/console/sessions.js';
import { offsetMinutes } from '../../src/domain/time.js';
import { SenderRegistry } from '../../src/policy/senders.js';
import type { PolicyAdmin } from '../../src/store/policy-admin.js';
import { connectRedis, createRedis, type Redis } from '../../src/store/redis.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { sha256 } from '../helpers/admin.js';
import { REDIS_URL } from '../helpers/stack.js';
import { TestPki } from '../helpers/tls-certs.js';
import { clearKeys } from '../helpers/redis-keys.js';

const PREFIX = `test:console-parts:${process.pid}:`;
let redis: Redis;
beforeAll(async () => {
  // The gateway's 250 ms command timeout is for its hot path; this client also SCANs a shared Redis
  // that may hold millions of keys while another test file runs: a loaded machine needs longer.
  redis = createRedis({ ...ConfigSchema.parse({}).redis, url: REDIS_URL, command_timeout_ms: 10_000 });
  expect(await connectRedis(redis, 3000)).toBe(true);
});
afterAll(async () => {
  await clearKeys(redis, `${PREFIX}*`);
  redis.disconnect();
});

describe('html', () => {
  it('escapes every interpolated value; nested templates and arrays pass as markup', () => {
    const evil = `<script>alert("x")</script>&'\``;
    expect(html`<p title="${evil}">${evil}</p>`.value).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;&#96;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;&#96;</p>',
    );
    expect(html`<ul>${['a<', 'b'].map((x) => html`<li>${x}</li>`)}</ul>`.value).toBe('<ul><li>a&lt;</li><li>b</li></ul>');
    expect(html`${null}${undefined}${false}${0}`.value).toBe('0');
    expect(query({ a: 'x y', b: undefined, c: '', d: 2 })).toBe('?a=x+y&d=2');
    expect(query({})).toBe('');
  });

  it('formats instants in the operator zone and reads datetime-local in it', () => {
    expect(formatTime('2026-12-05T02:00:00Z', 'Asia/Shanghai')).toBe('2026-12-05 10:00:00');
    expect(formatTime('2026-12-05T02:00:00Z', 'UTC')).toBe('2026-12-05 02:00:00');
    expect(formatTime(null, 'UTC')).toBe('—');
    expect(formatTime('not a date', 'UTC')).toBe('not a date');
    expect(localToIso('2026-12-05T10:00', 'Asia/Shanghai', offsetMinutes)).toBe('2026-12-05T02:00:00.000Z');
    // Across a daylight-saving change: 2026-07-01 10:00 in Berlin is UTC+2.
    expect(localToIso('2026-07-01T10:00', 'Europe/Berlin', offsetMinutes)).toBe('2026-07-01T08:00:00.000Z');
    expect(localToIso('tomorrow', 'UTC', offsetMinutes)).toBeUndefined();
    expect(localToIso(undefined, 'UTC', offsetMinutes)).toBeUndefined();
    expect([duration(5_000), duration(300_000), duration(3 * 3600_000 + 120_000), duration(50 * 3600_000)]).toEqual(['5 s', '5 min', '3 h 2 min', '2 d 2 h']);
  });
});

describe('console paths and tokens', () => {
  it('a "back" path never leaves the console', () => {
    expect(consolePath('/console/review')).toBe('/console/review');
    for (const bad of ['https://evil.example/', '//evil.example', '/console//evil.example', '/consolex', '/console/\\evil', '/console/a\r\nb', 42, undefined]) {
      expect(consolePath(bad)).toBe('/console/');
    }
  });

  it('CSRF tokens compare in constant time and only as strings of the same length', () => {
    expect(sameToken('abc', 'abc')).toBe(true);
    expect(sameToken('abd', 'abc')).toBe(false);
    expect(sameToken('ab', 'abc')).toBe(false);
    expect(sameToken(undefined, 'abc')).toBe(false);
    expect(sameToken(['abc'], 'abc')).toBe(false);
  });
});

describe('grants', () => {
  it('work once, for seconds, and at most 10 000 are outstanding', () => {
    let t = 1_000_000;
    const g = new ConsoleGrants(() => t);
    const k = g.issue({ who: 'ops', role: 'operate' });
    expect(k).toMatch(/^[\w-]{43}$/);
    expect(g.take(k)).toEqual({ who: 'ops', role: 'operate' });
    expect(g.take(k)).toBeNull();
    expect(g.take(undefined)).toBeNull();
    expect(g.take([k])).toBeNull();
    const stale = g.issue({ who: 'ops', role: 'admin' });
    t += 10_001;
    expect(g.take(stale)).toBeNull();
    for (let i = 0; i < 10_050; i++) g.issue({ who: 'x', role: 'read' });
    expect(g.size).toBeLessThanOrEqual(10_000);
    t += 10_001;
    g.issue({ who: 'y', role: 'read' });
    expect(g.size).toBe(1);
  });
});

describe('sessions in Redis', () => {
  it('hold who, CSRF and zone under the hashed id, with a TTL; the flash is read once; decisions are bounded', async () => {
    const store = new SessionStore(redis, PREFIX, 60_000, 3_600_000);
    const { id, csrf } = await store.create('ops', 'UTC');
    const s = (await store.get(id))!;
    expect(s).toMatchObject({ who: 'ops', csrf, tz: 'UTC', flash: null });
    expect(s.key).not.toContain(id);
    const ttl = await redis.pttl(s.key);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await store.setFlash(s, { kind: 'ok', text: 'done' });
    expect((await store.get(id))!.flash).toEqual({ kind: 'ok', text: 'done' });
    expect((await store.get(id))!.flash).toBeNull();
    for (let i = 0; i < 60; i++) await store.remember(s, { id: `Q${i}`, decision: 'approve', at: i, rule: 'r', recipient: '' });
    const recent = await store.recent(s);
    expect(recent).toHaveLength(50);
    expect(recent[0]!.id).toBe('Q59');
    expect(await redis.pttl(`${s.key}:recent`)).toBeGreaterThan(0);
    expect(await store.get('nope')).toBeNull();
    expect(await store.get(undefined)).toBeNull();
    expect(await store.get('x'.repeat(101))).toBeNull();
    await store.destroy(s);
    expect(await store.get(id)).toBeNull();
    expect(await redis.exists(s.key, `${s.key}:recent`)).toBe(0);
  });

  it('end at the hard limit after sign-in however busy they are', async () => {
    let t = Date.now();
    const store = new SessionStore(redis, PREFIX, 60_000, 120_000, () => t);
    const { id } = await store.create('ops', 'UTC');
    t += 100_000;
    const s = (await store.get(id))!;
    // The idle timer never outlives the hard end.
    expect(await redis.pttl(s.key)).toBeLessThanOrEqual(20_000);
    t += 20_001;
    expect(await store.get(id)).toBeNull();
    expect(await redis.exists(s.key)).toBe(0);
  });
});

describe('evidence CSV', () => {
  it('quotes what needs quoting and defuses cells a spreadsheet would run as a formula', () => {
    const csv = evidenceCsv({
      msisdn: '8613800000001',
      generated_at: '2026-12-05T00:00:00Z',
      from: null,
      to: null,
      sender: null,
      consent: { current: [], journal: [{ time: '2026-12-01T00:00:00Z', op: 'consent.grant', scope: 'brand:A,B', category: null, who: 'ops', channel: '=HYPERLINK("x")', evidence: 'said "yes"' }] },
      dnd: { all: false, categories: [] },
      decisions: [{ time: '2026-12-02T00:00:00Z', account: 'esme', sender: '+861069', decision: 'reject', reason: 'no_consent', status: 0x45, status_name: 'ESME_RSUBMITFAIL', rule: 'policy/consent', class: 'commercial' }],
      complaints: [],
      truncated: { journal: false, decisions: false },
      notes: [],
    });
    const lines = csv.split('\r\n');
    expect(lines[1]).toBe(`journal,2026-12-01T00:00:00Z,,,consent.grant,,,,"brand:A,B",ops,"'=HYPERLINK(""x"")","said ""yes"""`);
    expect(lines[2]).toBe("decision,2026-12-02T00:00:00Z,esme,'+861069,reject,no_consent,ESME_RSUBMITFAIL (0x45),policy/consent,,,,");
  });
});

describe('decisions per minute', () => {
  it('are the counter differences since the oldest sample', async () => {
    let t = 0;
    const metrics = new Metrics(false);
    const sampler = new DecisionSampler(metrics, () => t, 3);
    expect((await sampler.rates())!.minutes).toBe(0);
    await sampler.sample();
    metrics.decisions.inc({ account: 'esme', action: 'reject', reason: 'no_consent' }, 30);
    t = 120_000;
    const r = (await sampler.rates())!;
    expect(r.minutes).toBe(2);
    expect(r.rows).toEqual([{ action: 'reject', reason: 'no_consent', total: 30, perMinute: 15 }]);
    for (let i = 0; i < 5; i++) await sampler.sample();
    sampler.start(60_000);
    sampler.stop();
  });
});

describe('over HTTPS', () => {
  const pki = new TestPki();
  afterAll(() => pki.remove());
  const TOKEN = 'https-console-token-0123456789';

  function app(consoleOn: boolean) {
    const server = pki.issue('server', '/CN=gw.test', 'server');
    const cfg = ConfigSchema.parse({
      redis: { url: REDIS_URL, key_prefix: PREFIX },
      http: { tls: { cert: server.cert, key: server.key } },
      admin: { tokens: [{ name: 'ops', sha256: sha256(TOKEN), role: 'admin' }] },
      console: { enabled: consoleOn },
    });
    const store = { allSenders: async () => [] } as unknown as PolicyAdmin;
    return buildHttp({
      metrics: new Metrics(false),
      tls: cfg.http.tls,
      consoleRedis: redis,
      readiness: async () => ({ ready: true, checks: {} }),
      admin: { cfg, store, registry: new SenderRegistry(), explain: null, log: pino({ level: 'silent' }) },
    });
  }

  it('the session cookie is Secure and pages send HSTS; a grant header from outside opens nothing', async () => {
    const http = app(true);
    try {
      const form = await http.inject({ method: 'GET', url: '/console/login' });
      expect(form.headers['strict-transport-security']).toContain('max-age=31536000');
      expect(form.headers).toMatchObject({
        'content-security-policy':
          "default-src 'none';script-src 'self';style-src 'self';img-src 'self';connect-src 'self';form-action 'self';frame-ancestors 'none';base-uri 'none';object-src 'none'",
        'x-frame-options': 'SAMEORIGIN',
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-resource-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
        'cache-control': 'no-store',
      });
      const nonce = /name="_login" value="([^"]+)"/.exec(form.body)![1]!;
      const loginCookie = String(form.headers['set-cookie']);
      expect(loginCookie).toMatch(/Secure/);
      const r = await http.inject({
        method: 'POST',
        url: '/console/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `sg_console_login=${nonce}` },
        payload: new URLSearchParams({ _login: nonce, token: TOKEN, tz: 'UTC', next: '/console/senders' }).toString(),
      });
      expect([r.statusCode, r.headers.location]).toEqual([303, '/console/senders']);
      const set = ([] as string[]).concat(r.headers['set-cookie'] as string[]).find((c) => c.startsWith('sg_console='))!;
      expect(set).toMatch(/; HttpOnly/);
      expect(set).toMatch(/; Secure/);
      expect(set).toMatch(/; SameSite=Strict/);
      expect(set).toMatch(/; Path=\/console/);
      expect(set).toMatch(/; Max-Age=28800/);
      // The sign-in form refuses a post without its own nonce (login CSRF).
      const noNonce = await http.inject({
        method: 'POST',
        url: '/console/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ token: TOKEN }).toString(),
      });
      expect(noNonce.statusCode).toBe(403);
      // A made-up grant is no credential.
      const forged = await http.inject({ method: 'GET', url: '/api/v1/senders', headers: { [GRANT_HEADER]: 'x'.repeat(43) } });
      expect(forged.statusCode).toBe(401);
    } finally {
      await http.close();
    }
  });

  it('with the console off there is no /console', async () => {
    const http = app(false);
    try {
      expect((await http.inject({ method: 'GET', url: '/console/login' })).statusCode).toBe(404);
    } finally {
      await http.close();
    }
  });
});
