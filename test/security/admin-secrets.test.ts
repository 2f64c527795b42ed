/**
 * Issue 16, "admin API and secrets": admin roles, failed-token slowing, 5xx correlation ids and
 * /readyz details, admin number input, and no secrets in logs.
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthFailures } from '../../src/admin/auth-failures.js';
import { buildHttp, type Readiness } from '../../src/admin/http.js';
import { ApiError } from '../../src/admin/errors.js';
import { msisdn } from '../../src/admin/input.js';
import { ROUTE_ROLES } from '../../src/admin/roles.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { ADMIN_ROLES, type AdminRole } from '../../src/domain/admin-role.js';
import { SenderRegistry } from '../../src/policy/senders.js';
import { ManualClock } from '../../src/session/clock.js';
import { createLogger } from '../../src/telemetry/log.js';
import { redactUrl } from '../../src/telemetry/redact.js';
import { startStack } from '../helpers/stack.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import type { PolicyAdmin } from '../../src/store/policy-admin.js';
import { captureLog, sha256, startAdminStack, type AdminStack } from '../helpers/admin.js';


const numbering = { country_code: '86', national_prefix: '0', international_prefix: '00' };

describe('admin number input', () => {
  const problem = (raw: string): string | null => {
    try {
      msisdn(numbering, 'msisdn', raw);
      return null;
    } catch (err) {
      return (err as ApiError).message;
    }
  };

  it('refuses a leading "-" (it used to read "-1" as 861), letters and a "+" inside', () => {
    for (const raw of ['-1', '-8613800138000', '--1', '1+2', '86a13800138000', '+', '', ' ', '()', '--', '+-1', '.1']) {
      expect(problem(raw), raw).toMatch(/is not a phone number/);
    }
  });

  it('accepts digits with the separators people write, 1–15 digits', () => {
    expect(msisdn(numbering, 'm', '+86 (138) 0013-8000')).toBe('8613800138000');
    expect(msisdn(numbering, 'm', '138.0013.8000')).toBe('8613800138000');
    expect(msisdn(numbering, 'm', '(010) 6552 9988')).toBe('861065529988');
    expect(msisdn(numbering, 'm', '+1')).toBe('1');
    expect(msisdn(numbering, 'm', '+123456789012345')).toBe('123456789012345');
    expect(problem('+1234567890123456')).toMatch(/at most 15/);
  });
});

describe('admin roles', () => {
  const ROLE_TOKENS: Record<AdminRole | 'legacy', string> = {
    read: 'reader-token-000000000000',
    operate: 'operator-token-0000000000',
    admin: 'admin-token-0000000000000',
    legacy: 'legacy-token-000000000000',
  };
  let s: AdminStack;
  const log = captureLog();
  beforeAll(async () => {
    s = await startAdminStack({
      gw: { log: pino({ level: 'info' }, log.stream) },
      cfg: (c) => {
        c.admin.tokens = Object.entries(ROLE_TOKENS).map(([role, t]) => ({
          name: role,
          sha256: sha256(t),
          ...(role === 'legacy' ? {} : { role: role as AdminRole }),
        }));
      },
    });
  });
  afterAll(async () => {
    await s?.stop();
  });
  const as = (role: keyof typeof ROLE_TOKENS) => ({ token: { raw: ROLE_TOKENS[role] } });
  const concrete = (path: string) =>
    '/api/v1' +
    path
      .replace(':id', 'number:8610690001')
      .replace(':msisdn', '8613800138000')
      .replace(':account', 'esme')
      .replace(':action', 'forward');

  it('refuses every route outside the token\'s role with 403, and lets it through inside', async () => {
    for (const [route, needs] of Object.entries(ROUTE_ROLES)) {
      const [method, path] = route.split(' ') as [string, string];
      for (const role of ADMIN_ROLES) {
        const r = await s.api(method, concrete(path), { ...as(role), ...(method === 'GET' || method === 'DELETE' ? {} : { body: {} }) });
        const allowed = ADMIN_ROLES.indexOf(role) >= ADMIN_ROLES.indexOf(needs);
        if (allowed) expect(r.status, `${role} ${route}`).not.toBe(403);
        else {
          expect(r.status, `${role} ${route}`).toBe(403);
          expect(r.body).toEqual({ error: 'forbidden', message: `token "${role}" has role ${role}; ${method} /api/v1${path} needs ${needs}` });
        }
      }
    }
  });

  it('reads a token without a role as admin, with one start-up warning naming it', async () => {
    expect((await s.api('POST', '/api/v1/dnd', { ...as('legacy'), body: { msisdn: '8613900000009' } })).status).toBe(200);
    const warnings = log.lines.map((l) => JSON.parse(l)).filter((l) => /admin token has no role/.test(l.msg));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, token: 'legacy' });
  });

  it('the route table covers every registered route, and docs/security.md prints it', async () => {
    const doc = (await s.api('GET', '/openapi.json', { token: null })).body;
    const registered: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths as Record<string, object>)) {
      if (!path.startsWith('/api/v1/')) continue;
      for (const m of Object.keys(ops)) registered.push(`${m.toUpperCase()} ${path.slice(7).replace(/\{(\w+)\}/g, ':$1')}`);
    }
    expect(registered.sort()).toEqual(Object.keys(ROUTE_ROLES).sort());
    const md = readFileSync(new URL('../../docs/security.md', import.meta.url), 'utf8');
    const documented = Object.fromEntries([...md.matchAll(/^\| `([A-Z]+) \/api\/v1(\S+)` \| [^|]+ \| (\w+) \|/gm)].map((m) => [`${m[1]} ${m[2]}`, m[3]]));
    expect(documented).toEqual(ROUTE_ROLES);
  });

  it('a read token sees subscriber numbers masked; operate and admin see them whole', async () => {
    const number = '8613812345678';
    expect((await s.api('POST', '/api/v1/dnd', { ...as('admin'), body: { msisdn: number } })).status).toBe(200);
    const read = await s.api('GET', `/api/v1/dnd/${number}`, as('read'));
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ msisdn: '86138*****678', registered: true });
    for (const role of ['operate', 'admin'] as const) expect((await s.api('GET', `/api/v1/dnd/${number}`, as(role))).body.msisdn).toBe(number);
    const journal = await s.api('GET', `/api/v1/journal?msisdn=${number}`, as('read'));
    expect(journal.body.entries[0]).toMatchObject({ op: 'dnd.add', msisdn: '86138*****678' });
    const evidence = await s.api('GET', `/api/v1/evidence/${number}`, as('read'));
    expect(evidence.body.msisdn).toBe('86138*****678');
    const table = await s.api('GET', `/api/v1/evidence/${number}?format=table`, as('read'));
    expect(table.status).toBe(200);
    expect(table.body).toContain('86138*****678');
    expect(table.body).not.toContain(number);
    expect(JSON.stringify([read.body, journal.body, evidence.body])).not.toContain(number);
  });
});

describe('failed admin token attempts', () => {
  it('are slowed per address after the free ones (doubling, capped), forgotten after a quiet spell, in a bounded table', () => {
    const clock = new ManualClock();
    const cfg = { ...ConfigSchema.parse({}).admin.failed_auth, max_addresses: 3 };
    expect(cfg).toMatchObject({ free_attempts: 5, delay_ms: 100, max_delay_ms: 5000, forget_s: 300 });
    const f = new AuthFailures(cfg, null, null, () => clock.now());
    const waits = Array.from({ length: 12 }, () => f.fail('192.0.2.1', 'invalid'));
    expect(waits).toEqual([0, 0, 0, 0, 0, 100, 200, 400, 800, 1600, 3200, 5000]);
    expect(f.fail('192.0.2.2', 'invalid')).toBe(0); // another address has its own count
    clock.advance(299_000);
    expect(f.fail('192.0.2.1', 'invalid')).toBe(5000); // still remembered
    clock.advance(301_000);
    expect(f.fail('192.0.2.1', 'invalid')).toBe(0); // forgotten after 300 s without a failure
    for (let i = 0; i < 100; i++) f.fail(`198.51.100.${i}`, 'missing');
    expect(f.size).toBe(3);
  });

  it('300 wrong tokens: slowed (not answered in 0.5 s), all counted, one log line; the right token still answers at once', async () => {
    const log = captureLog();
    const s = await startAdminStack({ gw: { log: pino({ level: 'info' }, log.stream) }, cfg: (c) => void (c.admin.failed_auth.max_delay_ms = 1000) });
    try {
      const t0 = performance.now();
      const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => s.api('GET', '/api/v1/senders', { token: { raw: `wrong-${i}` } })));
      const elapsed = performance.now() - t0;
      expect(answers.every((r) => r.status === 401)).toBe(true);
      expect(elapsed).toBeGreaterThan(500);
      const metrics = (await s.api('GET', '/metrics', { token: null })).body as string;
      expect(metrics).toMatch(/^smppguard_admin_auth_failures_total\{reason="invalid"\} 300$/m);
      const lines = log.lines.map((l) => JSON.parse(l)).filter((l) => /valid bearer token/.test(l.msg));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 40, reason: 'invalid', failures: 1 });
      expect(JSON.stringify(lines)).not.toMatch(/wrong-/); // the presented token is never logged
      const t1 = performance.now();
      expect((await s.api('GET', '/api/v1/senders')).status).toBe(200);
      expect(performance.now() - t1).toBeLessThan(900); // this address's next 401 would wait 1000 ms
    } finally {
      await s.stop();
    }
  });
});

describe('5xx answers and /readyz say nothing internal', () => {
  const INTERNAL = 'connect ECONNREFUSED 10.20.30.40:6380';
  const TOKEN = 'the-admin-token-0123456789';
  const checks: Readiness['checks'] = { redis: { ok: false, detail: `Stream isn't writeable (last connection error: ${INTERNAL})` } };

  function app(over: { readyzDetails?: boolean; readiness?: () => Promise<Readiness> } = {}) {
    const log = captureLog();
    const cfg = ConfigSchema.parse({ http: { readyz_details: over.readyzDetails ?? false }, admin: { tokens: [{ name: 'ops', sha256: sha256(TOKEN), role: 'admin' }] } });
    const failing = () => Promise.reject(new Error(INTERNAL));
    const store = { dndOf: failing, dndLists: failing, consentsOf: failing, journalEntries: failing, allSenders: failing, getSender: failing } as unknown as PolicyAdmin;
    const http = buildHttp({
      metrics: new Metrics(false),
      readiness: over.readiness ?? (async () => ({ ready: false, checks })),
      admin: { cfg, store, registry: new SenderRegistry(), explain: null, log: pino({ level: 'info' }, log.stream) },
    });
    return { http, log };
  }

  it('a store failure answers 503 with a correlation id, the cause only in the log line with that id', async () => {
    const { http, log } = app();
    const r = await http.inject({ method: 'GET', url: '/api/v1/dnd/8613800138000', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.statusCode).toBe(503);
    const body = r.json();
    expect(body).toMatchObject({ error: 'store_unavailable', correlation_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(r.body).not.toContain('10.20.30.40');
    const line = log.lines.map((l) => JSON.parse(l)).find((l) => l.correlation_id === body.correlation_id);
    expect(line).toMatchObject({ level: 50, status: 503, err: INTERNAL, route: '/api/v1/dnd/:msisdn' });
    await http.close();
  });

  it('an error outside the admin API (a probe that throws) answers 500 with a correlation id, not its text', async () => {
    const { http, log } = app({ readiness: () => Promise.reject(new Error(INTERNAL)) });
    const r = await http.inject({ method: 'GET', url: '/readyz' });
    expect(r.statusCode).toBe(500);
    expect(r.body).not.toContain('10.20.30.40');
    const id = r.json().correlation_id as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(log.lines.find((l) => l.includes(id))).toContain(INTERNAL);
    await http.close();
  });

  it('/readyz: ready or not only, unless configured or asked with a valid token (a wrong one counts as a failure)', async () => {
    const { http } = app();
    const anon = await http.inject({ method: 'GET', url: '/readyz' });
    expect(anon.statusCode).toBe(503);
    expect(anon.json()).toEqual({ status: 'not ready' });
    const wrong = await http.inject({ method: 'GET', url: '/readyz', headers: { authorization: 'Bearer nope' } });
    expect(wrong.json()).toEqual({ status: 'not ready' });
    expect(await http.inject({ method: 'GET', url: '/metrics' }).then((m) => m.body)).toMatch(/smppguard_admin_auth_failures_total\{reason="invalid"\} 1$/m);
    const authed = await http.inject({ method: 'GET', url: '/readyz', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(authed.json()).toEqual({ status: 'not ready', checks });
    await http.close();
    const open = app({ readyzDetails: true }).http;
    expect((await open.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ status: 'not ready', checks });
    await open.close();
  });
});

describe('no secrets in logs', () => {
  const REDIS_PW = 'Redis-Pa55word';
  const SMSC_PW = 'Smsc-pw8';
  const ENV = 'SG_TEST_SMSC_PASSWORD';

  it('redacts the password of any URL, and the logger blanks url and password fields however they are logged', () => {
    expect(redactUrl(`rediss://user:${REDIS_PW}@redis.example:6380/2`)).toBe('rediss://user:***@redis.example:6380/2');
    expect(redactUrl(`redis://:${REDIS_PW}@10.0.0.1:6379`)).toBe('redis://:***@10.0.0.1:6379');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redactUrl(`not a url //u:${REDIS_PW}@x`)).not.toContain(REDIS_PW);
    const log = captureLog();
    const logger = createLogger('info', log.stream);
    logger.warn({ url: `redis://u:${REDIS_PW}@h:1` }, 'a');
    logger.warn({ smsc: { name: 's', password: SMSC_PW }, password: SMSC_PW }, 'b');
    expect(log.lines).toHaveLength(2);
    expect(log.lines.join('\n')).not.toContain(REDIS_PW);
    expect(log.lines.join('\n')).not.toContain(SMSC_PW);
    expect(JSON.parse(log.lines[0]!).url).toBe('redis://u:***@h:1');
  });

  it('a gateway whose Redis URL and SMSC password carry secrets logs neither (Redis not answering is logged, without the password)', async () => {
    const log = captureLog();
    process.env[ENV] = SMSC_PW;
    try {
      const s = await startStack({
        sim: { password: SMSC_PW },
        gw: { log: createLogger('debug', log.stream) },
        cfg: (c) => {
          c.redis.url = `redis://gw:${REDIS_PW}@127.0.0.1:1/0`; // nothing listens: the start logs the URL
          c.queue.enabled = false;
          c.downstream.smscs = c.downstream.smscs.map((x) => ({ ...x, password: undefined, password_env: ENV }));
        },
      });
      expect(s.gw.pool.boundCount).toBeGreaterThan(0); // the SMSC took the password from the variable
      await s.stop();
    } finally {
      delete process.env[ENV];
    }
    const all = log.lines.join('\n');
    expect(log.lines.map((l) => JSON.parse(l).msg)).toContain('Redis not answering yet; not ready until it does (retrying in the background)');
    expect(all).toContain('redis://gw:***@127.0.0.1:1/0');
    expect(all).not.toContain(REDIS_PW);
    expect(all).not.toContain(SMSC_PW);
  });

  it('an SMSC password_env that is unset or empty refuses to start, naming the variable', async () => {
    for (const value of [undefined, '']) {
      if (value === undefined) delete process.env[ENV];
      else process.env[ENV] = value;
      await expect(
        startStack({ cfg: (c) => void (c.downstream.smscs = c.downstream.smscs.map((x) => ({ ...x, password: undefined, password_env: ENV }))) }),
      ).rejects.toThrow(`downstream.smscs sim: password_env names ${ENV}, which is ${value === undefined ? 'not set' : 'empty'}`);
    }
    delete process.env[ENV];
  });
});
