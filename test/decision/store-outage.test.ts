/**
 * Redis slow or down under a live gateway: commercial submits fail closed with ESME_RSYSERR within
 * the call timeout (or forward where fail-open is configured), non-commercial traffic keeps flowing
 * from the in-process sender registry, and everything recovers without a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Status } from '../../src/protocol/status.js';
import { senderId } from '../../src/domain/sender.js';
import type { EsmeClient } from '../helpers/esme-client.js';
import { PrivateRedis } from '../helpers/private-redis.js';
import { sm, startStack, waitFor, type Stack } from '../helpers/stack.js';

const USER = '8613800138000';
const actor = { who: 'test' };
let redis: PrivateRedis;
let stack: Stack;
let esme: EsmeClient;

beforeAll(async () => {
  redis = await PrivateRedis.start();
  stack = await startStack({
    cfg: (c) => {
      c.policy.enabled = true;
      c.redis.url = redis.url;
      c.redis.command_timeout_ms = 200;
    },
  });
  await seed();
  esme = await stack.esme('transmitter');
});

/** Two senders (commercial and OTP) and the user's consent; again after Redis restarts empty. */
async function seed(): Promise<void> {
  for (const [value, cls] of [
    ['8610690001', 'commercial'],
    ['8610690002', 'otp'],
  ] as const) {
    const r = { id: senderId('number', value), kind: 'number' as const, value, account: 'esme', class: cls, status: 'active' as const, signatures: ['ACME'] };
    await stack.gw.store.putSender(r, actor);
  }
  await waitFor(() => stack.gw.sync.registry.size === 2, 1000, 'senders cached');
  await stack.gw.store.setConsent(USER, 'brand:ACME', 'granted', actor);
}
afterAll(async () => {
  await stack.stop();
  await redis.stop();
});

const commercial = () => esme.submit(sm({ source_addr: '8610690001', destination_addr: USER })).then((r) => r.status);
const otp = () => esme.submit(sm({ source_addr: '8610690002', destination_addr: USER })).then((r) => r.status);

describe('policy store outage', () => {
  it('fails closed with 0x08 within the timeout while Redis is frozen, and recovers when it thaws', async () => {
    expect(await commercial()).toBe(0);
    redis.freeze();
    try {
      const t0 = Date.now();
      expect(await commercial()).toBe(Status.ESME_RSYSERR);
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(150);
      expect(took).toBeLessThan(800);
      // Non-commercial traffic needs no store call: it keeps flowing.
      expect(await otp()).toBe(0);
    } finally {
      redis.thaw();
    }
    await waitFor(() => stack.gw.redis.status === 'ready', 3000, 'redis ready');
    expect(await commercial()).toBe(0);
  });

  it('fails closed at once while Redis is down, and recovers after a restart without restarting the gateway', async () => {
    await redis.stop();
    await waitFor(() => stack.gw.redis.status !== 'ready', 2000, 'redis seen down');
    const t0 = Date.now();
    expect(await commercial()).toBe(Status.ESME_RSYSERR);
    expect(Date.now() - t0).toBeLessThan(300);
    expect(await otp()).toBe(0);
    const ready = await fetch(`http://127.0.0.1:${stack.gw.httpPort}/readyz`);
    expect(ready.status).toBe(503);
    await redis.restart();
    // This server comes back empty (production Redis restores from persistence): reseed.
    await waitFor(() => stack.gw.redis.status === 'ready', 5000, 'redis reconnect');
    await waitFor(() => stack.gw.sync.registry.size === 0, 3000, 'registry reloaded from the empty server');
    await seed();
    expect(await commercial()).toBe(0);
    expect((await fetch(`http://127.0.0.1:${stack.gw.httpPort}/readyz`)).status).toBe(200);
  });

  it('forwards commercial traffic during an outage when configured to fail open', async () => {
    stack.gw.cfg.policy.fail_open_classes.push('commercial');
    redis.freeze();
    try {
      expect(await commercial()).toBe(0);
    } finally {
      redis.thaw();
      stack.gw.cfg.policy.fail_open_classes.length = 0;
    }
  });
});
