/**
 * Issue 16, bind throttling: one answer for every authentication failure (same status, same scrypt
 * work), failures counted in the real Redis per (source IP, system_id) and per source IP with
 * lockouts, and password checks shared fairly between source IPs. An UpstreamServer on a real
 * loopback port; ESMEs are real TCP clients (127.0.0.2 is a second source IP).
 */
import { randomBytes, scryptSync } from 'node:crypto';
import { availableParallelism } from 'node:os';
import Fastify from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { lockoutsApi } from '../../src/admin/lockouts-api.js';
import { adminScope } from '../../src/admin/scope.js';
import { parseConfig } from '../../src/config/load.js';
import { AccountSchema } from '../../src/config/schema.js';
import { Status } from '../../src/protocol/status.js';
import { BindThrottleStore, type ThrottleLimits } from '../../src/store/bind-throttle.js';
import { connectRedis, createRedis, type Redis } from '../../src/store/redis.js';
import { systemClock } from '../../src/session/clock.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { AccountTable } from '../../src/upstream/accounts.js';
import { BindAuth, type VerifyFn } from '../../src/upstream/bind-auth.js';
import { FairLimiter } from '../../src/upstream/fair-limiter.js';
import { hashPassword, verifyPassword } from '../../src/upstream/password.js';
import { UpstreamServer } from '../../src/upstream/server.js';
import { sha256, TOKENS } from '../helpers/admin.js';
import { connect, type EsmeClient } from '../helpers/esme-client.js';
import { silentLog, valueOf } from '../helpers/fake-link.js';
import { RecordingHandler } from '../upstream/helpers.js';
import { clearKeys, keysMatching } from '../helpers/redis-keys.js';

const PREFIX = `test:bind-throttle:${randomBytes(4).toString('hex')}:`;
/** The configured defaults (config/schema.ts upstream.bind_throttle). */
const DEFAULTS: ThrottleLimits = { windowMs: 60_000, maxFailures: 5, maxFailuresPerIp: 20, lockoutMs: 60_000, maxLockoutMs: 3_600_000, maxSystemIdsPerIp: 32 };

let hash: string;
let redis: Redis;
let prefixes = 0;
beforeAll(async () => {
  redis = createRedis({ url: 'redis://127.0.0.1:6379', command_timeout_ms: 2000 });
  expect(await connectRedis(redis, 5000)).toBe(true);
  hash = await hashPassword('secret');
});
afterAll(async () => {
  await clearKeys(redis, `${PREFIX}*`);
  redis.disconnect();
});

/** A throttle store under a prefix of its own (tests do not share counts). */
function throttleStore(limits: Partial<ThrottleLimits> = {}): BindThrottleStore {
  return new BindThrottleStore(redis, `${PREFIX}${prefixes++}:`, { ...DEFAULTS, ...limits });
}

const servers: UpstreamServer[] = [];
const clients: EsmeClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  for (const s of servers.splice(0)) await s.unbindAll(100);
});

interface Rig {
  port: number;
  metrics: Metrics;
  /** Every password check: the hash it was run against. */
  verified: string[];
  bind(systemId: string, password: string, from?: string): Promise<number>;
}

/** A password hash of a given scrypt cost (hashPassword's is N=16384). */
function hashWithCost(password: string, n: number): string {
  const salt = randomBytes(16);
  return `scrypt$${n}$8$1$${salt.toString('base64')}$${scryptSync(password, salt, 32, { N: n, r: 8, p: 1 }).toString('base64')}`;
}

