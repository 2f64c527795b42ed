/**
 * The SMSC connections and their groups (docs/routing.md). A request names a group (the MT route's;
 * none: every SMSC, weighted by its binds); the group picks a member (smsc-groups.ts: priority,
 * weight, members set aside), the member's SMSC one of its binds with window room and a throughput
 * token (one token bucket per SMSC, shared by its binds). What cannot go yet waits in the group's
 * bounded FIFO, drained as windows free and tokens refill, and fails with ESME_RSYSERR when it waits
 * longer than the response timeout; beyond the group's pending limit the next priority takes it, or
 * it is refused with ESME_RTHROTTLED. An answer in the group's retry_on (or a timeout, with
 * retry_on_timeout) sends the message once more to another SMSC of the group — never to the same
 * one, never after ESME_ROK.
 */
import type { Config, SmscConfig } from '../config/schema.js';
import { Status } from '../protocol/status.js';
import { taskMonoNow, type Clock, type TimerHandle } from '../session/clock.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import { SmscLink, type Dialler, type PendingRequest } from './smsc-link.js';
import { GroupMember, SmscGroup, SmscTarget, type GroupRequest } from './smsc-groups.js';

/** `smsc`: the SMSC that gave the answer (null: none did — no bind, timed out in the pool, throttled). */
export type SubmitResult = (resp: Buffer | null, status: number, smsc: string | null) => void;

/** The group of every SMSC (requests naming no group): its metric label. */
export const ALL_SMSCS = '(all)';

