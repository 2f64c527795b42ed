/**
 * queue/: the third outcome beside forward and reject. A queued submit_sm is answered ESME_ROK with
 * a gateway message id only after its original PDU bytes are stored in Redis:
 *
 *   window  a rule's `queue: until-window`: in the due set until the recipient's window opens, then
 *           in the window stream
 *   saf     store-and-forward: no SMSC bind, or a temporary SMSC refusal; the saf stream, FIFO,
 *           retried until expiry
 *   review  a rule's `queue: review` (a BullMQ job): waits for an operator; approve moves it to
 *           saf, reject drops it
 *
 * Window and saf messages are kept in one hash (id → packed message) with their ids in two Redis
 * streams read through a consumer group: workers take, renew and acknowledge hundreds of messages
 * per script call, and entries of a dead worker are claimed by another after queue.lock_duration_ms.
 * (Until issue 23 they were BullMQ jobs too: three Lua scripts and a job hash per message capped
 * release near 7,000–13,000 msg/s on the gateway's one core; jobs an earlier version left are moved
 * over at start, queue-migrate.lua.)
 *
 * This file is the producer and the operator's side (enqueue in batches with the per-account
 * quota, the streams' take/renew/claim/acknowledge, window release, review list/approve/reject,
 * expiry of review jobs, depth metrics); worker.ts delivers. Every key shares the prefix's {hash
 * tag}, so the queue lives in one Redis Cluster slot.
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
import { every } from './periodic.js';
import { QUEUE_NAMES, fromJobData, infoOf, jobData, packMessage, unpackMessage, type FinalReport, type JobData, type QueueName, type QueuedInfo, type QueuedMessage, type StoredMessage } from './jobs.js';

/** A reviewer's decision on a held message (MessageQueue.onReviewed). */
export type ReviewHook = (decision: 'approve' | 'reject', m: QueuedInfo) => void;

interface Pending {
  m: QueuedMessage;
  done: (status: number) => void;
  /** performance.now() by which the ESME has its answer: enqueue time + queue.command_timeout_ms. */
  by: number;
  answered: boolean;
}

/** Enqueue batches written at once (each: one script, and one MULTI for review jobs). */
const BATCHES_IN_FLIGHT = 4;
/** Messages ended per script call at most (MessageQueue.release). */
const RELEASE_BATCH = 500;
/** Window messages moved into the stream per script call at most (~1.6 ms of Redis a call, measured). */
const PROMOTE_BATCH = 1000;
/** Jobs an earlier version left moved per script call at most (queue-migrate.lua). */
const MIGRATE_BATCH = 1000;
/** How often the due set is looked at (the release-time resolution of window messages). */
const PROMOTE_EVERY_MS = 200;
/** The streams' consumer group: every worker of every instance. */
export const GROUP = 'workers';

/** A message ended: its queue, account, id, and the stream entry a worker had it by (absent: none, e.g. review). */
export type Ended = readonly [QueueName, string, string, string?];

/** A stream entry a worker took: entry id, message id, the message (null: gone or unreadable). */
export interface Taken {
  entry: string;
  id: string;
  msg: StoredMessage | null;
}

