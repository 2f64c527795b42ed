/**
 * docs/evidence.md's DuckDB queries, as written there, against files the archive writer made (the
 * path /data/archive swapped for the test's directory): a carrier's data platform can take the
 * files as they are. A merge in progress (sources still there) does not double the exact query.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { ArchiveWriter } from '../../src/archive/writer.js';
import { listDays, listPartition } from '../../src/archive/layout.js';
import { ArchiveBuffer } from '../../src/store/archive-buffer.js';
import { AuditStream } from '../../src/store/audit-stream.js';
import { REDIS_URL } from '../helpers/stack.js';
import { clearKeys } from '../helpers/redis-keys.js';

const DOC = resolve(import.meta.dirname, '../../docs/evidence.md');
const dir = mkdtempSync(join(tmpdir(), 'sg-archive-docs-'));
const prefix = `test:archdocs:${randomBytes(4).toString('hex')}:`;
const redis = new Redis(REDIS_URL);

afterAll(async () => {
  await clearKeys(redis, `${prefix}*`);
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

/** The ```sql blocks of the doc that start with "-- duckdb", in its order: by SMSC id (Schema), one number, a day's rejections. */
function duckdbBlocks(): string[] {
  const text = readFileSync(DOC, 'utf8');
  return [...text.matchAll(/```sql\n(-- duckdb\n[\s\S]*?)```/g)].map((m) => m[1]!);
}

it('the DuckDB queries of docs/evidence.md run on the archive as written', async () => {
  const blocks = duckdbBlocks();
  expect(blocks).toHaveLength(3);
  const T = Date.UTC(2026, 11, 4, 10);
  let clock = T;
  const stream = new AuditStream(redis, prefix, { shards: 2, maxBytes: 0, maxAgeMs: 0, flushMs: 0, maxBuffer: 100_000, instance: 'gw1' }, null, () => clock);
  // Not deleted within the test: the sources of a merge stay beside the merged file.
  const writer = new ArchiveWriter(new ArchiveBuffer(redis, prefix), {
    dir,
    shards: 2,
    batchDecisions: 1_000_000,
    batchMs: 60_000,
    leaseMs: 10_000,
    graceMs: 600_000,
    retentionDays: 100_000,
    compactFiles: 3,
    compactTargetBytes: 64 << 20,
    threads: 1,
    tickMs: 100,
  });
  for (let batch = 0; batch < 3; batch++) {
    for (let i = 0; i < 10; i++) {
      clock += 1000;
      stream.add('esme', i % 2 ? 'reject' : 'forward', i % 2 ? 'no_consent' : 'consent_granted', 'policy/consent', i % 2 ? 69 : 0, 'commercial', '8610690001', i === 0 ? '8613800138000' : String(8613800000000 + batch * 100 + i));
    }
    if (batch === 0) {
      // A live forward's one row with the SMSC's id, and a queued message's decision with its smsc_id row.
      clock += 1000;
      stream.add('esme', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial', '8610690001', '8613800138900', 'G-live', '', null, true)!.release('0A1B2C');
      stream.add('esme', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial', '8610690001', '8613800138902', 'Q-queued');
      clock += 1000;
      stream.addSmscId('esme', '8610690001', '8613800138902', 'Q-queued', '0D0E0F');
    }
    await stream.flush();
    await writer.tick(true);
  }
  // The day has closed, so every batch after the first is merged at once: three batches and two
  // merges in shard 0, the sources not yet deleted (the grace).
  expect(listPartition(dir, listDays(dir)[0]!, 0, 2)).toHaveLength(5);
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const run = async (sql: string) => (await c.runAndReadAll(sql.replaceAll('/data/archive', dir))).getRowObjectsJS();
  // One number over the whole retention (the plain glob sees the merge's sources too).
  const one = await run(blocks[1]!);
  expect(one.length).toBeGreaterThanOrEqual(3);
  expect(one[0]).toMatchObject({ account: 'esme', sender: '8610690001', action: 'forward', reason: 'consent_granted', rule: 'policy/consent', status: 0 });
  // The exact one: each decision once, though merged-away files are still on disk.
  const byReason = await run(blocks[2]!);
  expect(byReason).toEqual([{ account: 'esme', reason: 'no_consent', n: 15n }]);
  // The message an SMSC knows by its id: a live forward's own row; a queued message's decision through its smsc_id row
  // (the plain glob reads a merge's sources too: the same row more than once).
  const bySmscId = async (id: string) => [...new Set((await run(blocks[0]!.replaceAll("'0A1B2C'", `'${id}'`))).map((r) => JSON.stringify([r.action, r.msg_id, r.smsc_id])))].map((r) => JSON.parse(r) as unknown);
  expect(await bySmscId('0A1B2C')).toEqual([['forward', 'G-live', '0A1B2C']]);
  expect(await bySmscId('0D0E0F')).toEqual([['forward', 'Q-queued', '0D0E0F']]);
  c.closeSync();
  db.closeSync();
  await writer.stop();
});
