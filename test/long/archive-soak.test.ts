/**
 * The decision archive over minutes (`npm run test:long`):
 *
 * 1. Full rate for several minutes: 20,000 decisions/s (a carrier's sustained rate, the issue's
 *    figure) go into the Redis buffer through store/audit-stream.ts with the gateway's flush
 *    interval, while the archive writer drains it. Redis used_memory (a private redis-server holding
 *    nothing else) stays flat and under the buffer's bound, while the archive grows; nothing is
 *    dropped; every decision is archived exactly once.
 * 2. kill -9 of a process that buffers decisions (store/audit-stream.ts, flush_ms 250, from dist/):
 *    what it loses is at most the flush interval's worth (the documented bound), printed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ArchiveWriter } from '../../src/archive/writer.js';
import { ArchiveBuffer } from '../../src/store/archive-buffer.js';
import { AuditStream } from '../../src/store/audit-stream.js';
import { connectRedis, createRedis, type Redis } from '../../src/store/redis.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { PrivateRedis } from '../helpers/private-redis.js';

const RATE = 20_000;
const MINUTES = Number(process.env.SOAK_MINUTES ?? 4);
const dir = mkdtempSync(join(tmpdir(), 'sg-archive-soak-'));
let pr: PrivateRedis;
let hot: Redis;
let slow: Redis;

beforeAll(async () => {
  pr = await PrivateRedis.start();
  hot = createRedis({ url: pr.url, command_timeout_ms: 2000 } as never);
  slow = createRedis({ url: pr.url, command_timeout_ms: 30_000 } as never);
  hot.on('error', () => undefined);
  slow.on('error', () => undefined);
  expect(await connectRedis(hot, 5000)).toBe(true);
  expect(await connectRedis(slow, 5000)).toBe(true);
});
afterAll(async () => {
  hot.disconnect();
  slow.disconnect();
  await pr.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function usedMemory(): Promise<number> {
  const info = await slow.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

function archiveBytes(): number {
  let n = 0;
  for (const f of readdirSync(dir, { recursive: true }) as string[]) if (f.endsWith('.parquet')) n += statSync(join(dir, f)).size;
  return n;
}

it(`${RATE} decisions/s for ${MINUTES} minutes: Redis memory flat under the bound, the archive grows, each decision archived once`, async () => {
  const shards = 64;
  // The writer's and the buffer's defaults: 60 s batches, 512 MB.
  const maxBytes = 512 * 1024 * 1024; // the default
  const metrics = new Metrics(false);
  const stream = new AuditStream(hot, 'soak:', { shards, maxBytes, maxAgeMs: 600_000, flushMs: 250, maxBuffer: 200_000, instance: 'soak' }, metrics);
  const writer = new ArchiveWriter(
    new ArchiveBuffer(slow, 'soak:'),
    { dir, shards, batchDecisions: 1_000_000, batchMs: 60_000, leaseMs: 30_000, graceMs: 10_000, retentionDays: 150, compactFiles: 16, compactTargetBytes: 64 << 20, threads: 1, tickMs: 1000 },
    { metrics },
  );
  const base = await usedMemory();
  writer.start();
  let sent = 0;
  const start = Date.now();
  const end = start + MINUTES * 60_000;
  const samples: { t: number; mem: number; archive: number; buffer: number }[] = [];
  let nextSample = start + 15_000;
  while (Date.now() < end) {
    // Catch up to the rate in slices of at most 2,000 decisions, yielding in between.
    const due = Math.floor(((Date.now() - start) / 1000) * RATE);
    const k = Math.min(2000, due - sent);
    for (let i = 0; i < k; i++, sent++) {
      const r = sent % 9 === 0;
      stream.add(`esme${sent % 40}`, r ? 'reject' : 'forward', r ? 'no_consent' : 'consent_granted', 'policy/consent', r ? 69 : 0, 'commercial', `10690${sent % 1000}`, String(8613000000000 + ((sent * 7919) % 20_000_000)));
    }
    if (Date.now() >= nextSample) {
      nextSample += 15_000;
      samples.push({ t: Math.round((Date.now() - start) / 1000), mem: (await usedMemory()) - base, archive: archiveBytes(), buffer: stream.buffered });
    }
    await new Promise((res) => setTimeout(res, k < 2000 ? 5 : 0));
  }
  await stream.flush();
  const elapsed = (Date.now() - start) / 1000;
  // Drain: the writer catches up with what is left.
  await writer.stop();
  const last = new ArchiveWriter(new ArchiveBuffer(slow, 'soak:'), { ...writer.opts, graceMs: 0 });
  await last.tick(true);
  await last.stop();

  console.log(`soak: ${sent.toLocaleString('en')} decisions in ${elapsed.toFixed(0)} s (${Math.round(sent / elapsed).toLocaleString('en')}/s)`);
  for (const s of samples) console.log(`  t=${s.t}s redis +${(s.mem / 1e6).toFixed(1)} MB, archive ${(s.archive / 1e6).toFixed(1)} MB, in-process ${s.buffer}`);
  expect(sent / elapsed).toBeGreaterThan(RATE * 0.9);
  // Redis: under the buffer's bound (plus stream overhead) throughout, and flat: the second half's
  // peak no higher than the first half's peak plus a tenth of the bound.
  const mems = samples.map((s) => s.mem);
  expect(Math.max(...mems)).toBeLessThan(maxBytes * 1.5);
  const half = Math.floor(mems.length / 2);
  expect(Math.max(...mems.slice(half))).toBeLessThan(Math.max(...mems.slice(0, half)) + maxBytes / 10);
  // The archive grows.
  const arch = samples.map((s) => s.archive);
  expect(arch.at(-1)!).toBeGreaterThan(arch[Math.floor(arch.length / 3)]!);
  // Nothing dropped, everything archived once.
  const text = await metrics.text();
  expect(text).toMatch(/smppguard_audit_buffer_dropped_total 0\n/);
  expect(text).not.toMatch(/smppguard_audit_stream_entries_total\{outcome="dropped"\}/);
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const r = (await c.runAndReadAll(`SELECT count(*) AS n, count(DISTINCT recipient) AS d FROM read_parquet('${dir}/decisions/*/*/*.parquet')`)).getRowObjectsJS()[0] as { n: bigint; d: bigint };
  c.closeSync();
  db.closeSync();
  console.log(`  archived ${r.n} decisions, ${(archiveBytes() / Number(r.n)).toFixed(2)} B/decision`);
  expect(Number(r.d)).toBe(sent);
  expect(Number(r.n)).toBe(sent);
});

it('kill -9 of a buffering process loses at most its flush interval of decisions', async () => {
  const mod = join(process.cwd(), 'dist/src/store/audit-stream.js');
  const rate = 2; // decisions per ms
  const code = `
    const { AuditStream } = await import(${JSON.stringify(mod)});
    const { Redis } = await import('ioredis');
    const r = new Redis(${JSON.stringify(pr.url)});
    const a = new AuditStream(r, 'k9:', { shards: 8, maxBytes: 0, maxAgeMs: 0, flushMs: 250, maxBuffer: 1000000, instance: 'k9' });
    let n = 0;
    setInterval(() => {
      for (let i = 0; i < ${rate}; i++, n++) a.add('esme', 'forward', 'x', 'y', 0, null, '1', String(8613000000000 + n));
      process.stdout.write(n + '\\n');
    }, 1);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
  let reported = 0;
  let tail = '';
  child.stdout.on('data', (d: Buffer) => {
    tail += d.toString();
    const lines = tail.split('\n');
    tail = lines.pop()!;
    if (lines.length) reported = Number(lines.at(-1));
  });
  await new Promise((res) => setTimeout(res, 5000));
  child.kill('SIGKILL');
  await new Promise((res) => child.once('exit', res));
  let inRedis = 0;
  for (let s = 0; s < 8; s++) for (const [, f] of await slow.xrange(`k9:audit:{a:${s}}`, '-', '+')) inRedis += Number(f[1]);
  const lost = reported - inRedis;
  const ratePerMs = reported / 5000;
  console.log(`kill -9: ${reported} decisions made (≥), ${inRedis} in Redis, lost ≥ ${lost} = ${(lost / ratePerMs).toFixed(0)} ms of traffic (flush_ms 250)`);
  expect(inRedis).toBeGreaterThan(0);
  // At most one flush interval (250 ms) plus the flush's own round trip, and a timer that fires
  // late on a loaded machine (generous slack: this is about the order of magnitude, not ms).
  expect(lost / ratePerMs).toBeLessThanOrEqual(1000);
}, 60_000);
