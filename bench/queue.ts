/**
 * Queue benchmark (`npm run bench:queue`): ingest and release rates of the durable queue, with the
 * gateway, load generator and SMSC simulator as separate processes on this machine.
 *
 *   ingest   the gateway has no SMSC bind; its account queues on no_bind (store-and-forward), so
 *            every submit_sm is stored in Redis before ESME_ROK: the load generator's msg/s is the
 *            ingest rate.
 *   release  the simulator then comes up; the time until the queue is empty gives the release
 *            rate (messages taken, sent to the SMSC, answered, acknowledged), and the simulator's
 *            count of submits shows every queued message arrived.
 *   window   as many messages again are queued until a window an hour ahead (through the
 *            gateway's own MessageQueue, from this process: to as many recipients); a gateway
 *            whose clock runs an hour ahead (--clock-offset-ms) then finds them all due at start,
 *            as a night's backlog is at 08:00. The time from its spawn (start-up included) until
 *            the window queue is empty gives the window release rate.
 *
 * Both phases print the gateway's and Redis's µs of CPU per message (/proc and INFO cpu).
 *
 * Rounds alternate; medians are printed, and with --write appended to bench/RESULTS.md.
 */
import type { ChildProcess } from 'node:child_process';
import { GATEWAY_NODE_FLAGS } from '../src/cli/node-flags.js';
import { appendFileSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { parseConfig } from '../src/config/load.js';
import { Command } from '../src/protocol/commands.js';
import { encodePdu } from '../src/protocol/encode.js';
import { MessageQueue } from '../src/queue/message-queue.js';
import { connectRedis, createRedis } from '../src/store/redis.js';
import { createLogger } from '../src/telemetry/log.js';
import { Metrics } from '../src/telemetry/metrics.js';
import { stringify } from 'yaml';
import { freePort } from '../src/sim/free-port.js';
import { hashPassword } from '../src/upstream/password.js';
import type { LoadResult } from './loadgen.js';
import { CLI, DIST_BENCH, ROOT, child, cpuTicks, firstLine, listening, median, parseRedisCpu, runFlags, sleep, type RunFlags } from './procs.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';


const HOUR = 3_600_000;

interface Round {
  ingest: number;
  release: number;
  /** Window messages released after their window opened, a second and a gateway's CPU per message (start-up included). */
  window: number;
  windowGw: number;
  queued: number;
  errors: number;
  /** µs of CPU per message: gateway and Redis, while ingesting and while releasing. */
  cpu: { ingestGw: number; ingestRedis: number; releaseGw: number; releaseRedis: number };
}

/** CPU seconds of the gateway process (its workers included) and of the Redis server, now. */
async function cpuNow(pid: number | undefined, redis: Redis): Promise<{ gw: number; redis: number }> {
  return { gw: (cpuTicks(pid) ?? NaN) / 100, redis: parseRedisCpu(await redis.info('cpu')) ?? NaN };
}

/** Queues `n` window messages (distinct recipients) due in an hour through MessageQueue, as the gateway would; returns how many were stored. */
async function fillWindow(cfgFile: string, n: number): Promise<number> {
  const cfg = parseConfig(readFileSync(cfgFile, 'utf8'), cfgFile);
  const redis = createRedis({ ...cfg.redis, command_timeout_ms: 10_000 });
  if (!(await connectRedis(redis, 5000))) throw new Error('Redis not answering');
  const q = new MessageQueue(cfg, redis, { metrics: new Metrics(false), log: createLogger('silent') });
  const text = Buffer.from('Your verification code is 123456. Do not share it.');
  let stored = 0;
  try {
    for (let i = 0; i < n; i += 1000) {
      const now = Date.now();
      const batch = Array.from({ length: Math.min(1000, n - i) }, (_, j) => {
        const pdu = encodePdu(Command.submit_sm, 0, 1, { source_addr: '10690001', destination_addr: String(8613800000000 + i + j), short_message: text });
        return new Promise<number>((resolve) =>
          q.enqueue({ id: q.newId(), account: 'bench', queue: 'window', pdu, rule: 'bench', reason: 'bench', acceptedAt: now, releaseAt: now + HOUR, expiresAt: now + 2 * HOUR }, resolve),
        );
      });
      stored += (await Promise.all(batch)).filter((status) => status === 0).length;
    }
  } finally {
    await q.close();
    redis.disconnect();
  }
  return stored;
}

async function round(tmp: string, n: number, f: RunFlags, hash: string): Promise<Round> {
  const smscPort = await freePort();
  const listen = await freePort();
  const http = await freePort();
  const prefix = `bench:q:${process.pid}:${n}:`;
  const cfgFile = join(tmp, `gateway-${n}.yaml`);
  writeFileSync(
    cfgFile,
    stringify({
      listen: { host: '127.0.0.1', port: listen },
      http: { host: '127.0.0.1', port: http },
      redis: { url: REDIS_URL, key_prefix: prefix },
      log: { level: 'warn' },
      audit: { destination: 'off' },
      policy: { enabled: false },
      accounts: [{ system_id: 'bench', password_hash: hash, allowed_ips: ['127.0.0.0/8'], max_binds: 64, window: 1024, queue: { store_and_forward: ['no_bind'], max_queued: 10_000_000 } }],
      downstream: {
        reconnect_initial_ms: 100,
        reconnect_max_ms: 200,
        smscs: [{ name: 'sim', host: '127.0.0.1', port: smscPort, system_id: 'smppguard', password: 'simpw', binds: 4, window: 1024 }],
      },
      queue: { concurrency: 2000 },
    }),
  );
  // BENCH_PROFILE=DIR: the gateway runs with node --cpu-prof into DIR (the release path's profile).
  const prof = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const gw = child([...prof, ...GATEWAY_NODE_FLAGS, CLI, 'start', '--config', cfgFile], join(tmp, `gateway-${n}.log`));
  const redis = new Redis(REDIS_URL);
  let sim: ChildProcess | null = null;
  let gw2: ChildProcess | null = null;
  try {
    await listening(listen);
    const c0 = await cpuNow(gw.pid, redis);
    // ingest: no SMSC, everything queues
    const load = child([join(DIST_BENCH, 'loadgen.js'), '--json', JSON.stringify({ port: listen, systemId: 'bench', password: 'bench', binds: 4, window: 256, warmupMs: 1000, durationMs: f.durationMs, bindTimeoutMs: 20_000 })]);
    const out = JSON.parse(await firstLine(load)) as LoadResult | { error: string };
    if ('error' in out) throw new Error(`loadgen: ${out.error}; gateway log:\n${readFileSync(join(tmp, `gateway-${n}.log`), 'utf8').slice(-2000)}`);
    const errors = Object.values(out.errors).reduce((a, b) => a + b, 0);
    const key = `${prefix}{q}:acct:saf:bench`;
    await sleep(500);
    const c1 = await cpuNow(gw.pid, redis);
    const queued = await redis.zcard(key);
    // release: the SMSC comes up; time until the queue is empty
    sim = child([join(DIST_BENCH, 'sim-proc.js'), '--watch-stdin', '--json', JSON.stringify({ port: smscPort, httpPort: 0, systemId: 'smppguard', password: 'simpw' })]);
    const simHttp = (JSON.parse(await firstLine(sim)) as { httpPort: number }).httpPort;
    const c2 = await cpuNow(gw.pid, redis);
    const t0 = performance.now();
    let left = queued;
    while (left > 0) {
      await sleep(50);
      left = await redis.zcard(key);
      if (performance.now() - t0 > 300_000) throw new Error(`release stalled with ${left} left`);
    }
    const release = queued / ((performance.now() - t0) / 1000);
    const c3 = await cpuNow(gw.pid, redis);
    const stats = (await (await fetch(`http://127.0.0.1:${simHttp}/stats`)).json()) as { submits: number };
    if (stats.submits < queued) throw new Error(`the simulator received ${stats.submits} of ${queued} queued messages`);
    // The ingest phase's CPU includes the load generator's warm-up (not counted as ingested): a slight overstatement.
    const us = (sec: number, msgs: number) => (sec * 1e6) / msgs;
    const cpu = { ingestGw: us(c1.gw - c0.gw, queued), ingestRedis: us(c1.redis - c0.redis, queued), releaseGw: us(c3.gw - c2.gw, queued), releaseRedis: us(c3.redis - c2.redis, queued) };
    // window: the first gateway goes; the backlog is queued; a gateway an hour ahead releases it.
    gw.kill('SIGTERM');
    await new Promise((r) => (gw.exitCode !== null ? r(null) : gw.once('exit', r)));
    const windowed = await fillWindow(cfgFile, queued);
    const wkey = `${prefix}{q}:acct:window:bench`;
    const t4 = performance.now();
    gw2 = child([...GATEWAY_NODE_FLAGS, CLI, 'start', '--config', cfgFile, '--clock-offset-ms', String(HOUR)], join(tmp, `gateway-${n}-window.log`));
    for (left = windowed; left > 0; left = await redis.zcard(wkey)) {
      await sleep(50);
      if (performance.now() - t4 > 300_000) throw new Error(`window release stalled with ${left} left`);
    }
    const window = windowed / ((performance.now() - t4) / 1000);
    const windowGw = us((cpuTicks(gw2.pid) ?? NaN) / 100, windowed);
    const after = (await (await fetch(`http://127.0.0.1:${simHttp}/stats`)).json()) as { submits: number };
    if (after.submits - stats.submits < windowed) throw new Error(`the simulator received ${after.submits - stats.submits} of ${windowed} window messages`);
    return { ingest: out.msgPerSec, release, window, windowGw, queued, errors, cpu };
  } finally {
    gw.kill('SIGTERM');
    gw2?.kill('SIGTERM');
    sim?.kill('SIGTERM');
    await sleep(500);
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 1000 }) as AsyncIterable<string[]>) if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
}

