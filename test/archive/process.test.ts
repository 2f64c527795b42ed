/**
 * `smppguard archive` as its own process (the real CLI, dist/): killed -9 in the middle of a file it
 * leaves no partial file visible and a restarted writer archives everything once; two writer
 * processes on one directory and one Redis archive each decision exactly once, one taking over
 * the other's shards when it stops. Needs `npm run build`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { AuditStream } from '../../src/store/audit-stream.js';
import { REDIS_URL } from '../helpers/stack.js';
import { clearKeys } from '../helpers/redis-keys.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const SHARDS = 4;
const root = mkdtempSync(join(tmpdir(), 'sg-archive-proc-'));
const children: ChildProcess[] = [];
/** This file's keys all start with this: one SCAN clears them (a SCAN per prefix over a Redis holding the benchmark's millions of keys outlasted the hook's timeout). */
const RUN = `test:archproc:${randomBytes(4).toString('hex')}:`;
let made = 0;
let redis: Redis;

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await clearKeys(redis, `${RUN}*`);
  redis.disconnect();
  rmSync(root, { recursive: true, force: true });
});

function config(name: string) {
  const prefix = `${RUN}${made++}:`;
  const dir = join(root, name);
  const file = join(root, `${name}.yaml`);
  writeFileSync(
    file,
    stringify({
      redis: { url: REDIS_URL, key_prefix: prefix },
      log: { level: 'info' },
      audit: { stream: { shards: SHARDS } },
      // Relative: resolved against the config file's directory.
      archive: { dir: name, batch_seconds: 1, lease_seconds: 5, trim_grace_seconds: 5 },
    }),
  );
  const stream = new AuditStream(redis, prefix, { shards: SHARDS, maxBytes: 0, maxAgeMs: 0, flushMs: 0, maxBuffer: 1_000_000, instance: 'gw-test' });
  return { prefix, dir, file, stream };
}

function writer(file: string, log: string, env: Record<string, string> = {}): ChildProcess {
  const c = spawn(process.execPath, [CLI, 'archive', '--config', file], { stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')], env: { ...process.env, ...env } });
  children.push(c);
  return c;
}

/** Every visible Parquet file under dir (a hidden temp file is not one). */
function published(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[]).filter((p) => p.endsWith('.parquet')).map((p) => join(dir, p));
}
function temps(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[]).filter((p) => p.split('/').pop()!.startsWith('.'));
}

/** Rows per recipient over every visible file (each file opened: a partial one would fail here). */
async function counts(dir: string): Promise<Map<bigint, number>> {
  const out = new Map<bigint, number>();
  const files = published(dir);
  if (files.length === 0) return out;
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const r = await c.runAndReadAll(`SELECT recipient, count(*) AS n FROM read_parquet([${files.map((f) => `'${f}'`).join(',')}]) GROUP BY 1`);
  for (const row of r.getRowObjectsJS() as { recipient: bigint; n: bigint }[]) out.set(row.recipient, Number(row.n));
  c.closeSync();
  db.closeSync();
  return out;
}

async function until(cond: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const exited = (c: ChildProcess) => new Promise<number | null>((r) => (c.exitCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code))));

it('a writer killed -9 mid-file leaves no partial file visible; restarted, it archives every decision once', async () => {
  const { dir, file, stream } = config('kill');
  const N = 2000;
  for (let i = 0; i < N; i++) stream.add('esme', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial', '8610690001', String(8613800000000 + i));
  await stream.flush();
  // Slow: each file waits 3 s between its fsync and its rename.
  const log = join(root, 'kill.log');
  const w1 = writer(file, log, { SG_TEST_ARCHIVE_SLOW_PUBLISH_MS: '3000' });
  await until(() => temps(dir).length > 0, 20_000, 'a temp file being written');
  w1.kill('SIGKILL');
  await exited(w1);
  // The temp file is hidden; every visible file is whole.
  expect(temps(dir).length).toBeGreaterThan(0);
  expect(published(dir)).toEqual([]);
  const w2 = writer(file, log);
  // The dead writer's leases expire (5 s), then the new one recovers and writes everything.
  await until(async () => [...(await counts(dir)).values()].reduce((a, b) => a + b, 0) >= N, 30_000, 'every decision archived');
  const c = await counts(dir);
  expect(c.size).toBe(N);
  expect([...c.values()].every((n) => n === 1)).toBe(true);
  expect(temps(dir)).toEqual([]);
  w2.kill('SIGTERM');
  expect(await exited(w2)).toBe(0);
  expect(readFileSync(log, 'utf8')).toMatch(/archive writer stopped/);
}, 90_000);

it('two writer processes on one directory and one Redis: each decision archived exactly once, across a hand-over', async () => {
  const { dir, file, stream } = config('two');
  const log = join(root, 'two.log');
  const a = writer(file, log);
  const b = writer(file, log);
  await until(() => existsSync(log) && readFileSync(log, 'utf8').split('archive writer running').length === 3, 30_000, 'both writers to run');
  let n = 0;
  const add = async (k: number) => {
    for (let i = 0; i < k; i++, n++) stream.add('esme', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial', '8610690001', String(8613900000000 + n));
    await stream.flush();
  };
  for (let round = 0; round < 10; round++) {
    await add(100);
    await new Promise((r) => setTimeout(r, 200));
  }
  // One of them stops (gives its leases back); the other takes its shards over.
  a.kill('SIGTERM');
  expect(await exited(a)).toBe(0);
  for (let round = 0; round < 10; round++) {
    await add(100);
    await new Promise((r) => setTimeout(r, 200));
  }
  await until(async () => [...(await counts(dir)).values()].reduce((x, y) => x + y, 0) >= n, 30_000, 'every decision archived');
  await new Promise((r) => setTimeout(r, 1500)); // nothing is written twice later either
  const c = await counts(dir);
  expect(c.size).toBe(n);
  expect([...c.values()].every((k) => k === 1)).toBe(true);
  b.kill('SIGTERM');
  expect(await exited(b)).toBe(0);
}, 90_000);
