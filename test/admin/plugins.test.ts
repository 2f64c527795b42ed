/**
 * The admin API's route plugins are independent: each is registered alone on its own fastify
 * instance (inside the shared auth/error scope, under /api/v1) with only the dependencies its
 * options name — real stores on the shared Redis under a random prefix — and serves its routes
 * there, while the other plugins' routes are absent. No plugin file imports another plugin or the
 * registration module.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyPluginOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { complaintsApi } from '../../src/admin/complaints-api.js';
import { consentApi } from '../../src/admin/consent-api.js';
import { dndApi } from '../../src/admin/dnd-api.js';
import { portedApi } from '../../src/admin/ported-api.js';
import { PortedAdmin } from '../../src/store/ported.js';
import { Keys, portedSlot } from '../../src/store/keys.js';
import { evidenceApi } from '../../src/admin/evidence-api.js';
import { explainApi } from '../../src/admin/explain-api.js';
import { journalApi } from '../../src/admin/journal-api.js';
import { queueApi } from '../../src/admin/queue-api.js';
import { adminScope } from '../../src/admin/scope.js';
import { sendersApi } from '../../src/admin/senders-api.js';
import { ComplaintDesk } from '../../src/complaints/desk.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { Explained } from '../../src/decision/service.js';
import { SenderRegistry } from '../../src/policy/senders.js';
import { Command } from '../../src/protocol/commands.js';
import { encodePdu } from '../../src/protocol/encode.js';
import { configApi } from '../../src/admin/config-api.js';
import { MessageQueue } from '../../src/queue/message-queue.js';
import { ComplaintStore } from '../../src/store/complaint-store.js';
import { PolicyAdmin } from '../../src/store/policy-admin.js';
import { connectRedis, createRedis, type Redis } from '../../src/store/redis.js';
import { createLogger } from '../../src/telemetry/log.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { sha256, TOKENS } from '../helpers/admin.js';
import { REDIS_URL, secretHash } from '../helpers/stack.js';
import { clearKeys } from '../helpers/redis-keys.js';

const ADMIN = resolve(import.meta.dirname, '../../src/admin');
const USER = '8613800138000';
const SENDER = 'number:8610690001';

let cfg: Config;
let prefix: string;
let redis: Redis;
let store: PolicyAdmin;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  prefix = `test:${randomBytes(4).toString('hex')}:`;
  cfg = parseConfig(
    `redis: { url: "${REDIS_URL}", key_prefix: "${prefix}" }\n` +
      `accounts: [{ system_id: esme, password_hash: '${await secretHash()}', allowed_ips: [127.0.0.0/8] }]\n` +
      `admin: { tokens: [{ name: ops, sha256: "${sha256(TOKENS.ops)}" }] }\n`,
  );
  redis = createRedis(cfg.redis);
  expect(await connectRedis(redis, 2000)).toBe(true);
  store = new PolicyAdmin(redis, prefix, 86_400_000);
});

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await clearKeys(redis, `${prefix}*`);
  redis?.disconnect();
});

/** A fresh fastify instance (same body rules as http.ts) holding the admin scope and this one plugin. */
async function alone<O extends FastifyPluginOptions>(plugin: FastifyPluginAsync<O>, opts: O): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, ajv: { customOptions: { removeAdditional: false } } });
  apps.push(app);
  await app.register(
    async (api) => {
      adminScope(api, cfg.admin.tokens);
      await api.register(plugin, opts);
    },
    { prefix: '/api/v1' },
  );
  await app.ready();
  return app;
}

async function call(app: FastifyInstance, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown) {
  const r = await app.inject({ method, url, headers: { authorization: `Bearer ${TOKENS.ops}` }, ...(body === undefined ? {} : { payload: body as object }) });
  return { status: r.statusCode, headers: r.headers, body: String(r.headers['content-type']).startsWith('application/json') ? r.json() : r.body };
}

/** The routes of every plugin but the one under test answer the scope's JSON 404. */
async function othersAbsent(app: FastifyInstance, own: string): Promise<void> {
  const probes: Record<string, string> = {
    senders: '/api/v1/senders',
    consent: `/api/v1/consent/${USER}`,
    dnd: `/api/v1/dnd/${USER}`,
    ported: `/api/v1/ported/${USER}`,
    explain: '/api/v1/explain',
    queue: '/api/v1/queue/review',
    journal: '/api/v1/journal',
    complaints: '/api/v1/complaints',
    evidence: `/api/v1/evidence/${USER}`,
  };
  for (const [name, url] of Object.entries(probes)) {
    if (name === own) continue;
    const method = name === 'explain' ? 'POST' : 'GET';
    const r = await call(app, method, url);
    expect(r, `${own} alone: ${method} ${url}`).toMatchObject({ status: 404, body: { error: 'not_found', message: `no such endpoint: ${method} ${url}` } });
  }
}