async function rig(makeAuth: (verify: VerifyFn) => Promise<BindAuth>, accountHash = hash): Promise<Rig> {
  const hash = accountHash;
  const metrics = new Metrics(false);
  const accounts = new AccountTable(
    [
      AccountSchema.parse({ system_id: 'esme', password_hash: hash, allowed_ips: ['127.0.0.0/8'], max_binds: 100 }),
      AccountSchema.parse({ system_id: 'other', password_hash: hash, allowed_ips: ['127.0.0.0/8'], max_binds: 100 }),
      AccountSchema.parse({ system_id: 'walled', password_hash: hash, allowed_ips: ['10.0.0.0/8'] }),
    ],
    Date.now(),
  );
  const verified: string[] = [];
  const verify: VerifyFn = (pw, stored) => {
    verified.push(stored);
    return verifyPassword(pw, stored);
  };
  const server = new UpstreamServer(
    { host: '0.0.0.0', port: 0, maxPduLength: 4096, idleTimeoutS: 30, bindTimeoutS: 30 },
    {
      accounts,
      handler: new RecordingHandler(),
      metrics,
      log: silentLog(),
      clock: systemClock,
      gatewayId: 'smppguard',
      deliverTimeoutMs: 1000,
      bindAuth: await makeAuth(verify),
    },
  );
  servers.push(server);
  const port = await server.listen();
  return {
    port,
    metrics,
    verified,
    async bind(systemId, password, from = '127.0.0.1') {
      const c = await connect('127.0.0.1', port, { localAddress: from, requestTimeoutMs: 10_000 });
      clients.push(c);
      return c.bind('transceiver', systemId, password);
    },
  };
}

describe('one answer for every authentication failure', () => {
  it('gives an unknown system_id, a wrong password and a disallowed source IP the same status after one scrypt check each', async () => {
    const r = await rig((verify) => BindAuth.create({ verify }));
    expect(await r.bind('nobody', 'secret')).toBe(Status.ESME_RBINDFAIL);
    expect(await r.bind('esme', 'wrong')).toBe(Status.ESME_RBINDFAIL);
    expect(await r.bind('walled', 'secret')).toBe(Status.ESME_RBINDFAIL);
    // Each ran scrypt: the unknown account against the dummy hash, with the accounts' own cost.
    expect(r.verified).toHaveLength(3);
    const [dummy, own, walled] = r.verified;
    expect([own, walled]).toEqual([hash, hash]);
    expect(dummy).not.toBe(hash);
    expect(dummy!.split('$').slice(0, 4)).toEqual(hash.split('$').slice(0, 4));
    // Logs and metrics keep the true reason.
    for (const reason of ['unknown_account', 'bad_password', 'ip_not_allowed']) {
      expect(await valueOf(r.metrics.bindFailures, { reason }), reason).toBe(1);
    }
    expect(await r.bind('esme', 'secret')).toBe(Status.ESME_ROK);
  });
});

