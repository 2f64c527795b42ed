/**
 * `workers: N | auto` (docs/scaling.md, "All cores of one box"): how many gateway processes one
 * box runs, and what each worker's share of the box-wide settings is. Whatever is a contract with
 * the outside and held in process — the binds each SMSC sees, each SMSC's TPS, the connection caps —
 * is split over the workers so that the box together holds it as one process would; what is already
 * shared through Redis (account max_binds, TPS, quotas, bind lockouts, console sessions) needs nothing.
 */
import type { Config } from './schema.js';

/** The worker count a `workers` setting means on a box with `cores` cores. */
export function workerCount(setting: Config['workers'], cores: number): number {
  return setting === 'auto' ? Math.max(1, cores) : setting;
}

/**
 * How the binds of each SMSC are spread: per SMSC (config order), the binds each worker gets. Each
 * worker gets binds / workers; the remainders go round the workers continuing from where the last
 * SMSC's left off, so with at least as many binds in total as workers every worker has one.
 */
export function bindShares(binds: readonly number[], workers: number): number[][] {
  let next = 0;
  return binds.map((b) => {
    const share = Array.from({ length: workers }, () => Math.floor(b / workers));
    for (let k = 0; k < b % workers; k++) {
      share[next]!++;
      next = (next + 1) % workers;
    }
    return share;
  });
}

/** Why `workers` cannot run this config (empty when it can). */
export function workerProblems(cfg: Config, workers: number): string[] {
  if (workers <= 1 || cfg.downstream.smscs.length === 0) return [];
  const shares = bindShares(cfg.downstream.smscs.map((s) => s.binds), workers);
  const without = Array.from({ length: workers }, (_, i) => i).filter((i) => shares.every((s) => s[i] === 0));
  if (without.length === 0) return [];
  const total = cfg.downstream.smscs.reduce((n, s) => n + s.binds, 0);
  return [
    `workers: ${workers} but downstream.smscs have ${total} bind(s) in total: worker(s) ${without.join(', ')} would have no SMSC bind ` +
      '(each worker binds its own share; give the SMSCs at least as many binds as workers, or run fewer workers)',
  ];
}

/** The SMSCs a worker has no bind to (binds < workers), for a warning at start. */
export function smscsWithoutBind(cfg: Config, index: number, workers: number): string[] {
  const shares = bindShares(cfg.downstream.smscs.map((s) => s.binds), workers);
  return cfg.downstream.smscs.filter((_, j) => shares[j]![index] === 0).map((s) => s.name);
}

/**
 * Worker `index` (0-based) of `workers`: the config this process runs, changed in place.
 *   - downstream.smscs[].binds: its share (bindShares; 0 when the SMSC has fewer binds than there
 *     are workers and this worker is not among those that got one), and tps the same share of the
 *     SMSC's tps (0, unlimited, stays 0);
 *   - listen.max_connections and max_connections_per_ip: divided (rounded down, at least 1), so the
 *     box never holds more than the configured caps;
 *   - queue.concurrency: divided (rounded up), the queue's jobs in flight for the box as configured.
 * Returns also the first link number of each SMSC in this worker (link labels stay unique on the box).
 */
export function applyWorkerShare(cfg: Config, index: number, workers: number): { firstLink: Map<string, number> } {
  const firstLink = new Map<string, number>();
  if (workers <= 1) return { firstLink };
  const shares = bindShares(cfg.downstream.smscs.map((s) => s.binds), workers);
  cfg.downstream.smscs.forEach((s, j) => {
    const share = shares[j]!;
    const mine = share[index]!;
    firstLink.set(s.name, share.slice(0, index).reduce((a, b) => a + b, 0));
    if (s.tps > 0) s.tps = mine === 0 ? 0 : (s.tps * mine) / s.binds;
    s.binds = mine;
  });
  cfg.listen.max_connections = Math.max(1, Math.floor(cfg.listen.max_connections / workers));
  cfg.listen.max_connections_per_ip = Math.max(1, Math.floor(cfg.listen.max_connections_per_ip / workers));
  cfg.queue.concurrency = Math.max(1, Math.ceil(cfg.queue.concurrency / workers));
  return { firstLink };
}