interface ReleaseCall {
  items: readonly Ended[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Review jobs are listed in pages of this many. */
const PAGE = 500;

export class MessageQueue {
  readonly prefix: string;
  /** The review queue's BullMQ jobs. */
  readonly review: Queue;
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
    this.review = new Queue('review', { connection: redis, prefix: this.prefix, skipVersionCheck: true });
    // The connection's errors are counted where it is made (gateway.ts, op="queue_connection");
    // without a listener BullMQ prints every one of them to stderr during a Redis outage.
    this.review.on('error', () => undefined);
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

  private tellReviewed(decision: 'approve' | 'reject', id: string, msg: StoredMessage): void {
    const hook = this.reviewed;
    if (!hook) return;
    try {
      hook(decision, infoOf(id, msg));
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

  /** The hash of window and saf messages: id → packMessage bytes. */
  get messagesKey(): string {
    return `${this.prefix}:m`;
  }

  /** Window messages whose window is not open yet: id, score = release ms. */
  get dueKey(): string {
    return `${this.prefix}:due`;
  }

  /** The stream of a queue's messages ready to send (entries: i = message id). */
  streamKey(queue: 'window' | 'saf'): string {
    return `${this.prefix}:s:${queue}`;
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
    // One script for the whole batch, grouped by account: quota, then window/saf messages stored.
    const groups = new Map<string, Pending[]>();
    for (const p of batch) {
      const g = groups.get(p.m.account);
      if (g) g.push(p);
      else groups.set(p.m.account, [p]);
    }
    const keys: string[] = [this.messagesKey, this.dueKey, this.streamKey('window'), this.streamKey('saf')];
    const args: (string | number | Buffer)[] = [this.clock.now(), groups.size];
    const ordered: Pending[] = [];
    for (const [account, items] of groups) {
      for (const q of QUEUE_NAMES) keys.push(this.accountKey(q, account));
      keys.push(this.bytesKey(account));
      const quota = this.quotaOf(account);
      args.push(quota.messages, quota.bytes, items.length);
      for (const p of items) {
        const m = p.m;
        args.push(QUEUE_NAMES.indexOf(m.queue) + 1, m.id, m.acceptedAt, m.pdu.length, m.releaseAt, m.queue === 'review' ? '' : packMessage(m));
        ordered.push(p);
      }
    }
    let granted: number[];
    try {
      granted = await this.scripts.sgQueueAdd(keys.length, ...keys, ...args);
    } catch (err) {
      return this.failBatch(batch, err);
    }
    const accepted: Pending[] = [];
    const review: Pending[] = [];
    ordered.forEach((p, i) => {
      if (granted[i] !== 1) {
        this.env.metrics.queueJobs.inc({ queue: p.m.queue, outcome: 'refused_quota' });
        this.answer(p, Status.ESME_RMSGQFUL);
      } else if (p.m.queue === 'review') review.push(p);
      else accepted.push(p);
    });
    if (review.length > 0) {
      try {
        await this.review.addBulk(review.map(({ m }) => ({ name: m.reason, data: jobData(m), opts: { jobId: m.id, removeOnComplete: true, removeOnFail: 1000 } })));
        accepted.push(...review);
      } catch (err) {
        await this.release(review.map((p) => ['review', p.m.account, p.m.id] as const)).catch(() => undefined);
        this.failBatch(review, err);
      }
    }
    if (accepted.length === 0) return;
    if (!(await this.replicated())) {
      // Stored on the master but not (yet) on a replica: the ESME retries. The message stays, so
      // this may mean a duplicate, never a loss.
      this.env.metrics.redisErrors.inc({ op: 'queue_wait_replicas' });
      for (const p of accepted) this.answer(p, Status.ESME_RSYSERR);
      return;
    }
    const queued = new Map<QueueName, number>();
    for (const p of accepted) {
      if (p.answered) continue; // answered 0x08 at its deadline: stored after all, a possible duplicate
      this.answer(p, 0);
      queued.set(p.m.queue, (queued.get(p.m.queue) ?? 0) + 1);
    }
    for (const [name, n] of queued) this.env.metrics.queueJobs.inc({ queue: name, outcome: 'queued' }, n);
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
   * Ends messages: off the quota's books (messages and bytes), out of the message hash, and their
   * stream entry acknowledged and deleted, in one script call. Calls made in one event-loop turn
   * share it (the worker ends hundreds of messages a turn when the SMSC answers a window's worth at
   * once): up to RELEASE_BATCH messages a call instead of one call each. Resolves once the call that
   * carried these items succeeded; rejects with its error (the entries then stay pending and come
   * back after queue.lock_duration_ms: sent again, never lost; ending one twice is harmless).
   */
  release(items: readonly Ended[]): Promise<void> {
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
      const keys: string[] = [this.messagesKey, this.streamKey('window'), this.streamKey('saf')];
      const args: string[] = [GROUP];
      for (const c of part) {
        for (const [q, account, id, entry] of c.items) {
          keys.push(this.accountKey(q, account), this.bytesKey(account));
          args.push(id, q === 'review' ? '0' : q === 'window' ? '2' : '3', entry ?? '');
        }
      }
      this.scripts.sgQueueFinish(keys.length, ...keys, ...args).then(
        () => {
          for (const c of part) c.resolve();
        },
        (err: unknown) => {
          for (const c of part) c.reject(err);
        },
      );
    }
  }

  // ---- the streams (worker.ts) ------------------------------------------------------------------

  /** Creates the streams' consumer group where it is missing (start, and after a NOGROUP: the keys were deleted). */
  async ensureGroups(): Promise<void> {
    for (const q of ['window', 'saf'] as const) {
      await this.redis.xgroup('CREATE', this.streamKey(q), GROUP, '0', 'MKSTREAM').catch((err: unknown) => {
        if (!String(err).includes('BUSYGROUP')) throw err;
      });
    }
  }

  /**
   * Up to `count` new entries of a queue's stream for `consumer`, waiting up to `blockMs` on `conn`
   * (a connection of the caller's own: the wait blocks it), with their messages read from the hash.
   */
  async take(conn: Redis, queue: 'window' | 'saf', consumer: string, count: number, blockMs: number): Promise<Taken[]> {
    const reply = (await conn.xreadgroup('GROUP', GROUP, consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', this.streamKey(queue), '>')) as [string, [string, string[]][]][] | null;
    return this.withMessages(reply?.[0]?.[1] ?? []);
  }

  /**
   * Entries of a queue's stream idle for `minIdleMs` (a worker that died, or gave them back at
   * shutdown), claimed for `consumer`, from `cursor` on; returns the next cursor ("0-0": the end).
   */
  async claimStalled(queue: 'window' | 'saf', consumer: string, minIdleMs: number, cursor: string, count: number): Promise<{ next: string; taken: Taken[] }> {
    const [next, entries] = (await this.redis.xautoclaim(this.streamKey(queue), GROUP, consumer, minIdleMs, cursor, 'COUNT', count)) as [string, ([string, string[]] | null)[]];
    return { next, taken: await this.withMessages(entries.filter((e): e is [string, string[]] => e !== null)) };
  }

  private async withMessages(entries: [string, string[]][]): Promise<Taken[]> {
    if (entries.length === 0) return [];
    const ids = entries.map(([, fields]) => fields[1] ?? '');
    const packed = await this.redis.hmgetBuffer(this.messagesKey, ...ids);
    return entries.map(([entry], i) => {
      const b = packed[i];
      return { entry, id: ids[i]!, msg: b ? unpackMessage(b) : null };
    });
  }

  /** Keeps entries in hand from being claimed as stalled: their idle time starts again. */
  async renew(queue: 'window' | 'saf', consumer: string, entries: string[]): Promise<void> {
    for (let i = 0; i < entries.length; i += RELEASE_BATCH) {
      await this.redis.xclaim(this.streamKey(queue), GROUP, consumer, 0, ...entries.slice(i, i + RELEASE_BATCH), 'JUSTID');
    }
  }

  /**
   * Hands entries back (shutdown): each message gets a new entry at the stream's end, at once
   * visible to every instance's workers, and the old entry goes (one MULTI).
   */
  async giveBack(queue: 'window' | 'saf', taken: readonly { entry: string; id: string }[]): Promise<void> {
    const key = this.streamKey(queue);
    for (let i = 0; i < taken.length; i += RELEASE_BATCH) {
      const m = this.redis.multi();
      for (const t of taken.slice(i, i + RELEASE_BATCH)) m.xadd(key, '*', 'i', t.id).xack(key, GROUP, t.entry).xdel(key, t.entry);
      const res = await m.exec();
      const err = res?.find(([e]) => e)?.[0];
      if (err) throw err;
    }
  }

  /** Drops consumers of earlier runs: nothing pending and idle for an hour. */
  async dropIdleConsumers(queue: 'window' | 'saf'): Promise<void> {
    const key = this.streamKey(queue);
    const rows = (await this.redis.xinfo('CONSUMERS', key, GROUP)) as (string | number)[][];
    for (const row of rows) {
      const f = new Map<string, string | number>();
      for (let i = 0; i + 1 < row.length; i += 2) f.set(String(row[i]), row[i + 1]!);
      if (Number(f.get('pending')) === 0 && Number(f.get('idle')) > 3_600_000) await this.redis.xgroup('DELCONSUMER', key, GROUP, String(f.get('name')));
    }
  }

  /** Moves window messages whose release time (gateway clock) has come into the window stream. */
  async promote(): Promise<number> {
    let n = 0;
    for (;;) {
      const moved = await this.scripts.sgQueuePromote(this.dueKey, this.streamKey('window'), this.clock.now(), PROMOTE_BATCH);
      n += moved;
      if (moved < PROMOTE_BATCH) return n;
    }
  }

  /**
   * Moves window and saf messages an earlier version left as BullMQ jobs into the message hash and
   * streams (queue-migrate.lua), a thousand per call; jobs locked by a running older instance stay.
   */
  async migrateLegacy(): Promise<number> {
    let n = 0;
    for (const [q, index] of [['window', 1], ['saf', 2]] as const) {
      const base = `${this.prefix}:${q}:`;
      const lists = ['wait', 'paused', 'active', 'delayed', 'prioritized'].map((k) => base + k);
      if ((await this.redis.exists(...lists)) === 0) continue;
      for (;;) {
        const moved = await this.scripts.sgQueueMigrate(...lists, this.messagesKey, this.dueKey, this.streamKey(q), base, MIGRATE_BATCH, this.clock.now(), index);
        n += moved;
        if (moved === 0) break;
      }
    }
    if (n > 0) this.env.log.info({ messages: n }, 'queue: moved messages queued by an earlier version into the streams');
    return n;
  }

  // ---- review -----------------------------------------------------------------------------------

  /** Review jobs, oldest first, optionally only one rule's or one account's. */
  async listReview(filter: { rule?: string; account?: string; limit?: number } = {}): Promise<QueuedInfo[]> {
    const limit = filter.limit ?? 100;
    const out: QueuedInfo[] = [];
    for (let start = 0; out.length < limit; start += PAGE) {
      const jobs = await this.review.getJobs(['waiting'], start, start + PAGE - 1, true);
      for (const j of jobs) {
        if (!j?.data) continue;
        const d = j.data as JobData;
        if ((filter.rule && d.rule !== filter.rule) || (filter.account && d.account !== filter.account)) continue;
        out.push(infoOf(j.id!, fromJobData('review', d)));
        if (out.length >= limit) break;
      }
      if (jobs.length < PAGE) break;
    }
    return out;
  }

  async inspect(id: string): Promise<QueuedInfo | null> {
    const packed = await this.redis.hgetBuffer(this.messagesKey, id);
    const msg = packed ? unpackMessage(packed) : null;
    if (msg) return infoOf(id, msg);
    const j = await this.review.getJob(id);
    return j?.data ? infoOf(id, fromJobData('review', j.data as JobData)) : null;
  }

  /**
   * Approves a held message: it moves to the store-and-forward queue under the same id (stored and
   * added to the stream once, so a retried approval after a crash does not send it twice), then
   * leaves review. False when no such message waits for review.
   */
  async approve(id: string, who: string): Promise<boolean> {
    const job = await this.review.getJob(id);
    if (!job?.data) return false;
    const msg = fromJobData('review', job.data as JobData);
    const saf: StoredMessage = { ...msg, queue: 'saf', releaseAt: this.clock.now() };
    await this.scripts.sgQueueApprove(this.messagesKey, this.streamKey('saf'), this.accountKey('review', msg.account), this.accountKey('saf', msg.account), id, packMessage(saf), msg.acceptedAt);
    await job.remove();
    this.env.metrics.queueJobs.inc({ queue: 'review', outcome: 'approved' });
    this.env.log.info({ id, account: msg.account, rule: msg.rule, who }, 'review: approved');
    this.tellReviewed('approve', id, msg);
    return true;
  }

  /** Rejects a held message: dropped, with a REJECTD receipt when the ESME asked for receipts. */
  async reject(id: string, who: string): Promise<boolean> {
    const job = await this.review.getJob(id);
    if (!job?.data) return false;
    const msg = fromJobData('review', job.data as JobData);
    await this.finalReport({ id, msg, state: 'REJECTED' });
    await this.release([['review', msg.account, id]]);
    await job.remove();
    this.env.metrics.queueJobs.inc({ queue: 'review', outcome: 'rejected' });
    this.env.log.info({ id, account: msg.account, rule: msg.rule, who }, 'review: rejected');
    this.tellReviewed('reject', id, msg);
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
      const jobs = await this.review.getJobs(['waiting'], start, start + PAGE - 1, true);
      for (const j of jobs) if (j?.data && (j.data as JobData).expiresAt <= now) due.push(j);
      if (jobs.length < PAGE) break;
    }
    let n = 0;
    for (const j of due) {
      const msg = fromJobData('review', j.data as JobData);
      // Every instance sweeps: one claims each job for a minute (a crash lets another retry it).
      if ((await this.redis.set(`${this.prefix}:expiring:${j.id}`, '1', 'PX', 60_000, 'NX')) === null) continue;
      n++;
      await this.finalReport({ id: j.id!, msg, state: 'EXPIRED' });
      await this.release([['review', msg.account, j.id!]]);
      await j.remove();
      this.env.metrics.queueJobs.inc({ queue: 'review', outcome: 'expired' });
    }
    return n;
  }

  // ---- housekeeping ------------------------------------------------------------------------------

  /**
   * Starts the periodic work: window release (the due set, by the gateway clock, every
   * PROMOTE_EVERY_MS); review expiry; the quota books' repair (an entry whose message no longer
   * exists, e.g. after a crash between ending it and taking it off the books); and moving messages
   * an earlier version queued as BullMQ jobs (at start, then every minute while there are any:
   * older instances of a rolling upgrade may still queue them).
   */
  start(): void {
    const failed = () => this.env.metrics.redisErrors.inc({ op: 'queue_housekeeping' });
    this.timers.push(
      every(PROMOTE_EVERY_MS, () => this.promote(), failed),
      every(10_000, () => this.expireReview(), failed),
      every(60_000, () => this.repairBooks(), failed),
      every(60_000, () => this.migrateLegacy(), failed, true),
    );
  }

  private async repairBooks(): Promise<void> {
    for (const a of this.cfg.accounts) {
      for (const q of QUEUE_NAMES) {
        const key = this.accountKey(q, a.system_id);
        const ids = await this.redis.zrange(key, '0', '99');
        for (const id of ids) {
          // A review job, a stored message, or (window, saf) a job an earlier version left, not moved yet.
          const exists = (q !== 'review' && (await this.redis.hexists(this.messagesKey, id))) || (await this.redis.exists(`${this.prefix}:${q}:${id}`));
          if (!exists) await this.release([[q, a.system_id, id]]);
        }
      }
    }
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
    await this.review.close().catch(() => undefined);
  }
}