export class SmscPool {
  links: SmscLink[] = [];
  private readonly targets = new Map<string, SmscTarget>();
  private groups = new Map<string, SmscGroup>();
  private allGroup!: SmscGroup;
  private wakeTimer: TimerHandle | null = null;
  private readonly timeoutMs: number;
  private readonly why: { skipped: 'down' | 'busy' | null } = { skipped: null };

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
      /** The number of an SMSC's first link here (workers: each worker numbers its share after the others'). */
      firstLink?: (smsc: string) => number;
    },
  ) {
    this.timeoutMs = cfg.downstream.response_timeout_ms;
    for (const smsc of cfg.downstream.smscs) this.targets.set(smsc.name, this.newTarget(cfg, smsc));
    this.links = [...this.targets.values()].flatMap((t) => t.links);
    this.buildGroups(cfg);
    const rm = env.metrics.routing;
    env.metrics.onCollect(() => {
      for (const [smsc, n] of this.inFlightBySmsc()) env.metrics.smscInFlight.set({ smsc }, n);
      env.metrics.pendingSubmits.set(this.pendingCount);
      const now = env.clock.now();
      for (const g of this.groups.values()) {
        if (g.name === ALL_SMSCS) continue;
        const p = g.activePriority(now);
        rm.groupPriority.set({ group: g.name }, p);
        rm.groupOnBackup.set({ group: g.name }, p !== 0 && p !== g.tiers[0]![0]!.priority ? 1 : 0);
        for (const tier of g.tiers) for (const m of tier) rm.memberHeldDown.set({ group: g.name, smsc: m.target.name }, m.downUntil > now ? 1 : 0);
      }
    });
  }

  private newTarget(cfg: Config, smsc: Config['downstream']['smscs'][number]): SmscTarget {
    const t = new SmscTarget(smsc, this.env.clock.now());
    const first = this.env.firstLink?.(smsc.name) ?? 0;
    for (let i = 0; i < smsc.binds; i++) {
      t.links.push(
        new SmscLink(smsc, first + i, {
          metrics: this.env.metrics,
          log: this.env.log,
          clock: this.env.clock,
          timings: cfg.downstream,
          maxPduLength: cfg.max_pdu_length,
          onDeliver: this.env.onDeliver,
          dial: this.env.dial,
          onReady: () => {
            this.pump();
            this.env.onLinkChange?.();
          },
        }),
      );
    }
    return t;
  }

  /**
   * The groups from config: the configured ones, one per SMSC (a route may name an SMSC), and the
   * group of every SMSC (weighted by binds). Requests parked in a group of the same name move over.
   */
  private buildGroups(cfg: Config): void {
    const old = this.groups;
    const groups = new Map<string, SmscGroup>();
    const defaults = { failover_on: [], failover_after: 1, hold_down_s: 1, retry_on: [], retry_on_timeout: false };
    const maxPending = cfg.downstream.max_pending;
    for (const t of this.targets.values()) groups.set(t.name, new SmscGroup(t.name, [new GroupMember(t, 1, 1)], defaults, maxPending));
    for (const g of cfg.downstream.groups) {
      const members = g.members.map((m) => new GroupMember(this.targets.get(m.smsc)!, m.priority, m.weight));
      groups.set(g.name, new SmscGroup(g.name, members, g, g.max_pending ?? maxPending));
    }
    const all = [...this.targets.values()].map((t) => new GroupMember(t, 1, Math.max(1, t.links.length)));
    groups.set(ALL_SMSCS, new SmscGroup(ALL_SMSCS, all, defaults, maxPending));
    for (const [name, g] of old) {
      const to = groups.get(name) ?? groups.get(ALL_SMSCS)!;
      for (let i = g.parkedHead; i < g.parked.length; i++) {
        const r = g.parked[i]!;
        r.group = to;
        to.parked.push(r);
      }
    }
    this.groups = groups;
    this.allGroup = groups.get(ALL_SMSCS)!;
  }

  start(): void {
    this.started = true;
    for (const l of this.links) l.start();
  }
  private started = false;

  /**
   * A live reload: SMSC connections added, changed or removed, groups rebuilt. Only the links of
   * SMSCs that were added or changed (re)connect; the others and their in-flight requests are not
   * touched. The links of a changed or removed SMSC unbind after their in-flight requests are
   * answered (up to `drainMs`); parked requests move to the group of the same name (or every SMSC).
   */
  reconfigure(cfg: Config, change: { added: readonly SmscConfig[]; changed: readonly SmscConfig[]; removed: readonly string[] }, drainMs: number): Promise<void> {
    const retired: SmscLink[] = [];
    for (const name of [...change.removed, ...change.changed.map((c) => c.name)]) {
      const t = this.targets.get(name);
      if (t) retired.push(...t.links);
      this.targets.delete(name);
    }
    const fresh: SmscLink[] = [];
    for (const c of [...change.changed, ...change.added]) {
      const t = this.newTarget(cfg, c);
      this.targets.set(c.name, t);
      fresh.push(...t.links);
    }
    // Keep the config's order of SMSCs.
    const order = new Map(cfg.downstream.smscs.map((c, i) => [c.name, i]));
    const targets = [...this.targets.entries()].sort((a, b) => (order.get(a[0]) ?? 0) - (order.get(b[0]) ?? 0));
    this.targets.clear();
    for (const [k, v] of targets) this.targets.set(k, v);
    this.links = [...this.targets.values()].flatMap((t) => t.links);
    this.buildGroups(cfg);
    if (this.started) for (const l of fresh) l.start();
    this.pump();
    return Promise.all(retired.map((l) => l.stop(drainMs))).then(() => undefined);
  }

  get boundCount(): number {
    let n = 0;
    for (const l of this.links) if (l.isBound) n++;
    return n;
  }

  get pendingCount(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.pendingCount;
    return n;
  }

  inFlightBySmsc(): Map<string, number> {
    const m = new Map<string, number>();
    for (const l of this.links) m.set(l.cfg.name, (m.get(l.cfg.name) ?? 0) + l.inFlight);
    return m;
  }

  /**
   * Forwards a request to `group` (a configured group or an SMSC's name; null: every SMSC).
   * `onResult` gets the SMSC's response PDU, or null and the status the ESME should see:
   * ESME_RSYSERR (no bind up, timed out, link lost) or ESME_RTHROTTLED (too much parked).
   */
  submit(pdu: Buffer, onResult: SubmitResult, group: string | null = null): void {
    const g = group === null ? this.allGroup : (this.groups.get(group) ?? this.allGroup);
    const req: GroupRequest = { pdu, onResult, group: g, tried: null, retried: false, fallback: null, deadline: 0 };
    this.place(req);
  }

  /** Sends at once, parks, spills to a later priority or refuses: the request's next step. */
  private place(req: GroupRequest): void {
    const g = req.group;
    const now = this.env.clock.now();
    if (g.pendingCount === 0) {
      const m = this.attempt(req, now, false);
      if (m === true) return;
      if (m === 'down') return this.fail(req, Status.ESME_RSYSERR);
    } else if (!g.anyUp(now)) return this.fail(req, Status.ESME_RSYSERR);
    if (g.pendingCount >= g.maxPending) {
      // Throttled beyond the pending limit: a later priority takes it if it can, else 0x58.
      if (this.attempt(req, now, true) === true) return;
      return this.fail(req, Status.ESME_RTHROTTLED);
    }
    req.deadline = now + this.timeoutMs;
    g.parked.push(req);
    this.scheduleWake(10);
  }

  /** A request the pool gives up on: the first attempt's answer when a retry could not be made, else `status`. */
  private fail(req: GroupRequest, status: number): void {
    const f = req.fallback;
    if (f) req.onResult(f.resp, f.status, f.smsc);
    else req.onResult(null, status, null);
  }

  /** true: sent; else why not. */
  private attempt(req: GroupRequest, now: number, spill: boolean): true | 'busy' | 'down' {
    const g = req.group;
    const m = g.pick(now, req.tried, spill, this.why);
    if (typeof m === 'string') return m;
    const pending = new Attempt(this, req, m);
    if (!m.target.send(req.pdu, pending, now)) return 'busy';
    if (this.why.skipped !== null && g.name !== ALL_SMSCS) this.env.metrics.routing.failovers.inc({ group: g.name, reason: this.why.skipped });
    if (req.tried) this.env.metrics.routing.retries.inc({ group: g.name, from: req.tried.name, to: m.target.name });
    return true;
  }

  /** An SMSC's answer (resp null: no answer in time, or the link was lost). */
  answered(req: GroupRequest, m: GroupMember, resp: Buffer | null, status: number): void {
    // A reload rebuilt the groups while this was in flight: a retry goes by the new one.
    if (this.groups.get(req.group.name) !== req.group) req.group = this.groups.get(req.group.name) ?? this.allGroup;
    const g = req.group;
    const now = this.env.clock.now();
    const smsc = m.target.name;
    if (resp) {
      this.env.metrics.routing.countSmsc(smsc, status);
      if (g.noteAnswer(m, status, now)) {
        this.env.log.warn({ group: g.name, smsc, status, hold_down_s: g.settings.hold_down_s }, 'SMSC set aside in its group: failover_on answers in a row');
        this.scheduleWake(Math.ceil(g.settings.hold_down_s * 1000));
      }
    }
    const retry = !req.retried && (resp ? status !== 0 && g.retryOn.has(status) : g.settings.retry_on_timeout);
    if (!retry) return req.onResult(resp, status, smsc);
    req.retried = true;
    req.tried = m.target;
    req.fallback = { resp, status, smsc };
    // The first copy may still sit in that SMSC socket's write buffer: the retry gets its own.
    req.pdu = Buffer.from(req.pdu);
    if (!g.anyUp(now)) return this.fail(req, status);
    this.place(req);
  }

  /** Sends parked requests while links can take them; fails the expired ones. */
  private pump(): void {
    const now = this.env.clock.now();
    let waiting = false;
    for (const g of this.groups.values()) {
      while (g.parkedHead < g.parked.length) {
        const p = g.parked[g.parkedHead]!;
        if (p.deadline <= now) {
          g.parkedHead++;
          this.fail(p, Status.ESME_RSYSERR);
          continue;
        }
        if (this.attempt(p, now, false) !== true) break;
        g.parkedHead++;
      }
      // Sent requests before parkedHead stay referenced until the array is cut: at once when none wait.
      if (g.parkedHead > 0 && g.parkedHead === g.parked.length) {
        g.parked = [];
        g.parkedHead = 0;
      } else if (g.parkedHead > 1024 && g.parkedHead * 2 > g.parked.length) {
        g.parked = g.parked.slice(g.parkedHead);
        g.parkedHead = 0;
      }
      if (g.pendingCount > 0) {
        if (!g.anyUp(now)) {
          // Nothing will come back up soon enough to help the parked ones: fail them now.
          const failed = g.parked.slice(g.parkedHead);
          g.parked = [];
          g.parkedHead = 0;
          for (const p of failed) this.fail(p, Status.ESME_RSYSERR);
        } else waiting = true;
      }
    }
    if (waiting) this.scheduleWake(this.tokenWaitMs(now));
  }

  private tokenWaitMs(now: number): number {
    let best = 50;
    for (const t of this.targets.values()) best = Math.min(best, Math.max(1, t.bucket.waitMs(now)));
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

/**
 * One attempt of a request on a member, waiting in a link's window: a class rather than an object
 * with a closure, one young object per message instead of three (bench/RESULTS.md, issue 23).
 */
class Attempt implements PendingRequest {
  readonly sentAt = taskMonoNow();
  constructor(
    private readonly pool: SmscPool,
    private readonly req: GroupRequest,
    private readonly member: GroupMember,
  ) {}

  onResult(resp: Buffer | null, status: number): void {
    this.pool.answered(this.req, this.member, resp, status);
  }
}
