/**
 * `workers: N` (docs/scaling.md, "All cores of one box"): the primary process and the workers'
 * side of their conversation, over node:cluster.
 *
 * The primary runs no gateway. It forks N workers (each a full gateway with its own instance id and
 * its share of the SMSC binds: config/workers.ts), owns the SMPP and HTTP listening sockets (Node 20
 * cluster: the primary accepts and hands each connection to the next worker, round-robin), restarts a
 * worker that dies (backoff doubling from 0.5 s to 30 s; a worker that ran 30 s starts again at 0.5 s),
 * forwards SIGHUP and SIGUSR2 to every worker, and on SIGTERM/SIGINT lets each worker stop as a single
 * gateway does, exiting 0 once all have exited 0.
 *
 * Whichever worker gets an HTTP request answers it; for /metrics and /readyz it asks the primary,
 * which asks every worker: /metrics is the box's (prom-client AggregatorRegistry: counters summed,
 * gauges read from Redis by max or min), /readyz is ready only while every worker is.
 */
import cluster, { type Worker } from 'node:cluster';
import { missingNodeFlags } from './node-flags.js';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import type { Readiness } from '../admin/http.js';
import { stdoutDrained, type Logger } from '../telemetry/log.js';

/** The environment variable a forked worker finds its place in ("index/count"). */
export const WORKER_ENV = 'SG_WORKER';
/** How long the primary waits for every worker's answer (metrics, readiness). */
const ASK_MS = 4000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** A worker that ran this long counts as healthy: the next crash restarts it at the first backoff again. */
const HEALTHY_AFTER_MS = 30_000;

type Msg =
  | { sg: 'up' }
  | { sg: 'metrics'; id: number; text?: string; error?: string }
  | { sg: 'ready?'; id: number }
  | { sg: 'ready-ask'; id: number }
  | { sg: 'ready-own'; id: number; readiness: Readiness }
  | { sg: 'ready'; id: number; workers: (Readiness | null)[] };

const isMsg = (m: unknown): m is Msg => typeof m === 'object' && m !== null && typeof (m as { sg?: unknown }).sg === 'string';

/** This process's place when it is a forked worker; null otherwise. */
export function workerPlace(env: NodeJS.ProcessEnv = process.env): { index: number; count: number } | null {
  if (!cluster.isWorker) return null;
  const m = /^(\d+)\/(\d+)$/.exec(env[WORKER_ENV] ?? '');
  return m ? { index: Number(m[1]), count: Number(m[2]) } : null;
}

/** How long the primary waits before starting a worker again after its `failures`-th quick death in a row (0: the first). */
export function restartDelayMs(failures: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(failures, 16));
}

interface Slot {
  index: number;
  worker: Worker | null;
  startedAt: number;
  failures: number;
  restart: NodeJS.Timeout | null;
}

/**
 * Runs the primary: forks `count` workers (the same command line, each told its place) and keeps
 * them running until SIGTERM/SIGINT. `shutdownMs`: after a stop signal, how long the workers get
 * before the rest are killed (the primary then exits 1).
 */
