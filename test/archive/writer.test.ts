/**
 * The archive writer (archive/writer.ts) and reader (archive/reader.ts) on the real Redis and a
 * temp directory: files DuckDB reads, no duplicate and no gap, resume after a restart, recovery from
 * a dead writer's leftovers, trim only after the grace, two writers on one directory, batches over
 * two days, compaction, retention, and evidence identical before and after archiving.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDays, listPartition, partitionDir, withoutContained } from '../../src/archive/layout.js';
import { ArchiveReader } from '../../src/archive/reader.js';
import { ROW_GROUP_ROWS } from '../../src/archive/schema.js';
import { ArchiveWriter, sameSize, type ArchiveWriterOptions } from '../../src/archive/writer.js';
import { ArchiveBuffer } from '../../src/store/archive-buffer.js';
import { AuditStream } from '../../src/store/audit-stream.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { REDIS_URL } from '../helpers/stack.js';
import { clearKeys } from '../helpers/redis-keys.js';

const SHARDS = 4;
let redis: Redis;
/** This file's keys all start with this: one SCAN clears them (a SCAN per prefix over a Redis holding the benchmark's millions of keys outlasted the hook's timeout). */
const RUN = `test:archive:${randomBytes(4).toString('hex')}:`;
let made = 0;
const dirs: string[] = [];

function setup(over: Partial<ArchiveWriterOptions> = {}, now: () => number = Date.now) {
  const prefix = `${RUN}${made++}:`;
  const dir = mkdtempSync(join(tmpdir(), 'sg-archive-'));
  dirs.push(dir);
  const stream = new AuditStream(redis, prefix, { shards: SHARDS, maxBytes: 0, maxAgeMs: 0, flushMs: 0, maxBuffer: 1_000_000, instance: 'gw1' }, null, now);
  const buffer = new ArchiveBuffer(redis, prefix);
  const opts: ArchiveWriterOptions = {
    dir,
    shards: SHARDS,
    batchDecisions: 1_000_000,
    batchMs: 60_000,
    leaseMs: 10_000,
    graceMs: 0,
    retentionDays: 150,
    compactFiles: 16,
    compactTargetBytes: 64 << 20,
    threads: 1,
    tickMs: 50,
    ...over,
  };
  const writer = (o: Partial<ArchiveWriterOptions> = {}, metrics: Metrics | null = null, now?: () => number) =>
    new ArchiveWriter(new ArchiveBuffer(redis, prefix), { ...opts, ...o }, { metrics, ...(now ? { now } : {}) });
  const reader = new ArchiveReader(stream, buffer, dir);
  return { prefix, dir, stream, buffer, writer, reader };
}

/** Every decision in the archive, through DuckDB's own glob over the hive layout. */
async function allRows(dir: string): Promise<{ recipient: bigint; t: bigint; account: string; day: string; shard: bigint }[]> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const r = await c.runAndReadAll(
    `SELECT recipient, epoch_ms(time) AS t, account, CAST(day AS VARCHAR) AS day, shard FROM read_parquet('${dir}/decisions/**/*.parquet', hive_partitioning = true) ORDER BY t, recipient`,
  );
  const rows = r.getRowObjectsJS() as { recipient: bigint; t: bigint; account: string; day: string; shard: bigint }[];
  c.closeSync();
  db.closeSync();
  return rows;
}

/** A writer's own buffer, to watch what it reads. */
const bufferOf = (w: ArchiveWriter) => (w as unknown as { buffer: ArchiveBuffer }).buffer;

