/**
 * Delivers queued messages (the window and saf queues; review jobs move to saf when approved).
 * Runs in every gateway instance. A job is acknowledged only after the SMSC answered ESME_ROK for
 * it, or after the gateway ended it itself (expired, refused for good) and the ESME's receipt was
 * handed over or held. Temporary refusals and a missing bind are retried inside the job, with
 * backoff, until the message expires, so the queue keeps its order per recipient.
 *
 * Duplicate window: a crash after the SMSC accepted a message and before its job is acknowledged
 * sends it again once the job's lock expires (lock_duration_ms). At most the jobs in hand at the
 * crash can be sent twice: queue.concurrency per instance, and no more than the SMSC windows hold.
 */
import { DelayedError, Worker, type Job } from 'bullmq';
import { redisClient, type Redis } from '../store/redis.js';
import type { Config } from '../config/schema.js';
import type { SmscPool } from '../downstream/smsc-pool.js';
import { MessageView, isScanError } from '../protocol/message-view.js';
import { MESSAGE_STATE, gatewayReceipt, responseMessageId } from '../protocol/receipt.js';
import { Status } from '../protocol/status.js';
import { systemClock, type Clock } from '../session/clock.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { MessageQueue } from './message-queue.js';
import type { JobData, QueueName } from './jobs.js';
import { ChurnMap } from '../domain/churn-map.js';

/** SMSC answers worth retrying (besides no bind, timeouts and lost links). */
const TEMPORARY: ReadonlySet<number> = new Set<number>([Status.ESME_RSYSERR, Status.ESME_RMSGQFUL, Status.ESME_RTHROTTLED]);

export interface WorkerDeps {
  cfg: Config;
  queue: MessageQueue;
  pool: SmscPool;
  /** SMSC message id → account and gateway id, so the receipt reaches the ESME with its own id. */
  recordId(smscId: string, account: string, gatewayId: string, message: MessageView | null): void;
  /** Hands a receipt the gateway made to the account (a bound receiver, or held in Redis). */
  deliverReceipt(account: string, pdu: Buffer): Promise<void>;
  /**
   * The decision layer's word on a message about to leave (decision/service.ts decideRelease):
   * consent, DND and the sender as they are now. Absent with policy off.
   */
  decideRelease?(account: string, view: MessageView): Promise<ReleaseVerdict>;
  metrics: Metrics;
  log: Logger;
  clock?: Clock;
}

/** What the worker reads of a release decision (decision/verdict.ts's Verdict fits). */
export interface ReleaseVerdict {
  action: 'forward' | 'reject' | 'queue';
  reason: string;
  status?: number;
  /** The MT route's SMSC group (routes.mt); absent: every SMSC. */
  route?: { group: string };
}

class ReturnToQueue extends Error {}

export class DeliveryWorker {
  private readonly workers: Worker[] = [];
  private readonly connections: Redis[] = [];
  private readonly chains = new ChurnMap<string, Promise<unknown>>();
  private stopping = false;
  private readonly wake = new Set<() => void>();
  private activeSaf = 0;
  private safDrained = true;

  /** Per account: SMSC statuses retried (the temporary ones and its store_and_forward statuses). */
  private readonly retryOn = new Map<string, ReadonlySet<number>>();

  constructor(private readonly deps: WorkerDeps) {
    for (const a of deps.cfg.accounts) {
      this.retryOn.set(a.system_id, new Set([...TEMPORARY, ...a.queue.store_and_forward.filter((c): c is number => typeof c === 'number')]));
    }
    deps.queue.onFinal((m) => this.report(m.id, m.data, m.state === 'EXPIRED' ? MESSAGE_STATE.EXPIRED : MESSAGE_STATE.REJECTED, m.err ?? 0));
  }

  private get clock(): Clock {
    return this.deps.clock ?? systemClock;
  }

