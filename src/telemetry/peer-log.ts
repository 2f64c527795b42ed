/**
 * Log lines about peers that have not authenticated (unbound ESME connections, refused
 * connections): at most one line per source IP per interval (a minute), so whoever can reach the
 * port cannot fill the log. The IPs remembered are bounded (oldest forgotten first); the lines held
 * back are counted in smppguard_log_lines_suppressed_total and the next line let through for that
 * IP says how many were (`suppressed`). A Map in insertion order is the whole LRU: small enough to
 * write here rather than take a cache library for it.
 */
import type { Clock } from '../session/clock.js';
import type { Logger } from './log.js';

export interface PeerLogOptions {
  /** One line per IP per this long. */
  intervalMs?: number;
  /** Distinct IPs remembered; beyond it the one least recently logged is forgotten. */
  maxIps?: number;
  /** Told of each line held back (a metric). */
  onSuppressed?: () => void;
}

export class PeerLog {
  private readonly lastLine = new Map<string, { at: number; suppressed: number }>();
  private readonly intervalMs: number;
  private readonly maxIps: number;
  private readonly onSuppressed: () => void;

  constructor(
    private readonly log: Logger,
    private readonly clock: Pick<Clock, 'now'>,
    opts: PeerLogOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? 60_000;
    this.maxIps = opts.maxIps ?? 10_000;
    this.onSuppressed = opts.onSuppressed ?? (() => {});
  }

  /** IPs remembered now (bounded by maxIps). */
  get size(): number {
    return this.lastLine.size;
  }

  warn(ip: string, fields: Record<string, unknown>, msg: string): void {
    const now = this.clock.now();
    const seen = this.lastLine.get(ip);
    if (seen && now - seen.at < this.intervalMs) {
      seen.suppressed++;
      this.onSuppressed();
      return;
    }
    if (seen) this.lastLine.delete(ip);
    else if (this.lastLine.size >= this.maxIps) this.lastLine.delete(this.lastLine.keys().next().value!);
    this.lastLine.set(ip, { at: now, suppressed: 0 });
    this.log.warn(seen && seen.suppressed > 0 ? { ...fields, suppressed: seen.suppressed } : fields, msg);
  }
}
