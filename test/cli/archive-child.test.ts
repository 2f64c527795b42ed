/**
 * `smppguard start` (the real CLI, its own process) runs the archive writer as a child process
 * (archive.child_process): at nice archive.nice on every thread, archiving the decision buffer, its
 * metrics on the gateway's /metrics; killed -9 it is started again; SIGTERM to the gateway stops
 * both; a gateway killed -9, or one that fails to start, leaves no writer behind; under workers: N
 * worker 0 runs the one writer. Needs `npm run build`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { freePort } from '../../src/sim/free-port.js';
import { AuditStream } from '../../src/store/audit-stream.js';
import { processConfig, REDIS_URL, waitFor } from '../helpers/stack.js';
import { clearKeys } from '../helpers/redis-keys.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const SHARDS = 4;
const root = mkdtempSync(join(tmpdir(), 'sg-archive-child-'));
const prefix = `test:archchild:${randomBytes(4).toString('hex')}:`;
const gateways: ChildProcess[] = [];
let redis: Redis;

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  for (const g of gateways) if (g.exitCode === null) g.kill('SIGKILL');
  for (const pid of writerPids()) process.kill(pid, 'SIGKILL');
  await clearKeys(redis, `${prefix}*`);
  redis.disconnect();
  rmSync(root, { recursive: true, force: true });
});

/** Running `archive` processes forked from this test's gateways (by their config file). */
function writerPids(): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'latin1').split('\0');
      if (cmd.includes('archive') && cmd.some((a) => a.startsWith(root))) out.push(Number(p));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** The nice value of every thread of `pid` (/proc/<pid>/task/<tid>/stat, field 19). */
function threadNice(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

async function metric(http: number, name: string): Promise<number | null> {
  const text = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? null : Number(line.split(' ')[1]);
}

/** A gateway from the CLI, with `over` merged into its configuration; `waitForWriter`: until its archive writer runs. */
async function startGateway(name: string, over: Record<string, unknown> = {}, waitForWriter = true): Promise<{ gw: ChildProcess; http: number; log: string }> {
  const [smpp, http] = [await freePort(), await freePort()];
  const file = join(root, `${name}.yaml`);
  writeFileSync(
    file,
    stringify({
      ...processConfig(smpp, http, prefix, 'info'),
      ...over,
      policy: { enabled: true },
      audit: { destination: 'off', stream: { shards: SHARDS } },
      archive: { dir: 'archive', batch_seconds: 1, lease_seconds: 5, trim_grace_seconds: 5, nice: 7 },
      downstream: { smscs: [] },
    }),
  );
  const log = join(root, `${name}.log`);
  const gw = spawn(process.execPath, [CLI, 'start', '--config', file], { stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')] });
  gateways.push(gw);
  if (waitForWriter) {
    await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes('archive writer running'), 20_000, `gateway ${name} and its archive writer`);
  }
  return { gw, http, log };
}

const parquetFiles = () => {
  const dir = join(root, 'archive');
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('.parquet')).length : 0;
};

it('the writer runs niced beside the gateway, reports on its /metrics, comes back after kill -9, stops with it', async () => {
  const { gw, http, log } = await startGateway('one');
  const [pid] = writerPids();
  expect(pid).toBeDefined();
  // Every thread niced, also those started before the priority was set and DuckDB's after.
  expect(new Set(threadNice(pid!))).toEqual(new Set([7]));

  // Decisions in the buffer are archived by the child, and counted on the gateway's /metrics.
  const stream = new AuditStream(redis, prefix, { shards: SHARDS, maxBytes: 0, maxAgeMs: 0, flushMs: 0, maxBuffer: 10_000, instance: 'gw-test' });
  for (let i = 0; i < 200; i++) stream.add('acct', 'forward', 'consent_granted', '', 0, 'marketing', '10690000', `86139${String(i).padStart(8, '0')}`);
  await stream.flush();
  await waitFor(() => parquetFiles() > 0, 15_000, 'Parquet files');
  await expect.poll(() => metric(http, 'smppguard_archive_decisions_total'), { timeout: 5000 }).toBe(200);
  expect(await metric(http, 'smppguard_archive_shards_held')).toBe(SHARDS);
  expect(await metric(http, 'smppguard_archive_process_up')).toBe(1);
  expect(new Set(threadNice(pid!))).toEqual(new Set([7]));

  // Killed, it is started again; the counters go on from where they were.
  process.kill(pid!, 'SIGKILL');
  await waitFor(() => writerPids().some((p) => p !== pid), 10_000, 'a new writer process');
  await expect.poll(() => metric(http, 'smppguard_archive_process_restarts_total'), { timeout: 5000 }).toBe(1);
  for (let i = 0; i < 50; i++) stream.add('acct', 'forward', 'consent_granted', '', 0, 'marketing', '10690000', `86138${String(i).padStart(8, '0')}`);
  await stream.flush();
  await expect.poll(() => metric(http, 'smppguard_archive_decisions_total'), { timeout: 15_000 }).toBe(250);

  // SIGTERM: the gateway stops its writer and exits 0.
  const exited = new Promise<number | null>((r) => gw.once('exit', (code) => r(code)));
  gw.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(writerPids()).toEqual([]);
  expect(readFileSync(log, 'utf8')).toContain('archive writer process stopped');
}, 60_000);

it('a gateway killed -9 leaves no writer running', async () => {
  const { gw } = await startGateway('two');
  const [pid] = writerPids();
  expect(pid).toBeDefined();
  gw.kill('SIGKILL');
  await waitFor(() => writerPids().length === 0, 10_000, 'the orphaned writer to stop');
}, 40_000);

it('a gateway that fails to start after forking its writer leaves no writer running', async () => {
  // The writer is forked before the gateway starts; this gateway then stops at its rules directory.
  const { gw, log } = await startGateway('three', { rules: { dir: join(root, 'no-such-dir'), watch: false } }, false);
  const [code] = (await once(gw, 'exit')) as [number | null];
  expect(code).not.toBe(0);
  expect(readFileSync(log, 'utf8')).toContain('archive writer process started');
  // Whether it was still loading or already running when the gateway went, it ends.
  await waitFor(() => writerPids().length === 0, 10_000, 'the orphaned writer to stop');
}, 30_000);

it('under workers: 2, worker 0 runs the one writer; SIGTERM to the primary stops all', async () => {
  const { gw, http } = await startGateway('four', { workers: 2 });
  const pids = writerPids();
  expect(pids).toHaveLength(1);
  // Its parent is a worker, not the primary.
  const stat = readFileSync(`/proc/${pids[0]}/stat`, 'latin1');
  const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  expect(ppid).not.toBe(gw.pid);
  await expect.poll(() => metric(http, 'smppguard_archive_process_up'), { timeout: 5000 }).toBe(1);
  const exited = once(gw, 'exit') as Promise<[number | null]>;
  gw.kill('SIGTERM');
  expect((await exited)[0]).toBe(0);
  await waitFor(() => writerPids().length === 0, 10_000, 'the writer to stop');
}, 40_000);