describe('bind throttling', () => {
  it('locks out an IP and system_id after 5 failures: the right password is refused without scrypt, while another account from that IP and the same account from another IP bind at once', async () => {
    const throttle = throttleStore();
    // A quarter of the standard scrypt cost (as in the flood test below): the 200 ms is about the
    // lockout costing the other account nothing, not about this shared machine's scrypt speed.
    const r = await rig(async (verify) => BindAuth.create({ verify, throttle }), hashWithCost('secret', 4096));
    for (let i = 0; i < 10; i++) expect(await r.bind('esme', `wrong${i}`)).toBe(Status.ESME_RBINDFAIL);
    // Five checked, then locked: the other five never reached scrypt.
    expect(r.verified).toHaveLength(5);
    expect(await r.bind('esme', 'secret')).toBe(Status.ESME_RBINDFAIL);
    expect(r.verified).toHaveLength(5);
    expect(await valueOf(r.metrics.bindFailures, { reason: 'locked_out' })).toBe(6);

    const t0 = performance.now();
    expect(await r.bind('other', 'secret')).toBe(Status.ESME_ROK);
    expect(performance.now() - t0).toBeLessThan(200);
    expect(await r.bind('esme', 'secret', '127.0.0.2')).toBe(Status.ESME_ROK);

    const [lock, ...more] = await throttle.list();
    expect(more).toEqual([]);
    expect(lock).toMatchObject({ ip: '127.0.0.1', systemId: 'esme' });
    expect(lock!.until - Date.now()).toBeGreaterThan(50_000);
    expect(lock!.until - Date.now()).toBeLessThanOrEqual(60_000);
  });

  it('counts one metric and one log line per lockout', async () => {
    const throttle = throttleStore();
    const metrics = new Metrics(false);
    const lines: unknown[] = [];
    const log = { warn: (o: unknown) => lines.push(o) } as unknown as import('../../src/telemetry/log.js').Logger;
    const r = await rig((verify) => BindAuth.create({ verify, throttle, metrics, log }));
    for (let i = 0; i < 8; i++) await r.bind('nobody', 'x');
    expect(await valueOf(metrics.bindLockouts, { scope: 'pair' })).toBe(1);
    expect(lines).toEqual([{ scope: 'pair', ip: '127.0.0.1', system_id: 'nobody', lockout_s: 60 }]);
  });

  it('doubles the lockout from the first one up to the longest, and a right password forgets it', async () => {
    const throttle = throttleStore({ lockoutMs: 1000, maxLockoutMs: 4000, maxFailuresPerIp: 100 });
    const lockKey = `${PREFIX}${prefixes - 1}:{bind-throttle}:lock:192.0.2.1|esme`;
    const fiveFailures = async () => {
      for (let i = 1; i < 5; i++) expect((await throttle.fail('192.0.2.1', 'esme')).started).toEqual([]);
      return throttle.fail('192.0.2.1', 'esme');
    };
    const lengths: number[] = [];
    for (let round = 0; round < 4; round++) {
      const st = await fiveFailures();
      expect(st).toMatchObject({ locked: 'pair', started: ['pair'] });
      lengths.push(st.ms);
      expect((await throttle.check('192.0.2.1', 'esme')).locked).toBe('pair');
      expect(await redis.del(lockKey)).toBe(1); // the lockout ends, as its TTL would end it; the level stays
    }
    expect(lengths).toEqual([1000, 2000, 4000, 4000]);
    await throttle.succeeded('192.0.2.1', 'esme');
    expect((await fiveFailures()).ms).toBe(1000);
  });

  it('locks a source IP out over every system_id at 20 failures, and counts at most the cap of system_ids per IP', async () => {
    const throttle = throttleStore({ maxSystemIdsPerIp: 3 });
    // 4 failures on each of 5 system_ids: no pair reaches 5, the IP reaches 20.
    let last;
    for (let id = 0; id < 5; id++) for (let i = 0; i < 4; i++) last = await throttle.fail('198.51.100.7', `id${id}`);
    expect(last).toMatchObject({ locked: 'ip', started: ['ip'] });
    expect((await throttle.check('198.51.100.7', 'anything')).locked).toBe('ip');
    expect((await throttle.check('198.51.100.8', 'id0')).locked).toBe(null);
    const keys = await keysMatching(redis, `${PREFIX}${prefixes - 1}:*`);
    // Only the first 3 system_ids got pair keys (their failure counters); id3 and id4 counted toward the IP only.
    expect(keys.filter((k) => k.includes('|')).sort()).toEqual([0, 1, 2].map((i) => `${PREFIX}${prefixes - 1}:{bind-throttle}:fail:198.51.100.7|id${i}`));
    for (const k of keys) expect(await redis.pttl(k), k).toBeGreaterThan(0);
    expect(await throttle.list()).toEqual([{ ip: '198.51.100.7', systemId: null, until: expect.any(Number) as number }]);
    expect(await throttle.lift('198.51.100.7', null)).toBe(true);
    expect((await throttle.check('198.51.100.7', 'anything')).locked).toBe(null);
    expect(await throttle.list()).toEqual([]);
  });
});

describe('fair password checks', () => {
  it('answers a legitimate bind from another IP within 200 ms during a 40-way flood of wrong passwords from one IP', async () => {
    // The gateway's defaults: max_concurrent_checks 0 (CPUs, at most 4), max_queued_per_ip 8.
    const limiter = new FairLimiter(Math.min(4, availableParallelism()), 8);
    // Accounts hashed at a quarter of the standard cost: this machine is shared by several test
    // runs, and a standard scrypt alone can take 100+ ms under that load. The flood still costs
    // 40 checks; unfairly queued (one FIFO, or none) the bind waits for most of them.
    const r = await rig((verify) => BindAuth.create({ verify, limiter }), hashWithCost('secret', 4096));
    const flood = Array.from({ length: 40 }, (_, i) => r.bind('esme', `wrong${i}`));
    while (r.verified.length < 2) await new Promise((res) => setTimeout(res, 2));
    const t0 = performance.now();
    expect(await r.bind('other', 'secret', '127.0.0.2')).toBe(Status.ESME_ROK);
    expect(performance.now() - t0).toBeLessThan(200);
    expect(new Set(await Promise.all(flood))).toEqual(new Set([Status.ESME_RBINDFAIL]));
    // The flood queued at most 8 behind the running checks; binds beyond were refused at once, without scrypt.
    const checked = await valueOf(r.metrics.bindFailures, { reason: 'bad_password' });
    expect(checked + (await valueOf(r.metrics.bindFailures, { reason: 'busy' }))).toBe(40);
    expect(r.verified.length).toBe(checked + 1);
    expect(checked).toBeLessThan(40);
  });
});

