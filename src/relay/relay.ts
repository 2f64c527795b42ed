/**
 * relay/: where a message goes. submit_sm/data_sm from an ESME → policy → SMSC pool, and the
 * SMSC's answer back to the ESME with its own sequence number; deliver_sm from an SMSC → the
 * account that should get it (receipt: by message id; MO: by destination prefix) → a bound
 * receiver, or held in Redis until one binds. This is the one place to read to follow a message.
 */
import { Command } from '../protocol/commands.js';
import { MessageView, isScanError } from '../protocol/message-view.js';
import { decode } from '../protocol/decode.js';
import { setSequence } from '../protocol/header.js';
import type { ScanError } from '../protocol/scan.js';
import { receiptMessageId, responseMessageId, rewriteReceiptId } from '../protocol/receipt.js';
import { Status } from '../protocol/status.js';
import type { SmscLink } from '../downstream/smsc-link.js';
import { ALL_SMSCS, type SmscPool } from '../downstream/smsc-pool.js';
import type { Policy, Verdict } from '../decision/verdict.js';
import type { RouteTarget } from '../decision/mt-router.js';
import type { DlrMap, MappedMessage } from '../store/dlr-map.js';
import type { HeldDeliveries, HeldEntry } from '../store/held-deliveries.js';
import type { AccountTable } from '../upstream/accounts.js';
import type { EsmeSession, SubmitHandler } from '../upstream/esme-session.js';
import { maskMsisdn, type Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import { PrefixRoutes } from './routes.js';
import type { ReplyHandler } from '../decision/replies.js';
import type { MessageQueue } from '../queue/message-queue.js';
import type { QueueName } from '../queue/jobs.js';
import { expiryOf } from '../queue/validity.js';
import type { DeliveryWorker } from '../queue/worker.js';
import { taskMonoNow, type Clock, type TimerHandle } from '../session/clock.js';

export interface RelayDeps {
  pool: SmscPool;
  policy: Policy;
  accounts: AccountTable;
  dlrMap: Pick<DlrMap, 'record' | 'lookupMessage'>;
  held: Pick<HeldDeliveries, 'hold' | 'peek' | 'ack' | 'refused'>;
  /** After a receiver refused a held delivery, try the held list again this much later (default 30 s). */
  heldRetryMs?: number;
  moRoutes: PrefixRoutes;
  /** Owner of a number by the sender registry: MOs to a registered sender number go to its account. */
  numberOwner?(address: string, ton: number): string | null;
  /** Opt-out / opt-in / HELP replies; null when policy is off. */
  replies?: Pick<ReplyHandler, 'handle'> | null;
  /** Tells the other gateway instances that `account` has held deliveries (its receiver may be bound there). */
  announceHeld?(account: string): void;
  /** The durable queue and its worker; null when queue.enabled is false. */
  queue?: { store: Pick<MessageQueue, 'newId' | 'enqueue'>; worker: Pick<DeliveryWorker, 'safBacklog' | 'noteSafQueued'> } | null;
  clock: Clock;
  /** Map every forwarded message's id (complaints quote them), not only those asking for a receipt. */
  mapAllMessageIds?: boolean;
  /** Sender behaviour profiles: every matched receipt (decision/behaviour-feed.ts); never throws. */
  onReceipt?(message: MappedMessage, view: MessageView): void;
  /**
   * The SMSC's id for a message it took, joined with the decision on the gateway id: the audit
   * trail's line and, unless the decision's own record carried it (`recorded`: its held line was
   * released with the id), the decision record's `smsc_id` record; null when neither is kept.
   */
  recordSmscId?: ((view: MessageView, smscId: string, account: string, recorded: boolean) => void) | null;
  metrics: Metrics;
  log: Logger;
}

/** How many held PDUs one release round sends before waiting for the ESME's answers. */
const RELEASE_BATCH = 50;
/** After a receiver refused a held delivery, the held list is tried again this much later (receipts.held_retry_s). */
const DEFAULT_HELD_RETRY_MS = 30_000;

export class Relay implements SubmitHandler {
  private readonly releasing = new Set<string>();
  /** Per account, the pending retry after a receiver refused a held delivery. */
  private readonly retryTimers = new Map<string, TimerHandle>();

  /** The gateway's id for each submit (the queue's ids when there is a queue, so a queued message keeps the id its ESME got). */
  private readonly newId: () => string;

  constructor(private readonly deps: RelayDeps) {
    const q = deps.queue;
    this.newId = q ? () => q.store.newId() : localIds();
  }

  /** New MO routes (live reload). */
  setMoRoutes(routes: PrefixRoutes): void {
    this.deps.moRoutes = routes;
  }

  // ---- ESME → SMSC ----------------------------------------------------------------------------

  onSubmit(session: EsmeSession, pdu: Buffer): void {
    const commandId = pdu.readUInt32BE(4);
    const sequence = pdu.readUInt32BE(12);
    if (commandId !== Command.submit_sm && commandId !== Command.data_sm) {
      // query_sm / cancel_sm: no content, no policy; checked for shape, ids pass through unchanged.
      const d = decode(pdu);
      if (!d.ok) return this.refuseMalformed(session, commandId, sequence, d);
      return this.forward(session, pdu, sequence, null);
    }
    const view = MessageView.parse(pdu);
    if (isScanError(view)) return this.refuseMalformed(session, commandId, sequence, view);
    view.lazyGatewayId(this.newId);
    // A forward's decision record may wait for the SMSC's id: forward() (or the queue) releases it.
    view.holdRecord = true;
    const arrived = taskMonoNow();
    let verdict: Verdict | null;
    try {
      verdict = this.deps.policy.decide({ account: session.account!.id, view }, (v) => this.apply(session, view, v, arrived));
    } catch (err) {
      this.deps.log.error({ err }, 'policy failed: answering ESME_RSYSERR');
      verdict = { action: 'reject', status: Status.ESME_RSYSERR, reason: 'policy_error' };
    }
    if (verdict) this.apply(session, view, verdict, arrived);
  }

  /** A body too short for its command gets generic_nack (docs/architecture.md, SMPP facts); a bad field, the field's status. */
  private refuseMalformed(session: EsmeSession, commandId: number, sequence: number, e: ScanError): void {
    this.deps.metrics.malformed.inc({ side: 'upstream', reason: e.field });
    session.settle();
    if (e.status === Status.ESME_RINVCMDLEN) return session.nack(e.status, sequence);
    session.respond(commandId, e.status, sequence);
  }

  /** `arrived`: taskMonoNow() when the submit was read (smppguard_decision_seconds). */
  private apply(session: EsmeSession, view: MessageView, v: Verdict, arrived: number): void {
    const account = session.account!.id;
    this.deps.metrics.countDecision(account, v.action, v.reason);
    this.deps.metrics.decisionSeconds.labels(v.action).observe((taskMonoNow() - arrived) / 1000);
    if (v.action === 'forward') {
      // While store-and-forward messages wait, later ones queue behind them: order per recipient.
      if (this.deps.queue?.worker.safBacklog && session.account!.cfg.queue.store_and_forward.length > 0) {
        releaseHeld(view, '');
        return this.enqueue(session, view, 'saf', 'queue/store-and-forward', 'backlog', null);
      }
      return this.forward(session, view.pdu, view.sequence, view, v.route ?? null);
    }
    // Only a forward holds its record; a verdict replaced after the record was made (a policy error) writes it now.
    releaseHeld(view, '');
    if (v.action === 'queue') {
      return this.enqueue(session, view, v.queue === 'review' ? 'review' : 'window', v.rule, v.reason, v.releaseAt);
    }
    session.settle();
    session.respond(view.commandId, v.status, view.sequence);
  }

  /**
   * `view` is set for submit_sm/data_sm (id mapping, store-and-forward); null for query/cancel.
   * `route`: the MT route's SMSC group; null: every SMSC (no routes.mt, or query/cancel).
   */
  private forward(session: EsmeSession, pdu: Buffer, sequence: number, view: MessageView | null, route: RouteTarget | null = null): void {
    const commandId = pdu.readUInt32BE(4);
    const routeName = route?.name ?? ALL_SMSCS;
    const t0 = taskMonoNow();
    this.deps.pool.submit(pdu, (resp, status, smsc) => {
      this.deps.metrics.routing.countRoute(routeName, smsc, resp ? status : smsc === null ? (status === Status.ESME_RTHROTTLED ? 'throttled' : 'not_sent') : 'timeout');
      this.deps.metrics.routing.routeSeconds.labels(routeName).observe((taskMonoNow() - t0) / 1000);
      // The SMSC's id, read once for all who keep it: the decision's held record, the audit trail, receipts, complaints.
      const held = view !== null && view.held !== null;
      const id =
        view !== null && resp !== null && status === 0 && (held || this.deps.recordSmscId || view.wantsReceipt || this.deps.mapAllMessageIds) ? responseMessageId(resp) : null;
      if (held) releaseHeld(view!, id ?? '');
      if (view && this.deps.queue) {
        const saf = session.account!.cfg.queue.store_and_forward;
        const failure = resp ? resp.readUInt32BE(8) : this.deps.pool.boundCount === 0 ? 'no_bind' : status === Status.ESME_RSYSERR ? 'timeout' : status;
        if (failure !== 0 && saf.includes(failure)) {
          const reason = typeof failure === 'string' ? failure : `0x${failure.toString(16).padStart(2, '0')}`;
          // The pool renumbered view.pdu for the SMSC: the ESME's own sequence goes with it.
          return this.enqueue(session, view, 'saf', 'queue/store-and-forward', reason, null, sequence);
        }
      }
      session.settle();
      if (!resp) return session.respond(commandId, status, sequence);
      // The id is recorded for receipt routing, and for complaints when map_all is on.
      if (view && id) {
        if (view.wantsReceipt || this.deps.mapAllMessageIds) {
          this.deps.dlrMap.record(id, session.account!.id, view.sourceTon, view.sourceAddr, view.destinationAddr);
        }
        this.deps.recordSmscId?.(view, id, session.account!.id, held);
      }
      session.forwardResponse(resp, sequence);
    }, route?.group ?? null);
  }

  /**
   * Stores the message durably and only then answers ESME_ROK with the gateway's message id;
   * ESME_RMSGQFUL past the account's quota, ESME_RSYSERR when it could not be stored.
   * `sequence`: the ESME's, when view.pdu has since been renumbered for an SMSC (store-and-forward
   * after the SMSC refused it); the stored copy gets it back, view.pdu itself is not touched (it
   * may still be in that SMSC socket's write buffer).
   */
  private enqueue(
    session: EsmeSession,
    view: MessageView,
    queue: QueueName,
    rule: string,
    reason: string,
    releaseAt: number | null,
    sequence = view.sequence,
  ): void {
    const q = this.deps.queue;
    if (!q) {
      session.settle();
      return session.respond(view.commandId, Status.ESME_RSYSERR, sequence);
    }
    const acct = session.account!;
    const now = this.deps.clock.now();
    const id = view.gatewayId || q.store.newId();
    if (queue === 'saf') q.worker.noteSafQueued();
    const pdu = Buffer.from(view.pdu);
    setSequence(pdu, sequence);
    q.store.enqueue(
      {
        id,
        account: acct.id,
        queue,
        pdu,
        rule,
        reason,
        acceptedAt: now,
        releaseAt: releaseAt ?? now,
        expiresAt: expiryOf(view.validityPeriod, now, acct.cfg.queue.max_age_s * 1000),
      },
      (status) => {
        session.settle();
        session.respond(view.commandId, status, sequence, status === 0 ? id : '');
      },
    );
  }

  /** A receipt the gateway made (a queued message expired or was refused): to a receiver, else held. */
  deliverOwn(account: string, pdu: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const hold = () =>
        this.deps.held.hold(account, pdu).then(() => {
          this.deps.metrics.receipts.inc({ outcome: 'held' });
          if (this.deps.accounts.get(account)?.hasReceiver()) this.release(account);
          else this.deps.announceHeld?.(account);
          resolve();
        }, reject);
      const session = this.deps.accounts.get(account)?.pickReceiver();
      const sent =
        session?.deliver(pdu, (status) => {
          if (status !== 0) return void hold();
          this.deps.metrics.receipts.inc({ outcome: 'generated' });
          resolve();
        }) ?? false;
      if (!sent) void hold();
    });
  }

  // ---- SMSC → ESME ----------------------------------------------------------------------------

  onDeliver(link: SmscLink, pdu: Buffer): void {
    const commandId = pdu.readUInt32BE(4);
    const sequence = pdu.readUInt32BE(12);
    const view = MessageView.parse(pdu);
    if (isScanError(view)) {
      this.deps.metrics.malformed.inc({ side: 'downstream', reason: view.field });
      return link.respond(commandId, view.status, sequence);
    }
    if (view.isReceipt) return this.routeReceipt(link, view);
    const replies = this.deps.replies;
    if (!replies) return this.routeMo(link, view);
    // A keyword reply changes consent first; if that cannot be stored the SMSC retries the MO.
    replies.handle(view).then(
      () => this.routeMo(link, view),
      (err) => {
        this.deps.metrics.redisErrors.inc({ op: 'reply' });
        this.deps.metrics.mo.inc({ outcome: 'deferred' });
        this.deps.log.warn({ err: String(err) }, 'could not store a reply opt-out/opt-in: asking the SMSC to retry');
        link.respond(commandId, Status.ESME_RX_T_APPN, sequence);
      },
    );
  }

  private routeMo(link: SmscLink, view: MessageView): void {
    const account = this.deps.moRoutes.match(view.destinationAddr) ?? this.deps.numberOwner?.(view.destinationAddr, view.destTon) ?? null;
    if (!account || !this.deps.accounts.get(account)) {
      this.deps.metrics.mo.inc({ outcome: 'unroutable' });
      this.deps.log.warn({ dst: view.destinationAddr, src: maskMsisdn(view.sourceAddr) }, 'MO for a destination no account owns');
      // Permanent: retrying will not find an owner. The SMSC should not queue it forever.
      return link.respond(view.commandId, Status.ESME_RX_R_APPN, view.sequence);
    }
    this.deliverTo(account, link, view, 'mo');
  }

  private routeReceipt(link: SmscLink, view: MessageView): void {
    const id = receiptMessageId(view.tlvs, view.shortMessage);
    if (!id) {
      this.deps.metrics.receipts.inc({ outcome: 'unmatched' });
      return link.respond(view.commandId, 0, view.sequence);
    }
    this.deps.dlrMap.lookupMessage(id).then(
      (entry) => {
        if (!entry || !this.deps.accounts.get(entry.account)) {
          this.deps.metrics.receipts.inc({ outcome: 'unmatched' });
          this.deps.log.warn({ message_id: id }, 'receipt for a message id with no account mapping');
          return link.respond(view.commandId, 0, view.sequence);
        }
        this.deps.onReceipt?.(entry, view);
        // A queued message: the ESME knows it by the gateway's id, so the receipt must quote that.
        const out = entry.gatewayId ? MessageView.parse(rewriteReceiptId(view.pdu, view.shortMessageSpan, view.tlvStart, entry.gatewayId)) : view;
        this.deliverTo(entry.account, link, isScanError(out) ? view : out, 'receipt');
      },
      (err) => {
        this.deps.metrics.redisErrors.inc({ op: 'dlr_lookup' });
        this.deps.metrics.receipts.inc({ outcome: 'deferred' });
        this.deps.log.warn({ err: String(err) }, 'receipt lookup failed: asking the SMSC to retry');
        link.respond(view.commandId, Status.ESME_RX_T_APPN, view.sequence);
      },
    );
  }

  /**
   * Gives a deliver_sm to a bound receiver of `account`; when none is bound (or it does not
   * answer), stores it first and only then answers the SMSC, so nothing acknowledged is lost.
   */
  private deliverTo(account: string, link: SmscLink, view: MessageView, kind: 'receipt' | 'mo'): void {
    const counter = kind === 'receipt' ? this.deps.metrics.receipts : this.deps.metrics.mo;
    const smscSeq = view.sequence;
    const commandId = view.commandId;
    const copy = Buffer.from(view.pdu);
    const session = this.deps.accounts.get(account)!.pickReceiver();
    const sent =
      session?.deliver(view.pdu, (status) => {
        if (status === null) return this.hold(account, copy, link, commandId, smscSeq, counter);
        counter.inc({ outcome: status === 0 ? 'routed' : 'refused' });
        // The ESME's own answer goes back, so its temporary errors make the SMSC retry.
        link.respond(commandId, status, smscSeq);
      }) ?? false;
    if (!sent) this.hold(account, copy, link, commandId, smscSeq, counter);
  }

  private hold(
    account: string,
    pdu: Buffer,
    link: SmscLink,
    commandId: number,
    smscSeq: number,
    counter: Metrics['receipts'],
  ): void {
    this.deps.held.hold(account, pdu).then(
      () => {
        counter.inc({ outcome: 'held' });
        link.respond(commandId, 0, smscSeq);
        // A receiver may have bound while we were storing, here or on another instance.
        if (this.deps.accounts.get(account)?.hasReceiver()) this.release(account);
        else this.deps.announceHeld?.(account);
      },
      (err) => {
        this.deps.metrics.redisErrors.inc({ op: 'hold' });
        counter.inc({ outcome: 'deferred' });
        this.deps.log.warn({ account, err: String(err) }, 'could not hold deliver_sm: asking the SMSC to retry');
        link.respond(commandId, Status.ESME_RX_T_APPN, smscSeq);
      },
    );
  }

  onReceiverBound(session: EsmeSession): void {
    this.release(session.account!.id);
  }

  /** Another instance held deliveries for `account`: deliver them if one of its receivers is bound here. */
  onHeldElsewhere(account: string): void {
    if (this.deps.accounts.get(account)?.hasReceiver()) this.release(account);
  }

  /** Sends held PDUs to the account's receivers in order, trimming what they acknowledged. */
  private release(account: string): void {
    if (this.releasing.has(account)) return;
    this.releasing.add(account);
    void this.releaseLoop(account).finally(() => this.releasing.delete(account));
  }

  private async releaseLoop(account: string): Promise<void> {
    const acct = this.deps.accounts.get(account);
    if (!acct) return;
    for (;;) {
      let batch: HeldEntry[];
      try {
        batch = await this.deps.held.peek(account, RELEASE_BATCH);
      } catch {
        this.deps.metrics.redisErrors.inc({ op: 'release' });
        return;
      }
      if (batch.length === 0) return;
      const results = await Promise.all(
        batch.map(
          ({ pdu }) =>
            new Promise<number | null>((resolve) => {
              const s = acct.pickReceiver();
              if (!s || !s.deliver(pdu, resolve)) resolve(null);
            }),
        ),
      );
      // Trim only acknowledged prefixes: order is kept and nothing unacknowledged is dropped. An
      // entry refused dead_letter_after times moves to the dead-letter list, and the prefix the
      // receiver took behind it is trimmed too, so it stops blocking them.
      let i = 0;
      for (;;) {
        let acked = i;
        while (acked < results.length && results[acked] === 0) acked++;
        for (let k = i; k < acked; k++) {
          const v = MessageView.parse(batch[k]!.pdu);
          const counter = !isScanError(v) && v.isReceipt ? this.deps.metrics.receipts : this.deps.metrics.mo;
          counter.inc({ outcome: 'released' });
        }
        try {
          await this.deps.held.ack(
            account,
            batch.slice(i, acked).map((e) => e.id),
          );
        } catch {
          this.deps.metrics.redisErrors.inc({ op: 'release' });
          return;
        }
        i = acked;
        if (i === results.length) break; // all taken: the next batch
        const status = results[i];
        if (status === null || status === undefined) return; // the receiver went away or did not answer: next bind retries
        if (!(await this.refused(account, batch[i]!, status))) return;
        i++;
      }
    }
  }

  /** The receiver refused a held entry: true if it moved to the dead-letter list (go on behind it), else retried later. */
  private async refused(account: string, entry: HeldEntry, status: number): Promise<boolean> {
    let r: Awaited<ReturnType<RelayDeps['held']['refused']>>;
    try {
      r = await this.deps.held.refused(account, entry.id, status);
    } catch {
      this.deps.metrics.redisErrors.inc({ op: 'release' });
      return false;
    }
    if (r.outcome === 'dead') {
      this.deps.metrics.deadLetters.inc({ account });
      this.deps.log.warn({ account, id: entry.id, status }, 'held delivery refused too often: moved to the dead-letter list');
      return true;
    }
    if (r.outcome === 'kept' && !this.retryTimers.has(account)) {
      this.retryTimers.set(
        account,
        this.deps.clock.setTimeout(() => {
          this.retryTimers.delete(account);
          if (this.deps.accounts.get(account)?.hasReceiver()) this.release(account);
        }, this.deps.heldRetryMs ?? DEFAULT_HELD_RETRY_MS),
      );
    }
    return false;
  }
}

/** Gateway ids without a queue: "G", a per-process tag, the time and a counter, all base 36 (unique across instances and restarts). */
function localIds(): () => string {
  const tag = Math.floor(Math.random() * 46_656).toString(36).padStart(3, '0');
  let seq = 0;
  return () => {
    seq = (seq + 1) % 1_679_616;
    return `G${tag}${Date.now().toString(36)}${seq.toString(36).padStart(4, '0')}`;
  };
}

/** Writes a message's held decision record (with the SMSC's id; "": none took it), once. */
function releaseHeld(view: MessageView, smscId: string): void {
  const h = view.held;
  if (h === null) return;
  view.held = null;
  h.release(smscId);
}