  start(): void {
    const q = this.deps.cfg.queue;
    for (const name of ['window', 'saf'] as const) {
      // BullMQ's blocking connection: retries and queues while Redis is away, no command timeout.
      const connection = redisClient(this.deps.cfg.redis, { maxRetriesPerRequest: null, enableOfflineQueue: true, commandTimeout: undefined, lazyConnect: false });
      connection.on('error', () => this.deps.metrics.redisErrors.inc({ op: 'queue_worker' }));
      this.connections.push(connection);
      const w = new Worker(name, (job, token) => this.process(name, job, token), {
        connection,
        prefix: this.deps.queue.prefix,
        concurrency: q.concurrency,
        lockDuration: q.lock_duration_ms,
        stalledInterval: Math.max(1000, Math.floor(q.lock_duration_ms / 2)),
        // A job whose worker died goes back to the queue however often that happens: never dropped.
        maxStalledCount: Number.MAX_SAFE_INTEGER,
        skipVersionCheck: true,
      });
      w.on('error', (err) => {
        this.deps.metrics.redisErrors.inc({ op: 'queue_worker' });
        this.deps.log.warn({ err: String(err), queue: name }, 'queue worker error');
      });
      if (name === 'saf') {
        w.on('drained', () => (this.safDrained = true));
        w.on('active', () => (this.safDrained = false));
      }
      this.workers.push(w);
    }
  }

  /**
   * True while store-and-forward messages wait or are in hand here: new messages of accounts with
   * store-and-forward then join the queue behind them instead of overtaking them.
   */
  get safBacklog(): boolean {
    return this.activeSaf > 0 || !this.safDrained;
  }

  /** Marks that this instance just queued a store-and-forward message. */
  noteSafQueued(): void {
    this.safDrained = false;
  }

  /** Nudges jobs waiting for a bind (a link came up). */
  linkChanged(): void {
    for (const f of [...this.wake]) f();
  }

  private async process(name: QueueName, job: Job, token: string | undefined): Promise<void> {
    const data = job.data as JobData;
    const pdu = Buffer.from(data.pdu, 'base64');
    const view = MessageView.parse(pdu);
    const recipient = isScanError(view) ? '' : view.destinationAddr;
    if (name === 'saf') this.activeSaf++;
    try {
      await this.inOrder(recipient, () => this.deliver(name, job.id!, data, pdu, isScanError(view) ? null : view));
    } catch (err) {
      if (!(err instanceof ReturnToQueue)) throw err;
      // Shutdown: the job goes back to the queue, due at once, for this or another instance.
      await job.moveToDelayed(Date.now(), token);
      throw new DelayedError();
    } finally {
      if (name === 'saf') this.activeSaf--;
    }
  }

  /** Runs jobs for one recipient one after another, in the order they were taken. */
  private inOrder(key: string, fn: () => Promise<void>): Promise<void> {
    const prev = this.chains.get(key);
    const run = prev ? prev.then(fn) : fn();
    const tail = run.catch(() => undefined);
    this.chains.set(key, tail);
    void tail.then(() => {
      if (this.chains.get(key) === tail) this.chains.delete(key);
    });
    return run;
  }

  private async deliver(name: QueueName, id: string, data: JobData, pdu: Buffer, view: MessageView | null): Promise<void> {
    const cfg = this.deps.cfg.queue;
    const retryOn = this.retryOn.get(data.account) ?? TEMPORARY;
    let backoff = cfg.retry_initial_ms;
    let decided = false;
    let group: string | null = null;
    for (let sent = 0; ; ) {
      if (this.stopping) throw new ReturnToQueue();
      if (this.clock.now() >= data.expiresAt) {
        await this.finish(name, id, data, MESSAGE_STATE.EXPIRED, 0);
        this.deps.metrics.queueJobs.inc({ queue: name, outcome: 'expired' });
        return;
      }
      if (this.deps.pool.boundCount === 0) {
        await this.pause(250);
        continue;
      }
      if (!decided && this.deps.decideRelease && view) {
        view.gatewayId = id;
        // An opt-out, a DND entry or a suspension while the message waited stops it here.
        const v = await this.deps.decideRelease(data.account, view).catch((): null => null);
        if (v === null || v.reason === 'store_unavailable') {
          await this.pause(backoff);
          backoff = Math.min(backoff * 2, cfg.retry_max_ms);
          continue;
        }
        decided = true;
        group = v.action === 'forward' ? (v.route?.group ?? null) : null;
        if (v.action === 'reject') {
          await this.finish(name, id, data, MESSAGE_STATE.REJECTED, v.status ?? 0);
          this.deps.metrics.queueJobs.inc({ queue: name, outcome: 'refused_at_release' });
          this.deps.log.info({ id, account: data.account, reason: v.reason, status: v.status }, 'queued message refused at release');
          return;
        }
        backoff = cfg.retry_initial_ms;
      }
      if (sent++ > 0) this.deps.metrics.queueJobs.inc({ queue: name, outcome: 'retried' });
      const { resp, status } = await new Promise<{ resp: Buffer | null; status: number }>((resolve) =>
        this.deps.pool.submit(pdu, (r, s) => resolve({ resp: r, status: r ? r.readUInt32BE(8) : s }), group),
      );
      if (status === 0 && resp) {
        const smscId = responseMessageId(resp);
        if (smscId) this.deps.recordId(smscId, data.account, id, view);
        await this.deps.queue.release([[name, data.account, id]]).catch(() => this.deps.metrics.redisErrors.inc({ op: 'queue_release' }));
        this.deps.metrics.queueJobs.inc({ queue: name, outcome: 'released' });
        return;
      }
      if (!resp || retryOn.has(status)) {
        await this.pause(backoff);
        backoff = Math.min(backoff * 2, cfg.retry_max_ms);
        continue;
      }
      // Refused for good (bad destination, …): the ESME already has ESME_ROK, so it gets a receipt.
      await this.finish(name, id, data, MESSAGE_STATE.REJECTED, status);
      this.deps.metrics.queueJobs.inc({ queue: name, outcome: 'failed' });
      this.deps.log.info({ id, account: data.account, status }, 'queued message refused by the SMSC');
      return;
    }
  }

