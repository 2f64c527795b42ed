/**
 * The decision buffer (store/audit-stream.ts) on the real Redis: sharding by recipient, the line
 * format, queries by recipient and time (the decision's time, not the append time), limits, the
 * bounds by bytes and by age with their drop counting — each through ioredis and on the stream's
 * own connection (the plain commands it writes itself) — and what happens while Redis cannot take
 * the entries, answers a transaction too late, or lacks a script.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditStream, LINE_FIELDS, type AuditStreamOptions } from '../../src/store/audit-stream.js';
import { createRedis } from '../../src/store/redis.js';
import { RespPipe } from '../../src/store/resp-pipe.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { freePort, PrivateRedis } from '../helpers/private-redis.js';
import { REDIS_URL } from '../helpers/stack.js';
import { clearKeys } from '../helpers/redis-keys.js';

const base = `test:audit:${randomBytes(4).toString('hex')}:`;
let redis: Redis;
const opts = { shards: 8, maxBytes: 0, maxAgeMs: 0, flushMs: 0, maxBuffer: 10_000, instance: 'gw1' };

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  await clearKeys(redis, `${base}*`);
  redis.disconnect();
});

describe.each([
  { path: 'through ioredis', own: false },
  { path: "on the stream's own connection", own: true },
])('audit stream, $path', ({ own }) => {
  const prefix = `${base}${own ? 'pipe' : 'ioredis'}:`;
  let pipe: RespPipe | null = null;
  beforeAll(async () => {
    if (!own) return;
    pipe = new RespPipe(REDIS_URL, 5000);
    expect(await pipe.whenReady(5000)).toBe(true);
  });
  afterAll(() => pipe?.close());
  const stream = (o: AuditStreamOptions, metrics: Metrics | null = null, now: () => number = Date.now, p = prefix) => new AuditStream(redis, p, o, metrics, now, pipe);

  it('finds one recipient among its shard, in decision order, by decision time', async () => {
    // Decided a minute ago, appended now (ids are Redis times; queries allow for the lag).
    const T = Date.now() - 60_000;
    let clock = T;
    const a = stream(opts, null, () => clock);
    // 8613800138000 and 8613800138008 share shard 0 (mod 8); 8613800138001 is in shard 1.
    a.add('esme', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial', '8610690001', '8613800138000', 'G1', 'fp1');
    clock += 5;
    // The SMSC took G1: the second record kind, under the same recipient.
    a.addSmscId('esme', '8610690001', '8613800138000', 'G1', '0A1B\t2C');
    clock += 5;
    a.add('esme', 'reject', 'no_consent', 'policy/consent', 69, 'commercial', '8610690001', '8613800138008');
    a.add('esme', 'reject', 'invalid_destination', 'policy/destination', 11, null, '8610690001', 'abc');
    clock += 10;
    // A peer's separators become spaces, also as a wider character's low byte (U+010A: NL); a field is latin1, each character's low byte.
    a.add('other', 'reject', 'sender_unregistered', 'policy/sender-authorization', 10, null, 'ACME\tBANK\u010a\u4e2d', '8613800138000');
    a.add('esme', 'forward', 'not_commercial', 'policy/classification', 0, 'service', '8610690002', '8613800138001');
    await a.flush();
    // One entry per shard and flush, its decisions one line each.
    expect(await redis.xlen(`${prefix}audit:{a:0}`)).toBe(1);
    expect(await redis.xlen(`${prefix}audit:{a:1}`)).toBe(1);
    const [[, fields]] = (await redis.xrange(`${prefix}audit:{a:0}`, '-', '+')) as [string, string[]][];
    // n: records in the entry; d: one line each (LINE_FIELDS: msg_id, smsc_id, fingerprint, then the score columns).
    expect(fields.slice(0, 3)).toEqual(['n', '4', 'd']);
    expect(fields[3]!.split('\n')).toEqual([
      `${T}\tgw1\tesme\tforward\tconsent_granted\tpolicy/consent\t0\tcommercial\t8610690001\t8613800138000\tG1\t\tfp1\t\t\t`,
      `${T + 5}\tgw1\tesme\tsmsc_id\t\t\t0\t\t8610690001\t8613800138000\tG1\t0A1B 2C\t\t\t\t`,
      `${T + 10}\tgw1\tesme\treject\tno_consent\tpolicy/consent\t69\tcommercial\t8610690001\t8613800138008\t\t\t\t\t\t`,
      `${T + 20}\tgw1\tother\treject\tsender_unregistered\tpolicy/sender-authorization\t10\t\tACME BANK -\t8613800138000\t\t\t\t\t\t`,
      '',
    ]);
    expect(fields[3]!.split('\n')[0]!.split('\t')).toHaveLength(LINE_FIELDS.length);
    // The meta hash counts the bytes; both keys expire when idle.
    expect(Number(await redis.hget(`${prefix}auditm:{a:0}`, 'b'))).toBe(Buffer.byteLength(fields[3]!));
    expect(await redis.pttl(`${prefix}audit:{a:0}`)).toBeGreaterThan(0);
    expect(await redis.pttl(`${prefix}auditm:{a:0}`)).toBeGreaterThan(0);
    const r = await a.decisionsFor('8613800138000');
    expect(r.decisions.map((d) => [d.time, d.account, d.decision, d.reason, d.status, d.class, d.src, d.msgId, d.smscId, d.fingerprint])).toEqual([
      [T, 'esme', 'forward', 'consent_granted', 0, 'commercial', '8610690001', 'G1', null, 'fp1'],
      [T + 5, 'esme', 'smsc_id', '', 0, null, '8610690001', 'G1', '0A1B 2C', null],
      [T + 20, 'other', 'reject', 'sender_unregistered', 10, null, 'ACME BANK -', '', null, null],
    ]);
    expect(r.truncated).toBe(false);
    // from/to select by the decision's time.
    expect((await a.decisionsFor('8613800138000', { from: T + 6 })).decisions.map((d) => d.reason)).toEqual(['sender_unregistered']);
    expect((await a.decisionsFor('8613800138000', { from: T - 1000, to: T + 4 })).decisions.map((d) => d.reason)).toEqual(['consent_granted']);
    const limited = await a.decisionsFor('8613800138000', { limit: 1 });
    expect(limited).toMatchObject({ truncated: true, decisions: [{ reason: 'sender_unregistered' }] });
  });

  it("holds a live forward's decision line until the SMSC answers: one line, the decision's time, the SMSC's id", async () => {
    const T = Date.now() - 30_000;
    let clock = T;
    const p = `${prefix}held:`;
    const a = stream(opts, null, () => clock, p);
    const taken = a.add('esme', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial', '8610690001', '8613800138000', 'G1', 'fp1', null, true)!;
    const refused = a.add('esme', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial', '8610690001', '8613800138008', 'G2', '', null, true)!;
    // Held until close(): no answer comes for it.
    a.add('esme', 'forward', 'not_commercial', 'policy/classification', 0, 'service', '8610690002', '8613800138016', 'G3', '', null, true);
    expect(a.held).toBe(3);
    await a.flush();
    // Nothing is written while held.
    expect(await redis.xlen(`${p}audit:{a:0}`)).toBe(0);
    clock += 40;
    // Released out of order (answers come as they come), each once: a second release writes nothing.
    refused.release('');
    taken.release('0A1B\t2C');
    taken.release('again');
    expect(a.held).toBe(1);
    await a.flush();
    // close() writes what is still held (no answer will come now), without an SMSC id.
    await a.close();
    expect(a.held).toBe(0);
    const [[, fields]] = (await redis.xrange(`${p}audit:{a:0}`, '-', '+')) as [string, string[]][];
    expect(fields.slice(0, 2)).toEqual(['n', '2']);
    expect(fields[3]!.split('\n')).toEqual([
      `${T}\tgw1\tesme\tforward\tconsent_granted\tpolicy/consent\t0\tcommercial\t8610690001\t8613800138008\tG2\t\t\t\t\t`,
      `${T}\tgw1\tesme\tforward\tconsent_granted\tpolicy/consent\t0\tcommercial\t8610690001\t8613800138000\tG1\t0A1B 2C\tfp1\t\t\t`,
      '',
    ]);
    const after = (await redis.xrange(`${p}audit:{a:0}`, '-', '+')) as [string, string[]][];
    expect(after.map(([, f]) => f[1])).toEqual(['2', '1']);
    expect(after[1]![1][3]).toBe(`${T}\tgw1\tesme\tforward\tnot_commercial\tpolicy/classification\t0\tservice\t8610690002\t8613800138016\tG3\t\t\t\t\t\n`);
    // Readers see the decision with its SMSC id.
    const b = stream(opts, null, Date.now, p);
    expect((await b.decisionsFor('8613800138000')).decisions.map((d) => [d.time, d.decision, d.msgId, d.smscId, d.fingerprint])).toEqual([[T, 'forward', 'G1', '0A1B 2C', 'fp1']]);
  });

  it('holds each shard under its byte bound: oldest entries trimmed, their decisions counted dropped', async () => {
    const metrics = new Metrics(false);
    // 8 shards of 4 KiB each.
    const a = stream({ ...opts, maxBytes: 8 * 4096 }, metrics);
    let lineBytes = 0;
    for (let i = 0; i < 300; i++) {
      a.add('esme', 'forward', 'not_commercial', 'policy/classification', 0, null, '1', '8613800000002');
      await a.flush();
      if (i === 0) lineBytes = Number(await redis.hget(`${prefix}auditm:{a:2}`, 'b'));
    }
    const bytes = Number(await redis.hget(`${prefix}auditm:{a:2}`, 'b'));
    expect(bytes).toBeLessThanOrEqual(4096);
    expect(bytes).toBeGreaterThan(4096 - lineBytes - 1);
    const kept = await redis.xlen(`${prefix}audit:{a:2}`);
    expect(kept).toBe(Math.floor(4096 / lineBytes));
    // Nothing was archived: every trimmed decision counts as dropped, in Redis and in the metric.
    expect(Number(await redis.hget(`${prefix}auditm:{a:2}`, 'x'))).toBe(300 - kept);
    expect(await metrics.text()).toMatch(new RegExp(`smppguard_audit_buffer_dropped_total ${300 - kept}\n`));
    // The buffer's own byte count matches what it holds.
    const held = (await redis.xrange(`${prefix}audit:{a:2}`, '-', '+')).reduce((s, [, f]) => s + Buffer.byteLength(f[3]!), 0);
    expect(held).toBe(bytes);
  });

  it('trims entries older than the age bound; archived ones (≤ the cursor) are not counted as dropped', async () => {
    const metrics = new Metrics(false);
    const a = stream({ ...opts, maxAgeMs: 300 }, metrics);
    for (let i = 0; i < 4; i++) a.add('esme', 'forward', 'x', 'y', 0, null, '1', '8613800000005');
    await a.flush();
    a.add('esme', 'forward', 'x', 'y', 0, null, '1', '8613800000005');
    await a.flush();
    // The archive has the first entry (4 decisions) but not the second (1).
    const [first] = (await redis.xrange(`${prefix}audit:{a:5}`, '-', '+', 'COUNT', 1))[0]!;
    await redis.hset(`${prefix}auditm:{a:5}`, 'c', first);
    await new Promise((r) => setTimeout(r, 400));
    a.add('esme', 'forward', 'x', 'y', 0, null, '1', '8613800000005');
    await a.flush();
    expect(await redis.xlen(`${prefix}audit:{a:5}`)).toBe(1);
    expect(await metrics.text()).toMatch(/smppguard_audit_buffer_dropped_total 1\n/);
    const [o] = await redis.hmget(`${prefix}auditm:{a:5}`, 'o');
    const [last] = (await redis.xrange(`${prefix}audit:{a:5}`, '-', '+'))[0]!;
    expect(o).toBe(last.split('-')[0]);
  });

  it('a flush of many decisions is one entry per shard, in calls of bounded size', async () => {
    const a = stream({ ...opts, maxBuffer: 20_000 });
    for (let i = 0; i < 12_000; i++) a.add('esme', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial', '8610690001', String(8613900000000 + i));
    await a.flush();
    expect(await redis.xlen(`${prefix}audit:{a:3}`)).toBe(1);
    const r = await a.decisionsFor(String(8613900000000 + 11_995));
    expect(r.decisions.map((d) => d.dst)).toEqual(['8613900011995']);
  });

  it("every decision lands in its own shard's entry, flush after flush, however many a shard gets", async () => {
    const p = `${prefix}many:`;
    const a = stream({ ...opts, maxBuffer: 50_000 }, null, Date.now, p);
    // 2,500 a shard (~2 MB in all: the buffer grows past its first megabyte), then 100 a shard.
    const rounds = [20_000, 800];
    let next = 0;
    for (const n of rounds) {
      for (let i = 0; i < n; i++, next++) a.add('esme', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial', '8610690001', String(8613900000000 + next), `G${next}`);
      await a.flush();
    }
    for (let s = 0; s < opts.shards; s++) {
      const entries = (await redis.xrange(`${p}audit:{a:${s}}`, '-', '+')) as [string, string[]][];
      expect(entries.map(([, f]) => Number(f[1]))).toEqual([2500, 100]);
      const lines = entries.flatMap(([, f]) => f[3]!.split('\n').filter(Boolean));
      const ids = lines.map((l) => l.split('\t'));
      // Each line whole, in its shard, with its own id; every decision of the shard, in order.
      expect(ids.every((f) => f.length === LINE_FIELDS.length && Number(f[9]) % opts.shards === s && f[10] === `G${Number(f[9]) - 8613900000000}`)).toBe(true);
      // (8613900000000 is a multiple of 8: decision k goes to shard k mod 8.)
      expect(ids.map((f) => Number(f[9]) - 8613900000000)).toEqual(Array.from({ length: 2600 }, (_, j) => s + 8 * j));
    }
  });

});

describe('audit stream, failures', () => {
  const prefix = `${base}fail:`;
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

describe("audit stream on its own connection", () => {
  const prefix = `${base}own:`;
  const lines = (fields: string[]) => fields[3]!.split('\n').filter(Boolean);
  /** A private Redis with an ioredis client and the stream's own connection to it (answer timeout `pipeMs`), for `run`. */
  const onPrivateRedis = async (pipeMs: number, run: (client: Redis, pipe: RespPipe, server: PrivateRedis) => Promise<void>) => {
    const server = await PrivateRedis.start();
    const client = createRedis({ url: server.url, command_timeout_ms: 2000 });
    const pipe = new RespPipe(server.url, pipeMs);
    try {
      await client.connect();
      expect(await pipe.whenReady(5000)).toBe(true);
      await run(client, pipe, server);
    } finally {
      pipe.close();
      client.disconnect();
      await server.stop();
    }
  };

  it('writes on that connection alone: ioredis is not needed while it answers', async () => {
    // ioredis on a port nobody listens on; only the pipe reaches Redis.
    const dead = createRedis({ url: `redis://127.0.0.1:${await freePort()}`, command_timeout_ms: 100 });
    dead.on('error', () => undefined);
    const pipe = new RespPipe(REDIS_URL, 5000);
    expect(await pipe.whenReady(5000)).toBe(true);
    const metrics = new Metrics(false);
    const a = new AuditStream(dead, prefix, { ...opts, maxBuffer: 50_000 }, metrics, Date.now, pipe);
    // Two flushes, several script calls each (1,000 decisions a call), every shard in each.
    for (let f = 0; f < 2; f++) {
      for (let i = 0; i < 3000; i++) a.add('esme', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial', '8610690001', String(8613900000000 + 3000 * f + i), `G${3000 * f + i}`);
      await a.flush();
    }
    const text = await metrics.text();
    expect(text).toMatch(/smppguard_audit_stream_entries_total\{outcome="written"\} 6000\n/);
    expect(text).not.toMatch(/op="audit_stream"/);
    for (let s = 0; s < opts.shards; s++) {
      const entries = (await redis.xrange(`${prefix}audit:{a:${s}}`, '-', '+')) as [string, string[]][];
      expect(entries.map(([, f]) => Number(f[1]))).toEqual([375, 375]);
      expect(entries.flatMap(([, f]) => lines(f)).map((l) => l.split('\t')[10])).toEqual(Array.from({ length: 750 }, (_, j) => `G${s + 8 * j}`));
      expect(Number(await redis.hget(`${prefix}auditm:{a:${s}}`, 'b'))).toBe(entries.reduce((n, [, f]) => n + Buffer.byteLength(f[3]!), 0));
    }
    await a.close();
    pipe.close();
    dead.disconnect();
  });

  it("sends each shard's lines from the shard's own buffer, which nothing writes into until Redis has answered", async () => {
    const pipe = new RespPipe(REDIS_URL, 5000);
    expect(await pipe.whenReady(5000)).toBe(true);
    // What each flush handed the connection, as it was then, and whether it was still so when the replies came.
    const sent: { chunks: Buffer[]; copies: Buffer[] }[] = [];
    const intact: boolean[] = [];
    const send = pipe.send.bind(pipe);
    pipe.send = (resp, replies, done) => {
      const chunks = resp as Buffer[];
      // (The oldest entries' HSETNX after a first flush go the same way: not a flush.)
      if (!chunks[0]!.toString('latin1').startsWith('*1\r\n$5\r\nMULTI')) return send(resp, replies, done);
      const mine = { chunks, copies: chunks.map((c) => Buffer.from(c)) };
      sent.push(mine);
      send(resp, replies, (err, values) => {
        intact.push(mine.chunks.every((c, i) => c.equals(mine.copies[i]!)));
        done(err, values);
      });
    };
    const p = `${prefix}inflight:`;
    const a = new AuditStream(redis, p, { ...opts, maxBuffer: 50_000 }, null, Date.now, pipe);
    // Six flushes, each sent while the ones before it wait for their replies; every round's lines
    // are encoded meanwhile. From the third on, shards reuse the buffers of flushes Redis answered.
    let next = 0;
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 400; i++, next++) a.add('esme', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial', '8610690001', String(8613900000000 + next), `G${next}`);
      const flushed = a.flush();
      if (round % 2 === 1) await flushed;
    }
    await a.close();
    expect(intact).toEqual(Array(6).fill(true));
    // One chunk of text before each shard's lines and one after the last: the lines were not copied into the text.
    expect(sent[0]!.chunks).toHaveLength(2 * opts.shards + 1);
    for (let s = 0; s < opts.shards; s++) {
      const entries = (await redis.xrange(`${p}audit:{a:${s}}`, '-', '+')) as [string, string[]][];
      expect(entries.map(([, f]) => Number(f[1]))).toEqual(Array(6).fill(50));
      expect(entries.flatMap(([, f]) => lines(f)).map((l) => l.split('\t')[10])).toEqual(Array.from({ length: 300 }, (_, j) => `G${s + 8 * j}`));
    }
    pipe.close();
  });

  it('appends with plain commands in one MULTI/EXEC: no script, and a Redis without audit-hold.lua gets it through ioredis', () =>
    onPrivateRedis(5000, async (client, pipe) => {
      const metrics = new Metrics(false);
      // 8 shards of 150 bytes: a flush of two decisions fits (~110 bytes), the second takes shard 1 past its bound.
      const a = new AuditStream(client, prefix, { ...opts, maxBytes: 8 * 150 }, metrics, Date.now, pipe);
      for (let f = 0; f < 2; f++) {
        for (let i = 0; i < 2; i++) a.add('esme', 'forward', 'x', 'y', 0, null, '1', '8613800000001');
        await a.flush();
      }
      const meta = `${prefix}auditm:{a:1}`;
      const entries = (await client.xrange(`${prefix}audit:{a:1}`, '-', '+')) as [string, string[]][];
      expect(entries).toHaveLength(1);
      expect(Number(await client.hget(meta, 'b'))).toBe(Buffer.byteLength(entries[0]![1][3]!));
      expect(await client.hget(meta, 'o')).toBe(entries[0]![0].split('-')[0]);
      expect(await client.hget(meta, 's:gw1')).toMatch(/^2:\d+$/);
      expect(Number(await client.hget(meta, 'x'))).toBe(2);
      expect(await client.pttl(meta)).toBeGreaterThan(86_400_000);
      const text = await metrics.text();
      expect(text).toMatch(/smppguard_audit_stream_entries_total\{outcome="written"\} 4\n/);
      expect(text).toMatch(/smppguard_audit_buffer_dropped_total 2\n/);
      expect(text).not.toMatch(/op="audit_stream"/);
      // Two transactions; the one script call is the hold, which ioredis loaded (EVAL: its first on this connection).
      const stats = await client.info('commandstats');
      expect(stats).toMatch(/cmdstat_exec:calls=2,/);
      expect(stats).toMatch(/cmdstat_eval:calls=1,/);
      expect(stats).not.toMatch(/cmdstat_evalsha/);
      expect(stats).toMatch(/cmdstat_hsetnx:calls=1,/);
      await a.close();
    }));

  it('a transaction Redis ran but answered too late is not buffered twice when its blocks are sent again', () =>
    onPrivateRedis(200, async (client, pipe, server) => {
      const metrics = new Metrics(false);
      const a = new AuditStream(client, `${prefix}twice:`, opts, metrics, Date.now, pipe);
      // Frozen: the transaction waits in Redis's socket past the pipe's timeout, then runs on thaw.
      server.freeze();
      a.add('esme', 'forward', 'x', 'y', 0, null, '1', '8613800000003');
      await a.flush();
      expect(await metrics.text()).toMatch(/smppguard_redis_errors_total\{op="audit_stream"\} 1\n/);
      server.thaw();
      const key = `${prefix}twice:audit:{a:3}`;
      await expect.poll(() => client.xlen(key), { timeout: 5000 }).toBe(1);
      // The retry (with a new decision) goes through ioredis and the append script, which skips the block it already has.
      a.add('esme', 'forward', 'x', 'y', 0, null, '1', '8613800000003');
      await a.flush();
      const entries = (await client.xrange(key, '-', '+')) as [string, string[]][];
      expect(entries.map(([, f]) => Number(f[1]))).toEqual([1, 1]);
      // Each decision counted written once: the first when its block was found taken.
      expect(await metrics.text()).toMatch(/smppguard_audit_stream_entries_total\{outcome="written"\} 2\n/);
      await a.close();
    }));

  it('a call the connection does not answer in time is kept and sent again through ioredis with the next flush', async () => {
    // The pipe to a server that freezes; ioredis to the shared Redis.
    const server = await PrivateRedis.start();
    const pipe = new RespPipe(server.url, 200);
    try {
      expect(await pipe.whenReady(5000)).toBe(true);
      const metrics = new Metrics(false);
      const a = new AuditStream(redis, `${prefix}late:`, opts, metrics, Date.now, pipe);
      server.freeze();
      a.add('esme', 'forward', 'x', 'y', 0, null, '1', '8613800000004');
      await a.flush();
      expect(await metrics.text()).toMatch(/smppguard_redis_errors_total\{op="audit_stream"\} 1\n/);
      expect(await redis.exists(`${prefix}late:audit:{a:4}`)).toBe(0);
      // Kept: the next flush sends it (with a new decision) through ioredis.
      a.add('esme', 'forward', 'x', 'y', 0, null, '1', '8613800000004');
      await a.flush();
      const entries = (await redis.xrange(`${prefix}late:audit:{a:4}`, '-', '+')) as [string, string[]][];
      expect(entries.map(([, f]) => Number(f[1]))).toEqual([1, 1]);
      expect(await metrics.text()).toMatch(/smppguard_audit_stream_entries_total\{outcome="written"\} 2\n/);
      await a.close();
    } finally {
      pipe.close();
      await server.stop();
    }
  });
});
