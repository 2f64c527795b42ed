/**
 * Redis over TLS (config `redis.tls`, a rediss:// URL): servers that speak only TLS and require a
 * client certificate — a single Redis, a Sentinel setup and a Cluster — each with the gateway's
 * every connection on it (main client, the hot path's pipe, the queue). A wrong CA or a missing
 * client certificate connects nothing and fails closed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema, type Config } from '../../src/config/schema.js';
import { Status } from '../../src/protocol/status.js';
import { RespPipe, command } from '../../src/store/resp-pipe.js';
import { connectRedis, createRedis, redisTls } from '../../src/store/redis.js';
import { PrivateRedis } from '../helpers/private-redis.js';
import { LocalRedisCluster } from '../helpers/redis-cluster.js';
import type { RedisTlsFiles } from '../helpers/redis-tls-files.js';
import { consentFlow } from '../helpers/redis-flow.js';
import { LocalSentinel } from '../helpers/redis-sentinel.js';
import { sm, startStack, waitFor } from '../helpers/stack.js';

const FIX = fileURLToPath(new URL('../fixtures/tls/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sg-redis-tls-'));
const files: RedisTlsFiles = {
  cert: join(FIX, 'redis.crt'),
  key: join(FIX, 'redis.key'),
  ca: join(dir, 'ca.pem'),
  clientCert: join(FIX, 'client.crt'),
  clientKey: join(FIX, 'client.key'),
};
// The servers trust each other (replication, the cluster bus, the sentinel) and the gateway's certificate.
writeFileSync(files.ca, Buffer.concat([readFileSync(files.cert), readFileSync(files.clientCert)]));

/** The gateway's side: trust the servers' certificate, present the client certificate. */
const gatewayTls = { ca: files.cert, cert: files.clientCert, key: files.clientKey, reject_unauthorized: true };

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The message flow (helpers/redis-flow.ts) on a gateway whose Redis config `redis` gives; `then` runs before it stops. */
async function flowOn(redis: (r: Config['redis']) => Config['redis'], user: string, then?: () => Promise<void>): Promise<void> {
  const stack = await startStack({
    cfg: (c) => {
      c.redis = redis(c.redis);
      c.policy.enabled = true;
    },
  });
  try {
    await consentFlow(stack, user);
    await then?.();
  } finally {
    await stack.stop();
  }
}

