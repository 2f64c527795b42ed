/**
 * Scale-out benchmark (`npm run bench:scale`): one versus two gateway instances on a local Redis
 * Cluster (3 masters + 3 replicas), in the same run, rounds alternating. Policy on, every message
 * commercial with consent (one policy-check script per message on the cluster), forwarded to the
 * SMSC simulator. Each instance gets its own load generator; their msg/s are summed.
 *
 * On a 2-core machine the instances, six Redis processes, the simulator and the load generators
 * share two cores: the ratio shows what a second instance costs or gains here, not on real hosts.
 */
import type { ChildProcess } from 'node:child_process';
import { GATEWAY_NODE_FLAGS } from '../src/cli/node-flags.js';
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { senderId } from '../src/domain/sender.js';
import { freePort } from '../src/sim/free-port.js';
import { Keys } from '../src/store/keys.js';
import { createRedis } from '../src/store/redis.js';
import { hashPassword } from '../src/upstream/password.js';
import { LocalRedisCluster } from '../test/helpers/redis-cluster.js';
import type { LoadResult } from './loadgen.js';
import { CLI, DIST_BENCH, ROOT, child, firstLine, median, ready, runFlags, sleep, type RunFlags } from './procs.js';

const SENDER = '8610690000';
const DEST_PREFIX = '86139';
const DEST_DIGITS = 6;
const DEST_COUNT = 50_000;
const PREFIX = 'bench:scale:';


/** The sender and consent for every load generator destination, written once per run. */
async function seed(cluster: LocalRedisCluster): Promise<void> {
  const redis = createRedis({ url: 'redis://127.0.0.1', cluster: cluster.seeds, command_timeout_ms: 10_000 });
  await redis.connect();
  const keys = new Keys(PREFIX);
  const id = senderId('number', SENDER);
  await redis.hset(keys.senders, id, JSON.stringify({ id, kind: 'number', value: SENDER, account: 'bench', class: 'commercial', status: 'active', signatures: [] }));
  const value = `g:${Date.now()}`;
  for (let i = 0; i < DEST_COUNT; i += 5000) {
    await Promise.all(
      Array.from({ length: Math.min(5000, DEST_COUNT - i) }, (_, k) =>
        redis.hset(keys.consent(`${DEST_PREFIX}${String(i + k).padStart(DEST_DIGITS, '0')}`), `sender:${id}`, value),
      ),
    );
  }
  redis.disconnect();
}

interface RunResult {
  msgPerSec: number;
  /** Non-zero answers (0x08 when a policy check timed out and failed closed). */
  errors: number;
}

async function run(n: 1 | 2, tmp: string, cluster: LocalRedisCluster, simPort: number, hash: string, f: RunFlags, tag: string): Promise<RunResult> {
  const gws: ChildProcess[] = [];
  const ports: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const [listen, http] = [await freePort(), await freePort()];
      const file = join(tmp, `gw-${tag}-${i}.yaml`);
      writeFileSync(
        file,
        stringify({
          listen: { host: '127.0.0.1', port: listen },
          http: { host: '127.0.0.1', port: http },
          redis: { url: 'redis://127.0.0.1', cluster: cluster.seeds, key_prefix: PREFIX, command_timeout_ms: 500 },
          log: { level: 'warn' },
          audit: { destination: 'off' },
          rules: { dir: join(tmp, 'no-rules') },
          accounts: [{ system_id: 'bench', password_hash: hash, allowed_ips: ['127.0.0.0/8'], max_binds: 64, window: 1024 }],
          downstream: { smscs: [{ name: 'sim', host: '127.0.0.1', port: simPort, system_id: 'smppguard', password: 'simpw', binds: 2, window: 1024 }] },
        }),
      );
      gws.push(child([...GATEWAY_NODE_FLAGS, CLI, 'start', '--config', file], join(tmp, `gw-${tag}-${i}.log`)));
      ports.push(listen);
      await ready(http);
    }
    await sleep(500); // sender registry loaded on every instance
    const loads = ports.map((port) =>
      child([
        join(DIST_BENCH, 'loadgen.js'),
        '--json',
        JSON.stringify({
          port,
          systemId: 'bench',
          password: 'bench',
          binds: 4,
          window: 256,
          warmupMs: 1500,
          durationMs: f.durationMs,
          sourceAddr: SENDER,
          sourceTon: 1,
          destPrefix: DEST_PREFIX,
          destDigits: DEST_DIGITS,
          destCount: DEST_COUNT,
        }),
      ]),
    );
    const results = (await Promise.all(loads.map(firstLine))).map((l) => JSON.parse(l) as LoadResult | { error: string });
    const out: RunResult = { msgPerSec: 0, errors: 0 };
    for (const r of results) {
      if ('error' in r) throw new Error(`loadgen: ${r.error}`);
      const errs = Object.entries(r.errors);
      if (errs.length) console.log(`  (${tag}) errors: ${errs.map(([k, v]) => `${k} ${v}`).join(', ')}`);
      out.msgPerSec += r.msgPerSec;
      out.errors += errs.reduce((a, [, v]) => a + v, 0);
    }
    return out;
  } finally {
    for (const g of gws) g.kill('SIGTERM');
    await sleep(800);
  }
}

