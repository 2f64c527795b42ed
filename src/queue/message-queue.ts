/**
 * queue/: the third outcome beside forward and reject. A queued submit_sm is answered ESME_ROK with
 * a gateway message id only after its original PDU bytes are stored in a BullMQ job:
 *
 *   window  a rule's `queue: until-window`: a delayed job, due when the recipient's window opens
 *   saf     store-and-forward: no SMSC bind, or a temporary SMSC refusal; FIFO, retried until expiry
 *   review  a rule's `queue: review`: waits for an operator; approve moves it to saf, reject drops it
 *
 * This file is the producer and the operator's side (enqueue in batches with the per-account
 * quota, review list/approve/reject, expiry of review jobs, depth metrics); worker.ts delivers.
 * Every key shares the prefix's {hash tag}, so the queue lives in one Redis Cluster slot.
 */
import { randomBytes } from 'node:crypto';
import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config/schema.js';
import { Status } from '../protocol/status.js';
import { systemClock, type Clock } from '../session/clock.js';
import { masterOf } from '../store/redis.js';
import { withScripts, type ScriptClient } from '../store/scripts.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import { QUEUE_NAMES, infoOf, jobData, type FinalReport, type JobData, type QueueName, type QueuedInfo, type QueuedMessage } from './jobs.js';

/** A reviewer's decision on a held message (MessageQueue.onReviewed). */
export type ReviewHook = (decision: 'approve' | 'reject', m: QueuedInfo) => void;

interface Pending {
  m: QueuedMessage;
  done: (status: number) => void;
  /** performance.now() by which the ESME has its answer: enqueue time + queue.command_timeout_ms. */
  by: number;
  answered: boolean;
}

/** Enqueue batches written at once (each: one quota script, then one MULTI per queue). */
const BATCHES_IN_FLIGHT = 4;
/** Messages taken off the quota's books per script call at most (MessageQueue.release). */
const RELEASE_BATCH = 500;

