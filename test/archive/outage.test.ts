/**
 * Redis unreachable, then back (a private redis-server frozen with SIGSTOP, so it keeps its data
 * as a persistent Redis would): the gateway's in-process buffer stays within audit.stream.max_buffer,
 * and every decision of before, during and after the outage is in the archive exactly once or
 * counted as dropped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
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

let pr: PrivateRedis;
let hot: Redis;
let slow: Redis;
const dir = mkdtempSync(join(tmpdir(), 'sg-archive-outage-'));

beforeAll(async () => {
  pr = await PrivateRedis.start();
  hot = createRedis({ url: pr.url, command_timeout_ms: 200 } as never);
  slow = createRedis({ url: pr.url, command_timeout_ms: 5000 } as never);
  hot.on('error', () => undefined);
  slow.on('error', () => undefined);
  expect(await connectRedis(hot, 3000)).toBe(true);
  expect(await connectRedis(slow, 3000)).toBe(true);
});
afterAll(async () => {
  hot.disconnect();
  slow.disconnect();
  await pr.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function archived(): Promise<Map<bigint, number>> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const r = await c.runAndReadAll(`SELECT recipient, count(*) AS n FROM read_parquet('${dir}/decisions/**/*.parquet') GROUP BY 1`);
  const out = new Map<bigint, number>();
  for (const row of r.getRowObjectsJS() as { recipient: bigint; n: bigint }[]) out.set(row.recipient, Number(row.n));
  c.closeSync();
  db.closeSync();
  return out;
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

it('Redis frozen then back: the process buffer stays bounded; every decision archived once or counted dropped', async () => {
  const metrics = new Metrics(false);
  const stream = new AuditStream(hot, 'o:', { shards: 4, maxBytes: 0, maxAgeMs: 0, flushMs: 0, maxBuffer: 1000, instance: 'gw1' }, metrics);
  const writer = new ArchiveWriter(
    new ArchiveBuffer(slow, 'o:'),
    { dir, shards: 4, batchDecisions: 1_000_000, batchMs: 60_000, leaseMs: 30_000, graceMs: 0, retentionDays: 150, compactFiles: 16, compactTargetBytes: 64 << 20, threads: 1, tickMs: 100 },
    { metrics },
  );
  let n = 0;
  const add = (k: number) => {
    for (let i = 0; i < k; i++, n++) stream.add('esme', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial', '8610690001', String(8613800000000 + n));
  };
  // Before: 300 archived, 200 in the Redis buffer only.
  add(300);
  await stream.flush();
  await writer.tick(true);
  add(200);
  await stream.flush();

  pr.freeze();
  let most = 0;
  for (let round = 0; round < 3; round++) {
    add(500);
    await stream.flush(); // times out: kept for the next flush, up to max_buffer
    most = Math.max(most, stream.buffered);
  }
  expect(most).toBeLessThanOrEqual(1000);
  expect(stream.buffered).toBe(1000);
  pr.thaw();

  // Back: the kept decisions go out, then more arrive; the writer archives the lot.
  for (let i = 0; i < 50 && stream.buffered > 0; i++) await stream.flush();
  expect(stream.buffered).toBe(0);
  add(100);
  await stream.flush();
  await writer.tick(true);
  await writer.stop();

  const text = await metrics.text();
  const dropped = metric(text, 'smppguard_audit_stream_entries_total{outcome="dropped"}');
  expect(dropped).toBe(500);
  const got = await archived();
  expect([...got.values()].every((k) => k === 1)).toBe(true);
  expect(got.size + dropped).toBe(n);
  // The ones before the outage are all there.
  for (let i = 0; i < 500; i++) expect(got.has(BigInt(8613800000000 + i))).toBe(true);
}, 60_000);