describe('admin API: lockouts', () => {
  async function app(lockouts: BindThrottleStore | null) {
    const cfg = parseConfig(`admin: { tokens: [{ name: ops, sha256: "${sha256(TOKENS.ops)}" }] }\n`);
    const a = Fastify({ logger: false, ajv: { customOptions: { removeAdditional: false } } });
    await a.register(
      async (api) => {
        adminScope(api, cfg.admin.tokens);
        await api.register(lockoutsApi, { lockouts });
      },
      { prefix: '/api/v1' },
    );
    await a.ready();
    const call = async (method: 'GET' | 'DELETE', url: string, token: string | null = TOKENS.ops) => {
      const r = await a.inject({ method, url, headers: token ? { authorization: `Bearer ${token}` } : {} });
      return { status: r.statusCode, body: r.json() };
    };
    return { a, call };
  }

  it('lists the lockouts in force and lifts one, after which that pair binds again', async () => {
    const throttle = throttleStore();
    const r = await rig(async (verify) => BindAuth.create({ verify, throttle }));
    for (let i = 0; i < 5; i++) await r.bind('esme', 'wrong');
    for (let i = 0; i < 20; i++) await throttle.fail('203.0.113.9', `id${i % 5}`); // no pair reaches 5; the IP reaches 20
    for (let i = 0; i < 5; i++) await throttle.fail('198.51.100.1', 'id0');
    const { a, call } = await app(throttle);
    try {
      const list = await call('GET', '/api/v1/lockouts');
      expect(list.status).toBe(200);
      expect(list.body.count).toBe(3);
      const byKey = Object.fromEntries((list.body.lockouts as { ip: string; system_id: string | null }[]).map((l) => [`${l.ip} ${l.system_id}`, l]));
      expect(Object.keys(byKey).sort()).toEqual(['127.0.0.1 esme', '198.51.100.1 id0', '203.0.113.9 null'].sort());
      expect(byKey['127.0.0.1 esme']).toMatchObject({ scope: 'pair', seconds_left: 60 });
      expect(byKey['203.0.113.9 null']).toMatchObject({ scope: 'ip' });
      expect(Date.parse((byKey['127.0.0.1 esme'] as unknown as { until: string }).until)).toBeGreaterThan(Date.now() + 50_000);

      expect(await r.bind('esme', 'secret')).toBe(Status.ESME_RBINDFAIL);
      expect(await call('DELETE', '/api/v1/lockouts?ip=127.0.0.1&system_id=esme')).toEqual({ status: 200, body: { ip: '127.0.0.1', system_id: 'esme', lifted: true } });
      expect(await r.bind('esme', 'secret')).toBe(Status.ESME_ROK);
      expect((await call('DELETE', '/api/v1/lockouts?ip=127.0.0.1&system_id=esme')).status).toBe(404);

      expect((await call('DELETE', '/api/v1/lockouts?ip=203.0.113.9')).body.lifted).toBe(true);
      expect((await call('GET', '/api/v1/lockouts')).body.lockouts).toEqual([expect.objectContaining({ ip: '198.51.100.1', system_id: 'id0', scope: 'pair' })]);
      expect((await call('DELETE', '/api/v1/lockouts')).status).toBe(400);
      expect((await call('GET', '/api/v1/lockouts', null)).status).toBe(401);
    } finally {
      await a.close();
    }
  });

  it('answers 503 when bind throttling is off', async () => {
    const { a, call } = await app(null);
    expect((await call('GET', '/api/v1/lockouts')).status).toBe(503);
    await a.close();
  });
});
