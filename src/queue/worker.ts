/**
 * Delivers queued messages (the window and saf streams; review messages move to saf when approved).
 * Runs in every gateway instance: per stream, a loop takes up to queue.concurrency entries through
 * the consumer group (a blocking read on a connection of its own), and each message is sent in turn
 * per recipient. A message is acknowledged (queue-finish.lua: books, stored bytes and stream entry in
 * one call, shared by the messages ended in one event-loop turn) only after the SMSC answered
 * ESME_ROK for it, or after the gateway ended it itself (expired, refused for good) and the ESME's
 * receipt was handed over or held. Temporary refusals and a missing bind are retried inside, with
 * backoff, until the message expires, so the queue keeps its order per recipient.
 *
 * Entries in hand are renewed every lock_duration_ms / 3; entries idle for lock_duration_ms (a
 * worker that died) are claimed by any instance's sweep, every lock_duration_ms / 2 and at start.
 * Duplicate window: a crash after the SMSC accepted a message and before it was acknowledged sends
 * it again after lock_duration_ms. At most the messages in hand at the crash can be sent twice:
 * queue.concurrency per stream and instance, and no more than the SMSC windows hold.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { redisClient, type Redis } from '../store/redis.js';
import type { Config } from '../config/schema.js';
import type { SmscPool } from '../downstream/smsc-pool.js';
import { MessageView, isScanError } from '../protocol/message-view.js';
import { MESSAGE_STATE, gatewayReceipt, responseMessageId } from '../protocol/receipt.js';
import { Status } from '../protocol/status.js';
import { systemClock, type Clock } from '../session/clock.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { MessageQueue, Taken } from './message-queue.js';
import type { QueueName, StoredMessage } from './jobs.js';
import { ChurnMap } from '../domain/churn-map.js';
import { every } from './periodic.js';

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

/** Entries taken per read at most. */
const TAKE_BATCH = 500;
/**
 * A read waits this long for new entries, then the loop looks at `stopping` again: the most a
 * shutdown waits for an idle reader (four reads a second per stream while idle).
 */
const BLOCK_MS = 250;

/** One stream's reader: its blocking connection and the entries in hand. */
interface Lane {
  queue: 'window' | 'saf';
  conn: Redis;
  /** entry id → message id, while in hand (renewed, given back at shutdown). A ChurnMap: tens of thousands of entries a second come and go. */
  inHand: ChurnMap<string, string>;
  /** Entries to hand back (shutdown while they waited for a bind or a retry). */
  returned: Taken[];
  /** Resolves the loop's wait for room (a message in hand ended). */
  room: (() => void) | null;
  /** The stalled-entry sweep's XAUTOCLAIM cursor. */
  cursor: string;
  loop: Promise<void> | null;
}

export class DeliveryWorker {
  private readonly lanes: Lane[] = [];
  private readonly chains = new ChurnMap<string, Promise<unknown>>();
  private stopping = false;
  private readonly wake = new Set<() => void>();
  private readonly timers: NodeJS.Timeout[] = [];
  private activeSaf = 0;
  private safDrained = true;
  /** This process's consumer name in the streams' group. */
  readonly consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;

  /** Per account: SMSC statuses retried (the temporary ones and its store_and_forward statuses). */
  private readonly retryOn = new Map<string, ReadonlySet<number>>();

  constructor(private readonly deps: WorkerDeps) {
    for (const a of deps.cfg.accounts) {
      this.retryOn.set(a.system_id, new Set([...TEMPORARY, ...a.queue.store_and_forward.filter((c): c is number => typeof c === 'number')]));
    }
    deps.queue.onFinal((m) => this.report(m.id, m.msg, m.state === 'EXPIRED' ? MESSAGE_STATE.EXPIRED : MESSAGE_STATE.REJECTED, m.err ?? 0));
  }

  private get clock(): Clock {
    return this.deps.clock ?? systemClock;
  }

