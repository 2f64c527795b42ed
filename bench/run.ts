/**
 * The benchmark harness: `npm run bench [-- --rounds 3 --duration-ms 10000 --binds 8 --window 512 --write]`.
 *
 * One run, all on this machine, every party its own process: the SMSC simulator (sim-proc.ts), a
 * fresh gateway per gateway run (`dist/src/cli/main.js start --config …`) and the load generator
 * (loadgen.ts). Scenarios are run round-robin — a, b, a, b, … — so drift on a shared box hits them
 * alike; the table shows medians over rounds and each scenario's ratio to the direct baseline (a).
 * Each process's CPU over the measured interval is read from /proc, to show who is saturated.
 *
 * A scenario is a label plus gateway config overrides (deep-merged into the base YAML); add one to
 * SCENARIOS to benchmark e.g. policy or rules on.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as toYaml } from 'yaml';
import { hashPassword } from '../src/upstream/password.js';
import type { LoadOptions, LoadResult } from './loadgen.js';
import type { OpenLoopOptions, OpenLoopResult } from './open-loop.js';
import { roundOrder } from './round-order.js';
import { GATEWAY_NODE_FLAGS } from '../src/cli/node-flags.js';
import { portedGateway, routingGateway, seedPorted } from './routing-scenario.js';
import { POLICY_PREFIX, policyGatewayFor, policyLoad, preparePolicyData, prepareCnPack, rulesClock, rulesGatewayFor, rulesLoad, rulesLoadPerRun, type CnVariant } from './policy-scenario.js';
import { freePort } from '../src/sim/free-port.js';
import { archiveTicks, cleanRedis, clearDecisionBuffer, cpuTicks, damonReclaim, parseRedisCpu } from './procs.js';
import { parseHistogram, quantileBetween } from './prom-histogram.js';

// ---------------------------------------------------------------------------------------------
// Scenarios

export interface Scenario {
  id: string;
  label: string;
  /** Absent: the load generator talks to the simulator directly. Present: through a gateway whose
   * base config (see baseGatewayConfig) is deep-merged with these overrides (arrays replace); a
   * function gives them for the build that runs (root undefined: this one; else a --baseline). */
  gateway?: Record<string, unknown> | ((root: string | undefined) => Record<string, unknown>);
  /** Load generator options for this scenario (merged over the common ones). */
  loadgen?: Partial<LoadOptions>;
  /** Runs once per gateway start, after /readyz is 200 and before load (e.g. seed Redis). */
  setup?: (ctx: GatewayContext) => Promise<void>;
  /** Runs once before the first round (e.g. seed data every gateway of this scenario reads), with the build's checkout. */
  prepare?: (root: string) => Promise<void>;
  /**
   * Per gateway start: extra `smppguard start` arguments (e.g. --clock-offset-ms) and a line saying
   * what the run measures because of them.
   */
  gatewayArgs?: () => { args: string[]; note: string; summary: string };
  /** Per run: load generator options that change between runs (random start destination, campaign text). */
  loadgenPerRun?: () => Partial<LoadOptions>;
  /** Redis key patterns this scenario's runs leave behind outside the run's own prefix, removed at the end. */
  cleanPatterns?: string[];
  /** Only this build runs it (what it measures did not exist before), even with --baseline. */
  thisBuildOnly?: boolean;
  /** The checkout whose built gateway this scenario runs (default: this one); set by --baseline. */
  root?: string;
  /** Configuration merged over this scenario's gateway last (the `~` copy --compare adds). */
  compare?: Record<string, unknown>;
}

export interface GatewayContext {
  config: Record<string, unknown>;
  httpPort: number;
  listenPort: number;
  redisPrefix: string;
}

export const SCENARIOS: Scenario[] = [
  { id: 'a', label: 'loadgen → simulator (direct)' },
  { id: 'b', label: 'loadgen → gateway → simulator, policy off', gateway: { policy: { enabled: false }, audit: { destination: 'off' } } },
  // (b) with 10 MT routes over 3 SMSC groups (bench/routing-scenario.ts): what routing adds.
  { id: 'r', label: 'loadgen → gateway → simulator, policy off, 10 MT routes / 3 groups', gateway: routingGateway },
  // (r) plus a ported_to route and a portability table: every message pays one pipelined ported lookup.
  { id: 'rp', label: 'loadgen → gateway → simulator, policy off, 10 MT routes / 3 groups + a ported_to route (2 % ported)', gateway: portedGateway, setup: seedPorted },
  {
    id: 'c',
    label: 'loadgen → gateway → simulator, policy on (10M DND, 1M consent, 10k senders)',
    gateway: policyGatewayFor,
    loadgen: policyLoad,
    prepare: () => preparePolicyData(ROOT, (l) => console.log(l)),
  },
  rulesScenario('d', 'loadgen → gateway → simulator, policy on + rules/cn-miit.yaml', 'pack'),
  // (d) without the pack's traffic intelligence rules, and (d) with a learned-score rule added: what each costs.
  rulesScenario('d0', 'loadgen → gateway → simulator, policy on + rules/cn-miit.yaml without behaviour/campaign/content rules', 'no-intel'),
  rulesScenario('ds', 'loadgen → gateway → simulator, policy on + rules/cn-miit.yaml + a score rule (spam-en)', 'score'),
  // Which intelligence rules cost what: (d) without the behaviour rules, without the campaign rules.
  rulesScenario('db', 'loadgen → gateway → simulator, policy on + rules/cn-miit.yaml without behaviour rules', 'no-behaviour'),
  rulesScenario('dc', 'loadgen → gateway → simulator, policy on + rules/cn-miit.yaml without campaign rules', 'no-campaign'),
];

const BASELINE = 'a';