export function runPrimary(count: number, log: Logger, shutdownMs: number): void {
  const registry = new Registry();
  const up = new Gauge({ name: 'smppguard_workers_up', help: 'Gateway worker processes running (config workers)', registers: [registry] });
  const configured = new Gauge({ name: 'smppguard_workers_configured', help: 'Gateway worker processes configured (workers)', registers: [registry] });
  const restarts = new Counter({ name: 'smppguard_worker_restarts_total', help: 'Workers that died and were started again', registers: [registry] });
  configured.set(count);
  const aggregator = new AggregatorRegistry();
  const slots: Slot[] = Array.from({ length: count }, (_, index) => ({ index, worker: null, startedAt: 0, failures: 0, restart: null }));
  let stopping = false;
  const live = () => slots.filter((s) => s.worker !== null).length;

  // Workers run with the gateway's V8 flags even when the primary was started without them.
  const missing = missingNodeFlags();
  if (missing.length > 0) cluster.setupPrimary({ execArgv: [...process.execArgv, ...missing] });
  const fork = (slot: Slot): void => {
    slot.restart = null;
    const worker = cluster.fork({ [WORKER_ENV]: `${slot.index}/${count}` });
    slot.worker = worker;
    slot.startedAt = Date.now();
    up.set(live());
    worker.on('message', (m: unknown) => {
      if (isMsg(m)) onMessage(slot, worker, m);
    });
    worker.once('exit', (code, signal) => {
      if (slot.worker === worker) slot.worker = null;
      up.set(live());
      for (const [id, ask] of asks) if (ask.pending.delete(slot.index)) settle(id);
      if (stopping) {
        log.info({ worker: slot.index, pid: worker.process.pid, code, signal }, 'worker stopped');
        // A worker still starting has no handler yet: SIGTERM ends it at once, with nothing to drain.
        if (code !== 0 && signal !== 'SIGTERM') exitCode = 1;
        if (live() === 0) void stdoutDrained(2000).then(() => process.exit(exitCode));
        return;
      }
      slot.failures = Date.now() - slot.startedAt >= HEALTHY_AFTER_MS ? 0 : slot.failures;
      const delay = restartDelayMs(slot.failures);
      slot.failures++;
      restarts.inc();
      log.error({ worker: slot.index, pid: worker.process.pid, code, signal, restart_in_ms: delay }, 'worker died: starting it again');
      slot.restart = setTimeout(() => fork(slot), delay);
    });
  };

  // Readiness asks in flight: the worker that asked, and the answers still awaited.
  const asks = new Map<number, { from: Worker; id: number; pending: Set<number>; answers: (Readiness | null)[]; timer: NodeJS.Timeout }>();
  let nextAsk = 0;
  const settle = (ask: number): void => {
    const a = asks.get(ask);
    if (!a || a.pending.size > 0) return;
    clearTimeout(a.timer);
    asks.delete(ask);
    if (a.from.isConnected()) a.from.send({ sg: 'ready', id: a.id, workers: a.answers } satisfies Msg);
  };

  const onMessage = (slot: Slot, worker: Worker, m: Msg): void => {
    switch (m.sg) {
      case 'up':
        log.info({ worker: slot.index, pid: worker.process.pid }, 'worker started');
        return;
      case 'metrics':
        // The box's metrics: every worker's registry, aggregated, and the primary's own.
        void Promise.all([aggregator.clusterMetrics(), registry.metrics()]).then(
          ([workers, own]) => worker.isConnected() && worker.send({ sg: 'metrics', id: m.id, text: `${workers}\n${own}` } satisfies Msg),
          (err: Error) => worker.isConnected() && worker.send({ sg: 'metrics', id: m.id, error: err.message } satisfies Msg),
        );
        return;
      case 'ready?': {
        const id = nextAsk++;
        const a = { from: worker, id: m.id, pending: new Set<number>(), answers: slots.map(() => null) as (Readiness | null)[], timer: setTimeout(() => {
          a.pending.clear();
          settle(id);
        }, ASK_MS) };
        asks.set(id, a);
        for (const s of slots) {
          if (s.worker?.isConnected()) {
            a.pending.add(s.index);
            s.worker.send({ sg: 'ready-ask', id } satisfies Msg);
          }
        }
        settle(id);
        return;
      }
      case 'ready-own': {
        const a = asks.get(m.id);
        if (a?.pending.delete(slot.index)) {
          a.answers[slot.index] = m.readiness;
          settle(m.id);
        }
        return;
      }
      default:
        return;
    }
  };

  let exitCode = 0;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, workers: live() }, 'signal received: stopping every worker');
    for (const s of slots) {
      if (s.restart) clearTimeout(s.restart);
      s.restart = null;
    }
    if (live() === 0) process.exit(0);
    for (const s of slots) s.worker?.process.kill('SIGTERM');
    setTimeout(() => {
      log.error({ workers: live() }, 'workers still running after the drain timeout: killing them');
      for (const s of slots) s.worker?.process.kill('SIGKILL');
      process.exit(1);
    }, shutdownMs).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  for (const sig of ['SIGHUP', 'SIGUSR2'] as const) {
    process.on(sig, () => {
      log.info({ signal: sig, workers: live() }, 'signal forwarded to every worker');
      for (const s of slots) s.worker?.process.kill(sig);
    });
  }
  log.info({ workers: count, pid: process.pid }, 'smppguard primary: starting workers');
  for (const s of slots) fork(s);
}