  start(): void {
    const q = this.deps.cfg.queue;
    for (const queue of ['window', 'saf'] as const) {
      // The blocking reads' connection: retries and queues while Redis is away, no command timeout.
      const conn = redisClient(this.deps.cfg.redis, { maxRetriesPerRequest: null, enableOfflineQueue: true, commandTimeout: undefined, lazyConnect: false });
      conn.on('error', () => this.deps.metrics.redisErrors.inc({ op: 'queue_worker' }));
      this.lanes.push({ queue, conn, inHand: new ChurnMap(), returned: [], room: null, cursor: '0-0', loop: null });
    }
    const failed = (err: unknown) => {
      this.deps.metrics.redisErrors.inc({ op: 'queue_worker' });
      this.deps.log.warn({ err: String(err) }, 'queue worker housekeeping failed');
    };
    // close() clears these as it sets `stopping`: no tick runs after it.
    this.timers.push(
      every(Math.max(100, Math.floor(q.lock_duration_ms / 3)), () => this.renewAll(), failed),
      every(Math.max(1000, Math.floor(q.lock_duration_ms / 2)), () => this.sweepAll(), failed),
      every(
        600_000,
        async () => {
          for (const l of this.lanes) await this.deps.queue.dropIdleConsumers(l.queue);
        },
        failed,
      ),
    );
    void this.deps.queue
      .ensureGroups()
      .catch(() => this.deps.metrics.redisErrors.inc({ op: 'queue_worker' }))
      .then(() => this.sweepAll())
      .catch(() => this.deps.metrics.redisErrors.inc({ op: 'queue_worker' }))
      .finally(() => {
        for (const l of this.lanes) l.loop = this.run(l);
      });
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

  /** Nudges messages waiting for a bind (a link came up). */
  linkChanged(): void {
    // Called after every SMSC answer that leaves window room: nothing to copy when nobody waits.
    if (this.wake.size === 0) return;
    for (const f of [...this.wake]) f();
  }

  /** Reads a stream while the gateway runs: up to queue.concurrency messages in hand. */
  private async run(lane: Lane): Promise<void> {
    const max = this.deps.cfg.queue.concurrency;
    while (!this.stopping) {
      const room = max - lane.inHand.size;
      if (room <= 0) {
        await new Promise<void>((resolve) => (lane.room = resolve));
        continue;
      }
      let taken: Taken[];
      try {
        taken = await this.deps.queue.take(lane.conn, lane.queue, this.consumer, Math.min(room, TAKE_BATCH), BLOCK_MS);
      } catch (err) {
        if (this.stopping) break;
        this.deps.metrics.redisErrors.inc({ op: 'queue_worker' });
        if (String(err).includes('NOGROUP')) await this.deps.queue.ensureGroups().catch(() => undefined);
        else this.deps.log.warn({ err: String(err), queue: lane.queue }, 'queue worker error');
        await this.pause(1000);
        continue;
      }
      if (lane.queue === 'saf') this.safDrained = taken.length === 0 && lane.inHand.size === 0;
      for (const t of taken) this.handle(lane, t);
    }
  }

  /** Claims entries idle past lock_duration_ms (a dead worker's, or handed back) while there is room. */
  private async sweepAll(): Promise<void> {
    const max = this.deps.cfg.queue.concurrency;
    for (const lane of this.lanes) {
      for (;;) {
        const room = max - lane.inHand.size;
        if (room <= 0 || this.stopping) break;
        const { next, taken } = await this.deps.queue.claimStalled(lane.queue, this.consumer, this.deps.cfg.queue.lock_duration_ms, lane.cursor, Math.min(room, TAKE_BATCH));
        lane.cursor = next;
        for (const t of taken) if (!lane.inHand.has(t.entry)) this.handle(lane, t);
        if (next === '0-0') break;
      }
    }
  }

  private async renewAll(): Promise<void> {
    for (const lane of this.lanes) if (lane.inHand.size > 0) await this.deps.queue.renew(lane.queue, this.consumer, [...lane.inHand.keys()]);
  }

  private handle(lane: Lane, t: Taken): void {
    const msg = t.msg;
    if (msg === null) {
      // Ended already (acknowledged by an instance that had it twice), or unreadable: the entry goes.
      this.deps.log.warn({ id: t.id, queue: lane.queue }, 'queued message not found or unreadable: its stream entry is dropped');
      void this.deps.queue.release([[lane.queue, '', t.id, t.entry]]).catch(() => this.deps.metrics.redisErrors.inc({ op: 'queue_release' }));
      return;
    }
    lane.inHand.set(t.entry, t.id);
    const view = MessageView.parse(msg.pdu);
    const recipient = isScanError(view) ? '' : view.destinationAddr;
    if (lane.queue === 'saf') this.activeSaf++;
    this.inOrder(recipient, () => this.deliver(lane.queue, t.id, t.entry, msg, isScanError(view) ? null : view))
      .catch((err: unknown) => {
        // Shutdown: back to the queue at once, for this or another instance. Anything else stays
        // pending and is claimed again after lock_duration_ms.
        if (err instanceof ReturnToQueue) lane.returned.push(t);
        else this.deps.log.error({ err: String(err), id: t.id }, 'queued message delivery failed; retried after the lock duration');
      })
      .finally(() => {
        lane.inHand.delete(t.entry);
        if (lane.queue === 'saf') this.activeSaf--;
        const room = lane.room;
        lane.room = null;
        room?.();
      });
  }

  /** Runs messages for one recipient one after another, in the order they were taken. */
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

  private async deliver(name: QueueName, id: string, entry: string, data: StoredMessage, view: MessageView | null): Promise<void> {
    const cfg = this.deps.cfg.queue;
    const pdu = data.pdu;
    const retryOn = this.retryOn.get(data.account) ?? TEMPORARY;
    let backoff = cfg.retry_initial_ms;
    let decided = false;
    let group: string | null = null;
    for (let sent = 0; ; ) {
      if (this.stopping) throw new ReturnToQueue();
      if (this.clock.now() >= data.expiresAt) {
        await this.finish(name, id, entry, data, MESSAGE_STATE.EXPIRED, 0);
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
          await this.finish(name, id, entry, data, MESSAGE_STATE.REJECTED, v.status ?? 0);
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
        await this.deps.queue.release([[name, data.account, id, entry]]).catch(() => this.deps.metrics.redisErrors.inc({ op: 'queue_release' }));
        this.deps.metrics.queueJobs.inc({ queue: name, outcome: 'released' });
        return;
      }
      if (!resp || retryOn.has(status)) {
        await this.pause(backoff);
        backoff = Math.min(backoff * 2, cfg.retry_max_ms);
        continue;
      }
      // Refused for good (bad destination, …): the ESME already has ESME_ROK, so it gets a receipt.
      await this.finish(name, id, entry, data, MESSAGE_STATE.REJECTED, status);
      this.deps.metrics.queueJobs.inc({ queue: name, outcome: 'failed' });
      this.deps.log.info({ id, account: data.account, status }, 'queued message refused by the SMSC');
      return;
    }
  }

  /** Ends a message the gateway answered itself: receipt first (kept until it is held), then the books. */
  private async finish(name: QueueName, id: string, entry: string, data: StoredMessage, state: number, err: number): Promise<void> {
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
    await this.deps.queue.release([[name, data.account, id, entry]]).catch(() => this.deps.metrics.redisErrors.inc({ op: 'queue_release' }));
  }

  private async report(id: string, data: StoredMessage, state: number, err: number): Promise<void> {
    const view = MessageView.parse(data.pdu);
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
   * Finishes the messages in hand that are with the SMSC; hands the waiting ones back to the queue.
   * Takes at most `timeoutMs` (default: an SMSC response's timeout and a second): with Redis
   * unreachable the hand-back cannot be written, and the entries then come back as stalled after
   * lock_duration_ms (delivered again, never lost).
   */
  async close(timeoutMs = this.deps.cfg.downstream.response_timeout_ms + 1000): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.linkChanged();
    for (const l of this.lanes) l.room?.();
    // The loops end within a read's BLOCK_MS; messages in hand end or throw ReturnToQueue.
    const done = Promise.all(
      this.lanes.map(async (l) => {
        await l.loop;
        while (l.inHand.size > 0) await new Promise((r) => setTimeout(r, 10));
        if (l.returned.length > 0) await this.deps.queue.giveBack(l.queue, l.returned);
      }),
    );
    if (!(await within(done, timeoutMs))) {
      this.deps.log.warn({ timeout_ms: timeoutMs }, 'queue workers did not close in time (Redis unreachable?); their messages come back after the lock duration');
    }
    for (const l of this.lanes) l.conn.disconnect();
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