  /** Ends a message the gateway answered itself: receipt first (kept until it is held), then the books. */
  private async finish(name: QueueName, id: string, data: JobData, state: number, err: number): Promise<void> {
    for (let wait = 100; ; wait = Math.min(wait * 2, 5000)) {
      try {
        await this.report(id, data, state, err);
        break;
      } catch {
        this.deps.metrics.redisErrors.inc({ op: 'queue_receipt' });
        if (this.stopping) throw new ReturnToQueue();
        await this.pause(wait);
      }
    }
    await this.deps.queue.release([[name, data.account, id]]).catch(() => this.deps.metrics.redisErrors.inc({ op: 'queue_release' }));
  }

  private async report(id: string, data: JobData, state: number, err: number): Promise<void> {
    const view = MessageView.parse(Buffer.from(data.pdu, 'base64'));
    if (isScanError(view) || !view.wantsReceipt) return;
    const pdu = gatewayReceipt({
      id,
      src: { addr: view.sourceAddr, ton: view.sourceTon, npi: view.sourceNpi },
      dst: { addr: view.destinationAddr, ton: view.destTon, npi: view.destNpi },
      submitted: data.acceptedAt,
      done: this.clock.now(),
      state,
      err,
    });
    await this.deps.deliverReceipt(data.account, pdu);
  }

  /** Waits `ms`, or less when a link comes up or the gateway stops. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wake.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wake.add(done);
    });
  }

  /**
   * Finishes the jobs in hand that are with the SMSC; returns the waiting ones to the queue. Takes
   * at most `timeoutMs` (default: an SMSC response's timeout and a second): BullMQ's close waits on
   * Redis, and with Redis unreachable it would wait for ever. The workers are then closed by force;
   * a job whose outcome could not be recorded stays in Redis and comes back as stalled (delivered
   * again, never lost).
   */
  async close(timeoutMs = this.deps.cfg.downstream.response_timeout_ms + 1000): Promise<void> {
    this.stopping = true;
    const end = Date.now() + timeoutMs;
    // Stop taking jobs first: a job returned below is due at once and must not be taken again here.
    await within(Promise.all(this.workers.map((w) => w.pause(true).catch(() => undefined))), timeoutMs);
    this.linkChanged();
    const closed = await within(Promise.all(this.workers.map((w) => w.close().catch(() => undefined))), Math.max(0, end - Date.now()));
    if (!closed) {
      this.deps.log.warn({ timeout_ms: timeoutMs }, 'queue workers did not close in time (Redis unreachable?); closing them by force');
      for (const w of this.workers) void w.close(true).catch(() => undefined);
    }
    for (const c of this.connections) c.disconnect();
  }
}

/** Whether `p` settled within `ms` (it is not cancelled either way). */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
