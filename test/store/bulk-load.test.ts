/**
 * RecordWriter's consent rows on both paths, against the real Redis on 127.0.0.1:6379 (a unique
 * prefix per path, removed at the end): RESP on the writer's own connection (a plain single Redis)
 * and ioredis pipelines (TLS, Sentinel, Cluster) store the same fields and journal the same entries.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pipes, RecordWriter, plainRedisUrl, type ConsentWrite } from '../../src/store/bulk-load.js';
import { Keys } from '../../src/store/keys.js';
import { clearKeys } from '../helpers/redis-keys.js';

const BASE = `test:bulk:${process.pid}:${randomBytes(4).toString('hex')}:`;
let redis: Redis;

beforeAll(() => {
  redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  await clearKeys(redis, `${BASE}*`);
  redis.disconnect();
});

const rows: ConsentWrite[] = [
  { msisdn: '8613800000001', scope: 'account:a', state: 'granted', expires: null },
  { msisdn: '8613800000001', scope: 'brand:B', state: 'granted', expires: 1_900_000_000_000, evidence: 'form:7' },
  { msisdn: '8613800000002', scope: 'account:a', state: 'revoked', expires: null, channel: 'sms' },
  { msisdn: '8613800000003', scope: 'account:a', state: 'granted', expires: null, evidence: '纸质表单 №7' },
];

async function load(
  raw: boolean,
  actor: { who: string; channel: string } = { who: 'tester', channel: 'import' },
  tag = '',
): Promise<{ fields: Record<string, Record<string, string>>; journal: string[][]; replaced: number }> {
  const keys = new Keys(`${BASE}${raw ? 'raw' : 'ioredis'}${tag}:`);
  // One row exists before: its HSET replaces a field.
  await redis.hset(keys.consent('8613800000003'), 'account:a', 'r:1');
  const pipes = new Pipes(2, 'write');
  const w = new RecordWriter({ redis, pipes, keys, ...actor, journalRetentionMs: 86_400_000, rowsPerPipe: 3, raw });
  try {
    for (const r of rows) {
      w.consent(r);
      if (w.full) await w.flush();
    }
    await w.flush();
    await pipes.drain();
  } finally {
    w.close();
  }
  const fields: Record<string, Record<string, string>> = {};
  for (const m of ['8613800000001', '8613800000002', '8613800000003']) {
    const h = await redis.hgetall(keys.consent(m));
    // Values carry the time of the write: keep their shape.
    fields[m] = Object.fromEntries(Object.entries(h).map(([k, v]) => [k, v.replace(/\d{13}/g, 'T')]));
  }
  const journal = (await redis.xrange(keys.journal, '-', '+')).map(([, f]) => f);
  return { fields, journal, replaced: w.replaced };
}

describe('RecordWriter consent rows', () => {
  it('stores and journals the same on the RESP path as through ioredis pipelines', async () => {
    const viaRaw = await load(true);
    const viaIoredis = await load(false);
    expect(viaRaw).toEqual(viaIoredis);
    expect(viaRaw.replaced).toBe(1);
    expect(viaRaw.fields['8613800000001']).toEqual({ 'account:a': 'g:T', 'brand:B': 'g:T:T' });
    expect(viaRaw.fields['8613800000002']).toEqual({ 'account:a': 'r:T' });
    expect(viaRaw.journal).toHaveLength(4);
    expect(viaRaw.journal[1]).toEqual(['op', 'consent.grant', 'who', 'tester', 'channel', 'import', 'evidence', 'form:7', 'msisdn', '8613800000001', 'scope', 'brand:B', 'expires', '1900000000000']);
    expect(viaRaw.journal[2]).toContain('sms');
    expect(viaRaw.journal[3]).toContain('纸质表单 №7');
  });

  it('writes rows field by field, the same, when the actor is not ASCII (no one-string row)', async () => {
    const actor = { who: 'opérateur', channel: '导入' };
    const viaRaw = await load(true, actor, ':u');
    expect(viaRaw).toEqual(await load(false, actor, ':u'));
    expect(viaRaw.journal[0]).toEqual(['op', 'consent.grant', 'who', 'opérateur', 'channel', '导入', 'msisdn', '8613800000001', 'scope', 'account:a']);
    expect(viaRaw.journal[2]).toContain('sms');
  });

  it('journals every row of full and partial batches and trims the journal once per batch', async () => {
    const keys = new Keys(`${BASE}batches:`);
    // 300 entries older than the retention: three whole stream nodes (stream-node-max-entries 100) a trim removes.
    for (let i = 1; i <= 300; i++) await redis.xadd(keys.journal, `${i}-1`, 'op', 'old');
    const pipes = new Pipes(3, 'write');
    const w = new RecordWriter({ redis, pipes, keys, who: 't', channel: 'import', journalRetentionMs: 86_400_000, rowsPerPipe: 64 });
    const n = 64 * 5 + 17;
    try {
      for (let i = 0; i < n; i++) {
        w.consent({ msisdn: String(8613900000000 + i), scope: 'account:a', state: i % 7 === 0 ? 'revoked' : 'granted', expires: null, evidence: `e${i}` });
        if (w.full) await w.flush();
      }
      await w.flush();
      await pipes.drain();
    } finally {
      w.close();
    }
    const entries = await redis.xrange(keys.journal, '-', '+');
    expect(entries.filter(([, f]) => f[1] === 'old')).toHaveLength(0);
    const msisdns = entries.map(([, f]) => f[f.indexOf('msisdn') + 1]);
    expect(msisdns).toEqual(Array.from({ length: n }, (_, i) => String(8613900000000 + i)));
    for (const i of [0, 63, 64, n - 1]) expect(await redis.hget(keys.consent(String(8613900000000 + i)), 'account:a')).toMatch(i % 7 === 0 ? /^r:\d+$/ : /^g:\d+$/);
  });

  it('takes the RESP path only for a plain single Redis', () => {
    expect(plainRedisUrl(redis)).toBe('redis://127.0.0.1:6379/0');
    const withAuth = new Redis({ host: '10.0.0.1', port: 6380, username: 'u', password: 'p@ss', db: 2, lazyConnect: true });
    expect(plainRedisUrl(withAuth)).toBe('redis://u:p%40ss@10.0.0.1:6380/2');
    const tls = new Redis({ host: 'r.example', tls: {}, lazyConnect: true });
    expect(plainRedisUrl(tls)).toBeNull();
    const sentinel = new Redis({ sentinels: [{ host: '127.0.0.1', port: 26379 }], name: 'm', lazyConnect: true });
    expect(plainRedisUrl(sentinel)).toBeNull();
    for (const c of [withAuth, tls, sentinel]) c.disconnect();
  });

  it('fails the load when Redis refuses a batch (RESP path)', async () => {
    const keys = new Keys(`${BASE}wrongtype:`);
    await redis.set(keys.consent('8613800000009'), 'not a hash');
    const pipes = new Pipes(2, 'write');
    const w = new RecordWriter({ redis, pipes, keys, who: 't', channel: 'import', journalRetentionMs: 86_400_000, rowsPerPipe: 10 });
    try {
      w.consent({ msisdn: '8613800000009', scope: 'account:a', state: 'granted', expires: null });
      await w.flush();
      await expect(pipes.drain()).rejects.toThrow(/WRONGTYPE/);
    } finally {
      w.close();
    }
  });
});
