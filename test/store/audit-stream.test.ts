/**
 * The decision stream (store/audit-stream.ts) on the real Redis: sharding by recipient, queries by
 * recipient and time (the decision's time, not the append time), limits, MAXLEN and MINID trimming,
 * and what happens while Redis cannot take the entries.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditStream } from '../../src/store/audit-stream.js';
import { createRedis } from '../../src/store/redis.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { freePort } from '../helpers/private-redis.js';
import { REDIS_URL } from '../helpers/stack.js';

const prefix = `test:audit:${randomBytes(4).toString('hex')}:`;
let redis: Redis;
const opts = { shards: 8, retentionMs: 86_400_000, maxLen: 0, flushMs: 0, maxBuffer: 10_000 };

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  await redis.unlink(...Array.from({ length: 8 }, (_, i) => `${prefix}audit:{a:${i}}`));
  redis.disconnect();
});

describe('audit stream', () => {
  it('finds one recipient among its shard, in decision order, by decision time', async () => {
    // Decided a minute ago, appended now (ids are Redis times; queries allow for the lag).
    const T = Date.now() - 60_000;
    let clock = T;
    const a = new AuditStream(redis, prefix, opts, null, () => clock);
    // 8613800138000 and 8613800138008 share shard 0 (mod 8); 8613800138001 is in shard 1.
    a.add('esme', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial', '8610690001', '8613800138000');
    clock += 10;
    a.add('esme', 'reject', 'no_consent', 'policy/consent', 69, 'commercial', '8610690001', '8613800138008');
    a.add('esme', 'reject', 'invalid_destination', 'policy/destination', 11, null, '8610690001', 'abc');
    clock += 10;
    a.add('other', 'reject', 'sender_unregistered', 'policy/sender-authorization', 10, null, 'ACME\tBANK', '8613800138000');
    a.add('esme', 'forward', 'not_commercial', 'policy/classification', 0, 'service', '8610690002', '8613800138001');
    await a.flush();
    // One entry per shard and flush, its decisions one line each.
    expect(await redis.xlen(`${prefix}audit:{a:0}`)).toBe(1);
    expect(await redis.xlen(`${prefix}audit:{a:1}`)).toBe(1);
    const [[, fields]] = (await redis.xrange(`${prefix}audit:{a:0}`, '-', '+')) as [string, string[]][];
    expect(fields[0]).toBe('d');
    expect(fields[1]!.split('\n')).toEqual([
      `${T}\tesme\tforward\tconsent_granted\tpolicy/consent\t0\tcommercial\t8610690001\t8613800138000`,
      `${T + 10}\tesme\treject\tno_consent\tpolicy/consent\t69\tcommercial\t8610690001\t8613800138008`,
      `${T + 20}\tother\treject\tsender_unregistered\tpolicy/sender-authorization\t10\t\tACME BANK\t8613800138000`,
      '',
    ]);
    const r = await a.decisionsFor('8613800138000');
    expect(r.decisions.map((d) => [d.time, d.account, d.reason, d.status, d.class, d.src])).toEqual([
      [T, 'esme', 'consent_granted', 0, 'commercial', '8610690001'],
      [T + 20, 'other', 'sender_unregistered', 10, null, 'ACME BANK'],
    ]);
    expect(r.truncated).toBe(false);
    // from/to select by the decision's time.
    expect((await a.decisionsFor('8613800138000', { from: T + 1 })).decisions.map((d) => d.reason)).toEqual(['sender_unregistered']);
    expect((await a.decisionsFor('8613800138000', { from: T - 1000, to: T + 19 })).decisions.map((d) => d.reason)).toEqual(['consent_granted']);
    const limited = await a.decisionsFor('8613800138000', { limit: 1 });
    expect(limited).toMatchObject({ truncated: true, decisions: [{ reason: 'sender_unregistered' }] });
  });

  it('MAXLEN caps each shard (in entries, one per flush); MINID drops whole old nodes', async () => {
    const capped = new AuditStream(redis, prefix, { ...opts, maxLen: 10 });
    for (let i = 0; i < 300; i++) {
      capped.add('esme', 'forward', 'not_commercial', 'policy/classification', 0, null, '1', '8613800000002');
      await capped.flush();
    }
    const len = await redis.xlen(`${prefix}audit:{a:2}`);
    expect(len).toBeGreaterThanOrEqual(10);
    expect(len).toBeLessThan(150);
    // MINID: 300 entries in shard 4 (three stream nodes of 100); with a 1 ms retention, once the
    // clock has moved on, one more entry trims every full node before it.
    const plain = new AuditStream(redis, prefix, opts);
    for (let i = 0; i < 300; i++) {
      plain.add('esme', 'forward', 'not_commercial', 'policy/classification', 0, null, '1', '8613800000004');
      await plain.flush();
    }
    expect(await redis.xlen(`${prefix}audit:{a:4}`)).toBe(300);
    const later = new AuditStream(redis, prefix, { ...opts, retentionMs: 1 });
    const last = (await redis.xrevrange(`${prefix}audit:{a:4}`, '+', '-', 'COUNT', 1))[0]![0];
    while (Date.now() <= Number(last.split('-')[0]) + 1) await new Promise((r) => setTimeout(r, 2));
    later.add('esme', 'forward', 'not_commercial', 'policy/classification', 0, null, '1', '8613800000004');
    await later.flush();
    expect(await redis.xlen(`${prefix}audit:{a:4}`)).toBeLessThanOrEqual(101);
  });

  it('a flush of many decisions is one entry per shard, in calls of bounded size', async () => {
    const a = new AuditStream(redis, prefix, { ...opts, maxBuffer: 20_000 });
    for (let i = 0; i < 12_000; i++) a.add('esme', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial', '8610690001', String(8613900000000 + i));
    await a.flush();
    expect(await redis.xlen(`${prefix}audit:{a:3}`)).toBe(1);
    const r = await a.decisionsFor(String(8613900000000 + 11_995));
    expect(r.decisions.map((d) => d.dst)).toEqual(['8613900011995']);
  });

  it('keeps entries while Redis is down (bounded, the oldest dropped and counted)', async () => {
    const port = await freePort();
    const dead = createRedis({ url: `redis://127.0.0.1:${port}`, command_timeout_ms: 100 });
    dead.on('error', () => undefined);
    const metrics = new Metrics(false);
    const a = new AuditStream(dead, prefix, { ...opts, maxBuffer: 3 }, metrics);
    for (let i = 0; i < 5; i++) a.add('esme', 'forward', 'x', 'y', 0, null, '1', `861380013800${i}`);
    await a.flush();
    const text = await metrics.text();
    expect(text).toMatch(/smppguard_audit_stream_entries_total\{outcome="dropped"\} 2/);
    expect(text).toMatch(/smppguard_redis_errors_total\{op="audit_stream"\} 1/);
    expect(text).not.toMatch(/outcome="written"/);
    await a.close();
    dead.disconnect();
  });
});
