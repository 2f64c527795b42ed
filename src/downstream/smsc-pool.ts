/**
 * The set of SMSC binds: spreads requests round-robin over links that are bound, have window room
 * and throughput tokens (one token bucket per SMSC, shared by its binds); parks what cannot go yet
 * in a bounded FIFO that drains as windows free and tokens refill, and fails it with ESME_RSYSERR
 * when it waits longer than the response timeout.
 */
import type { Config } from '../config/schema.js';
import { Status } from '../protocol/status.js';
import type { Clock, TimerHandle } from '../session/clock.js';
import { TokenBucket } from '../session/token-bucket.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import { SmscLink, type Dialler, type PendingRequest } from './smsc-link.js';

export type SubmitResult = (resp: Buffer | null, status: number) => void;

interface Parked {
  pdu: Buffer;
  onResult: SubmitResult;
  deadline: number;
}

export class SmscPool {
  readonly links: SmscLink[] = [];
  private readonly buckets = new Map<string, TokenBucket>();
  private parked: Parked[] = [];
  private parkedHead = 0;
  private rr = 0;
  private wakeTimer: TimerHandle | null = null;
  private readonly maxPending: number;
  private readonly timeoutMs: number;

  constructor(
    cfg: Config,
    private readonly env: {
      metrics: Metrics;
      log: Logger;
      clock: Clock;
      onDeliver(link: SmscLink, pdu: Buffer): void;
      onLinkChange?(): void;
      /** How links connect (default TCP/TLS); unit tests pass stream pairs. */
      dial?: Dialler;
    },
  ) {
    this.maxPending = cfg.downstream.max_pending;
    this.timeoutMs = cfg.downstream.response_timeout_ms;
    for (const smsc of cfg.downstream.smscs) {
      this.buckets.set(smsc.name, new TokenBucket(smsc.tps, Math.max(1, smsc.tps / 10), env.clock.now()));
      for (let i = 0; i < smsc.binds; i++) {
        this.links.push(
          new SmscLink(smsc, i, {
            metrics: env.metrics,
            log: env.log,
            clock: env.clock,
            timings: cfg.downstream,
            maxPduLength: cfg.max_pdu_length,
            onDeliver: env.onDeliver,
            dial: env.dial,
            onReady: () => {
              this.pump();
              env.onLinkChange?.();
            },
          }),
        );
      }
    }
    env.metrics.onCollect(() => {
      for (const [smsc, n] of this.inFlightBySmsc()) env.metrics.smscInFlight.set({ smsc }, n);
      env.metrics.pendingSubmits.set(this.pendingCount);
    });
  }

  start(): void {
    for (const l of this.links) l.start();
  }

  get boundCount(): number {
    let n = 0;
    for (const l of this.links) if (l.isBound) n++;
    return n;
  }

  get pendingCount(): number {
    return this.parked.length - this.parkedHead;
  }

  inFlightBySmsc(): Map<string, number> {
    const m = new Map<string, number>();
    for (const l of this.links) m.set(l.cfg.name, (m.get(l.cfg.name) ?? 0) + l.inFlight);
    return m;
  }

  /**
   * Forwards a request. `onResult` gets the SMSC's response PDU, or null and the status the ESME
   * should see: ESME_RSYSERR (no bind up, timed out, link lost) or ESME_RTHROTTLED (too much parked).
   */
  submit(pdu: Buffer, onResult: SubmitResult): void {
    if (this.pendingCount === 0 && this.trySend(pdu, onResult)) return;
    if (this.boundCount === 0) return onResult(null, Status.ESME_RSYSERR);
    if (this.pendingCount >= this.maxPending) return onResult(null, Status.ESME_RTHROTTLED);
    this.parked.push({ pdu, onResult, deadline: this.env.clock.now() + this.timeoutMs });
    this.scheduleWake(10);
  }

  private trySend(pdu: Buffer, onResult: SubmitResult): boolean {
    const n = this.links.length;
    for (let i = 0; i < n; i++) {
      this.rr = this.rr + 1 >= n ? 0 : this.rr + 1;
      const link = this.links[this.rr]!;
      if (!link.available) continue;
      const bucket = this.buckets.get(link.cfg.name)!;
      if (!bucket.unlimited && !bucket.take(this.env.clock.now())) continue;
      const pending: PendingRequest = { onResult, sentAt: performance.now() };
      if (link.submit(pdu, pending)) return true;
    }
    return false;
  }

  /** Sends parked requests while links can take them; fails the expired ones. */
  private pump(): void {
    const now = this.env.clock.now();
    while (this.parkedHead < this.parked.length) {
      const p = this.parked[this.parkedHead]!;
      if (p.deadline <= now) {
        this.parkedHead++;
        p.onResult(null, Status.ESME_RSYSERR);
        continue;
      }
      if (!this.trySend(p.pdu, p.onResult)) break;
      this.parkedHead++;
    }
    if (this.parkedHead > 1024 && this.parkedHead * 2 > this.parked.length) {
      this.parked = this.parked.slice(this.parkedHead);
      this.parkedHead = 0;
    }
    if (this.pendingCount > 0) {
      if (this.boundCount === 0) {
        // Nothing will come back up soon enough to help the parked ones: fail them now.
        for (let i = this.parkedHead; i < this.parked.length; i++) this.parked[i]!.onResult(null, Status.ESME_RSYSERR);
        this.parked = [];
        this.parkedHead = 0;
      } else {
        this.scheduleWake(this.tokenWaitMs(now));
      }
    }
  }

  private tokenWaitMs(now: number): number {
    let best = 50;
    for (const b of this.buckets.values()) best = Math.min(best, Math.max(1, b.waitMs(now)));
    return best;
  }

  private scheduleWake(ms: number): void {
    if (this.wakeTimer) return;
    this.wakeTimer = this.env.clock.setTimeout(() => {
      this.wakeTimer = null;
      this.pump();
    }, ms);
  }

  async stop(ms: number): Promise<void> {
    this.wakeTimer?.cancel();
    await Promise.all(this.links.map((l) => l.stop(ms)));
  }
}
