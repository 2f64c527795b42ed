/**
 * The ported-number lookup in the policy check's round trip (store/policy-check.ts), against the
 * real Redis under a prefix of its own: with the batched script (the tag is one more field of the
 * message's row, and only batches that ask carry the lookup lines) and with plain commands on the
 * pipe (one HGET more in the same write); a message that asks nothing else is one lookup batched
 * with the turn's others; the generation the check reads follows a replace.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { StoreFacts, StoreQuery } from '../../src/domain/store-facts.js';
import { importFile } from '../../src/import/import-file.js';
import { PolicyAdmin } from '../../src/store/policy-admin.js';
import { PolicyCheck } from '../../src/store/policy-check.js';
import { PortedAdmin } from '../../src/store/ported.js';
import { RateStore } from '../../src/store/rates.js';
import { connectRedis, createRedis, type Redis } from '../../src/store/redis.js';
import { RespPipe } from '../../src/store/resp-pipe.js';
import { clearKeys } from '../helpers/redis-keys.js';

const PREFIX = `test:ported:${process.pid}:${randomBytes(4).toString('hex')}:`;
const DAY = 86_400_000;
const actor = { who: 'test' };
const numbering = { country_code: '86', international_prefix: '00', national_prefix: '0' };

let redis: Redis;
let admin: PolicyAdmin;
let ported: PortedAdmin;

beforeAll(async () => {
  redis = createRedis({ url: 'redis://127.0.0.1:6379', command_timeout_ms: 2000 });
  redis.on('error', () => undefined);
  expect(await connectRedis(redis, 5000)).toBe(true);
  admin = new PolicyAdmin(redis, PREFIX, DAY);
  ported = new PortedAdmin(redis, PREFIX, DAY);
  await ported.set('8613800000001', 'cu', actor);
  await ported.set('8613800004097', 'ct', actor);
  await admin.setConsent('8613800000001', 'brand:ACME', 'granted', actor);
});

afterAll(async () => {
  await clearKeys(redis, `${PREFIX}*`);
  redis.disconnect();
});

type Answer = { err: unknown; facts: StoreFacts | null; counters: number[] | null; tag: string | null | undefined };
const ask = (s: PolicyCheck, q: StoreQuery | null, tagOf: string | null) =>
  new Promise<Answer>((resolve) => s.fetchThen(q, null, (err, facts, counters, tag) => resolve({ err, facts, counters, tag }), tagOf));
const query = (msisdn: string): StoreQuery => ({ msisdn, scopes: ['brand:ACME'], category: null });

/** Commands ioredis sent while `fn` ran (name and argument count). */
async function commands<T>(fn: () => Promise<T>): Promise<{ value: T; sent: { name: string; args: number }[] }> {
  const spy = vi.spyOn(redis, 'sendCommand');
  try {
    const value = await fn();
    return { value, sent: spy.mock.calls.map((c) => ({ name: (c[0] as { name: string }).name, args: (c[0] as { args: unknown[] }).args.length })) };
  } finally {
    spy.mockRestore();
  }
}

describe('ported lookup in the policy round trip', () => {
  it('script: the tag rides the batch (one call), and a batch that asks none carries no lookup lines', async () => {
    const s = new PolicyCheck(redis, PREFIX, admin.generation, new RateStore(redis, PREFIX));
    await s.ported.refresh();
    const r = await commands(() =>
      Promise.all([ask(s, query('8613800000001'), '8613800000001'), ask(s, query('8613800000002'), null), ask(s, null, '8613800004097'), ask(s, null, '8613800000002')]),
    );
    expect(r.sent.filter((c) => c.name === 'evalsha' || c.name === 'eval')).toHaveLength(1);
    const [a, b, c, d] = r.value;
    expect(a.err).toBeNull();
    expect(a.facts?.consent[0]).toMatch(/^g:\d+$/);
    expect(a.tag).toBe('cu');
    expect(b).toMatchObject({ err: null, facts: { dnd: false, consent: [null] }, tag: null });
    expect(c).toMatchObject({ err: null, facts: null, tag: 'ct' });
    expect(d).toMatchObject({ err: null, facts: null, tag: null });
    // No message asks: the script gets its six arguments only (2 for keys/sha + 6 ARGV).
    const plain = await commands(() => ask(s, query('8613800000001'), null));
    const call = plain.sent.find((x) => x.name === 'evalsha' || x.name === 'eval')!;
    expect(call.args).toBe(2 + 6);
    expect(plain.value.tag).toBeNull();
  });

  it('pipe: one write of plain commands carries the HGETs, no script call; portedOf batches alone', async () => {
    const pipe = new RespPipe('redis://127.0.0.1:6379', 2000);
    try {
      expect(await pipe.whenReady(3000)).toBe(true);
      const s = new PolicyCheck(redis, PREFIX, admin.generation, new RateStore(redis, PREFIX), pipe);
      await s.ported.refresh();
      const sends = vi.spyOn(pipe, 'send');
      const r = await commands(() => Promise.all([ask(s, query('8613800000001'), '8613800000001'), ask(s, null, '8613800004097'), s.portedOf('8613800000009')]));
      expect(sends.mock.calls).toHaveLength(1);
      sends.mockRestore();
      expect(r.sent.filter((c) => c.name === 'evalsha' || c.name === 'eval')).toHaveLength(0);
      expect(r.value[0]).toMatchObject({ err: null, tag: 'cu' });
      expect(r.value[0].facts?.consent[0]).toMatch(/^g:\d+$/);
      expect(r.value[1]).toMatchObject({ err: null, facts: null, tag: 'ct' });
      expect(r.value[2]).toBeNull();
    } finally {
      pipe.close();
    }
  });

  it('a number that is not one is never asked (not ported); the generation read follows a replace', async () => {
    const s = new PolicyCheck(redis, PREFIX, admin.generation, new RateStore(redis, PREFIX));
    await s.ported.refresh();
    expect(await ask(s, null, 'ACME')).toEqual({ err: null, facts: null, counters: null, tag: null });
    await importFile('ported', Readable.from([Buffer.from('8613800000001,cmcc\n')]), { redis, prefix: PREFIX, numbering, replace: true, graceMs: 0 });
    await s.ported.refresh();
    expect(s.ported.current).toBe(2);
    expect(await s.portedOf('8613800000001')).toBe('cmcc');
    expect(await s.portedOf('8613800004097')).toBeNull();
  });
});