describe('admin route plugins, each on its own fastify instance', () => {
  it('senders: needs only the policy store, the registry, the numbering plan and the accounts', async () => {
    const registry = new SenderRegistry();
    const app = await alone(sendersApi, { store, registry, numbering: cfg.policy.numbering, accounts: new Set(['esme']) });
    const r = await call(app, 'POST', '/api/v1/senders', { kind: 'number', value: '+8610690001', account: 'esme', signatures: ['ACME'] });
    expect(r.status).toBe(201);
    expect(r.headers.location).toBe('/api/v1/senders/number%3A8610690001');
    expect(r.body).toMatchObject({ id: SENDER, account: 'esme', updated_by: 'ops' });
    expect(registry.get(SENDER)?.account).toBe('esme');
    expect((await call(app, 'GET', '/api/v1/senders/number:010690001')).body.id).toBe(SENDER);
    expect((await call(app, 'POST', '/api/v1/senders', { kind: 'number', value: '8610690002', account: 'nobody' })).body.field).toBe('account');
    // The shared scope still guards a lone plugin.
    expect((await app.inject({ method: 'GET', url: '/api/v1/senders' })).statusCode).toBe(401);
    await othersAbsent(app, 'senders');
  });

  it('consent: needs only the policy store, the numbering plan and the accounts (its ConsentView schema comes with it)', async () => {
    const app = await alone(consentApi, { store, numbering: cfg.policy.numbering, accounts: new Set(['esme']) });
    const r = await call(app, 'POST', '/api/v1/consent', { msisdn: '013800138000', scope: 'account:esme', state: 'granted', channel: 'web-form', evidence: 'form-1' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ msisdn: USER, consents: [{ scope: 'account:esme', state: 'granted', effective: 'granted' }] });
    expect((await call(app, 'POST', '/api/v1/consent', { msisdn: USER, scope: 'account:other', state: 'granted', channel: 'c', evidence: 'e' })).status).toBe(400);
    await othersAbsent(app, 'consent');
  });

  it('dnd: needs only the policy store and the numbering plan', async () => {
    const app = await alone(dndApi, { store, numbering: cfg.policy.numbering });
    expect((await call(app, 'POST', '/api/v1/dnd', { msisdn: '+8613800138000', category: 3 })).body).toMatchObject({ msisdn: USER, registered: true, all: false, categories: [3] });
    expect((await call(app, 'DELETE', `/api/v1/dnd/${USER}?category=3`)).body.registered).toBe(false);
    await othersAbsent(app, 'dnd');
  });

  it('ported: needs only the ported-number table and the numbering plan; PUT, GET and DELETE one number, journaled', async () => {
    const app = await alone(portedApi, { ported: new PortedAdmin(redis, prefix, 86_400_000), numbering: cfg.policy.numbering });
    expect((await call(app, 'GET', `/api/v1/ported/${USER}`)).body).toEqual({ msisdn: USER, ported: false, network: null });
    expect((await call(app, 'PUT', '/api/v1/ported/013800138000', { network: 'cu', channel: 'mnp-feed' })).body).toEqual({ msisdn: USER, ported: true, network: 'cu', previous: null });
    expect((await call(app, 'PUT', `/api/v1/ported/+${USER}`, { network: 'ct' })).body).toEqual({ msisdn: USER, ported: true, network: 'ct', previous: 'cu' });
    expect((await call(app, 'GET', `/api/v1/ported/${USER}`)).body).toEqual({ msisdn: USER, ported: true, network: 'ct' });
    // Stored where the hot path looks: generation 1's hash of the number's 4096, field n mod 4096.
    const slot = portedSlot(Number(USER));
    expect(await redis.hget(new Keys(prefix).ported(slot.bucket, slot.sub, 1), String(slot.field))).toBe('ct');
    const bad = await call(app, 'PUT', `/api/v1/ported/${USER}`, { network: 'c u' });
    expect(bad.status).toBe(400);
    expect((await call(app, 'PUT', '/api/v1/ported/12ab', { network: 'cu' })).body.field).toBe('msisdn');
    expect((await call(app, 'DELETE', `/api/v1/ported/${USER}`)).body).toEqual({ msisdn: USER, ported: false, network: null });
    expect((await call(app, 'DELETE', `/api/v1/ported/${USER}`)).status).toBe(404);
    expect((await app.inject({ method: 'PUT', url: `/api/v1/ported/${USER}`, payload: { network: 'cu' } })).statusCode).toBe(401);
    const ops = (await redis.xrange(new Keys(prefix).journal, '-', '+')).map(([, kv]) => kv[1]).filter((op) => op!.startsWith('ported.'));
    expect(ops).toEqual(['ported.set', 'ported.set', 'ported.remove']);
    await othersAbsent(app, 'ported');
  });

  it('explain: needs only an explain function (or none: policy off) and the accounts', async () => {
    const decided: Explained = { action: 'reject', reason: 'consent_revoked', status: 0x45, rule: 'policy/consent', class: 'commercial', explanation: 'no', trace: [] };
    const seen: unknown[] = [];
    const app = await alone(explainApi, { explain: async (m) => (seen.push(m), decided), accounts: new Set(['esme']) });
    const body = { account: 'esme', source_addr: '8610690001', destination_addr: USER };
    const r = await call(app, 'POST', '/api/v1/explain', body);
    expect(r.body).toEqual({ ...decided, status_name: 'ESME_RSUBMITFAIL' });
    expect(seen).toEqual([body]);
    const off = await alone(explainApi, { explain: null, accounts: new Set(['esme']) });
    expect((await call(off, 'POST', '/api/v1/explain', body)).body).toMatchObject({ action: 'forward', reason: 'policy_off', status_name: 'ESME_ROK' });
    await othersAbsent(app, 'explain');
  });

  it('queue: needs only the message queue (or none: 503) and the accounts', async () => {
    // Its own connection, as gateway.ts gives it.
    const queueRedis = createRedis({ ...cfg.redis, command_timeout_ms: cfg.queue.command_timeout_ms });
    expect(await connectRedis(queueRedis, 2000)).toBe(true);
    const queue = new MessageQueue(cfg, queueRedis, { metrics: new Metrics(false), log: createLogger('silent') });
    try {
      const now = Date.now();
      const pdu = encodePdu(Command.submit_sm, 0, 1, { source_addr: '8610690001', destination_addr: USER, short_message: Buffer.from('see http://a.example') });
      const id = queue.newId();
      const status = await new Promise<number>((done) =>
        queue.enqueue({ id, account: 'esme', queue: 'review', pdu, rule: 'hold-links', reason: 'links', acceptedAt: now, releaseAt: now, expiresAt: now + 3_600_000 }, done),
      );
      expect(status).toBe(0);
      const app = await alone(queueApi, { queue, accounts: new Set(['esme']) });
      expect((await call(app, 'GET', '/api/v1/queue/review?account=esme')).body).toMatchObject({ count: 1, messages: [{ id, rule: 'hold-links', text: 'see http://a.example' }] });
      expect((await call(app, 'POST', `/api/v1/queue/review/${id}/reject`)).body).toEqual({ id, decision: 'reject' });
      expect((await call(app, 'GET', '/api/v1/queue/depth/esme')).body).toEqual({ account: 'esme', queued: 0 });
      await othersAbsent(app, 'queue');
      const without = await alone(queueApi, { queue: null, accounts: new Set(['esme']) });
      expect((await call(without, 'GET', '/api/v1/queue/review')).status).toBe(503);
    } finally {
      await queue.close();
      queueRedis.disconnect();
    }
  });

  it('journal: needs only the policy store and the numbering plan', async () => {
    const other = '8613800138009';
    await store.addDnd(other, null, { who: 'crm', channel: 'ivr' });
    const app = await alone(journalApi, { store, numbering: cfg.policy.numbering });
    const r = await call(app, 'GET', `/api/v1/journal?msisdn=0${other.slice(2)}`);
    expect(r.body.entries.map((e: Record<string, string>) => `${e.op}/${e.who}/${e.channel}`)).toEqual(['dnd.add/crm/ivr']);
    await othersAbsent(app, 'journal');
  });

  it('complaints: needs only the desk, the case store, the policy store and the numbering plan (its case schemas come with it)', async () => {
    const rec = { id: SENDER, kind: 'number' as const, value: '8610690001', account: 'esme', status: 'active' as const, signatures: [] };
    await store.putSender(rec, { who: 'test' });
    const registry = new SenderRegistry();
    registry.upsert(rec);
    const cases = new ComplaintStore(redis, prefix);
    const desk = new ComplaintDesk({ cfg, cases, store, senders: registry, messages: null });
    const app = await alone(complaintsApi, { desk, cases, store, numbering: cfg.policy.numbering });
    const r = await call(app, 'POST', '/api/v1/complaints', { recipient: USER, source: '12321', sender: '8610690001', text: 'spam' });
    expect(r.status).toBe(201);
    expect(r.headers.location).toBe(`/api/v1/complaints/${r.body.case.id}`);
    expect(r.body).toMatchObject({ case: { state: 'open', sender: SENDER, sender_registered: true }, sender: { id: SENDER } });
    expect((await call(app, 'GET', `/api/v1/complaints?sender=${SENDER}`)).body).toMatchObject({ count: 1, cases: [{ id: r.body.case.id }] });
    expect((await call(app, 'POST', `/api/v1/senders/${SENDER}/reinstate`, {})).status).toBe(409);
    await othersAbsent(app, 'complaints');
  });

  it('evidence: needs only the policy store, the audit stream (none here), the case store, the sender registry and the numbering plan', async () => {
    const recipient = '8613800138007';
    await store.setConsent(recipient, 'brand:ACME', 'granted', { who: 'crm', channel: 'web-form', evidence: 'form-7' });
    const app = await alone(evidenceApi, { store, audit: null, cases: null, senders: new SenderRegistry(), numbering: cfg.policy.numbering });
    const r = await call(app, 'GET', `/api/v1/evidence/0${recipient.slice(2)}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ msisdn: recipient, consent: { current: [{ scope: 'brand:ACME', state: 'granted' }], journal: [{ op: 'consent.grant', who: 'crm', evidence: 'form-7' }] } });
    const table = await call(app, 'GET', `/api/v1/evidence/${recipient}?format=table`);
    expect(table.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(table.body).toMatch(/form-7/);
    await othersAbsent(app, 'evidence');
  });

  it('config: needs only the live config; every secret is redacted', async () => {
    const live = parseConfig(
      `redis: { url: "redis://u:hunter2@redis:6379" }\n` +
        `accounts: [{ system_id: esme, password_hash: '${await secretHash()}', allowed_ips: [127.0.0.0/8] }]\n` +
        `downstream: { smscs: [{ name: a, port: 1, system_id: gw, password: smscpw }, { name: b, port: 2, system_id: gw, password_env: B_PW }] }\n` +
        `admin: { tokens: [{ name: ops, sha256: "${sha256(TOKENS.ops)}", role: admin }] }\n`,
    );
    const app = await alone(configApi, { config: () => live });
    const r = await call(app, 'GET', '/api/v1/config');
    expect(r.status).toBe(200);
    const text = JSON.stringify(r.body);
    for (const secret of ['hunter2', 'smscpw', sha256(TOKENS.ops), live.accounts[0]!.password_hash]) expect(text).not.toContain(secret);
    expect(r.body).toMatchObject({
      redis: { url: 'redis://u:***@redis:6379' },
      accounts: [{ system_id: 'esme', password_hash: '[redacted]', allowed_ips: ['127.0.0.0/8'] }],
      downstream: { smscs: [{ name: 'a', password: '[redacted]' }, { name: 'b', password_env: 'B_PW' }] },
      admin: { tokens: [{ name: 'ops', sha256: '[redacted]', role: 'admin' }] },
    });
    // Live: what a reload changes shows at once.
    live.log.level = 'debug';
    expect((await call(app, 'GET', '/api/v1/config')).body).toMatchObject({ log: { level: 'debug' } });
  });
});

describe('admin plugin files', () => {
  it('import shared modules only: no plugin imports another plugin, api.ts or http.ts', () => {
    const plugins = readdirSync(ADMIN).filter((f) => f.endsWith('-api.ts'));
    expect(plugins.sort()).toEqual(['complaints-api.ts', 'config-api.ts', 'consent-api.ts', 'dead-letters-api.ts', 'dnd-api.ts', 'evidence-api.ts', 'explain-api.ts', 'journal-api.ts', 'lockouts-api.ts', 'ported-api.ts', 'queue-api.ts', 'senders-api.ts']);
    for (const f of plugins) {
      const local = [...readFileSync(join(ADMIN, f), 'utf8').matchAll(/from '\.\/([^']+)\.js'/g)].map((m) => m[1]!);
      expect(local.filter((m) => m.endsWith('-api') || m === 'api' || m === 'http'), f).toEqual([]);
    }
  });
});