function addMany(stream: AuditStream, n: number, base: number, tag = 'esme') {
  for (let i = 0; i < n; i++) stream.add(tag, 'forward', 'consent_granted', 'policy/consent', 0, 'commercial', '8610690001', String(base + i));
}

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  await clearKeys(redis, `${RUN}*`);
  redis.disconnect();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('archive writer', () => {
  it('writes each decision once into hive-partitioned Parquet DuckDB reads, and resumes after a restart', async () => {
    const { dir, stream, writer, buffer, prefix } = setup();
    addMany(stream, 1000, 8613800000000);
    await stream.flush();
    const metrics = new Metrics(false);
    const w1 = writer({}, metrics);
    await w1.tick(true);
    expect(w1.shards).toEqual([0, 1, 2, 3]);
    let rows = await allRows(dir);
    expect(rows).toHaveLength(1000);
    expect(new Set(rows.map((r) => r.recipient)).size).toBe(1000);
    // Partitions: day=…/shard=…, the shard being recipient mod shards.
    for (const r of rows) expect(Number(r.recipient % 4n)).toBe(Number(r.shard));
    expect(rows[0]!.day).toBe(new Date().toISOString().slice(0, 10));
    // Each file is named by the stream-id range it holds; the cursor is its end.
    const day = listDays(dir)[0]!;
    const files = listPartition(dir, day, 0, SHARDS);
    expect(files).toHaveLength(1);
    expect(await buffer.cursor(0)).toBe(files[0]!.last);
    const text = await metrics.text();
    expect(text).toMatch(/smppguard_archive_decisions_total 1000\n/);
    expect(text).toMatch(/smppguard_archive_files_total 4\n/);
    // Nothing new: nothing written again.
    await w1.tick(true);
    expect(await allRows(dir)).toHaveLength(1000);
    await w1.stop();
    // The leases are given back; a new writer resumes from the cursor.
    expect(await redis.exists(`${prefix}auditlease:{a:0}`)).toBe(0);
    addMany(stream, 500, 8613900000000);
    await stream.flush();
    const w2 = writer();
    await w2.tick(true);
    rows = await allRows(dir);
    expect(rows).toHaveLength(1500);
    expect(new Set(rows.map((r) => r.recipient)).size).toBe(1500);
    await w2.stop();
  });

  it('a batch of more buffer entries than a page (2,000) and a writev (1,024) is written whole, in order; batch_decisions splits it', async () => {
    // 2,100 flushes of one decision each: 2,100 entries in shard 0's stream (two pages of XRANGE).
    const N = 2100;
    const expected = Array.from({ length: N }, (_, i) => 8613900000000 + SHARDS * i);
    const fill = async (stream: AuditStream) => {
      for (const dst of expected) {
        stream.add('esme', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial', '8610690001', String(dst));
        await stream.flush();
      }
    };
    // One batch; then batches of 500 decisions: five files. Every decision once, in order.
    for (const [batchDecisions, files] of [[1_000_000, 1], [500, 5]] as const) {
      const { stream, writer, dir } = setup({ batchDecisions });
      await fill(stream);
      const w = writer();
      await w.tick(true);
      await w.stop();
      expect((await allRows(dir)).map((r) => Number(r.recipient))).toEqual(expected);
      expect(listPartition(dir, listDays(dir)[0]!, 0, SHARDS)).toHaveLength(files);
    }
  });

  it('between batches a tick reads no decision lines: a shard\'s oldest pending entry is read once, and leases go out together', async () => {
    const { stream, dir, prefix, writer } = setup();
    const t0 = Date.now();
    let clock = t0;
    const metrics = new Metrics(false);
    const w = writer({}, metrics, () => clock);
    const buffer = bufferOf(w);
    const reads: number[] = [];
    const counts: number[] = [];
    const entriesAfter = buffer.entriesAfter.bind(buffer);
    buffer.entriesAfter = async (shard, after, count) => {
      const r = await entriesAfter(shard, after, count);
      reads.push(r.reduce((n, e) => n + e.d.length, 0));
      counts.push(count);
      return r;
    };
    let inFlight = 0;
    let mostInFlight = 0;
    const renew = buffer.renew.bind(buffer);
    buffer.renew = async (...a) => {
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      try {
        return await renew(...a);
      } finally {
        inFlight--;
      }
    };
    await w.tick(); // takes the shards; nothing buffered yet
    addMany(stream, 400, 8613800000000);
    await stream.flush();
    reads.length = 0;
    await w.tick(); // finds each shard's oldest entry (its lines come with it), not due
    expect(reads).toHaveLength(SHARDS);
    expect(reads.every((b) => b > 0)).toBe(true);
    // Before the first shard's turn (a quarter of the period in).
    for (let i = 0; i < 2; i++) {
      reads.length = 0;
      clock += 5_000;
      await w.tick();
      expect(reads).toEqual([]);
    }
    expect(mostInFlight).toBe(SHARDS);
    // The lag gauge still follows the oldest entry (appended at about the clock's start).
    expect(Number(/^smppguard_archive_lag_seconds (\S+)$/m.exec(await metrics.text())![1])).toBeCloseTo(10, 0);
    expect(listDays(dir)).toEqual([]);
    // Every shard's turn has come: written; the next oldest is then read afresh (none).
    clock = t0 + 61_000;
    await w.tick();
    expect(await allRows(dir)).toHaveLength(400);
    // Entries the buffer's bounds trimmed before they were archived: once a read finds nothing after
    // the cursor, the shard's oldest is looked for afresh (one entry), not taken as due every tick.
    clock = Date.now(); // the entries' ids are Redis's time
    addMany(stream, 40, 8613900000000);
    await stream.flush();
    await w.tick();
    for (let s = 0; s < SHARDS; s++) await redis.xtrim(`${prefix}audit:{a:${s}}`, 'MAXLEN', 0);
    clock += 61_000;
    await w.tick(); // due by the known oldest; the read finds nothing
    counts.length = 0;
    await w.tick();
    expect(counts).toEqual(Array(SHARDS).fill(1));
    addMany(stream, 40, 8614000000000);
    await stream.flush();
    clock = Date.now() + 61_000;
    await w.tick();
    expect(await allRows(dir)).toHaveLength(440);
    await w.stop();
  });

  it('the shards fall due one at a time, spread over the batch period, and no decision waits longer than the period', async () => {
    const { stream, dir, writer } = setup();
    // The writer started 15.5 s ago: shard s's turn comes (s + 1) quarters of the period after
    // that, i.e. shard 0's came half a second ago, shard 1's is 14.5 s ahead, and so on.
    const t0 = Date.now();
    let clock = t0 - 15_500;
    const w = writer({}, null, () => clock);
    const written = () => (listDays(dir).length === 0 ? [] : [0, 1, 2, 3].filter((s) => listPartition(dir, listDays(dir)[0]!, s, SHARDS).length > 0));
    clock = t0;
    addMany(stream, 400, 8613800000000);
    await stream.flush();
    await w.tick();
    expect(written()).toEqual([]);
    // Shard 0's decisions came just after its turn: they wait for the next one, just under a period.
    for (const [at, shards] of [[14_000, []], [15_000, [1]], [30_000, [1, 2]], [45_000, [1, 2, 3]], [59_000, [1, 2, 3]], [60_000, [0, 1, 2, 3]]] as const) {
      clock = t0 + at;
      await w.tick();
      expect(written()).toEqual(shards);
    }
    expect((await allRows(dir)).length).toBe(400);
    await w.stop();
  });

  it('a batch of large buffer entries is read in pages of about a megabyte (Redis builds each reply whole)', async () => {
    const { stream, writer, dir, prefix } = setup();
    // 40 flushes of 1,000 decisions to shard 0: entries of ~100 KB each, 4 MB in all.
    let dst = 8613800000000;
    for (let f = 0; f < 40; f++) {
      for (let i = 0; i < 1000; i++, dst += SHARDS) stream.add('esme', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial', '8610690001', String(dst));
      await stream.flush();
    }
    const entry = (await redis.xrange(`${prefix}audit:{a:0}`, '-', '+', 'COUNT', 1))[0]![1][3]!.length;
    expect(entry).toBeGreaterThan(50_000);
    const w = writer();
    const replies: number[] = [];
    const buffer = bufferOf(w);
    const entriesAfter = buffer.entriesAfter.bind(buffer);
    buffer.entriesAfter = async (...a) => {
      const r = await entriesAfter(...a);
      replies.push(r.reduce((n, e) => n + e.d.length, 0));
      return r;
    };
    await w.tick(true);
    await w.stop();
    expect(await allRows(dir)).toHaveLength(40_000);
    expect(replies.reduce((a, b) => a + b, 0)).toBeGreaterThan(40 * entry * 0.9);
    for (const b of replies) expect(b).toBeLessThanOrEqual((1 << 20) + entry);
  });

  it('trims archived entries only after the grace, and never those after the cursor', async () => {
    const { stream, writer, prefix } = setup();
    addMany(stream, 100, 8613800000000);
    await stream.flush();
    const w = writer({ graceMs: 3000 });
    await w.tick(true);
    addMany(stream, 10, 8613700000000);
    await stream.flush();
    const before = await redis.xlen(`${prefix}audit:{a:0}`);
    expect(before).toBe(2);
    await w.tick(false); // within the grace: nothing trimmed (the new entry is not due)
    expect(await redis.xlen(`${prefix}audit:{a:0}`)).toBe(2);
    await new Promise((r) => setTimeout(r, 3100));
    await w.tick(false);
    // The archived entry is gone, the one after the cursor stays.
    expect(await redis.xlen(`${prefix}audit:{a:0}`)).toBe(1);
    const [b] = await redis.hmget(`${prefix}auditm:{a:0}`, 'b');
    const [[, f]] = (await redis.xrange(`${prefix}audit:{a:0}`, '-', '+')) as [string, string[]][];
    expect(Number(b)).toBe(Buffer.byteLength(f[3]!));
    await w.stop();
  });

  it('recovers from a dead writer: temp files and incomplete batches after the cursor removed, a published batch not written twice', async () => {
    const { dir, stream, writer, buffer, prefix } = setup();
    addMany(stream, 40, 8613800000000);
    await stream.flush();
    const w1 = writer();
    await w1.tick(true);
    const cursor = (await buffer.cursor(0))!;
    // A writer died after publishing a batch but before moving the cursor: put the cursor back.
    await redis.hdel(`${prefix}auditm:{a:0}`, 'c');
    // … and it left a temp file and one piece of a two-day batch after the cursor.
    const pdir = partitionDir(dir, listDays(dir)[0]!, 0, SHARDS);
    writeFileSync(join(pdir, '.9999999999999-0_9999999999999-1.parquet.tmp'), 'partial');
    writeFileSync(join(pdir, '9999999999999-0_9999999999999-1-2of2.parquet'), 'not a parquet file');
    await w1.stop();
    const w2 = writer();
    await w2.tick(true);
    expect(readdirSync(pdir).sort()).toEqual([`${listPartition(dir, listDays(dir)[0]!, 0, SHARDS)[0]!.name}`]);
    // The cursor comes back from the file names; the batch is not written again.
    expect(await buffer.cursor(0)).toBe(cursor);
    expect(await allRows(dir)).toHaveLength(40);
    await w2.stop();
  });

  it('two writers on one directory and one Redis: shards split by lease, each decision archived once', async () => {
    const { dir, stream, writer } = setup();
    const a = writer();
    const b = writer();
    // a takes every free shard; b waits; a stops; b takes over.
    await a.tick(true);
    await b.tick(true);
    expect(a.shards).toEqual([0, 1, 2, 3]);
    expect(b.shards).toEqual([]);
    addMany(stream, 300, 8613800000000, 'one');
    await stream.flush();
    await Promise.all([a.tick(true), b.tick(true)]);
    await a.stop();
    addMany(stream, 300, 8613900000000, 'two');
    await stream.flush();
    await b.tick(true);
    expect(b.shards).toEqual([0, 1, 2, 3]);
    await b.tick(true);
    const rows = await allRows(dir);
    expect(rows).toHaveLength(600);
    expect(new Set(rows.map((r) => r.recipient)).size).toBe(600);
    await b.stop();
  });

  it('a batch over two days is one file per day, k of n, with one stream-id range', async () => {
    const dayStart = Date.UTC(2026, 10, 30);
    let clock = dayStart - 1000;
    const { dir, stream, writer, reader } = setup({}, () => clock);
    addMany(stream, 10, 8613800000000);
    clock = dayStart + 1000;
    addMany(stream, 10, 8613800000100);
    await stream.flush();
    const w = writer();
    await w.tick(true);
    expect(listDays(dir)).toEqual(['2026-11-29', '2026-11-30']);
    const [p1] = listPartition(dir, '2026-11-29', 0, SHARDS);
    const [p2] = listPartition(dir, '2026-11-30', 0, SHARDS);
    expect([p1!.k, p1!.n, p2!.k, p2!.n]).toEqual([1, 2, 2, 2]);
    expect(p1!.first).toBe(p2!.first);
    expect((await allRows(dir)).map((r) => r.day)).toEqual([...Array(10).fill('2026-11-29'), ...Array(10).fill('2026-11-30')]);
    const r = await reader.decisionsFor('8613800000100');
    expect(r.decisions.map((d) => d.time)).toEqual([dayStart + 1000]);
    await w.stop();
  });

  it('merges a shard-day of small files into one; readers ignore the merged-away files, which go after the grace', async () => {
    const { dir, stream, writer, reader } = setup({ compactFiles: 3, graceMs: 3000 });
    const w = writer();
    for (let i = 0; i < 3; i++) {
      addMany(stream, 4, 8613800000000 + i * 4);
      await stream.flush();
      await w.tick(true);
    }
    const day = listDays(dir)[0]!;
    const files = listPartition(dir, day, 0, SHARDS);
    // Three batches and the merged file, whose range covers them.
    expect(files).toHaveLength(4);
    expect(files[0]!.first).toBe(files[1]!.first);
    expect(files[0]!.last).toBe(files[3]!.last);
    const r = await reader.decisionsFor('8613800000004');
    expect(r.decisions).toHaveLength(1);
    await new Promise((res) => setTimeout(res, 3100));
    expect(listPartition(dir, day, 0, SHARDS)).toHaveLength(1);
    expect(await allRows(dir)).toHaveLength(12);
    await w.stop();
  });

  it('merges files of about one size: a merged file waits for others of its size instead of being rewritten with every few batches', async () => {
    const { dir, stream, writer, reader } = setup({ compactFiles: 4 });
    const metrics = new Metrics(false);
    const w = writer({}, metrics);
    const day = new Date().toISOString().slice(0, 10);
    const live = () => withoutContained(listPartition(dir, day, 0, SHARDS)).live.map((f) => `${f.first}_${f.last}`);
    const batches: string[][] = [];
    let n = 0;
    for (let b = 1; b <= 16; b++) {
      // 2,000 decisions of shard 0 with random message ids: a file's size is its rows', not its footer's.
      for (let i = 0; i < 2000; i++, n++) stream.add('esme', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial', '8610690001', String(8613800000000 + SHARDS * n), randomBytes(8).toString('hex'));
      await stream.flush();
      await w.tick(true);
      batches.push(listPartition(dir, day, 0, SHARDS).map((f) => `${f.first}_${f.last}`));
      if (b === 7) {
        // Batches 1-4 merged; 5-7 wait for a fourth of their size (merging the whole day rewrote the first merge here).
        const [m1, ...rest] = live();
        expect(rest).toHaveLength(3);
        expect(m1!.split('_')[0]).toBe(batches[0]![0]!.split('_')[0]);
        expect(batches[3]!).toContain(m1);
      }
    }
    // Four merged files of four batches each, then those four into one: every decision in it, once.
    const [all, ...none] = live();
    expect(none).toEqual([]);
    expect(all!.split('_')[0]).toBe(batches[0]![0]!.split('_')[0]);
    expect(await allRows(dir)).toHaveLength(16 * 2000);
    const r = await reader.decisionsFor(String(8613800000000 + SHARDS * 12345));
    expect(r.decisions).toHaveLength(1);
    // Each decision rewritten twice (its tier's merge, then the tiers'); merging the whole run would
    // have rewritten 50 batches' worth of data for these 16.
    const counted = async (c: { get(): Promise<{ values: { value: number }[] }> }) => (await c.get()).values[0]!.value;
    expect(await counted(metrics.archiveMerges)).toBe(5);
    const rewritten = (await counted(metrics.archiveMergedBytes)) / (await counted(metrics.archiveBytes));
    console.log(`merged bytes / batch bytes: ${rewritten.toFixed(2)}`);
    expect(rewritten).toBeGreaterThan(1.5);
    expect(rewritten).toBeLessThan(2.6);
    await w.stop();
  });

  it("a batch's file of one row group keeps buffer order; one of more row groups is sorted by recipient, then time", async () => {
    for (const n of [1000, ROW_GROUP_ROWS + 1000]) {
      const { dir, stream, writer } = setup();
      // Shard 0's recipients, newest first: buffer order is the reverse of the sort.
      for (let i = 0; i < n; i++) stream.add('esme', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial', '8610690001', String(8613800000000 + SHARDS * (n - i)));
      await stream.flush();
      const w = writer();
      await w.tick(true);
      await w.stop();
      const [file] = listPartition(dir, listDays(dir)[0]!, 0, SHARDS);
      const db = await DuckDBInstance.create(':memory:', { threads: '1' });
      const c = await db.connect();
      const got = (await c.runAndReadAll(`SELECT recipient FROM read_parquet('${file!.path}')`)).getRows().map((r) => Number(r[0]));
      const groups = Number((await c.runAndReadAll(`SELECT count(DISTINCT row_group_id) FROM parquet_metadata('${file!.path}')`)).getRows()[0]![0]);
      c.closeSync();
      db.closeSync();
      expect(got).toHaveLength(n);
      expect(groups).toBe(n > ROW_GROUP_ROWS ? 2 : 1);
      const ascending = got.every((r, i) => i === 0 || got[i - 1]! < r);
      expect(ascending).toBe(n > ROW_GROUP_ROWS);
    }
  });

  it('sameSize takes the newest files back to one much bigger than those taken', () => {
    const f = (...kb: number[]) => kb.map((bytes) => ({ bytes }));
    expect(sameSize(f(160, 10, 12, 9), 16)).toEqual(f(10, 12, 9));
    expect(sameSize(f(160, 150, 170, 10), 16)).toEqual(f(10));
    expect(sameSize(f(150, 160, 170), 16)).toEqual(f(150, 160, 170));
    // Smaller files before the newest ones are of their size too (a quiet hour before a busy one).
    expect(sameSize(f(300, 2, 3, 40, 50), 16)).toEqual(f(2, 3, 40, 50));
    // compact_files 2 and 3: a file more than twice the mean stops it.
    expect(sameSize(f(21, 10), 2)).toEqual(f(10));
    expect(sameSize(f(20, 10), 3)).toEqual(f(20, 10));
    expect(sameSize([], 16)).toEqual([]);
  });

  it('a file written before later columns existed reads them as NULL, alone and merged with newer files', async () => {
    const { dir, stream, writer, reader } = setup({ compactFiles: 2 });
    const w = writer();
    const who = '8613800000008'; // shard 0
    stream.add('esme', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial', '8610690001', who, 'G1', 'fp1');
    await stream.flush();
    await w.tick(true);
    // Rewrite that file as an older gateway wrote it: the base columns only.
    const day = listDays(dir)[0]!;
    const [old] = listPartition(dir, day, 0, SHARDS);
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    const tmp = join(dir, 'old.parquet');
    await c.run(`COPY (SELECT * EXCLUDE (msg_id, smsc_id, fingerprint, score, model_version, score_detail) FROM read_parquet('${old!.path}')) TO '${tmp}' (FORMAT parquet)`);
    await c.run(`COPY (SELECT * FROM read_parquet('${tmp}')) TO '${old!.path}' (FORMAT parquet)`);
    rmSync(tmp);
    const cols = (await c.runAndReadAll(`SELECT name FROM parquet_schema('${old!.path}')`)).getRowObjectsJS().map((r) => r.name);
    c.closeSync();
    db.closeSync();
    expect(cols).not.toContain('msg_id');
    let r = await reader.decisionsFor(who);
    expect(r.decisions.map((d) => [d.reason, d.msgId, d.smscId, d.fingerprint])).toEqual([['consent_granted', '', null, null]]);
    // A newer file beside it: both read, and the merge of the two keeps every column.
    stream.addSmscId('esme', '8610690001', who, 'G1', '0A1B2C');
    await stream.flush();
    await w.tick(true);
    r = await reader.decisionsFor(who);
    expect(r.decisions.map((d) => [d.decision, d.msgId, d.smscId])).toEqual([
      ['forward', '', null],
      ['smsc_id', 'G1', '0A1B2C'],
    ]);
    expect(listPartition(dir, day, 0, SHARDS).some((f) => f.first === old!.first && f.last !== old!.last)).toBe(true);
    await w.stop();
  });

  it('retention deletes whole day partitions older than retention_days', async () => {
    const { dir, stream, writer } = setup({ retentionDays: 2 });
    const old = join(dir, 'decisions', 'day=2001-01-01', 'shard=0');
    mkdirSync(old, { recursive: true });
    writeFileSync(join(old, '1-0_2-0.parquet'), 'x');
    addMany(stream, 4, 8613800000000);
    await stream.flush();
    const w = writer();
    await w.tick(true);
    expect(existsSync(join(dir, 'decisions', 'day=2001-01-01'))).toBe(false);
    expect(listDays(dir)).toHaveLength(1);
    await w.stop();
  });
});

describe('archive reader', () => {
  it('archive + buffer: the same decisions before and after they move to the archive, no duplicate', async () => {
    const T = Date.now() - 5000;
    let clock = T;
    const { stream, writer, reader } = setup({ graceMs: 0 }, () => clock);
    const who = '8613800138000';
    for (let i = 0; i < 5; i++) {
      clock = T + i * 10;
      stream.add('esme', i % 2 ? 'reject' : 'forward', i % 2 ? 'no_consent' : 'consent_granted', i === 3 ? '' : 'policy/consent', i % 2 ? 69 : 0, i === 4 ? null : 'commercial', 'ACME BANK', who);
      stream.add('esme', 'forward', 'x', 'y', 0, null, '1', '8613800138004'); // same shard, other number
    }
    await stream.flush();
    const before = await reader.decisionsFor(who);
    expect(before.decisions).toHaveLength(5);
    const w = writer();
    await w.tick(true);
    const after = await reader.decisionsFor(who);
    await w.tick(false); // grace 0: the archived entries leave the buffer
    const trimmed = await reader.decisionsFor(who);
    const strip = (r: typeof before) => r.decisions.map((d) => ({ ...d, id: '' }));
    expect(strip(after)).toEqual(strip(before));
    expect(strip(trimmed)).toEqual(strip(before));
    // One more decision in the buffer, after the cursor: read once.
    clock = T + 100;
    stream.add('esme', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial', 'ACME BANK', who);
    await stream.flush();
    const mixed = await reader.decisionsFor(who, { limit: 3 });
    expect(mixed.truncated).toBe(true);
    expect(mixed.decisions.map((d) => d.time)).toEqual([T + 30, T + 40, T + 100]);
    expect((await reader.decisionsFor(who, { from: T + 15, to: T + 35 })).decisions.map((d) => d.time)).toEqual([T + 20, T + 30]);
    await w.stop();
  });
});
