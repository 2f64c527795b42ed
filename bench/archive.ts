/**
 * Decision archive benchmark (`npm run bench:archive -- <step>`), docs/evidence.md:
 *
 *   generate --dir D [--decisions 100000000] [--days 150] [--shards 64] [--subscribers 20000000]
 *            [--optional]
 *       writes that many synthetic decisions straight into the archive layout with DuckDB (one
 *       file per shard and day, sorted by recipient then time, named by a stream-id range as the
 *       writer names them), and prints bytes per decision. --optional fills msg_id, fingerprint,
 *       score and model_version too; --smsc-ids adds the smsc_id record of every forwarded decision.
 *   query --dir D [--shards 64] [--rounds 5]
 *       evidence for one MSISDN over the whole retention through archive/reader.ts (the code the
 *       API and CLI run), timed: first (cold) and the median of the rest, for numbers picked from
 *       the archive.
 *   writer [--decisions 1000000] [--shards 64] [--threads 1]
 *       fills a Redis buffer (REDIS_URL, a throwaway prefix) through store/audit-stream.ts, then
 *       times archive/writer.ts draining it: decisions/s and bytes per decision.
 *   compaction [--batches 213] [--lines 3750] [--target-mb 6.4] [--compact-files 16] [--build DIR]
 *       one shard's day in small: that many batches of that many decision lines (random
 *       recipients and message ids), each written by archive/writer.ts and followed by its
 *       housekeeping, as a writer does every batch_seconds; prints the writer's CPU a line (its
 *       DuckDB threads included), the merges and the files left. The defaults keep production's
 *       ratio of batch file to compact_target_mb at 20,000 msg/s (~300 KB to 64 MB) at a tenth of
 *       the size. --build: another checkout's built writer (its dist/), to compare in one sitting.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { Duck, sqlString } from '../src/archive/duck.js';
import { partitionDir } from '../src/archive/layout.js';
import { ArchiveReader } from '../src/archive/reader.js';
import { PARQUET_OPTIONS, fileName } from '../src/archive/schema.js';
import { ArchiveWriter } from '../src/archive/writer.js';
import { ArchiveBuffer } from '../src/store/archive-buffer.js';
import { AuditStream } from '../src/store/audit-stream.js';
import { Metrics } from '../src/telemetry/metrics.js';
import { scanKeys } from '../src/store/redis.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DAY = 86_400_000;

function flag(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
}
const has = (name: string) => process.argv.includes(`--${name}`);

function du(dir: string): { bytes: number; files: number; biggest: number } {
  let bytes = 0;
  let files = 0;
  let biggest = 0;
  for (const f of readdirSync(dir, { recursive: true }) as string[]) {
    if (!f.endsWith('.parquet')) continue;
    const size = statSync(join(dir, f)).size;
    bytes += size;
    biggest = Math.max(biggest, size);
    files++;
  }
  return { bytes, files, biggest };
}

async function generate(): Promise<void> {
  const dir = flag('dir', '');
  if (!dir) throw new Error('--dir is required');
  const total = Number(flag('decisions', '100000000'));
  const days = Number(flag('days', '150'));
  const shards = Number(flag('shards', '64'));
  const subs = Number(flag('subscribers', '20000000'));
  const optional = has('optional');
  const duck = new Duck(Number(flag('threads', '2')));
  mkdirSync(dir, { recursive: true });
  const perDay = Math.ceil(total / days);
  const end = Date.UTC(2026, 11, 1);
  const t0 = performance.now();
  // Value mixes like live traffic: a few dozen accounts, a thousand senders, a handful of outcomes.
  const opt = optional
    ? `printf('%016x', i) AS msg_id, NULL::VARCHAR AS smsc_id, printf('%016x', hash(i)) AS fingerprint, CAST((hash(i) % 1000) / 1000.0 AS FLOAT) AS score, 'spam-v3' AS model_version, NULL::VARCHAR AS score_detail`
    : 'NULL::VARCHAR AS msg_id, NULL::VARCHAR AS smsc_id, NULL::VARCHAR AS fingerprint, NULL::FLOAT AS score, NULL::VARCHAR AS model_version, NULL::VARCHAR AS score_detail';
  // --smsc-ids: every forwarded decision's second record (action smsc_id: its msg_id and the SMSC's id, 10 hex digits as SMSCs give them).
  const smscIds = has('smsc-ids');
  for (let d = 0; d < days; d++) {
    const dayStart = end - (days - d) * DAY;
    const day = new Date(dayStart).toISOString().slice(0, 10);
    const tmp = join(dir, `.gen-${day}`);
    const range = `range(${d * perDay}, ${Math.min(total, (d + 1) * perDay)}) t(i)`;
    const time = `epoch_ms(${dayStart} + (i * ${DAY}) // ${perDay})`;
    const recipient = `8613000000000 + hash(i * 13) % ${subs}`;
    const decisions = `
        SELECT ${time} AS time,
               'gw' || (i % 3) AS instance,
               'esme' || (hash(i * 7) % 40) AS account,
               '10690' || (hash(i * 11) % 1000) AS sender,
               ${recipient} AS recipient,
               CASE WHEN i % 5 = 0 THEN 'service' ELSE 'commercial' END AS class,
               CASE WHEN i % 9 = 0 THEN 'reject' ELSE 'forward' END AS action,
               CASE WHEN i % 9 = 0 THEN 'no_consent' WHEN i % 5 = 0 THEN 'not_commercial' ELSE 'consent_granted' END AS reason,
               'policy/consent' AS rule,
               CASE WHEN i % 9 = 0 THEN 69 ELSE 0 END AS status,
               ${opt},
               (${recipient}) % ${shards} AS shard
        FROM ${range}`;
    const smsc = `
        SELECT ${time} + INTERVAL 40 MILLISECOND, 'gw' || (i % 3), 'esme' || (hash(i * 7) % 40), '10690' || (hash(i * 11) % 1000), ${recipient},
               NULL, 'smsc_id', NULL, NULL, 0, printf('%016x', i), printf('%010x', hash(i * 17) % 1099511627776), NULL, NULL, NULL, NULL,
               (${recipient}) % ${shards}
        FROM ${range} WHERE i % 9 <> 0`;
    await duck.run(
      `COPY (
        ${decisions}${smscIds ? ` UNION ALL ${smsc}` : ''}
        ORDER BY shard, recipient, time
      ) TO ${sqlString(tmp)} (${PARQUET_OPTIONS}, PARTITION_BY (shard), OVERWRITE_OR_IGNORE)`,
    );
    // Into the writer's layout and names: one file per shard and day, a stream-id range of its own.
    for (const sd of readdirSync(tmp)) {
      const shard = Number(sd.split('=')[1]);
      const target = partitionDir(dir, day, shard, shards);
      mkdirSync(target, { recursive: true });
      const [file] = readdirSync(join(tmp, sd));
      renameSync(join(tmp, sd, file!), join(target, fileName(`${dayStart}-${shard}`, `${dayStart + DAY - 1}-${shard}`)));
    }
    rmSync(tmp, { recursive: true, force: true });
    if (d % 10 === 9) process.stdout.write(`  ${d + 1}/${days} days, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  }
  duck.close();
  const s = du(dir);
  console.log(
    `generated ${total.toLocaleString('en')} decisions (${optional ? 'optional columns filled' : 'base fields'}${smscIds ? ', plus an smsc_id record per forwarded one' : ''}) over ${days} days × ${shards} shards in ${((performance.now() - t0) / 1000).toFixed(1)} s: ` +
      `${s.files} files, ${(s.bytes / 1e6).toFixed(0)} MB, ${(s.bytes / total).toFixed(2)} B/decision`,
  );
}

async function query(): Promise<void> {
  const dir = flag('dir', '');
  const shards = Number(flag('shards', '64'));
  const rounds = Number(flag('rounds', '5'));
  const redis = new Redis(REDIS_URL);
  const prefix = `bench:archq:${process.pid}:`;
  const stream = new AuditStream(redis, prefix, { shards, maxBytes: 0, maxAgeMs: 0, flushMs: 0, maxBuffer: 1000 });
  const reader = new ArchiveReader(stream, new ArchiveBuffer(redis, prefix), dir, Number(flag('threads', '1')));
  // Numbers that are in the archive: the generator's formula for a few i.
  const subs = Number(flag('subscribers', '20000000'));
  const duck = new Duck(1);
  const picks = (await duck.rows(`SELECT 8613000000000 + hash(i * 13) % ${subs} AS r FROM range(1000, 1000 + ${rounds}) t(i)`)).map((r) => String(r.r));
  duck.close();
  const times: number[] = [];
  let found = 0;
  for (const msisdn of picks) {
    const t = performance.now();
    const r = await reader.decisionsFor(msisdn, { limit: 1000 });
    times.push(performance.now() - t);
    found += r.decisions.length;
  }
  const rest = times.slice(1).sort((a, b) => a - b);
  console.log(
    `evidence for one MSISDN over the whole archive (${du(dir).files} files): first ${times[0]!.toFixed(0)} ms, median of the next ${rest.length} ${rest[Math.floor(rest.length / 2)]!.toFixed(0)} ms, ` +
      `max ${Math.max(...times).toFixed(0)} ms (${(found / picks.length).toFixed(1)} decisions a number)`,
  );
  reader.close();
  redis.disconnect();
}

async function writer(): Promise<void> {
  const total = Number(flag('decisions', '1000000'));
  const shards = Number(flag('shards', '64'));
  const threads = Number(flag('threads', '1'));
  const redis = new Redis(REDIS_URL);
  const prefix = `bench:archw:${process.pid}:`;
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-archive-'));
  try {
    const stream = new AuditStream(redis, prefix, { shards, maxBytes: 0, maxAgeMs: 0, flushMs: 0, maxBuffer: 10_000_000, instance: 'gw-bench' });
    for (let i = 0; i < total; i++) {
      const r = i % 9 === 0;
      stream.add(`esme${i % 40}`, r ? 'reject' : 'forward', r ? 'no_consent' : 'consent_granted', 'policy/consent', r ? 69 : 0, i % 5 ? 'commercial' : 'service', `10690${i % 1000}`, String(8613000000000 + ((i * 7919) % 20_000_000)));
      if (i % 50_000 === 49_999) await stream.flush();
    }
    await stream.flush();
    const w = new ArchiveWriter(new ArchiveBuffer(redis, prefix), {
      dir,
      shards,
      batchDecisions: 10_000_000,
      batchMs: 60_000,
      leaseMs: 60_000,
      graceMs: 60_000,
      retentionDays: 150,
      compactFiles: 1000,
      compactTargetBytes: 64 << 20,
      threads,
      tickMs: 1000,
    });
    const t = performance.now();
    const cpu0 = process.cpuUsage();
    await w.tick(true);
    const s = (performance.now() - t) / 1000;
    // CPU of this process (its DuckDB threads included): on a shared machine wall time mostly says
    // how long the writer waited for a core; decisions per CPU-second is what the writer costs.
    const c = process.cpuUsage(cpu0);
    const cpu = (c.user + c.system) / 1e6;
    const d = du(dir);
    console.log(
      `writer: ${total.toLocaleString('en')} decisions from the Redis buffer (${shards} shards) to ${d.files} files in ${s.toFixed(2)} s = ${Math.round(total / s).toLocaleString('en')} decisions/s wall; ` +
        `${cpu.toFixed(2)} CPU-s = ${Math.round(total / cpu).toLocaleString('en')} decisions per CPU-second (lanes ${threads}); ${(d.bytes / total).toFixed(2)} B/decision`,
    );
    await w.stop();
  } finally {
    await scanKeys(redis, `${prefix}*`, (keys) => void (keys.length && redis.unlink(...keys)));
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function compaction(): Promise<void> {
  const batches = Number(flag('batches', '213'));
  const lines = Number(flag('lines', '3750'));
  const targetMb = Number(flag('target-mb', '6.4'));
  const compactFiles = Number(flag('compact-files', '16'));
  const build = flag('build', '');
  // This build's modules, or the same ones from another checkout's dist/.
  const from = <T>(own: T, path: string): Promise<T> => (build ? (import(join(resolve(build), 'dist/src', path)) as Promise<T>) : Promise.resolve(own));
  const { AuditStream: Stream } = await from({ AuditStream }, 'store/audit-stream.js');
  const { ArchiveBuffer: Buffer_ } = await from({ ArchiveBuffer }, 'store/archive-buffer.js');
  const { ArchiveWriter: Writer } = await from({ ArchiveWriter }, 'archive/writer.js');
  const { Metrics: Metrics_ } = await from({ Metrics }, 'telemetry/metrics.js');
  const redis = new Redis(REDIS_URL);
  const prefix = `bench:archc:${process.pid}:`;
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-compaction-'));
  const metrics = new Metrics_(false);
  try {
    const stream = new Stream(redis, prefix, { shards: 1, maxBytes: 0, maxAgeMs: 0, flushMs: 0, maxBuffer: 10_000_000, instance: 'gw-bench' });
    const w = new Writer(
      new Buffer_(redis, prefix),
      { dir, shards: 1, batchDecisions: 10_000_000, batchMs: 60_000, leaseMs: 60_000, graceMs: 0, retentionDays: 150, compactFiles, compactTargetBytes: targetMb * 1e6, threads: 1, tickMs: 1000 },
      { metrics },
    );
    let cpu = 0;
    for (let b = 0; b < batches; b++) {
      for (let i = 0; i < lines; i++) {
        stream.add('esme', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial', '8610690001', String(8613800000000 + Math.floor(Math.random() * 1e6)), randomBytes(8).toString('hex'));
      }
      await stream.flush();
      // Only the writer's batch and housekeeping are counted, not the lines' making.
      const c0 = process.cpuUsage();
      await w.tick(true);
      const c = process.cpuUsage(c0);
      cpu += (c.user + c.system) / 1e6;
    }
    await w.stop();
    const merges = (await metrics.archiveMerges.get()).values[0]?.value ?? 0;
    const d = du(dir);
    console.log(
      `compaction${build ? ` (${build})` : ''}: ${batches} batches of ${lines} lines, compact_files ${compactFiles}, target ${targetMb} MB: writer ${cpu.toFixed(1)} CPU-s = ` +
        `${((cpu * 1e6) / (batches * lines)).toFixed(2)} µs a line; ${merges} merges; ${d.files} files left, the biggest ${(d.biggest / 1e6).toFixed(2)} MB`,
    );
  } finally {
    await scanKeys(redis, `${prefix}*`, (keys) => void (keys.length && redis.unlink(...keys)));
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

const step = process.argv[2];
const run = step === 'generate' ? generate : step === 'query' ? query : step === 'writer' ? writer : step === 'compaction' ? compaction : null;
if (!run) {
  console.error('usage: bench/archive.ts generate|query|writer|compaction [flags] (see the header)');
  process.exit(2);
}
await run();
