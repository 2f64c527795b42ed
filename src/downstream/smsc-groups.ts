/**
 * SMSC groups (docs/routing.md): which SMSC connection a routed message goes to. A group's members
 * are SMSC connections with a priority (lower first) and a weight (share among the members of the
 * same priority, by smooth weighted round-robin: 3 and 1 give exactly three in four, evenly
 * interleaved). A priority is skipped while every member of it is down — no bind up, or set aside
 * after `failover_after` `failover_on` answers in a row, for `hold_down_s`. The pool
 * (smsc-pool.ts) parks, retries and fails over with these; this file only knows the members.
 */
import type { SmscConfig } from '../config/schema.js';
import type { SmscGroupConfig } from '../config/routing-schema.js';
import { TokenBucket } from '../session/token-bucket.js';
import type { PendingRequest, SmscLink } from './smsc-link.js';

/** One SMSC connection: its binds and its throughput bucket, shared by every group it is in. */
export class SmscTarget {
  readonly links: SmscLink[] = [];
  readonly bucket: TokenBucket;
  private rr = 0;

  constructor(
    readonly cfg: SmscConfig,
    now: number,
  ) {
    this.bucket = new TokenBucket(cfg.tps, Math.max(1, cfg.tps / 10), now);
  }

  get name(): string {
    return this.cfg.name;
  }

  /** A bind is up. */
  get isUp(): boolean {
    for (const l of this.links) if (l.isBound) return true;
    return false;
  }

  /** A bind has window room and the bucket a token (nothing taken). */
  canTake(now: number): boolean {
    if (!this.bucket.unlimited && this.bucket.waitMs(now) > 0) return false;
    for (const l of this.links) if (l.available) return true;
    return false;
  }

  /** Requests the current bind took in this event-loop turn (0: the next request moves on). */
  private turnSent = 0;
  private turnEnd: NodeJS.Immediate | null = null;

  /**
   * Sends on a bind with room, taking a token; false when none can take it. The binds take turns
   * by event-loop turn: one bind takes a turn's requests (up to `bind_batch`, and while it has
   * window room), the next turn goes to the next bind. They leave in one socket write and their answers
   * come back in one read: one bind a turn instead of every bind halved the gateway's socket
   * writes and reads at a fixed 20,000 msg/s (bench/RESULTS.md, issue 23, session 15).
   */
  send(pdu: Buffer, pending: PendingRequest, now: number): boolean {
    const n = this.links.length;
    const stay = this.turnSent > 0 && this.turnSent < this.cfg.bind_batch && this.rr < n;
    for (let i = 0; i < n; i++) {
      if (!(stay && i === 0)) {
        this.rr = this.rr + 1 >= n ? 0 : this.rr + 1;
        this.turnSent = 0;
      }
      const link = this.links[this.rr]!;
      if (!link.available) continue;
      if (!this.bucket.unlimited && !this.bucket.take(now)) return false;
      if (link.submit(pdu, pending)) {
        this.turnSent++;
        this.turnEnd ??= setImmediate(() => {
          this.turnEnd = null;
          this.turnSent = 0;
        });
        return true;
      }
    }
    return false;
  }
}

export class GroupMember {
  /** Smooth weighted round-robin state. */
  current = 0;
  /** failover_on answers in a row. */
  streak = 0;
  /** Set aside until then (clock ms). */
  downUntil = 0;

  constructor(
    readonly target: SmscTarget,
    readonly priority: number,
    readonly weight: number,
  ) {}

  up(now: number): boolean {
    return this.downUntil <= now && this.target.isUp;
  }
}

/** A request waiting for (or being answered by) a group; the pool owns its life. */
export interface GroupRequest {
  pdu: Buffer;
  onResult(resp: Buffer | null, status: number, smsc: string | null): void;
  group: SmscGroup;
  /** The SMSC the first attempt went to, once a retry is under way (never again for this message). */
  tried: SmscTarget | null;
  retried: boolean;
  /** The first attempt's answer, given back if the retry cannot be made. */
  fallback: { resp: Buffer | null; status: number; smsc: string } | null;
  deadline: number;
}

export type Choice = GroupMember | 'busy' | 'down';

export class SmscGroup {
  /** Members by priority, lowest first. */
  readonly tiers: GroupMember[][];
  readonly failoverOn: ReadonlySet<number>;
  readonly retryOn: ReadonlySet<number>;
  parked: GroupRequest[] = [];
  parkedHead = 0;

  constructor(
    readonly name: string,
    members: GroupMember[],
    readonly settings: Pick<SmscGroupConfig, 'failover_after' | 'hold_down_s' | 'retry_on_timeout'> & { failover_on: readonly number[]; retry_on: readonly number[] },
    readonly maxPending: number,
  ) {
    const byPriority = new Map<number, GroupMember[]>();
    for (const m of members) byPriority.set(m.priority, [...(byPriority.get(m.priority) ?? []), m]);
    this.tiers = [...byPriority.keys()].sort((a, b) => a - b).map((p) => byPriority.get(p)!);
    this.failoverOn = new Set(settings.failover_on);
    this.retryOn = new Set(settings.retry_on);
  }

  get pendingCount(): number {
    return this.parked.length - this.parkedHead;
  }

  /** The priority messages go to now: the first with a member up; 0 when none is. */
  activePriority(now: number): number {
    for (const tier of this.tiers) for (const m of tier) if (m.up(now)) return m.priority;
    return 0;
  }

  anyUp(now: number): boolean {
    return this.activePriority(now) !== 0;
  }

  /**
   * The member to send to now, skipping `exclude`: the first priority with a member up, by weight
   * among its members that can take a request at once. 'busy': that priority is up but none of it
   * can take one now (with `spill`, lower priorities are tried too). 'down': no member is up.
   * `skipped` is set to why earlier priorities were passed over.
   */
  pick(now: number, exclude: SmscTarget | null, spill: boolean, out: { skipped: 'down' | 'busy' | null }): Choice {
    let sawUp = false;
    out.skipped = null;
    for (const tier of this.tiers) {
      let best: GroupMember | null = null;
      let total = 0;
      let tierUp = false;
      for (const m of tier) {
        if (m.target === exclude || !m.up(now)) continue;
        tierUp = true;
        if (!m.target.canTake(now)) continue;
        m.current += m.weight;
        total += m.weight;
        if (best === null || m.current > best.current) best = m;
      }
      if (best !== null) {
        best.current -= total;
        return best;
      }
      if (tierUp) {
        sawUp = true;
        if (!spill) return 'busy';
        out.skipped = 'busy';
      } else if (out.skipped === null) out.skipped = 'down';
    }
    return sawUp ? 'busy' : 'down';
  }

  /** A member answered: counts failover_on answers in a row; true when that sets it aside now. */
  noteAnswer(m: GroupMember, status: number, now: number): boolean {
    if (!this.failoverOn.has(status)) {
      m.streak = 0;
      return false;
    }
    if (++m.streak < this.settings.failover_after) return false;
    m.streak = 0;
    m.downUntil = now + this.settings.hold_down_s * 1000;
    return true;
  }
}