async function main(): Promise<void> {
  const f = runFlags(process.argv.slice(2), 'bench:scale', 6000);
  const tmp = mkdtempSync(join(tmpdir(), 'sg-bench-scale-'));
  mkdirSync(join(tmp, 'no-rules'));
  console.log('starting a local Redis Cluster (3 masters + 3 replicas)');
  const cluster = await LocalRedisCluster.start();
  let sim: ChildProcess | null = null;
  try {
    await seed(cluster);
    const simPort = await freePort();
    sim = child([join(DIST_BENCH, 'sim-proc.js'), '--watch-stdin', '--json', JSON.stringify({ port: simPort, httpPort: null, systemId: 'smppguard', password: 'simpw' })]);
    await firstLine(sim);
    const hash = await hashPassword('bench');
    const ones: RunResult[] = [];
    const twos: RunResult[] = [];
    for (let r = 0; r < f.rounds; r++) {
      ones.push(await run(1, tmp, cluster, simPort, hash, f, `r${r}-1`));
      twos.push(await run(2, tmp, cluster, simPort, hash, f, `r${r}-2`));
      console.log(`round ${r + 1}: 1 instance ${Math.round(ones[r]!.msgPerSec)} msg/s, 2 instances ${Math.round(twos[r]!.msgPerSec)} msg/s`);
    }
    const one = ones.map((x) => x.msgPerSec);
    const two = twos.map((x) => x.msgPerSec);
    const errs = (xs: RunResult[]) => xs.map((x) => x.errors).join(', ');
    const [m1, m2] = [median(one), median(two)];
    const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
    const md = [
      `## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — scale-out on Redis Cluster (issue 6)`,
      '',
      `- machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`,
      `- command: \`npm run bench:scale -- --rounds ${f.rounds} --duration-ms ${f.durationMs}${f.write ? ' --write' : ''}\``,
      `- local Redis Cluster, 3 masters + 3 replicas (6 redis-server processes); policy on, commercial sender, consent for ${DEST_COUNT.toLocaleString('en-US')} recipients; one load generator per instance (4 binds × window 256)`,
      '',
      '| instances | msg/s (median) | per round | vs 1 instance | errors per round (0x08: check timed out, failed closed) |',
      '|---|---:|---|---:|---|',
      `| 1 | ${fmt(m1)} | ${one.map(fmt).join(', ')} | 1.00 | ${errs(ones)} |`,
      `| 2 | ${fmt(m2)} | ${two.map(fmt).join(', ')} | ${(m2 / m1).toFixed(2)} | ${errs(twos)} |`,
      '',
      'All processes share this machine\'s 2 cores: a second instance competes with the first, six Redis processes, the simulator and the load generators for CPU.',
      '',
    ].join('\n');
    console.log(`\n${md}`);
    if (f.write) appendFileSync(join(ROOT, 'bench/RESULTS.md'), `\n${md}`);
  } finally {
    sim?.kill('SIGTERM');
    await cluster.stop();
  }
}

await main();