function rulesScenario(id: string, label: string, variant: CnVariant): Scenario {
  return {
    id,
    thisBuildOnly: variant !== 'pack',
    label,
    gateway: rulesGatewayFor(variant),
    loadgen: rulesLoad,
    gatewayArgs: rulesClock,
    loadgenPerRun: rulesLoadPerRun,
    // The rate counters of the shared policy data: otherwise later benchmarks of the day would
    // meet the daily cap (50 per recipient) their predecessors filled. Likewise the sender's behaviour
    // profile and the campaign counters (a later run would read its predecessors' recipients), and the
    // decision buffer (kept a week otherwise: ~90 MB after a day of benchmarks).
    cleanPatterns: [`${POLICY_PREFIX}{rate:*`, `${POLICY_PREFIX}{bhv:*`, `${POLICY_PREFIX}{camp:*`, `${POLICY_PREFIX}audit:*`, `${POLICY_PREFIX}auditm:*`],
    prepare: async (root) => {
      await preparePolicyData(ROOT, (l) => console.log(l));
      await prepareCnPack(root, variant);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Flags

interface Flags {
  rounds: number;
  durationMs: number;
  warmupMs: number;
  binds: number;
  window: number;
  scenarios: string[];
  write: boolean;
  logLevel: string;
  keepTmp: boolean;
  /** Directory for --cpu-prof profiles of every child (gateway, simulator, loadgen). */
  profile: string | null;
  sim: Record<string, unknown>;
  loadgen: Partial<LoadOptions>;
  /** Configuration merged over this build's gateway in every gateway scenario (not a baseline's). */
  gateway: Record<string, unknown>;
  /** With it, every gateway scenario of this build runs a second time (id `<id>~`) with this configuration merged over it. */
  compare: Record<string, unknown> | null;
  /** Another checkout (built) whose gateway runs every gateway scenario too, alternating with this one. */
  baseline: string | null;
  /** Offered rates (msg/s) of the open-loop table; null: closed-loop runs only. */
  openLoop: number[] | null;
  openLoopBinds: number;
  openLoopWindow: number;
  /** Node flags for the gateway process (default none: started as `npm start` starts it). */
  gatewayNodeArgs: string[];
}

const USAGE = `usage: npm run bench -- [options]
  --rounds N          rounds of every scenario, alternating (default 3)
  --duration-ms N     measured time per run (default 10000)
  --warmup-ms N       unmeasured load before each run (default 2000; 5000 with --open-loop)
  --binds N           load generator binds (default 8)
  --window N          outstanding submits per bind (default 512)
  --scenarios a,b     which scenarios (default: all)
  --log-level L       gateway log level (default warn)
  --sim JSON          extra simulator options, e.g. '{"responseDelayMs":1}'
  --loadgen JSON      extra load generator options, e.g. '{"registeredDelivery":1}'
  --gateway JSON      configuration merged over this build's gateways, e.g. '{"intel":{"memory_retention_s":0}}'
  --compare JSON      run every gateway scenario twice a round, the second time (id <id>~) with this
                      configuration merged over it, e.g. '{"archive":{"enabled":false}}'
  --keep-tmp          keep the temp dir with gateway configs and logs
  --profile DIR       run every child with node --cpu-prof into DIR
  --write             append the table to bench/RESULTS.md
  --open-loop R1,R2   instead of the closed-loop table: an open-loop run of every scenario at each
                      offered rate (msg/s), latency from the scheduled send time, added latency vs (a)
  --open-loop-binds N binds of the open-loop generator (default 4)
  --open-loop-window N  outstanding submits per bind in open loop (default 1000)
  --gateway-node-args '--flag …'  node flags for the gateway (default: those \`npm start\` gives it,
                      src/cli/node-flags.ts; '' for none)
  --baseline DIR      also run every gateway scenario on the gateway built in checkout DIR (another
                      commit, \`npm ci && npm run build\` there), alternating with this one in every
                      round; prints this build's median over the baseline's per scenario
scenarios: ${SCENARIOS.map((s) => `${s.id} = ${s.label}`).join('; ')}`;

/** The open loop's default warm-up (parseFlags). */
const OPEN_LOOP_WARMUP_MS = 5000;

function parseFlags(argv: string[]): Flags {
  const f: Flags = {
    rounds: 3,
    durationMs: 10_000,
    warmupMs: 2000,
    binds: 8,
    window: 512,
    scenarios: SCENARIOS.map((s) => s.id),
    write: false,
    logLevel: 'warn',
    keepTmp: false,
    profile: null,
    sim: {},
    loadgen: {},
    gateway: {},
    compare: null,
    baseline: null,
    openLoop: null,
    openLoopBinds: 4,
    openLoopWindow: 1000,
    gatewayNodeArgs: [...GATEWAY_NODE_FLAGS],
  };
  const int = (name: string, v: string | undefined) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} needs a whole number, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [k, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const val = () => inline ?? argv[++i];
    switch (k) {
      case '--rounds': f.rounds = Math.max(1, int(k, val())); break;
      case '--duration-ms': f.durationMs = int(k, val()); break;
      case '--warmup-ms': f.warmupMs = int(k, val()); break;
      case '--binds': f.binds = Math.max(1, int(k, val())); break;
      case '--window': f.window = Math.max(1, int(k, val())); break;
      case '--scenarios': f.scenarios = (val() ?? '').split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--log-level': f.logLevel = val() ?? 'warn'; break;
      case '--sim': f.sim = JSON.parse(val() ?? '{}'); break;
      case '--loadgen': f.loadgen = JSON.parse(val() ?? '{}'); break;
      case '--gateway': f.gateway = JSON.parse(val() ?? '{}'); break;
      case '--compare': f.compare = JSON.parse(val() ?? '{}'); break;
      case '--keep-tmp': f.keepTmp = true; break;
      case '--profile': f.profile = resolve(val() ?? 'bench-profiles'); break;
      case '--write': f.write = true; break;
      case '--baseline': f.baseline = resolve(val() ?? '.'); break;
      case '--open-loop':
        f.openLoop = (val() ?? '').split(',').map((r) => int(k, r.trim().replace(/_/g, ''))).filter((r) => r > 0);
        if (f.openLoop.length === 0) throw new Error('--open-loop needs rates, e.g. 5000,20000,50000');
        break;
      case '--open-loop-binds': f.openLoopBinds = Math.max(1, int(k, val())); break;
      case '--open-loop-window': f.openLoopWindow = Math.max(1, int(k, val())); break;
      case '--gateway-node-args': f.gatewayNodeArgs = (val() ?? '').split(/\s+/).filter(Boolean); break;
      case '-h':
      case '--help':
        console.log(USAGE);
        return process.exit(0);
      default:
        throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  for (const id of f.scenarios) if (!SCENARIOS.some((s) => s.id === id)) throw new Error(`unknown scenario ${id}`);
  // A gateway started for a run reaches its steady state under a fixed rate in ~2 s on a 2-core box
  // (its code is optimised as it runs; the first turns take 100–300 ms each): with the closed
  // loop's 2 s warm-up, (d) at 20,000 msg/s began its measured interval with a backlog of
  // thousands and reported the start-up's tail as the rate's (bench/RESULTS.md, session 20).
  if (f.openLoop && !argv.includes('--warmup-ms')) f.warmupMs = OPEN_LOOP_WARMUP_MS;
  return f;
}

// ---------------------------------------------------------------------------------------------
// Child processes

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST_BENCH = fileURLToPath(new URL('./', import.meta.url));
const CLI = join(ROOT, 'dist/src/cli/main.js');
const children = new Set<ChildProcess>();
/** Extra node flags for every child (set by --profile). */
let nodeArgs: string[] = [];
/**
 * Node flags of the gateway process: by default those `npm start`, the Docker image and the systemd
 * unit give it (src/cli/node-flags.ts), so the figures are what an operator gets;
 * `--gateway-node-args ''` runs it without them.
 */
let gatewayNodeArgs: string[] = [...GATEWAY_NODE_FLAGS];
/** Configuration merged over this build's gateways (--gateway). */
let gatewayOverrides: Record<string, unknown> = {};

function track(cp: ChildProcess): ChildProcess {
  children.add(cp);
  cp.once('exit', () => children.delete(cp));
  return cp;
}

function killAll(): void {
  for (const cp of children) {
    try {
      cp.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** SIGTERM, then SIGKILL if it has not exited within `ms`. */
async function stopChild(cp: ChildProcess, ms = 5000): Promise<void> {
  if (cp.exitCode !== null || cp.signalCode !== null) return;
  const exited = once(cp, 'exit');
  cp.kill('SIGTERM');
  const t = setTimeout(() => cp.kill('SIGKILL'), ms);
  await exited;
  clearTimeout(t);
}


function lines(stream: NodeJS.ReadableStream, fn: (line: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      fn(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
}

async function startSimulator(opts: Record<string, unknown>): Promise<{ proc: ChildProcess; port: number }> {
  const proc = track(
    spawn(process.execPath, [...nodeArgs, join(DIST_BENCH, 'sim-proc.js'), '--watch-stdin', '--json', JSON.stringify({ port: 0, httpPort: null, ...opts })], {
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('simulator did not start within 10 s')), 10_000);
    proc.once('exit', (code) => reject(new Error(`simulator exited (${code}) before it was ready`)));
    lines(proc.stdout!, (line) => {
      try {
        const m = JSON.parse(line) as { ready?: boolean; port?: number; error?: string };
        clearTimeout(t);
        if (m.ready && m.port) resolve(m.port);
        else reject(new Error(`simulator failed: ${m.error ?? line}`));
      } catch {
        /* not ours */
      }
    });
  });
  return { proc, port };
}

// ---- CPU per process over the measured interval, from /proc/<pid>/stat ----

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Busy ticks of the whole machine (all CPUs), from /proc/stat. */
function machineTicks(): number | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // user … steal (guest is inside user)
    return total - f[3]! - f[4]!; // minus idle, iowait
  } catch {
    return null;
  }
}

/** Seconds of CPU the Redis server has used (INFO cpu: used_cpu_user + used_cpu_sys, all its threads), or null. */
let redisCpuSeconds: () => Promise<number | null> = async () => null;

interface RunOutcome<R> {
  result: R;
  /** CPU % (100 = one core) over the measured interval, by role. */
  cpu: Record<string, number | null>;
  /** CPU seconds over the measured interval: the gateway's (/proc/<pid>/stat, its children included), of that its archive child's, and Redis's (INFO cpu). */
  cpuSec: CpuSeconds;
  /** From the gateway's /metrics over the measured interval (null without a gateway): p99 ms. */
  inGateway: InGateway | null;
}

/** p99 over the measured interval, ms: submit read → verdict, and the policy check's Redis round trip (null: none observed). */
interface InGateway {
  verdict: number | null;
  policyRedis: number | null;
}

/** The gateway's /metrics text, or null when it does not answer (the figures are then left out). */
async function metricsText(httpPort: number): Promise<string | null> {
  try {
    const r = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(5000) });
    return r.ok ? await r.text() : null;
  } catch {
    return null;
  }
}

function inGatewayBetween(before: string | null, after: string | null): InGateway | null {
  if (before === null || after === null) return null;
  const p99 = (name: string, match?: Record<string, string>) => {
    const q = quantileBetween(parseHistogram(before, name, match), parseHistogram(after, name, match), 0.99);
    return q === null ? null : q * 1000;
  };
  return { verdict: p99('smppguard_decision_seconds'), policyRedis: p99('smppguard_redis_seconds', { op: 'policy_check' }) };
}

async function runLoadgen<R extends LoadResult | OpenLoopResult>(
  script: 'loadgen.js' | 'open-loop.js',
  opts: LoadOptions | OpenLoopOptions,
  watch: Record<string, number | undefined>,
  timeoutMs: number,
  /** The gateway's HTTP port: its /metrics is read as the measured interval starts and ends. */
  gatewayHttp?: number,
): Promise<RunOutcome<R>> {
  const { onPhase: _drop, ...plain } = opts;
  const proc = track(spawn(process.execPath, [...nodeArgs, join(DIST_BENCH, script), '--json', JSON.stringify(plain)], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const start: Record<string, number | null> = {};
  let t0 = 0;
  const cpu: Record<string, number | null> = {};
  const cpuSec: CpuSeconds = { gateway: null, archive: null, redis: null };
  let redis0: Promise<number | null> = Promise.resolve(null);
  let redis1: Promise<number | null> = Promise.resolve(null);
  let metrics0: Promise<string | null> = Promise.resolve(null);
  let metrics1: Promise<string | null> = Promise.resolve(null);
  const errLines: string[] = [];
  lines(proc.stderr!, (line) => {
    let phase: string | undefined;
    try {
      phase = (JSON.parse(line) as { phase?: string }).phase;
    } catch {
      errLines.push(line);
      return;
    }
    if (phase === 'measure') {
      t0 = performance.now();
      for (const [role, pid] of Object.entries(watch)) start[role] = cpuTicks(pid);
      start.archive = archiveTicks(watch.gateway);
      start.machine = machineTicks();
      if (watch.gateway) redis0 = redisCpuSeconds();
      if (gatewayHttp) metrics0 = metricsText(gatewayHttp);
    } else if (phase === 'stop' && t0) {
      const sec = (performance.now() - t0) / 1000;
      const pct = (a: number | null | undefined, b: number | null) => (a == null || b == null ? null : Math.round(((b - a) / CLK_TCK / sec) * 1000) / 10);
      const end: Record<string, number | null> = {};
      for (const [role, pid] of Object.entries(watch)) cpu[role] = pct(start[role], (end[role] = cpuTicks(pid)));
      cpu.machine = pct(start.machine, machineTicks());
      if (watch.gateway) redis1 = redisCpuSeconds();
      if (gatewayHttp) metrics1 = metricsText(gatewayHttp);
      const g0 = start.gateway;
      const g1 = end.gateway;
      if (g0 != null && g1 != null) cpuSec.gateway = (g1 - g0) / CLK_TCK;
      // The archive child's share (a child that restarted in between counts from its start).
      const a0 = start.archive;
      const a1 = archiveTicks(watch.gateway);
      if (a0 != null && a1 != null) cpuSec.archive = Math.max(0, a1 - a0) / CLK_TCK;
    }
  });
  const killer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(proc, 'exit')) as [number | null];
  clearTimeout(killer);
  const last = out.trim().split('\n').pop() ?? '';
  let parsed: R | { error: string };
  try {
    parsed = JSON.parse(last) as R;
  } catch {
    throw new Error(`loadgen exited ${code} without a result${errLines.length ? `: ${errLines.slice(-5).join(' | ')}` : ''}`);
  }
  if ('error' in parsed) throw new Error(`loadgen: ${parsed.error}`);
  const [r0, r1, m0, m1] = await Promise.all([redis0, redis1, metrics0, metrics1]);
  if (r0 != null && r1 != null) cpuSec.redis = r1 - r0;
  return { result: parsed, cpu, cpuSec, inGateway: gatewayHttp ? inGatewayBetween(m0, m1) : null };
}

// ---- gateway ----

function baseGatewayConfig(p: { listen: number; http: number; redisPrefix: string; simPort: number; passwordHash: string; logLevel: string }) {
  return {
    listen: { host: '127.0.0.1', port: p.listen },
    http: { host: '127.0.0.1', port: p.http },
    redis: { url: 'redis://127.0.0.1:6379', key_prefix: p.redisPrefix },
    log: { level: p.logLevel },
    accounts: [{ system_id: 'bench', password_hash: p.passwordHash, allowed_ips: ['127.0.0.0/8'], max_binds: 64, window: 1024, tps: 0 }],
    downstream: {
      smscs: [{ name: 'sim', host: '127.0.0.1', port: p.simPort, system_id: 'smppguard', password: 'simpw', binds: 4, window: 1024 }],
    },
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  return out;
}

interface Gateway {
  proc: ChildProcess;
  ctx: GatewayContext;
  logFile: string;
}

async function startGateway(
  scn: Scenario,
  tag: string,
  tmp: string,
  common: { simPort: number; passwordHash: string; logLevel: string; redisPrefix: string },
): Promise<Gateway> {
  const listen = await freePort();
  const http = await freePort();
  const redisPrefix = `${common.redisPrefix}${tag}:`;
  const overrides = typeof scn.gateway === 'function' ? scn.gateway(scn.root) : (scn.gateway ?? {});
  const config = deepMerge(deepMerge(deepMerge(baseGatewayConfig({ ...common, listen, http, redisPrefix }), overrides), scn.root ? {} : gatewayOverrides), scn.compare ?? {});
  const file = join(tmp, `gateway-${tag}.yaml`);
  writeFileSync(file, toYaml(config));
  const logFile = join(tmp, `gateway-${tag}.log`);
  const fd = openSync(logFile, 'a');
  // Gateways on the shared policy data's prefix share its decision buffer: each run starts with it empty.
  const redisCfg = config.redis as { key_prefix?: string } | undefined;
  if (redisCfg?.key_prefix === POLICY_PREFIX) {
    const stream = (config.audit as { stream?: { shards?: number } } | undefined)?.stream;
    await clearDecisionBuffer(POLICY_PREFIX, stream?.shards ?? 64);
  }
  const extra = scn.gatewayArgs?.();
  if (extra) {
    console.log(`(${scn.id}) ${extra.note}`);
    let set = measures.get(scn.id);
    if (!set) measures.set(scn.id, (set = new Set()));
    set.add(extra.summary);
  }
  const proc = track(
    spawn(process.execPath, [...nodeArgs, ...gatewayNodeArgs, scn.root ? join(scn.root, 'dist/src/cli/main.js') : CLI, 'start', '--config', file, ...(extra?.args ?? [])], {
      stdio: ['ignore', fd, fd],
      cwd: scn.root ?? ROOT,
    }),
  );
  closeSync(fd);
  const deadline = Date.now() + 30_000;
  let exited = false;
  proc.once('exit', () => (exited = true));
  for (;;) {
    if (exited) throw new Error(`gateway exited before /readyz was 200; log ${logFile}:\n${tail(logFile)}`);
    if (Date.now() > deadline) {
      await stopChild(proc);
      throw new Error(`gateway /readyz not 200 within 30 s; log ${logFile}:\n${tail(logFile)}`);
    }
    try {
      const r = await fetch(`http://127.0.0.1:${http}/readyz`, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      if (r.status === 200) break;
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  const ctx: GatewayContext = { config, httpPort: http, listenPort: listen, redisPrefix };
  await scn.setup?.(ctx);
  return { proc, ctx, logFile };
}

function tail(file: string, n = 20): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

let redisPid: number | null = null;

/** What a scenario's runs measured, by scenario (from Scenario.gatewayArgs). */
const measures = new Map<string, Set<string>>();

/**
 * The gateway's decisions over its whole life (warm-up included: one gateway per run), from
 * smppguard_decisions_total: "action/reason" → count; and the monitor-mode rule matches among them
 * (smppguard_rule_matches_total): "monitor <rule>" → count (a flagged message costs more).
 */
async function decisionMix(httpPort: number): Promise<Record<string, number>> {
  const text = await metricsText(httpPort);
  if (text === null) throw new Error('the gateway did not answer GET /metrics');
  const mix: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('smppguard_rule_matches_total{') && line.includes('mode="monitor"')) {
      const n = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (n > 0) mix[`monitor ${/rule="([^"]*)"/.exec(line)?.[1] ?? '?'}`] = n;
      continue;
    }
    if (!line.startsWith('smppguard_decisions_total{')) continue;
    const action = /action="([^"]*)"/.exec(line)?.[1] ?? '?';
    const reason = /reason="([^"]*)"/.exec(line)?.[1] ?? '?';
    const n = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (n > 0) mix[`${action}/${reason}`] = (mix[`${action}/${reason}`] ?? 0) + n;
  }
  return mix;
}

function fmtMix(mix: Record<string, number>): string {
  const decisions = Object.entries(mix).filter(([k]) => !k.startsWith('monitor '));
  const total = decisions.reduce((a, [, b]) => a + b, 0);
  if (total === 0) return 'no decisions';
  const pct = (v: number) => `${((v / total) * 100).toFixed(v === total ? 0 : 1)} %`;
  const monitor = Object.entries(mix).filter(([k]) => k.startsWith('monitor '));
  return (
    decisions
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${pct(v)}`)
      .join(', ') + (monitor.length > 0 ? `; matched in monitor mode: ${monitor.map(([k, v]) => `${k.slice(8)} ${pct(v)}`).join(', ')}` : '')
  );
}

// ---------------------------------------------------------------------------------------------
// Reporting

interface Sample {
  scenario: string;
  round: number;
  result: LoadResult;
  cpu: Record<string, number | null>;
  /** µs of CPU per answered message over the measured interval: gateway (/proc; of it, its archive child) and Redis (INFO cpu). */
  us: CpuSeconds;
  /** Gateway decisions by action/reason (policy scenarios). */
  mix: Record<string, number> | null;
}

interface OpenSample {
  scenario: string;
  round: number;
  rate: number;
  result: OpenLoopResult;
  us: CpuSeconds;
  inGateway: InGateway | null;
}

/** CPU seconds over a measured interval, or µs a message once perMessage() divided them. */
interface CpuSeconds {
  gateway: number | null;
  /** The part of `gateway` that was its archive child (store → Parquet). */
  archive: number | null;
  redis: number | null;
}

/** µs of CPU per message, from CPU seconds over the measured interval and the messages answered in it. */
function perMessage(cpuSec: CpuSeconds, messages: number): CpuSeconds {
  const us = (sec: number | null) => (sec == null || messages <= 0 ? null : Math.round(((sec * 1e6) / messages) * 100) / 100);
  return { gateway: us(cpuSec.gateway), archive: us(cpuSec.archive), redis: us(cpuSec.redis) };
}

/** A round's µs a message: "gateway 13.2 (its archive child 2.8), redis 2.9". */
const fmtUsLine = (us: CpuSeconds): string =>
  `µs CPU/msg gateway ${us.gateway ?? '?'}${us.archive ? ` (its archive child ${us.archive})` : ''}, redis ${us.redis ?? '?'}`;

const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const fmtMs = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');
const fmtCpu = (xs: (number | null | undefined)[]) => {
  const v = xs.filter((x): x is number => typeof x === 'number');
  return v.length ? String(Math.round(median(v))) : '–';
};

/** Medians over rounds: "gateway (its archive child) / redis", the child left out when there was none. */
const fmtUs = (xs: CpuSeconds[]) => {
  const m = (v: (number | null)[]) => {
    const n = v.filter((x): x is number => typeof x === 'number');
    return n.length ? median(n).toFixed(1) : '–';
  };
  const archive = xs.some((x) => x.archive) ? ` (${m(xs.map((x) => x.archive))})` : '';
  return `${m(xs.map((x) => x.gateway))}${archive} / ${m(xs.map((x) => x.redis))}`;
};

/**
 * The open-loop table: per offered rate, every scenario's achieved rate and latency percentiles
 * (medians over rounds), the latency each adds over the direct run (a) per percentile, the
 * gateway's own p99 of submit → verdict and of the policy check's Redis round trip (its /metrics),
 * and µs of gateway / Redis CPU per message.
 */
function openTable(samples: OpenSample[], scenarios: Scenario[], rates: number[]): string {
  const rows = [
    '| offered msg/s | scenario | achieved msg/s | p50 ms | p99 ms | p99.9 ms | added p50 / p99 / p99.9 ms | in the gateway p99 ms: to verdict / policy check in Redis | µs CPU/msg gateway (its archive child) / redis | send lag max ms | carried from warm-up | errors |',
    '|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|',
  ];
  for (const rate of rates) {
    const pick = (id: string) => samples.filter((s) => s.rate === rate && s.scenario === id);
    const pct = (ss: OpenSample[], k: 'p50' | 'p99' | 'p999') => median(ss.map((s) => s.result.latencyMs[k]));
    const base = pick(BASELINE);
    for (const scn of scenarios) {
      const ss = pick(scn.id);
      if (ss.length === 0) continue;
      const added = (k: 'p50' | 'p99' | 'p999') => {
        if (scn.id === BASELINE || base.length === 0) return '–';
        const d = pct(ss, k) - pct(base, k);
        return `${d >= 0 ? '+' : ''}${d.toFixed(2)}`;
      };
      const errs = new Map<string, number>();
      for (const s of ss) for (const [k, v] of Object.entries(s.result.errors)) errs.set(k, (errs.get(k) ?? 0) + v);
      const unacked = ss.reduce((a, s) => a + s.result.unacked, 0);
      const errText = [...[...errs].map(([k, v]) => `${k}: ${v}`), ...(unacked ? [`unacked: ${unacked}`] : [])].join(', ') || '0';
      const inGw = (k: keyof InGateway) => {
        const v = ss.map((s) => s.inGateway?.[k]).filter((x): x is number => typeof x === 'number');
        return v.length ? fmtMs(median(v)) : '–';
      };
      rows.push(
        `| ${fmtInt(rate)} | (${scn.id}) ${scn.label} | ${fmtInt(median(ss.map((s) => s.result.achievedPerSec)))} | ` +
          `${fmtMs(pct(ss, 'p50'))} | ${fmtMs(pct(ss, 'p99'))} | ${fmtMs(pct(ss, 'p999'))} | ${added('p50')} / ${added('p99')} / ${added('p999')} | ` +
          `${scn.gateway ? `${inGw('verdict')} / ${inGw('policyRedis')}` : '–'} | ` +
          `${scn.gateway ? fmtUs(ss.map((s) => s.us)) : '–'} | ${fmtMs(Math.max(...ss.map((s) => s.result.sendLagMs.max)))} | ` +
          `${fmtInt(Math.max(...ss.map((s) => s.result.carried)))} | ${errText} |`,
      );
    }
  }
  return rows.join('\n');
}

function table(samples: Sample[], scenarios: Scenario[]): string {
  const base = median(samples.filter((s) => s.scenario === BASELINE).map((s) => s.result.msgPerSec));
  const rows = [
    '| scenario | msg/s (median) | µs CPU/msg gateway (its archive child) / redis | msg/s per round | p50 ms | p99 ms | vs (a) | CPU % loadgen / gateway / sim / redis / other | errors |',
    '|---|---:|---:|---|---:|---:|---:|---|---|',
  ];
  for (const scn of scenarios) {
    const ss = samples.filter((s) => s.scenario === scn.id);
    if (ss.length === 0) continue;
    const rate = median(ss.map((s) => s.result.msgPerSec));
    const errs = new Map<string, number>();
    for (const s of ss) for (const [k, v] of Object.entries(s.result.errors)) errs.set(k, (errs.get(k) ?? 0) + v);
    const unacked = ss.reduce((a, s) => a + s.result.unacked, 0);
    const errText = [...[...errs].map(([k, v]) => `${k}: ${v}`), ...(unacked ? [`unacked: ${unacked}`] : [])].join(', ') || '0';
    rows.push(
      `| (${scn.id}) ${scn.label} | ${fmtInt(rate)} | ${scn.gateway ? fmtUs(ss.map((s) => s.us)) : '–'} | ${ss.map((s) => fmtInt(s.result.msgPerSec)).join(', ')} | ` +
        `${fmtMs(median(ss.map((s) => s.result.latencyMs.p50)))} | ${fmtMs(median(ss.map((s) => s.result.latencyMs.p99)))} | ` +
        `${Number.isFinite(base) && base > 0 ? (rate / base).toFixed(2) : '–'} | ` +
        `${fmtCpu(ss.map((s) => s.cpu.loadgen))} / ${scn.gateway ? fmtCpu(ss.map((s) => s.cpu.gateway)) : '–'} / ${fmtCpu(ss.map((s) => s.cpu.sim))} / ` +
        `${scn.gateway ? fmtCpu(ss.map((s) => s.cpu.redis)) : '–'} / ${fmtCpu(ss.map((s) => s.cpu.other))} | ${errText} |`,
    );
  }
  const mixes: string[] = [];
  for (const scn of scenarios) {
    const total: Record<string, number> = {};
    for (const s of samples) if (s.scenario === scn.id && s.mix) for (const [k, v] of Object.entries(s.mix)) total[k] = (total[k] ?? 0) + v;
    if (Object.keys(total).length) mixes.push(`- (${scn.id}) ${fmtMix(total)}`);
  }
  const what = [...measures].map(([id, set]) => `- (${id}) measured ${[...set].join('; ')}`);
  if (what.length) rows.push('', ...what);
  if (mixes.length) rows.push('', 'Gateway decisions, all rounds (action/reason, warm-up included):', '', ...mixes);
  return rows.join('\n');
}

// ---------------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The pid of the redis-server the gateways use (127.0.0.1:6379, when it runs on this machine):
 * its CPU gets a column of its own instead of hiding in "other". Shared with anyone else using
 * that server (e.g. test suites), so it is an upper bound on the gateway's share.
 */
function findRedisPid(): number | null {
  try {
    const out = execFileSync('pgrep', ['-x', 'redis-server'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
    for (const pid of out) {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(':6379') || !cmd.includes(':')) return Number(pid);
    }
  } catch {
    /* no pgrep or no redis-server here */
  }
  return null;
}

/**
 * A checkout's built Lua scripts against its sources: `tsc` alone compiles the TypeScript and leaves
 * dist/src/store/lua as it was (`npm run build` copies it), and a gateway running old scripts
 * measures something else. Throws naming the first difference.
 */
function checkBuiltLua(root: string): void {
  const src = join(root, 'src/store/lua');
  const built = join(root, 'dist/src/store/lua');
  for (const f of readdirSync(src)) {
    const b = join(built, f);
    if (!existsSync(b) || !readFileSync(b).equals(readFileSync(join(src, f)))) {
      throw new Error(`${b} is not ${join(src, f)}: run npm run build in ${root} (npm run bench does)`);
    }
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const flags = parseFlags(argv);
  checkBuiltLua(ROOT);
  if (flags.baseline) checkBuiltLua(resolve(flags.baseline));
  const chosen = SCENARIOS.filter((s) => flags.scenarios.includes(s.id));
  // With --baseline, every gateway scenario runs twice a round: the baseline's build and this one (roundOrder).
  const baselineRoot = flags.baseline;
  const compare = flags.compare;
  const compared = compare ? chosen.flatMap((s) => (s.gateway ? [s, { ...s, id: `${s.id}~`, label: `${s.label}, with ${JSON.stringify(compare)}`, compare }] : [s])) : chosen;
  const scenarios = baselineRoot
    ? compared.flatMap((s) => (s.gateway && !s.thisBuildOnly && !s.compare ? [{ ...s, id: `${s.id}@base`, label: `${s.label} — baseline build ${baselineRoot}`, root: baselineRoot }, s] : [s]))
    : compared;
  if (baselineRoot && !existsSync(join(baselineRoot, 'dist/src/cli/main.js'))) throw new Error(`${baselineRoot}: no dist/src/cli/main.js (npm ci && npm run build there first)`);
  if (flags.profile) {
    mkdirSync(flags.profile, { recursive: true });
    nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${flags.profile}`];
  }
  const command = `npm run bench${argv.length ? ` -- ${argv.map(shellQuote).join(' ')}` : ''}`;
  const damon = damonReclaim();
  const machine = `${os.availableParallelism()} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, ${os.platform()} ${os.release()}${damon ? `, kernel ${damon}` : ''}`;
  console.log(`machine: ${machine}`);
  console.log(`load average at start: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`command: ${command}`);
  console.log(
    `per run: ${flags.openLoop ? `open loop at ${flags.openLoop.join(', ')} msg/s, ${flags.openLoopBinds} binds × window ${flags.openLoopWindow}` : `${flags.binds} binds × window ${flags.window}`}, ` +
      `warm-up ${flags.warmupMs} ms, measured ${flags.durationMs} ms, gateway node flags ${flags.gatewayNodeArgs.join(' ') || 'none'}; ` +
      `${flags.rounds} round(s) of ${scenarios.map((s) => s.id).join(', ')}`,
  );

  const needGateway = scenarios.some((s) => s.gateway);
  redisPid = needGateway ? findRedisPid() : null;
  gatewayNodeArgs = flags.gatewayNodeArgs;
  gatewayOverrides = flags.gateway;
  let infoRedis: { disconnect(): void } | null = null;
  if (needGateway) {
    const { Redis } = await import('ioredis');
    const r = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1, connectTimeout: 2000 });
    infoRedis = r;
    redisCpuSeconds = async () => {
      try {
        return parseRedisCpu(await r.info('cpu'));
      } catch {
        return null;
      }
    };
  }
  if (needGateway && !existsSync(CLI)) throw new Error(`${CLI} not built: gateway scenarios need the gateway CLI (run with --scenarios a)`);

  const tmp = mkdtempSync(join(os.tmpdir(), 'smppguard-bench-'));
  const redisPrefix = `sgbench:${process.pid}-${Date.now()}:`;
  const cleanup = async () => {
    killAll();
    infoRedis?.disconnect();
    if (needGateway) {
      try {
        for (const pattern of [`${redisPrefix}*`, ...scenarios.flatMap((s) => s.cleanPatterns ?? [])]) {
          const n = await cleanRedis(pattern);
          if (n) console.log(`removed ${n} bench keys (${pattern}) from Redis`);
        }
      } catch (err) {
        console.error(`could not clean Redis keys ${redisPrefix}*: ${(err as Error).message}`);
      }
    }
    if (!flags.keepTmp) rmSync(tmp, { recursive: true, force: true });
    else console.log(`temp files kept in ${tmp}`);
  };
  const onSignal = (sig: NodeJS.Signals) => {
    console.error(`\n${sig}: stopping children`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const samples: Sample[] = [];
  const openSamples: OpenSample[] = [];
  try {
    const passwordHash = needGateway ? await hashPassword('benchpw') : '';
    const sim = await startSimulator(flags.sim);
    console.log(`simulator pid ${sim.proc.pid} on port ${sim.port}${needGateway ? `; gateway temp dir ${tmp}` : ''}\n`);
    const common: LoadOptions = {
      port: 0,
      binds: flags.binds,
      window: flags.window,
      durationMs: flags.durationMs,
      warmupMs: flags.warmupMs,
    };
    const timeoutMs = flags.warmupMs + flags.durationMs + 60_000;
    for (const scn of scenarios) await scn.prepare?.(scn.root ?? ROOT);
    /** One run of `scn`: a fresh gateway (gateway scenarios), then the closed-loop generator, or the open-loop one at `rate`. */
    const runOne = async (scn: Scenario, round: number, rate: number | null): Promise<void> => {
      let gw: Gateway | null = null;
      const tag = `${scn.id}${rate ? `@${rate}` : ''}`;
      try {
        // --loadgen last: what the command line says wins over the scenario's own options.
        const opts: LoadOptions = { ...common, ...scn.loadgen, ...scn.loadgenPerRun?.(), ...flags.loadgen, port: sim.port };
        const watch: Record<string, number | undefined> = { sim: sim.proc.pid };
        if (scn.gateway) {
          gw = await startGateway(scn, `${scn.id.replace('@', '-')}${rate ? `-${rate}` : ''}-${round}`, tmp, { simPort: sim.port, passwordHash, logLevel: flags.logLevel, redisPrefix });
          opts.port = gw.ctx.listenPort;
          opts.systemId = 'bench';
          opts.password = 'benchpw';
          watch.gateway = gw.proc.pid;
          watch.redis = redisPid ?? undefined;
        }
        if (rate) {
          const open: OpenLoopOptions = { ...opts, rate, binds: flags.openLoopBinds, window: flags.openLoopWindow };
          const { result, cpuSec, inGateway } = await runLoadgen<OpenLoopResult>('open-loop.js', open, watch, timeoutMs, gw?.ctx.httpPort);
          const us = perMessage(cpuSec, result.acked);
          openSamples.push({ scenario: scn.id, round, rate, result, us, inGateway });
          const errs = Object.entries(result.errors).map(([k, v]) => `${k}=${v}`).join(' ');
          const l = result.latencyMs;
          console.log(
            `round ${round} (${tag}): offered ${fmtInt(rate)}, achieved ${fmtInt(result.achievedPerSec)} msg/s, p50 ${fmtMs(l.p50)} p99 ${fmtMs(l.p99)} p99.9 ${fmtMs(l.p999)} max ${fmtMs(l.max)} ms; ` +
              `send lag max ${fmtMs(result.sendLagMs.max)} ms, backlog max ${result.maxBacklog}, carried from warm-up ${result.carried}` +
              `${scn.gateway ? `; ${fmtUsLine(us)}` : ''}${errs ? `; errors ${errs}` : ''}${result.unacked ? `; unacked ${result.unacked}` : ''}`,
          );
          // The gateway's own account of it (its /metrics): how much of the tail was the wait for a verdict, and of that the policy check in Redis.
          if (inGateway) console.log(`round ${round} (${tag}) in the gateway, p99: submit to verdict ${fmtMs(inGateway.verdict ?? NaN)} ms, policy check in Redis ${fmtMs(inGateway.policyRedis ?? NaN)} ms`);
          // More than 50 ms of traffic still unanswered when measuring began: not yet the steady state.
          if (result.carried > rate / 20) console.log(`round ${round} (${tag}): WARNING ${result.carried} warm-up messages were still unanswered when the measured interval began; its tail includes the start-up's (a longer --warmup-ms)`);
          // Where the tail came from: the 10 slowest 50 ms stretches (ms into the measured interval: worst ms).
          if (result.worst?.length) {
            const p = result.periodic ? `; the slots' worst repeat every ~${result.periodic.ms} ms (autocorrelation ${result.periodic.r})` : '';
            console.log(`round ${round} (${tag}) worst 50 ms slots: ${result.worst.map(([at, ms]) => `${at}:${fmtMs(ms)}`).join(' ')}${p}`);
          }
          return;
        }
        const { result, cpu, cpuSec } = await runLoadgen<LoadResult>('loadgen.js', opts, watch, timeoutMs);
        cpu.loadgen = result.cpuPct;
        const us = perMessage(cpuSec, result.acked);
        let mix: Record<string, number> | null = null;
        if (gw && (gw.ctx.config.policy as { enabled?: boolean } | undefined)?.enabled) {
          try {
            mix = await decisionMix(gw.ctx.httpPort);
          } catch (err) {
            console.error(`round ${round} (${scn.id}): could not read the decision mix: ${(err as Error).message}`);
          }
        }
        // Everything else on the box (the harness, other users): the noise in this run.
        if (cpu.machine != null) {
          cpu.other = Math.max(0, Math.round((cpu.machine - result.cpuPct - (cpu.gateway ?? 0) - (cpu.sim ?? 0) - (cpu.redis ?? 0)) * 10) / 10);
        }
        samples.push({ scenario: scn.id, round, result, cpu, us, mix });
        const errs = Object.entries(result.errors).map(([k, v]) => `${k}=${v}`).join(' ');
        console.log(
          `round ${round} (${scn.id}): ${fmtInt(result.msgPerSec)} msg/s, p50 ${fmtMs(result.latencyMs.p50)} ms, p99 ${fmtMs(result.latencyMs.p99)} ms, ` +
            `max ${fmtMs(result.latencyMs.max)} ms; CPU loadgen ${result.cpuPct}% (ELU ${result.elu})` +
            `${cpu.gateway != null ? `, gateway ${cpu.gateway}%` : ''}, sim ${cpu.sim ?? '?'}%${cpu.redis != null ? `, redis ${cpu.redis}%` : ''}, other ${cpu.other ?? '?'}%` +
            `${scn.gateway ? `; ${fmtUsLine(us)}` : ''}` +
            `${errs ? `; errors ${errs}` : ''}${result.unacked ? `; unacked ${result.unacked}` : ''}${result.closedEarly ? `; ${result.closedEarly} binds closed early` : ''}`,
        );
        if (mix) console.log(`round ${round} (${scn.id}) decisions (whole run): ${fmtMix(mix)}`);
      } catch (err) {
        console.error(`round ${round} (${tag}) failed: ${(err as Error).message}`);
      } finally {
        if (gw) await stopChild(gw.proc);
      }
    };
    for (let round = 1; round <= flags.rounds; round++) {
      const order = roundOrder(scenarios, round);
      if (flags.openLoop) {
        for (const rate of flags.openLoop) for (const scn of order) await runOne(scn, round, rate);
      } else {
        for (const scn of order) await runOne(scn, round, null);
      }
    }
    await stopChild(sim.proc);
  } finally {
    await cleanup();
  }

  if (flags.openLoop) {
    if (openSamples.length === 0) throw new Error('no run succeeded');
    const out = openTable(openSamples, scenarios, flags.openLoop);
    console.log(`\n${out}\n`);
    if (flags.write) {
      const file = join(ROOT, 'bench/RESULTS.md');
      const stamp = new Date().toISOString().replace('T', ' ').slice(0, 16);
      appendFileSync(
        file,
        `\n## ${stamp} UTC — open loop\n\n- machine: ${machine}\n- command: \`${command}\`\n- per run: ${flags.openLoopBinds} binds × window ${flags.openLoopWindow}, ` +
          `warm-up ${flags.warmupMs} ms, measured ${flags.durationMs} ms, ${flags.rounds} round(s), gateway node flags ${gatewayNodeArgs.join(' ') || 'none'}; ` +
          `latency from the scheduled send time, medians over rounds; added = through the gateway minus direct (a), same rate, same run\n\n${out}\n`,
      );
      console.log(`appended to ${file}`);
    }
    return;
  }
  if (samples.length === 0) throw new Error('no run succeeded');
  const out = table(samples, scenarios);
  console.log(`\n${out}\n`);
  const base = median(samples.filter((s) => s.scenario === BASELINE).map((s) => s.result.msgPerSec));
  for (const scn of scenarios) {
    if (scn.id === BASELINE) continue;
    const r = median(samples.filter((s) => s.scenario === scn.id).map((s) => s.result.msgPerSec));
    if (Number.isFinite(r) && base > 0) console.log(`ratio ${scn.id}/${BASELINE}: ${(r / base).toFixed(3)}`);
  }
  if (baselineRoot) {
    for (const scn of scenarios) {
      if (!scn.root) continue;
      const id = scn.id.slice(0, -'@base'.length);
      const mine = median(samples.filter((s) => s.scenario === id).map((s) => s.result.msgPerSec));
      const theirs = median(samples.filter((s) => s.scenario === scn.id).map((s) => s.result.msgPerSec));
      if (Number.isFinite(mine) && theirs > 0) console.log(`this build / baseline, (${id}): ${(mine / theirs).toFixed(3)} (${fmtInt(mine)} vs ${fmtInt(theirs)} msg/s)`);
    }
  }
  // What the intelligence rules and a score rule cost (issues 18, 19): (d) over (d0), (ds) over (d).
  const med = (id: string) => median(samples.filter((s) => s.scenario === id).map((s) => s.result.msgPerSec));
  for (const [x, y, what] of [['d', 'd0', 'with the intelligence rules / without'], ['ds', 'd', 'with a score rule / without']] as const) {
    if (Number.isFinite(med(x)) && med(y) > 0) console.log(`(${x}) / (${y}), ${what}: ${(med(x) / med(y)).toFixed(3)} (${fmtInt(med(x))} vs ${fmtInt(med(y))} msg/s)`);
  }
  if (compare) {
    for (const scn of scenarios) {
      if (!scn.compare) continue;
      const id = scn.id.slice(0, -1);
      const plain = median(samples.filter((s) => s.scenario === id).map((s) => s.result.msgPerSec));
      const other = median(samples.filter((s) => s.scenario === scn.id).map((s) => s.result.msgPerSec));
      if (Number.isFinite(plain) && other > 0) console.log(`(${id}) / (${scn.id}): ${(plain / other).toFixed(3)} (${fmtInt(plain)} vs ${fmtInt(other)} msg/s)`);
    }
  }
  if (flags.write) {
    const file = join(ROOT, 'bench/RESULTS.md');
    const stamp = new Date().toISOString().replace('T', ' ').slice(0, 16);
    const header = existsSync(file) ? '' : '# Benchmark results\n\nAppended by `npm run bench -- --write`. Medians over rounds; ratio vs the direct run (a).\n';
    appendFileSync(
      file,
      `${header}\n## ${stamp} UTC\n\n- machine: ${machine}\n- command: \`${command}\`\n- per run: ${flags.binds} binds × window ${flags.window}, ` +
        `warm-up ${flags.warmupMs} ms, measured ${flags.durationMs} ms, ${flags.rounds} round(s), gateway log level ${flags.logLevel}, gateway node flags ${gatewayNodeArgs.join(' ') || 'none'}\n\n${out}\n`,
    );
    console.log(`appended to ${file}`);
  }
}

/** used_cpu_user + used_cpu_sys (seconds) from an INFO cpu reply, or null. */
function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

process.on('exit', killAll);
main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  killAll();
  process.exitCode = 1;
});
