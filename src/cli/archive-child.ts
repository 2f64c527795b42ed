/**
 * The archive writer as `smppguard start`'s child process (archive.child_process, the default):
 * `smppguard archive` (through cli/archive-main.ts) forked with an IPC channel, at the CPU
 * priority archive.nice. Both sides of their conversation are here.
 *
 * Why a process: a batch is seconds of DuckDB and of reading the Redis buffer, every batch_seconds.
 * On the gateway's loop its JavaScript held message handling for milliseconds at a time, and on a
 * box without a spare core its threads took the gateway's; a niced process yields the CPU to the
 * gateway whenever both want it (bench/RESULTS.md, session 18). A fault in DuckDB's native code
 * ends the writer, not the gateway.
 *
 * The parent restarts a child that dies (the workers' backoff, cli/workers.ts), stops it with
 * SIGTERM (it finishes the batch in hand and gives its leases back), and shows its metrics on its
 * own /metrics: the child sends the writer's metrics every second, and the parent sets its own
 * gauges to them and moves its counters on by the difference. A child whose parent is gone (kill -9)
 * sees the IPC channel close and stops the same way; its leases let another writer take over.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { Counter, Gauge, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';
import type { Metrics } from '../telemetry/metrics.js';
import { restartDelayMs } from './workers.js';

/** The metrics the writer sets (archive/writer.ts): the families a child reports to its parent (not the parent's own smppguard_archive_process_*). */
const MIRRORED = /^smppguard_(archive_(?!process_)|audit_buffer_(bytes|age_seconds)$)/;
/** How often a child reports its metrics. */
export const REPORT_MS = 1000;
/** A child that ran this long counts as healthy: the next crash restarts it at the first backoff again. */
const HEALTHY_AFTER_MS = 30_000;

interface Report {
  sg: 'archive-metrics';
  metrics: MetricObjectWithValues<MetricValue<string>>[];
}

const isReport = (m: unknown): m is Report => typeof m === 'object' && m !== null && (m as { sg?: unknown }).sg === 'archive-metrics';

/** The child's side: the writer's metrics, as the parent applies them. */
export async function report(registry: Registry): Promise<Report> {
  const all = await registry.getMetricsAsJSON();
  return { sg: 'archive-metrics', metrics: all.filter((m) => MIRRORED.test(m.name)) as MetricObjectWithValues<MetricValue<string>>[] };
}

/**
 * Lowers this process's CPU priority to `nice`. On Linux a nice value belongs to a thread: every
 * thread running now (V8's, libuv's) is set, and threads started later (DuckDB's, libuv's pool)
 * inherit it from the thread that starts them.
 */
export function lowerPriority(nice: number): void {
  let tids: number[] = [];
  try {
    tids = readdirSync('/proc/self/task').map(Number);
  } catch {
    /* not Linux: the process */
  }
  if (tids.length === 0) setPriority(nice);
  for (const tid of tids) {
    try {
      setPriority(tid, nice);
    } catch {
      /* a thread that ended meanwhile */
    }
  }
}

/** The parent's side: the child process, kept running until stop(). */
export class ArchiveChild {
  private child: ChildProcess | null = null;
  private startedAt = 0;
  private failures = 0;
  private restarts = 0;
  private restart: NodeJS.Timeout | null = null;
  private stopping = false;
  /** Where its reports go: the gateway's metrics, once it has started (a child's counters are cumulative: nothing is lost before). */
  private metrics: Metrics | null = null;
  /** The counters' values the running child last reported, by family and labels. */
  private seen = new Map<string, number>();
  private exited: Promise<void> = Promise.resolve();

  constructor(
    /** The configuration file the gateway read (null: the environment alone, which the child inherits). */
    private readonly configFile: string | null,
    private readonly nice: number,
    private readonly log: Logger,
    /** The entry to fork (cli/archive-main.ts's, beside this file). */
    private readonly entry: string = fileURLToPath(new URL('./archive-main.js', import.meta.url)),
  ) {}

  start(): void {
    if (this.stopping) return;
    this.restart = null;
    this.seen = new Map();
    const args = ['archive', ...(this.configFile === null ? [] : ['--config', this.configFile]), '--nice', String(this.nice)];
    // No V8 flags of the gateway's: the writer keeps little between batches. In the gateway's session,
    // not one of its own (detached): the kernel's autogroup scheduling shares the CPU fairly between
    // sessions, whatever their processes' nice values; detached, the child took as much CPU as the
    // gateway (bench/RESULTS.md, session 18).
    const child = fork(this.entry, args, { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    // Niced from its first instruction: loading its modules is most of a second of CPU before the
    // child gets to lower its other threads' priority (`--nice`).
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, this.nice);
      } catch {
        /* gone already: its exit restarts it */
      }
    }
    this.child = child;
    this.startedAt = Date.now();
    this.metrics?.archiveProcessUp.set(1);
    child.on('message', (m: unknown) => {
      if (isReport(m) && this.child === child) this.apply(m);
    });
    child.on('error', (err) => this.log.error({ err: err.message }, 'archive writer process: error'));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        resolve();
        if (this.child !== child) return;
        this.child = null;
        this.metrics?.archiveProcessUp.set(0);
        this.metrics?.archiveShardsHeld.set(0);
        if (this.stopping) {
          this.log.info({ pid: child.pid, code, signal }, 'archive writer process stopped');
          return;
        }
        this.failures = Date.now() - this.startedAt >= HEALTHY_AFTER_MS ? 0 : this.failures;
        const delay = restartDelayMs(this.failures++);
        this.restarts++;
        this.metrics?.archiveProcessRestarts.inc();
        this.log.error({ pid: child.pid, code, signal, restart_in_ms: delay }, 'archive writer process died: starting it again');
        this.restart = setTimeout(() => this.start(), delay);
      });
    });
    this.log.info({ pid: child.pid, nice: this.nice }, 'archive writer process started');
  }

  /** Shows the child's metrics on `metrics` from now on. */
  attach(metrics: Metrics): void {
    this.metrics = metrics;
    metrics.archiveProcessUp.set(this.child ? 1 : 0);
    metrics.archiveProcessRestarts.inc(this.restarts);
  }

  /** Stops the child (it finishes the batch in hand); resolves once it has exited, or after `timeoutMs` with it killed. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    if (this.restart) clearTimeout(this.restart);
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** A child's report onto this process's metrics: gauges set, counters moved on by what they grew (from 0 after a restart). */
  private apply(r: Report): void {
    if (!this.metrics) return;
    const registry = this.metrics.registry;
    for (const family of r.metrics) {
      if (!MIRRORED.test(family.name)) continue;
      const own = registry.getSingleMetric(family.name);
      for (const v of family.values) {
        const labels = v.labels as Record<string, string | number>;
        if (own instanceof Gauge) own.set(labels, v.value);
        else if (own instanceof Counter) {
          const key = `${family.name}${JSON.stringify(labels)}`;
          const grew = v.value - (this.seen.get(key) ?? 0);
          this.seen.set(key, v.value);
          if (grew > 0) own.inc(labels, grew);
        }
      }
    }
  }
}