interface ReleaseCall {
  items: readonly (readonly [QueueName, string, string])[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Review jobs are listed in pages of this many. */
const PAGE = 500;

export class MessageQueue {
  readonly prefix: string;
  readonly queues: Record<QueueName, Queue>;
  private pending: Pending[] = [];
  /** Messages not yet answered, in enqueue order (so in deadline order) from `head` on. */
  private open: Pending[] = [];
  private head = 0;
  private deadlineTimer: NodeJS.Timeout | null = null;
  private scheduled = false;
  private inFlight = 0;
  private readonly idTag = randomBytes(3).toString('hex');
  private idSeq = 0;
  private idMs = -1;
  private idHead = '';
  private timers: NodeJS.Timeout[] = [];
  private finalReport: FinalReport = async () => undefined;
  private reviewed: ReviewHook | null = null;
  private readonly scripts: ScriptClient;
  /** release() calls of this event-loop turn, written together (flushReleases). */
  private releasing: ReleaseCall[] = [];
  private releaseScheduled = false;

  constructor(
    private readonly cfg: Config,
    private readonly redis: Redis,
    private readonly env: { metrics: Metrics; log: Logger; clock?: Clock },
  ) {
    this.prefix = cfg.queue.prefix ?? `${cfg.redis.key_prefix}{q}`;
    const mk = (name: QueueName) => {
      const q = new Queue(name, { connection: redis, prefix: this.prefix, skipVersionCheck: true });
      // The connection's errors are counted where it is made (gateway.ts, op="queue_connection");
      // without a listener BullMQ prints every one of them to stderr during a Redis outage.
      q.on('error', () => undefined);
      return q;
    };
    this.queues = { window: mk('window'), saf: mk('saf'), review: mk('review') };
    this.scripts = withScripts(redis);
    env.metrics.setQueueProbe(() => this.collect());
  }

  private get clock(): Clock {
    return this.env.clock ?? systemClock;
  }

  /**
   * Called after a reviewer approved or rejected a held message, with its decoded text (the
   * gateway keeps it as a label for the next content model: store/label-store.ts). Errors are the
   * hook's to handle; they never fail the reviewer's action.
   */
  onReviewed(fn: ReviewHook): void {
    this.reviewed = fn;
  }

  private tellReviewed(decision: 'approve' | 'reject', id: string, data: JobData): void {
    const hook = this.reviewed;
    if (!hook) return;
    try {
      hook(decision, infoOf('review', id, data));
    } catch {
      /* a label is worth less than the reviewer's action */
    }
  }

  /** Where the gateway's own receipts (expired, rejected in review) go; set by the relay. */
  onFinal(fn: FinalReport): void {
    this.finalReport = fn;
  }

  /** A message id unique across instances and restarts: instance tag, time, sequence. */
  newId(): string {
    this.idSeq = (this.idSeq + 1) % 1_679_616;
    // The tag and time part once per millisecond (every forwarded message gets an id).
    const now = Date.now();
    if (now !== this.idMs) {
      this.idMs = now;
      this.idHead = `Q${this.idTag}${now.toString(36)}`;
    }
    return this.idHead + this.idSeq.toString(36).padStart(4, '0');
  }

  /** The per-account key that counts an account's messages in one queue (the quota's books). */
  accountKey(queue: QueueName, account: string): string {
    return `${this.prefix}:acct:${queue}:${account}`;
  }

  /** The per-account hash of queued PDU sizes (field per message id, "#total" their sum): the byte quota's books. */
  bytesKey(account: string): string {
    return `${this.prefix}:acct:bytes:${account}`;
  }

  /**
   * Stores the message; `done(0)` once it is in Redis, ESME_RMSGQFUL when the account's quota is
   * full, ESME_RSYSERR when Redis did not take it, or did not answer within queue.command_timeout_ms
   * of this call (a failover, batches queued behind a slow one): the ESME has its answer within
   * that time whatever Redis does. Messages are written in one batch per event-loop turn: one quota
   * script and one MULTI per queue.
   */
  enqueue(m: QueuedMessage, done: (status: number) => void): void {
    const p: Pending = { m, done, by: performance.now() + this.cfg.queue.command_timeout_ms, answered: false };
    this.pending.push(p);
    this.open.push(p);
    if (this.deadlineTimer === null) this.armDeadline();
    this.schedule();
  }

  /** The one answer a message gets; later results for it (a batch finishing late) are dropped. */
  private answer(p: Pending, status: number): void {
    if (p.answered) return;
    p.answered = true;
    // Answers come mostly in enqueue order: drop the answered front, so `open` stays short.
    while (this.head < this.open.length && this.open[this.head]!.answered) this.head++;
    if (this.head > 1024 && this.head * 2 > this.open.length) {
      this.open = this.open.slice(this.head);
      this.head = 0;
    }
    // A callback that throws must not leave the rest of a batch, or the deadline timer, behind.
    try {
      p.done(status);
    } catch (err) {
      this.env.log.error({ err: String(err) }, 'queued message answer failed');
    }
  }

  /** One timer, for the oldest unanswered message's deadline. */
  private armDeadline(): void {
    const first = this.open[this.head];
    if (first === undefined) return;
    this.deadlineTimer = setTimeout(() => this.expire(), Math.max(0, first.by - performance.now())).unref();
  }

  /**
   * Answers ESME_RSYSERR to every message past its deadline. One still waiting for its batch is
   * not written; one in a batch already sent may yet be stored: the ESME's retry can then make a
   * duplicate, never a loss (as when WAIT is not confirmed in time).
   */
  private expire(): void {
    this.deadlineTimer = null;
    const now = performance.now();
    let late = 0;
    // `head` is always an unanswered message (answer() moves past the answered); answer() moves it on.
    for (let p = this.open[this.head]; p !== undefined && p.by <= now; p = this.open[this.head]) {
      late++;
      this.env.metrics.queueJobs.inc({ queue: p.m.queue, outcome: 'timeout' });
      this.answer(p, Status.ESME_RSYSERR);
    }
    if (late > 0) this.env.log.warn({ messages: late, timeout_ms: this.cfg.queue.command_timeout_ms }, 'queue did not store messages in time: answered ESME_RSYSERR');
    this.armDeadline();
  }

  private schedule(): void {
    if (this.scheduled || this.pending.length === 0 || this.inFlight >= BATCHES_IN_FLIGHT) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.pending.length === 0 || this.inFlight >= BATCHES_IN_FLIGHT) return;
      // Messages already answered at their deadline are not written.
      const batch = this.pending.filter((p) => !p.answered);
      this.pending = [];
      if (batch.length === 0) return;
      this.inFlight++;
      // Batches go out in order on one connection, so queue order follows arrival order.
      void this.store(batch).finally(() => {
        this.inFlight--;
        this.schedule();
      });
    });
  }

  private async store(batch: Pending[]): Promise<void> {
    // 1. reserve quota: one script for the whole batch, grouped by account
    const groups = new Map<string, Pending[]>();
    for (const p of batch) {
      const g = groups.get(p.m.account);
      if (g) g.push(p);
      else groups.set(p.m.account, [p]);
    }
    const keys: string[] = [];
    const args: (string | number)[] = [groups.size];
    const ordered: Pending[] = [];
    for (const [account, items] of groups) {
      for (const q of QUEUE_NAMES) keys.push(this.accountKey(q, account));
      keys.push(this.bytesKey(account));
      const quota = this.quotaOf(account);
      args.push(quota.messages, quota.bytes, items.length);
      for (const p of items) {
        args.push(QUEUE_NAMES.indexOf(p.m.queue) + 1, p.m.id, p.m.acceptedAt, p.m.pdu.length);
        ordered.push(p);
      }
    }
    let granted: number[];
    try {
      granted = await this.scripts.sgQueueReserve(keys.length, ...keys, ...args);
    } catch (err) {
      return this.failBatch(batch, err);
    }
    const accepted: Pending[] = [];
    ordered.forEach((p, i) => {
      if (granted[i] === 1) accepted.push(p);
      else {
        this.env.metrics.queueJobs.inc({ queue: p.m.queue, outcome: 'refused_quota' });
        this.answer(p, Status.ESME_RMSGQFUL);
      }
    });
    if (accepted.length === 0) return;
    // 2. the jobs: one addBulk (a MULTI) per queue
    const byQueue = new Map<QueueName, Pending[]>();
    for (const p of accepted) {
      const l = byQueue.get(p.m.queue);
      if (l) l.push(p);
      else byQueue.set(p.m.queue, [p]);
    }
    const now = this.clock.now();
    await Promise.all(
      [...byQueue].map(async ([name, items]) => {
        try {
          await this.queues[name].addBulk(
            items.map(({ m }) => ({
              name: m.reason,
              data: jobData(m),
              opts: { jobId: m.id, delay: Math.max(0, m.releaseAt - now), removeOnComplete: true, removeOnFail: 1000 },
            })),
          );
        } catch (err) {
          await this.release(items.map((p) => [name, p.m.account, p.m.id] as const)).catch(() => undefined);
          return this.failBatch(items, err);
        }
        if (!(await this.replicated())) {
          // Stored on the master but not (yet) on a replica: the ESME retries. The job stays, so
          // this may mean a duplicate, never a loss.
          this.env.metrics.redisErrors.inc({ op: 'queue_wait_replicas' });
          for (const p of items) this.answer(p, Status.ESME_RSYSERR);
          return;
        }
        let queued = 0;
        for (const p of items) {
          if (p.answered) continue; // answered 0x08 at its deadline: stored after all, a possible duplicate
          this.answer(p, 0);
          queued++;
        }
        this.env.metrics.queueJobs.inc({ queue: name, outcome: 'queued' }, queued);
      }),
    );
  }

  /** WAIT for queue.wait_replicas replicas of the queue's master to have what this client wrote. */
  private async replicated(): Promise<boolean> {
    const want = this.cfg.queue.wait_replicas;
    if (want === 0) return true;
    try {
      return (await masterOf(this.redis, this.prefix).wait(want, this.cfg.queue.wait_timeout_ms)) >= want;
    } catch {
      return false;
    }
  }

  private failBatch(batch: Pending[], err: unknown): void {
    this.env.metrics.redisErrors.inc({ op: 'queue_add' });
    this.env.log.warn({ err: String(err), messages: batch.length }, 'could not queue messages: answering ESME_RSYSERR');
    for (const p of batch) this.answer(p, Status.ESME_RSYSERR);
  }

  private quotaOf(account: string): { messages: number; bytes: number } {
    const q = this.cfg.accounts.find((a) => a.system_id === account)?.queue;
    return { messages: q?.max_queued ?? 0, bytes: q?.max_queued_bytes ?? 0 };
  }

  /**
   * Takes finished messages off the quota's books, messages and bytes (before their job is
   * acknowledged). Calls made in one event-loop turn share one script call (the worker finishes
   * hundreds of jobs a turn when the SMSC answers a window's worth at once): up to RELEASE_BATCH
   * messages a call instead of one call each. Resolves once the call that carried these items
   * succeeded; rejects with its error (then the books may keep a few entries, which the minute-ly
   * repair removes once their jobs are gone; a release is idempotent, so one done twice is harmless).
   */
  release(items: readonly (readonly [QueueName, string, string])[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.releasing.push({ items, resolve, reject });
      if (!this.releaseScheduled) {
        this.releaseScheduled = true;
        setImmediate(() => this.flushReleases());
      }
    });
  }

  private flushReleases(): void {
    this.releaseScheduled = false;
    const all = this.releasing;
    this.releasing = [];
    for (let i = 0; i < all.length; ) {
      const part: ReleaseCall[] = [];
      let n = 0;
      while (i < all.length && (part.length === 0 || n + all[i]!.items.length <= RELEASE_BATCH)) {
        n += all[i]!.items.length;
        part.push(all[i++]!);
      }
      const keys: string[] = [];
      const ids: string[] = [];
      for (const c of part) {
        for (const [q, account, id] of c.items) {
          keys.push(this.accountKey(q, account), this.bytesKey(account));
          ids.push(id);
        }
      }
      this.scripts.sgQueueRelease(keys.length, ...keys, ...ids).then(
        () => {
          for (const c of part) c.resolve();
        },
        (err: unknown) => {
          for (const c of part) c.reject(err);
        },
      );
    }
  }

  // ---- review -----------------------------------------------------------------------------------

  /** Review jobs, oldest first, optionally only one rule's or one account's. */
  async listReview(filter: { rule?: string; account?: string; limit?: number } = {}): Promise<QueuedInfo[]> {
    const limit = filter.limit ?? 100;
    const out: QueuedInfo[] = [];
    for (let start = 0; out.length < limit; start += PAGE) {
      const jobs = await this.queues.review.getJobs(['waiting'], start, start + PAGE - 1, true);
      for (const j of jobs) {
        if (!j?.data) continue;
        const d = j.data as JobData;
        if ((filter.rule && d.rule !== filter.rule) || (filter.account && d.account !== filter.account)) continue;
        out.push(infoOf('review', j.id!, d));
        if (out.length >= limit) break;
      }
      if (jobs.length < PAGE) break;
    }
    return out;
  }

  async inspect(id: string): Promise<QueuedInfo | null> {
    for (const q of QUEUE_NAMES) {
      const j = await this.queues[q].getJob(id);
      if (j?.data) return infoOf(q, id, j.data as JobData);
    }
    return null;
  }

  /**
   * Approves a held message: it moves to the store-and-forward queue under the same id (adding is
   * idempotent by id, so a retried approval after a crash does not send it twice), then leaves
   * review. False when no such message waits for review.
   */
  async approve(id: string, who: string): Promise<boolean> {
    const job = await this.queues.review.getJob(id);
    if (!job?.data) return false;
    const data = job.data as JobData;
    await this.queues.saf.add(job.name, { ...data, releaseAt: this.clock.now() }, { jobId: id, removeOnComplete: true, removeOnFail: 1000 });
    await this.redis.multi().zrem(this.accountKey('review', data.account), id).zadd(this.accountKey('saf', data.account), String(data.acceptedAt), id).exec();
    await job.remove();
    this.env.metrics.queueJobs.inc({ queue: 'review', outcome: 'approved' });
    this.env.log.info({ id, account: data.account, rule: data.rule, who }, 'review: approved');
    this.tellReviewed('approve', id, data);
    return true;
  }

  /** Rejects a held message: dropped, with a REJECTD receipt when the ESME asked for receipts. */
  async reject(id: string, who: string): Promise<boolean> {
    const job = await this.queues.review.getJob(id);
    if (!job?.data) return false;
    const data = job.data as JobData;
    await this.finalReport({ id, data, state: 'REJECTED' });
    await this.release([['review', data.account, id]]);
    await job.remove();
    this.env.metrics.queueJobs.inc({ queue: 'review', outcome: 'rejected' });
    this.env.log.info({ id, account: data.account, rule: data.rule, who }, 'review: rejected');
    this.tellReviewed('reject', id, data);
    return true;
  }

  /** Approves or rejects every held message of one rule; returns how many. */
  async decideRule(rule: string, decision: 'approve' | 'reject', who: string): Promise<number> {
    let n = 0;
    for (;;) {
      const batch = await this.listReview({ rule, limit: PAGE });
      if (batch.length === 0) return n;
      for (const m of batch) if (await (decision === 'approve' ? this.approve(m.id, who) : this.reject(m.id, who))) n++;
    }
  }

  /** Review jobs past their expiry end with an EXPIRED receipt (run periodically). */
  async expireReview(): Promise<number> {
    const now = this.clock.now();
    const due: Job[] = [];
    for (let start = 0; ; start += PAGE) {
      const jobs = await this.queues.review.getJobs(['waiting'], start, start + PAGE - 1, true);
      for (const j of jobs) if (j?.data && (j.data as JobData).expiresAt <= now) due.push(j);
      if (jobs.length < PAGE) break;
    }
    let n = 0;
    for (const j of due) {
      const d = j.data as JobData;
      // Every instance sweeps: one claims each job for a minute (a crash lets another retry it).
      if ((await this.redis.set(`${this.prefix}:expiring:${j.id}`, '1', 'PX', 60_000, 'NX')) === null) continue;
      n++;
      await this.finalReport({ id: j.id!, data: d, state: 'EXPIRED' });
      await this.release([['review', d.account, j.id!]]);
      await j.remove();
      this.env.metrics.queueJobs.inc({ queue: 'review', outcome: 'expired' });
    }
    return n;
  }

  // ---- housekeeping ------------------------------------------------------------------------------

  /**
   * Starts the periodic work: review expiry; the quota books' repair (an entry whose job no longer
   * exists, e.g. after a crash between acknowledging a job and taking it off the books); and, when
   * the gateway runs on a controllable clock (tests, demo), releasing window jobs by that clock
   * (BullMQ's own delay runs on wall time).
   */
  start(): void {
    const every = (ms: number, fn: () => Promise<unknown>) => {
      let busy = false;
      const t = setInterval(() => {
        if (busy) return;
        busy = true;
        fn()
          .catch(() => this.env.metrics.redisErrors.inc({ op: 'queue_housekeeping' }))
          .finally(() => (busy = false));
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    every(10_000, () => this.expireReview());
    every(60_000, () => this.repairBooks());
    if (this.clock !== systemClock) every(100, () => this.releaseByClock());
  }

  private async repairBooks(): Promise<void> {
    for (const a of this.cfg.accounts) {
      for (const q of QUEUE_NAMES) {
        const key = this.accountKey(q, a.system_id);
        const ids = await this.redis.zrange(key, '0', '99');
        for (const id of ids) {
          const exists = await this.redis.exists(`${this.prefix}:${q}:${id}`);
          if (!exists) await this.release([[q, a.system_id, id]]);
        }
      }
    }
  }

  /** Promotes delayed window jobs whose release time (by the gateway clock) has come. */
  async releaseByClock(): Promise<number> {
    const now = this.clock.now();
    let n = 0;
    const jobs = await this.queues.window.getDelayed(0, 999);
    for (const j of jobs) {
      if ((j?.data as JobData | undefined)?.releaseAt !== undefined && (j.data as JobData).releaseAt <= now) {
        await j.promote().catch(() => undefined);
        n++;
      }
    }
    return n;
  }

  private async collect(): Promise<void> {
    const now = this.clock.now();
    const m = this.redis.multi();
    const cells: [QueueName, string][] = [];
    for (const a of this.cfg.accounts) {
      for (const q of QUEUE_NAMES) {
        const key = this.accountKey(q, a.system_id);
        m.zcard(key).zrange(key, '0', '0', 'WITHSCORES');
        cells.push([q, a.system_id]);
      }
    }
    const res = (await m.exec()) ?? [];
    const oldest = new Map<QueueName, number>();
    cells.forEach(([q, account], i) => {
      this.env.metrics.queueDepth.set({ queue: q, account }, Number(res[2 * i]?.[1] ?? 0));
      const first = res[2 * i + 1]?.[1] as string[] | undefined;
      if (first && first.length === 2) oldest.set(q, Math.min(oldest.get(q) ?? Infinity, Number(first[1])));
    });
    for (const q of QUEUE_NAMES) {
      const t = oldest.get(q);
      this.env.metrics.queueOldestAge.set({ queue: q }, t === undefined ? 0 : Math.max(0, (now - t) / 1000));
    }
  }

  /** Messages an account has queued (all queues). */
  async depth(account: string): Promise<number> {
    const m = this.redis.multi();
    for (const q of QUEUE_NAMES) m.zcard(this.accountKey(q, account));
    const r = (await m.exec()) ?? [];
    return r.reduce((s, x) => s + Number(x[1] ?? 0), 0);
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await Promise.all(QUEUE_NAMES.map((q) => this.queues[q].close().catch(() => undefined)));
  }
}
