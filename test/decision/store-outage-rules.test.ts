/**
 * Redis slow or down under a gateway with rules: the message's one round trip (rate counters and
 * consent/DND together) fails closed with ESME_RSYSERR within the call timeout, and the counters
 * work again when Redis thaws.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Status } from '../../src/protocol/status.js';
import { senderId } from '../../src/domain/sender.js';
import type { EsmeClient } from '../helpers/esme-client.js';
import { PrivateRedis } from '../helpers/private-redis.js';
import { sm, startStack, waitFor, type Stack } from '../helpers/stack.js';

const USER = '8613800138000';
const OTHER = '8613800138001';
const actor = { who: 'test' };
let redis: PrivateRedis;
let stack: Stack;
let esme: EsmeClient;

beforeAll(async () => {
  redis = await PrivateRedis.start();
  const dir = mkdtempSync(join(tmpdir(), 'sg-outage-rules-'));
  writeFileSync(
    join(dir, 'caps.yaml'),
    `version: 1
rules:
  - id: recipient-cap
    description: two messages a minute to one number
    match:
      rate: { per: recipient, window: 1m, max: 2 }
    action: { reject: { status: ESME_RTHROTTLED, reason: recipient_cap } }
`,
  );
  stack = await startStack({
    cfg: (c) => {
      c.policy.enabled = true;
      c.redis.url = redis.url;
      c.redis.command_timeout_ms = 200;
      c.rules = { dir, watch: false };
    },
  });
  const value = '8610690001';
  await stack.gw.store.putSender({ id: senderId('number', value), kind: 'number', value, account: 'esme', class: 'commercial', status: 'active', signatures: ['ACME'] }, actor);
  await waitFor(() => stack.gw.sync.registry.size === 1, 1000, 'sender cached');
  await stack.gw.store.setConsent(USER, 'brand:ACME', 'granted', actor);
  await stack.gw.store.setConsent(OTHER, 'brand:ACME', 'granted', actor);
  esme = await stack.esme('transmitter');
});
afterAll(async () => {
  await stack.stop();
  await redis.stop();
});

const commercial = (dst = USER) => esme.submit(sm({ source_addr: '8610690001', destination_addr: dst })).then((r) => r.status);

describe('policy store outage with rules', () => {
  it('counts and checks consent in one round trip per message, fails closed while Redis is frozen, and recovers', async () => {
    // The pack's recipient cap counts in fixed minute windows (store/rate-layout.ts): the test's
    // messages must fall in one, or the third is counted afresh and not throttled. With less than
    // 15 s of this minute left, wait for the next one.
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 15_000) await new Promise((r) => setTimeout(r, left + 50));
    // On a single Redis the round trip is one batch of plain commands on the hot path's connection.
    const spy = vi.spyOn(stack.gw.redis, 'sendCommand');
    const batches = vi.spyOn(stack.gw.policyCheck.pipe!, 'send');
    expect(await commercial()).toBe(0);
    const scripts = spy.mock.calls.map((c) => (c[0] as { name: string }).name).filter((n) => n === 'evalsha' || n === 'eval');
    const sent = batches.mock.calls.length;
    spy.mockRestore();
    batches.mockRestore();
    expect(scripts).toHaveLength(0);
    expect(sent).toBe(1);
    redis.freeze();
    try {
      const t0 = Date.now();
      expect(await commercial(OTHER)).toBe(Status.ESME_RSYSERR);
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(150);
      expect(took).toBeLessThan(1000);
    } finally {
      redis.thaw();
    }
    await waitFor(() => stack.gw.redis.status === 'ready', 3000, 'redis ready');
    expect(await commercial()).toBe(0);
    expect(await commercial()).toBe(Status.ESME_RTHROTTLED);
    expect(await commercial(OTHER)).toBe(0);
  });
});
