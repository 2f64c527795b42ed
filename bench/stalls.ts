/**
 * How long the gateway's periodic and background tasks hold the event loop, each measured alone:
 * a probe re-arms setImmediate while the task runs and records the longest gap between two of its
 * turns (= the longest stretch the task kept the loop), next to the task's total time. The probe's
 * own gaps with no task running (the noise floor of this machine at this moment) are printed first.
 *
 *   npm run build && node dist/bench/stalls.js [--senders 10000] [--accounts 200] [--repeat 5]
 *
 * Tasks: a Prometheus scrape (Metrics.text() with per-account series filled), the policy data
 * reload (PolicySync.reload: HSCAN/HGETALL of the sender registry + the in-process registry
 * rebuild, on the real Redis under a private prefix, removed at the end), and the sender registry
 * rebuild alone (policy/senders.ts). Wall times; on a loaded box preemption inflates them at random,
 * so the minimum over --repeat runs is the best estimate of the work itself (CPU-time accounting
 * is too coarse here: 4 ms ticks on some kernels).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { senderId, type SenderRecord } from '../src/domain/sender.js';
import { SenderRegistry } from '../src/policy/senders.js';
import { PolicyAdmin } from '../src/store/policy-admin.js';
import { PolicySync } from '../src/store/policy-sync.js';
import { connectRedis, createRedis } from '../src/store/redis.js';
import { createLogger } from '../src/telemetry/log.js';
import { Metrics } from '../src/telemetry/metrics.js';
import { cleanRedis, median, numberFlag } from './procs.js';

export interface Hold {
  totalMs: number;
  /** Longest gap between two probe turns while the task ran (wall time: includes preemption on a busy box). */
  maxHoldMs: number;
  /** CPU time (this process, user + system) of the longest gap: the work done in one stretch, which preemption does not inflate. */
  maxHoldCpuMs: number;
}

/** Runs `task` with a setImmediate probe beside it; returns its total time and the longest loop hold. */
export async function measureHold(task: () => unknown): Promise<Hold> {
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  let max = 0;
  let maxCpu = 0;
  let running = true;
  const probe = () => {
    const now = performance.now();
    const cpu = process.cpuUsage();
    if (now - last > max) max = now - last;
    const c = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000;
    if (c > maxCpu) maxCpu = c;
    last = now;
    lastCpu = cpu;
    if (running) setImmediate(probe);
  };
  setImmediate(probe);
  await new Promise((r) => setImmediate(r)); // the probe has started
  const t0 = performance.now();
  await task();
  const totalMs = performance.now() - t0;
  running = false;
  await new Promise((r) => setImmediate(r));
  return { totalMs, maxHoldMs: Math.max(max, performance.now() - last), maxHoldCpuMs: maxCpu };
}

/** `n` sender records: 80 % numbers, 10 % prefixes, 5 % ranges, 5 % alphanumeric ids. */
export function senderFixture(n: number): SenderRecord[] {
  const out: SenderRecord[] = [];
  for (let i = 0; i < n; i++) {
    const k = i % 20;
    const kind: SenderRecord['kind'] = k < 16 ? 'number' : k < 18 ? 'prefix' : k < 19 ? 'range' : 'alpha';
    const num = String(861069000000 + i);
    const value = kind === 'number' ? num : kind === 'prefix' ? `10690${String(i).padStart(6, '0')}` : kind === 'range' ? `${num}0-${num}9` : `BRAND${i}`;
    out.push({ id: senderId(kind, value), kind, value, account: `acct${i % 50}`, class: 'commercial', status: 'active', signatures: ['BENCH'] });
  }
  return out;
}

function row(name: string, runs: Hold[]): string {
  const t = runs.map((r) => r.totalMs);
  const h = runs.map((r) => r.maxHoldMs);
  return `| ${name} | ${Math.min(...t).toFixed(2)} | ${Math.min(...h).toFixed(2)} | ${median(h).toFixed(2)} |`;
}

async function main(argv: string[]): Promise<void> {
  const nSenders = numberFlag(argv, '--senders', 10_000);
  const nAccounts = numberFlag(argv, '--accounts', 200);
  const repeat = numberFlag(argv, '--repeat', 5);
  const rows: string[] = [
    '| task | total ms (min) | longest loop hold ms (min over runs) | longest loop hold ms (median) |',
    '|---|---:|---:|---:|',
  ];

  const idle: Hold[] = [];
  for (let i = 0; i < repeat; i++) idle.push(await measureHold(() => new Promise((r) => setTimeout(r, 50))));
  rows.push(row('(noise floor: 50 ms of nothing)', idle));

  // A scrape with the per-account series a busy gateway has.
  const metrics = new Metrics(true);
  for (let a = 0; a < nAccounts; a++) {
    const account = `acct${a}`;
    metrics.bindsActive.set({ account, type: 'transmitter' }, 1);
    for (const reason of ['ok', 'dnd', 'no_consent', 'quiet_hours', 'rate_limited']) metrics.decisions.inc({ action: reason === 'ok' ? 'forward' : 'reject', reason, account }, 1);
  }
  const scrape: Hold[] = [];
  for (let i = 0; i < repeat; i++) scrape.push(await measureHold(() => metrics.text()));
  rows.push(row(`metrics scrape (${nAccounts} accounts)`, scrape));

  const fixture = senderFixture(nSenders);
  const rebuild: Hold[] = [];
  for (let i = 0; i < repeat; i++) {
    const reg = new SenderRegistry();
    rebuild.push(await measureHold(() => fixture.forEach((s) => reg.upsert(s))));
  }
  rows.push(row(`SenderRegistry: ${nSenders} upserts into an empty registry`, rebuild));

  const prefix = `bench:stalls:${process.pid}-${randomBytes(3).toString('hex')}:`;
  const redis = createRedis({ url: 'redis://127.0.0.1:6379', command_timeout_ms: 10_000 });
  redis.on('error', () => undefined);
  try {
    if (!(await connectRedis(redis, 5000))) throw new Error('no Redis on 127.0.0.1:6379');
    const admin = new PolicyAdmin(redis, prefix, 86_400_000);
    for (let i = 0; i < fixture.length; i += 1000) {
      const args: string[] = [];
      for (const s of fixture.slice(i, i + 1000)) args.push(s.id, JSON.stringify(s));
      await redis.hset(admin.keys.senders, ...args);
    }
    const registry = new SenderRegistry();
    const sync = new PolicySync(admin, registry, new Metrics(false), createLogger('silent'));
    const reload: Hold[] = [];
    for (let i = 0; i < repeat; i++) reload.push(await measureHold(() => sync.reload()));
    if (registry.size !== nSenders) throw new Error(`reload loaded ${registry.size} of ${nSenders} senders`);
    rows.push(row(`PolicySync.reload, ${nSenders} senders (Redis + registry)`, reload));
  } finally {
    redis.disconnect();
    await cleanRedis(`${prefix}*`).catch(() => 0);
  }
  console.log(`node ${process.version}; ${repeat} runs each; load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
  console.log(rows.join('\n'));
  process.exit(0);
}

if (process.argv[1]?.endsWith('stalls.js')) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