describe('a single Redis over TLS with client certificates', () => {
  let server: PrivateRedis;
  beforeAll(async () => {
    server = await PrivateRedis.start(files);
  }, 20_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('carries every connection: policy on the hot-path pipe, scripts, pub/sub, the queue and receipts', async () => {
    await flowOn((r) => ({ ...r, url: server.url, tls: gatewayTls }), '8613800138444', async () => {
      // The per-message check went as plain commands on the pipe (its own TLS connection), not as a script.
      const admin = server.client();
      await admin.connect();
      const clients = String(await admin.client('LIST'));
      admin.disconnect();
      expect(clients).toMatch(/cmd=(hmget|sismember)/);
      // Every other connection is on it too (the server speaks only TLS): pub/sub, both queue streams' blocking reads.
      expect(clients).toMatch(/cmd=subscribe/);
      expect(clients.match(/cmd=xreadgroup/g)).toHaveLength(2);
    });
  });

  it('refuses a server whose certificate the CA does not sign, and a client without a certificate', async () => {
    const wrongCa = { url: server.url, tls: { ...gatewayTls, ca: files.clientCert } };
    const noCert = { url: server.url, tls: { ca: files.cert, reject_unauthorized: true } };
    for (const opts of [wrongCa, noCert]) {
      const errors: Error[] = [];
      const pipe = new RespPipe(opts.url, 500, (e) => errors.push(e), redisTls(opts));
      const main = createRedis({ ...opts, command_timeout_ms: 500 });
      main.on('error', () => undefined);
      try {
        expect(await connectRedis(main, 1500)).toBe(false);
        await waitFor(() => errors.length > 0, 3000, 'the pipe to report the refusal');
        expect(pipe.isReady).toBe(false);
        // A batch on the refused connection fails at once instead of waiting.
        const r = await new Promise<Error | null>((res) => pipe.send(command('PING'), 1, (err) => res(err)));
        expect(r).toBeInstanceOf(Error);
      } finally {
        pipe.close();
        main.disconnect();
      }
    }
    expect(String((await tlsError(wrongCa)) ?? '')).toMatch(/self[- ]signed|certificate/i);
  });

  it('a gateway with the wrong CA is not ready and fails closed', async () => {
    const stack = await startStack({
      cfg: (c) => {
        c.redis = { ...c.redis, url: server.url, tls: { ...gatewayTls, ca: files.clientCert } };
        c.policy.enabled = true;
      },
    });
    try {
      const r = await stack.gw.readiness();
      expect(r.ready).toBe(false);
      expect(r.checks.redis?.ok).toBe(false);
      // Why, in the operator's words: the TLS error, not only "Stream isn't writeable".
      expect(r.checks.redis?.detail).toMatch(/last connection error: self[- ]signed certificate/);
      const esme = await stack.esme('transceiver');
      expect((await esme.submit(sm({ source_addr: '8610690012', destination_addr: '8613800138447' }))).status).toBe(Status.ESME_RSYSERR);
    } finally {
      await stack.stop();
    }
  }, 20_000);

  it('with reject_unauthorized: false a certificate from an unknown CA is accepted (for test setups)', async () => {
    const opts = { url: server.url, tls: { cert: files.clientCert, key: files.clientKey, reject_unauthorized: false } };
    const pipe = new RespPipe(opts.url, 1000, () => undefined, redisTls(opts));
    try {
      expect(await pipe.whenReady(3000)).toBe(true);
      const r = await new Promise<unknown>((res) => pipe.send(command('PING'), 1, (_e, v) => res(v)));
      expect(r).toEqual(['PONG']);
    } finally {
      pipe.close();
    }
  });
});

/** The pipe's first connection error for these options. */
async function tlsError(opts: { url: string; tls: Config['redis']['tls'] }): Promise<Error | null> {
  let first: Error | null = null;
  const pipe = new RespPipe(opts.url, 500, (e) => (first ??= e), redisTls(opts));
  await waitFor(() => first !== null, 3000, 'a connection error').catch(() => undefined);
  pipe.close();
  return first;
}

describe('redis.tls in the config', () => {
  const base = { accounts: [], downstream: { smscs: [{ name: 's', host: '127.0.0.1', port: 1, system_id: 'x', password: 'x' }] } };

  it('needs cert and key together, and a file it cannot read stops the start with its config path', () => {
    const r = ConfigSchema.safeParse({ ...base, redis: { tls: { cert: files.clientCert } } });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toMatch(/cert and key together/);
    expect(() => redisTls({ url: 'redis://127.0.0.1', tls: { ca: '/nonexistent/ca.pem', reject_unauthorized: true } })).toThrow(/redis\.tls\.ca: cannot read \/nonexistent\/ca\.pem/);
  });

  it('is off for redis:// without tls, on for rediss:// or with tls set', () => {
    expect(redisTls({ url: 'redis://127.0.0.1', tls: false })).toBeNull();
    expect(redisTls({ url: 'rediss://127.0.0.1', tls: false })).toEqual({});
    expect(redisTls({ url: 'redis://127.0.0.1', tls: true })).toEqual({});
    const t = redisTls({ url: 'redis://127.0.0.1', tls: { ca: files.cert, reject_unauthorized: true, servername: 'redis.test' } })!;
    expect(t.servername).toBe('redis.test');
    expect(Buffer.isBuffer(t.ca)).toBe(true);
  });
});

describe('Redis Sentinel over TLS', () => {
  let sentinel: LocalSentinel;
  beforeAll(async () => {
    sentinel = await LocalSentinel.start('sgtls', files);
  }, 30_000);
  afterAll(async () => {
    await sentinel?.stop();
  });

  it('finds the master through a TLS sentinel and runs the message flow on it', async () => {
    await flowOn((r) => ({ ...r, url: 'redis://127.0.0.1', tls: gatewayTls, sentinel: { name: 'sgtls', sentinels: [{ host: '127.0.0.1', port: sentinel.sentinelPort }] } }), '8613800138445');
  });
});

describe('Redis Cluster over TLS', () => {
  let cluster: LocalRedisCluster;
  beforeAll(async () => {
    cluster = await LocalRedisCluster.start({ tls: files });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('reaches every node over TLS and runs the message flow', async () => {
    await flowOn((r) => ({ ...r, url: 'redis://127.0.0.1', tls: gatewayTls, cluster: cluster.seeds }), '8613800138446');
  });
});