/**
 * The worker's side: answers the primary's requests (metrics through prom-client, readiness
 * through `own`) and gives the gateway what it serves on /metrics and /readyz. Call before the
 * gateway starts (a worker still starting answers with an empty registry, not a timeout).
 */
export class WorkerLink {
  private nextId = 0;
  private readonly waiting = new Map<number, (m: Msg) => void>();
  private own: (() => Promise<Readiness>) | null = null;

  constructor() {
    // Installs prom-client's listener that answers the primary's metric requests.
    new AggregatorRegistry();
    process.on('message', (m: unknown) => {
      if (!isMsg(m)) return;
      if (m.sg === 'ready-ask') {
        const own = this.own;
        const answer = own ? own().catch((err: Error) => notReady(err.message)) : Promise.resolve(notReady('starting'));
        void answer.then((readiness) => process.send?.({ sg: 'ready-own', id: m.id, readiness } satisfies Msg));
        return;
      }
      if (m.sg === 'metrics' || m.sg === 'ready') {
        const w = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        w?.(m);
      }
    });
  }

  /** The registry the primary aggregates (this worker's gateway's). */
  serve(registry: Registry): void {
    AggregatorRegistry.setRegistries([registry]);
  }

  /** Tells the primary the gateway is listening. */
  up(): void {
    process.send?.({ sg: 'up' } satisfies Msg);
  }

  private ask(m: Msg & { id: number }): Promise<Msg> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(m.id);
        reject(new Error('the primary did not answer'));
      }, ASK_MS + 1000);
      this.waiting.set(m.id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      process.send?.(m);
    });
  }

  /** The box's metrics, aggregated by the primary. */
  async metrics(): Promise<string> {
    const r = await this.ask({ sg: 'metrics', id: this.nextId++ });
    if (r.sg !== 'metrics' || r.text === undefined) throw new Error(`metrics of the workers: ${r.sg === 'metrics' ? r.error : 'no answer'}`);
    return r.text;
  }

  /** The box's readiness: ready while every worker is; each check ok only when it is on every worker. */
  async readiness(own: () => Promise<Readiness>): Promise<Readiness> {
    this.own = own;
    let workers: (Readiness | null)[];
    try {
      const r = await this.ask({ sg: 'ready?', id: this.nextId++ });
      workers = r.sg === 'ready' ? r.workers : [];
    } catch (err) {
      return notReady((err as Error).message);
    }
    return boxReadiness(workers);
  }

  /** Answers readiness asks with `own` from now on. */
  answerWith(own: () => Promise<Readiness>): void {
    this.own = own;
  }
}

function notReady(why: string): Readiness {
  return { ready: false, checks: { worker: { ok: false, detail: why } } };
}

/** One readiness out of every worker's (null: the worker is not running or did not answer). */
export function boxReadiness(workers: readonly (Readiness | null)[]): Readiness {
  const readyCount = workers.filter((w) => w?.ready === true).length;
  const checks: Readiness['checks'] = {
    workers: { ok: readyCount === workers.length, detail: `${readyCount}/${workers.length} workers ready` },
  };
  const names = new Set(workers.flatMap((w) => (w ? Object.keys(w.checks) : [])));
  for (const name of names) {
    const each = workers.map((w) => w?.checks[name]);
    const details = each.map((c, i) => `worker ${i}: ${c ? c.detail : 'not running'}`);
    const same = each.every((c) => c !== undefined && c.detail === each[0]!.detail);
    checks[name] = { ok: each.every((c) => c?.ok === true), detail: same ? each[0]!.detail : details.join('; ') };
  }
  return { ready: workers.length > 0 && readyCount === workers.length, checks };
}
