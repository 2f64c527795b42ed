/**
 * `workers: 2` (src/cli/workers.ts, config/workers.ts): the real CLI as its own process, a primary
 * and two gateway workers sharing the SMPP and HTTP ports, the simulator as SMSC, the real Redis.
 * What a single process promises holds for the box: the SMSC sees the configured binds (not 2×),
 * an account's max_binds and TPS hold over both workers, /metrics counts both workers' traffic, a
 * worker killed with SIGKILL loses no message the ESME got ESME_ROK for and is started again,
 * SIGHUP reaches every worker, and SIGTERM to the primary drains every worker and exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { MessageView, isScanError } from '../../src/protocol/message-view.js';
import { startSimulator, type Simulator } from '../../src/sim/simulator.js';
import { freePort } from '../../src/sim/free-port.js';
import { connect, type EsmeClient } from '../helpers/esme-client.js';
import { REDIS_URL, processConfig, secretHash, sm, waitFor } from '../helpers/stack.js';
import { acceptedRate } from '../helpers/tps.js';
import { clearKeys } from '../helpers/redis-keys.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const SMSC_BINDS = 3;
const TPS = 100;
const dir = mkdtempSync(join(tmpdir(), 'sg-workers-'));
const log = join(dir, 'gateway.log');
const prefix = `test:${randomBytes(4).toString('hex')}:`;
let sim: Simulator;
let gw: ChildProcess | null = null;
let smppPort = 0;
let httpPort = 0;
const clients: EsmeClient[] = [];

const lines = (): Record<string, unknown>[] =>
  (existsSync(log) ? readFileSync(log, 'utf8') : '')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const started = () => lines().filter((l) => l.msg === 'worker started') as { worker: number; pid: number }[];

async function esme(account: string, kind: 'transmitter' | 'transceiver' = 'transmitter'): Promise<{ client: EsmeClient; status: number }> {
  const client = await connect('127.0.0.1', smppPort, { requestTimeoutMs: 10_000 });
  clients.push(client);
  return { client, status: await client.bind(kind, account, 'secret') };
}

async function metrics(): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
  expect(r.status).toBe(200);
  return r.text();
}

/** The sum of a metric's samples whose labels include every `labels` pair. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const texts = (): Set<string> => {
  const out = new Set<string>();
  for (const p of sim.received) {
    const v = MessageView.parse(p);
    if (!isScanError(v)) out.add(v.shortMessage.toString('latin1'));
  }
  return out;
};

beforeAll(async () => {
  sim = await startSimulator({ port: 0, record: true });
  [smppPort, httpPort] = [await freePort(), await freePort()];
  const hash = await secretHash();
  const account = (system_id: string, over: Record<string, unknown> = {}) => ({ system_id, password_hash: hash, allowed_ips: ['127.0.0.0/8'], window: 1000, ...over });
  const config = join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    stringify({
      ...processConfig(smppPort, httpPort, prefix, 'info'),
      workers: 2,
      audit: { destination: 'off' },
      policy: { enabled: false },
      archive: { enabled: false },
      accounts: [
        account('binds', { max_binds: 3 }),
        account('rate', { tps: TPS }),
        account('count'),
        account('kill'),
      ],
      downstream: {
        reconnect_initial_ms: 100,
        reconnect_max_ms: 300,
        smscs: [{ name: 'sim', host: '127.0.0.1', port: sim.port, system_id: 'gw', password: 'pw', binds: SMSC_BINDS, window: 1000 }],
      },
    }),
  );
  gw = spawn(process.execPath, [CLI, 'start', '--config', config], { stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')] });
  await waitFor(() => started().length === 2, 30_000, 'two workers started').catch((err: Error) => {
    throw new Error(`${err.message}\n${existsSync(log) ? readFileSync(log, 'utf8').slice(-3000) : ''}`);
  });
  // Readiness is the box's: both workers with their SMSC binds up.
  for (const deadline = Date.now() + 20_000; ; ) {
    if ((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status === 200) break;
    if (Date.now() > deadline) throw new Error('the box did not become ready');
    await new Promise((r) => setTimeout(r, 100));
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  gw?.kill('SIGKILL');
  for (const w of started()) {
    try {
      process.kill(w.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await sim?.close();
  const redis = new Redis(REDIS_URL);
  await clearKeys(redis, `${prefix}*`);
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

describe('workers: 2', () => {
  it('the SMSC sees the configured binds in total, split over the workers, and /readyz is the box’s', async () => {
    await new Promise((r) => setTimeout(r, 1000)); // no worker binds late or twice
    expect(sim.stats.binds).toBe(SMSC_BINDS);
    const text = await metrics();
    expect(sample(text, 'smppguard_smsc_link_up', { smsc: 'sim' })).toBe(SMSC_BINDS);
    // Each bind under its own link number on the box (worker 0: 0 and 1; worker 1: 2).
    for (let i = 0; i < SMSC_BINDS; i++) expect(sample(text, 'smppguard_smsc_link_up', { smsc: 'sim', link: String(i) })).toBe(1);
    expect(sample(text, 'smppguard_workers_up')).toBe(2);
    const ready = (await (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).json()) as { status: string };
    expect(ready.status).toBe('ready');
  });

  it('max_binds of an account holds over both workers', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await esme('binds')).status);
    expect(statuses.filter((s) => s === 0)).toHaveLength(3);
    expect(statuses.filter((s) => s !== 0)).toHaveLength(2);
  });

  it('the account TPS is shared by the workers, not doubled', async () => {
    const [a, b] = [await esme('rate'), await esme('rate')];
    expect([a.status, b.status]).toEqual([0, 0]);
    const { rate, throttled } = await acceptedRate([a.client, b.client], () => sm({ short_message: 'rate' }));
    console.log(`TPS over two workers: ${rate.toFixed(1)} msg/s accepted (limit ${TPS}), ${throttled} throttled`);
    expect(throttled).toBeGreaterThan(0);
    expect(rate).toBeGreaterThan(TPS * 0.8);
    expect(rate).toBeLessThan(TPS * 1.25);
  }, 20_000);

  it('/metrics counts the traffic of both workers (aggregated by the primary)', async () => {
    const before = sample(await metrics(), 'smppguard_pdus_total', { side: 'upstream', direction: 'in', command: 'submit_sm' });
    // Two binds in a row land on different workers (round-robin); each sends its own number of submits.
    const [a, b] = [await esme('count'), await esme('count')];
    for (let i = 0; i < 7; i++) expect((await a.client.submit(sm({ short_message: `a${i}` }))).status).toBe(0);
    for (let i = 0; i < 5; i++) expect((await b.client.submit(sm({ short_message: `b${i}` }))).status).toBe(0);
    const text = await metrics();
    expect(sample(text, 'smppguard_pdus_total', { side: 'upstream', direction: 'in', command: 'submit_sm' }) - before).toBe(12);
    expect(sample(text, 'smppguard_binds_active', { account: 'count' })).toBe(2);
    // The primary's own metrics come with the workers'.
    expect(sample(text, 'smppguard_workers_configured')).toBe(2);
  });

  it('a worker killed with SIGKILL while an ESME submits: every ESME_ROK message reaches the SMSC, and the worker is started again', async () => {
    const [a, b] = [await esme('kill'), await esme('kill')];
    const accepted: string[] = [];
    let stop = false;
    let n = 0;
    const pump = async (e: EsmeClient) => {
      while (!stop) {
        const batch = Array.from({ length: 20 }, () => `k${n++}`);
        const rs = await Promise.all(batch.map((t) => e.submit(sm({ short_message: t })).catch(() => null)));
        rs.forEach((r, i) => r?.status === 0 && accepted.push(batch[i]!));
        if (rs.some((r) => r === null)) return; // this ESME's worker is gone
      }
    };
    const runs = [pump(a.client), pump(b.client)];
    await new Promise((r) => setTimeout(r, 500));
    const victim = started().find((w) => w.worker === 0)!;
    const sentBefore = accepted.length;
    process.kill(victim.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 1000));
    stop = true;
    await Promise.all(runs);
    expect(sentBefore).toBeGreaterThan(0);
    expect(accepted.length).toBeGreaterThan(sentBefore); // the other worker kept taking traffic
    const allArrived = () => {
      const arrived = texts();
      return accepted.every((t) => arrived.has(t));
    };
    await waitFor(allArrived, 10_000, 'every accepted message at the SMSC').catch((err: Error) => {
      const arrived = texts();
      throw new Error(`${err.message}: ${accepted.filter((t) => !arrived.has(t)).length} of ${accepted.length} missing`);
    });
    await waitFor(() => started().filter((w) => w.worker === 0).length === 2, 15_000, 'worker 0 started again');
    expect(started().find((w) => w.worker === 0 && w.pid !== victim.pid)).toBeDefined();
    expect(lines().some((l) => l.msg === 'worker died: starting it again' && l.signal === 'SIGKILL')).toBe(true);
    // The new worker binds its share again: the SMSC has the configured binds up, not more.
    await waitFor(() => sim.stats.binds >= SMSC_BINDS + 2, 10_000, 'worker 0 bound its share again');
    await new Promise((r) => setTimeout(r, 500));
    expect(sample(await metrics(), 'smppguard_smsc_link_up', { smsc: 'sim' })).toBe(SMSC_BINDS);
  }, 40_000);

  it('SIGHUP to the primary reloads every worker, each with its share (nothing flagged as needing a restart)', async () => {
    const reloads = () => lines().filter((l) => l.msg === 'config reloaded');
    const before = reloads().length;
    gw!.kill('SIGHUP');
    await waitFor(() => reloads().length >= before + 2, 10_000, 'both workers reloaded');
    expect(new Set(reloads().slice(before).map((l) => l.worker))).toEqual(new Set([0, 1]));
    expect(lines().some((l) => l.msg === 'config reload: these settings change only with a restart')).toBe(false);
    expect(sim.stats.binds).toBe(SMSC_BINDS + 2); // no SMSC rebound by the reload
  });

  it('SIGTERM to the primary drains every worker and exits 0', async () => {
    const { client, status } = await esme('count');
    expect(status).toBe(0);
    const exited = new Promise<number | null>((r) => gw!.once('exit', (code) => r(code)));
    gw!.kill('SIGTERM');
    expect(await exited).toBe(0);
    gw = null;
    // The ESME was unbound by its worker (a graceful stop), not cut off.
    expect(await client.closed).toBeTruthy();
    const stopped = lines().filter((l) => l.msg === 'stopped');
    expect(new Set(stopped.map((l) => l.worker))).toEqual(new Set([0, 1]));
    for (const w of started()) expect(() => process.kill(w.pid, 0)).toThrow();
  }, 30_000);
});