async function main(): Promise<void> {
  const f = runFlags(process.argv.slice(2), 'bench:queue', 5000);
  const tmp = mkdtempSync(join(tmpdir(), 'sg-bench-queue-'));
  const hash = await hashPassword('bench');
  const rs = [];
  for (let i = 0; i < f.rounds; i++) {
    const r = await round(tmp, i, f, hash);
    const c = r.cpu;
    console.log(
      `round ${i + 1}: ingest ${Math.round(r.ingest)} msg/s (${r.queued} queued, ${r.errors} errors; ${c.ingestGw.toFixed(1)} µs gateway + ${c.ingestRedis.toFixed(1)} µs Redis CPU per message), ` +
        `release ${Math.round(r.release)} msg/s (${c.releaseGw.toFixed(1)} + ${c.releaseRedis.toFixed(1)} µs), window release ${Math.round(r.window)} msg/s (${r.windowGw.toFixed(1)} µs gateway, start-up included)`,
    );
    rs.push(r);
  }
  const ingest = median(rs.map((r) => r.ingest));
  const release = median(rs.map((r) => r.release));
  const window = median(rs.map((r) => r.window));
  const fix = (xs: number[]) => median(xs).toFixed(1);
  const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
  const md = [
    `## ${when} UTC — queue (issues 5 and 23)`,
    '',
    `- machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`,
    `- command: \`npm run bench:queue -- --rounds ${f.rounds} --duration-ms ${f.durationMs}${f.write ? ' --write' : ''}\``,
    '- ingest: 4 binds × window 256, gateway without SMSC bind, account queues on no_bind: every submit_sm stored in Redis before ESME_ROK',
    '- release: the simulator comes up; queued messages / time until the queue is empty (worker concurrency 2000, 4 SMSC binds × window 1024); the simulator received every one',
    '- window: as many messages again queued until a window an hour ahead, released by a gateway started on a clock an hour ahead; rate and gateway CPU from its spawn (start-up included) until the window queue is empty; the simulator received every one',
    '- CPU: µs per message of the gateway process (/proc) and of the Redis server (INFO cpu) over each phase, medians',
    '',
    '| measure | msg/s (median) | per round | gateway µs CPU/msg | Redis µs CPU/msg | target |',
    '|---|---:|---|---:|---:|---|',
    `| queue ingest | ${Math.round(ingest).toLocaleString('en-US')} | ${rs.map((r) => Math.round(r.ingest).toLocaleString('en-US')).join(', ')} | ${fix(rs.map((r) => r.cpu.ingestGw))} | ${fix(rs.map((r) => r.cpu.ingestRedis))} | ≥ 10,000 |`,
    `| queue release | ${Math.round(release).toLocaleString('en-US')} | ${rs.map((r) => Math.round(r.release).toLocaleString('en-US')).join(', ')} | ${fix(rs.map((r) => r.cpu.releaseGw))} | ${fix(rs.map((r) => r.cpu.releaseRedis))} | ≥ 25,000 (issue 23) |`,
    `| window release (at the window's opening) | ${Math.round(window).toLocaleString('en-US')} | ${rs.map((r) => Math.round(r.window).toLocaleString('en-US')).join(', ')} | ${fix(rs.map((r) => r.windowGw))} | – | ≥ 25,000 (issue 23) |`,
    '',
  ].join('\n');
  console.log(`\n${md}`);
  if (f.write) appendFileSync(join(ROOT, 'bench/RESULTS.md'), `\n${md}`);
}

await main();
