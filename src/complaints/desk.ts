/**
 * The complaint desk: takes a complaint in (API or import), resolves it to the account and sender
 * that sent the message, opens a case with its deadlines, counts it against the sender and — at
 * `complaints.auto_suspend.threshold` complaints within the window — suspends the sender in the
 * registry (journaled; every instance follows through the registry's pub/sub), or in monitor mode
 * only logs and counts that it would have. Thin: decisions are the pure functions in cases.ts.
 *
 * Resolution, most reliable first:
 *   1. message id → the id map the gateway writes when it forwards (store/dlr-map.ts): account,
 *      source address and recipient as the gateway saw them;
 *   2. the reported sender → the sender registry (the registration's account);
 *   3. neither: the case stays unresolved (it is still a case with deadlines; it counts for nobody).
 */
import type { Config } from '../config/schema.js';
import { normaliseAddress } from '../policy/address.js';
import type { SenderRecord } from '../domain/sender.js';
import type { ComplaintStore } from '../store/complaint-store.js';
import type { MappedMessage } from '../store/dlr-map.js';
import type { Actor, PolicyAdmin } from '../store/policy-admin.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import { applyAction, calendarOf, caseId, countSince, countsToward, deadlinesOf, suspendPolicyOf, suspensionDecision, type ComplaintFacts, type Problem, type SuspendPolicy } from './cases.js';
import { type CaseAction, type ComplaintCase } from '../domain/complaint.js';
import type { WorkCalendar } from './deadlines.js';
import type { NormalAddress } from '../domain/address.js';

/** Who acts when the desk suspends a sender by itself. */
export const AUTO_ACTOR = 'auto:complaints';

export interface DeskDeps {
  cfg: Pick<Config, 'complaints' | 'policy'>;
  cases: ComplaintStore;
  store: PolicyAdmin;
  /** The sender registry (this instance's, or one loaded by a CLI command). */
  senders: { find(addr: NormalAddress): SenderRecord | null; get(id: string): SenderRecord | undefined; upsert(rec: SenderRecord): void };
  /** Message id → account/sender/recipient (null: no id map). */
  messages: { lookupMessage(id: string): Promise<MappedMessage | null> } | null;
  metrics?: Metrics | null;
  log?: Logger | null;
  now?: () => number;
  /**
   * Traffic intelligence (decision/feedback.ts): marks the complained message's campaign
   * fingerprint and learns its callback numbers and links, on every instance within a second.
   * Its failure does not fail the intake (the case is stored; logged).
   */
  feedback?: ((c: ComplaintCase) => Promise<unknown>) | null;
  /** Where a handled (founded) complaint's text goes as a spam label (store/label-store.ts); null: nowhere. */
  labels?: { add(label: 'spam', text: string, source: 'complaint', ref: string, account: string | null): Promise<boolean> } | null;
}

export interface IntakeResult {
  case: ComplaintCase;
  /** The sender's complaints in the window (null when the case counts for no sender). */
  count: number | null;
  /** What the threshold did: suspended the sender, would have (monitor mode), or nothing. */
  suspension: 'suspend' | 'would_suspend' | 'none';
}

export class DeskError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    readonly field: string | null,
    message: string,
  ) {
    super(message);
  }
}

export class ComplaintDesk {
  readonly policy: SuspendPolicy;
  private readonly cal: WorkCalendar;
  private readonly now: () => number;
  private lastPrune = 0;

  constructor(private readonly deps: DeskDeps) {
    this.policy = suspendPolicyOf(deps.cfg.complaints.auto_suspend);
    this.cal = calendarOf(deps.cfg.complaints.deadlines);
    this.now = deps.now ?? Date.now;
  }

  /** Opens a case for a validated complaint (complaintFacts), counting it and maybe suspending its sender. */
  async intake(f: ComplaintFacts, actor: Actor): Promise<IntakeResult> {
    const now = this.now();
    const r = await this.resolve(f);
    const seq = await this.deps.cases.nextSeq();
    const due = deadlinesOf(f.receivedAt, this.deps.cfg.complaints.deadlines, this.cal);
    let c: ComplaintCase = {
      id: caseId(seq, f.receivedAt),
      state: 'open',
      source: f.source,
      reference: f.reference,
      recipient: f.recipient,
      reported_sender: f.reportedSender,
      message_id: f.messageId,
      text: f.text,
      reported_at: f.reportedAt,
      received_at: f.receivedAt,
      resolved_by: r.by,
      account: r.account,
      sender: r.sender,
      sender_registered: r.registered,
      remarks: r.remarks,
      ...due,
      forwarded_at: null,
      forwarded_to: null,
      handled_at: null,
      resolution: null,
      history: [{ at: now, who: actor.who, event: 'received', ...(f.note ? { note: f.note } : {}) }],
    };
    await this.deps.cases.save(c);
    await this.deps.store.journal('complaint.receive', actor, {
      case: c.id,
      msisdn: c.recipient,
      sender: c.sender ?? undefined,
      account: c.account ?? undefined,
      source: c.source,
      reference: c.reference ?? undefined,
    });
    this.deps.metrics?.complaints.inc({ source: c.source, resolved_by: c.resolved_by });
    if (this.deps.feedback) {
      try {
        await this.deps.feedback(c);
      } catch (err) {
        this.deps.log?.warn({ case: c.id, err: String(err) }, 'complaint feedback (campaign marks) failed');
      }
    }

    let count: number | null = null;
    let suspension: IntakeResult['suspension'] = 'none';
    if (countsToward(c, this.policy) && c.sender) {
      const rec = this.deps.senders.get(c.sender);
      const reinstatedAt = rec?.status === 'active' && rec.status_at ? Date.parse(rec.status_at) : null;
      count = await this.deps.cases.countForSender(c.sender, c.id, c.received_at, countSince(now, this.policy, reinstatedAt), this.policy.windowMs, now);
      // The registry may lag a write made elsewhere a moment ago: decide on the stored record.
      const current = rec ? ((await this.deps.store.getSender(rec.id)) ?? rec) : null;
      suspension = current ? suspensionDecision(count, current.status, this.policy) : 'none';
      if (current && suspension !== 'none') {
        c = await this.suspend(current, c, count, suspension);
      }
    }
    void this.pruneNow(now);
    return { case: c, count, suspension };
  }

  private async suspend(rec: SenderRecord, c: ComplaintCase, count: number, what: 'suspend' | 'would_suspend'): Promise<ComplaintCase> {
    const now = this.now();
    const window = this.deps.cfg.complaints.auto_suspend.window;
    const reason = `${count} complaints within ${window} (threshold ${this.policy.threshold}; latest case ${c.id})`;
    this.deps.metrics?.suspensions.inc({ trigger: 'complaints', mode: what === 'suspend' ? 'enforce' : 'monitor' });
    if (what === 'would_suspend') {
      this.deps.log?.warn({ sender: rec.id, account: rec.account, count, case: c.id }, `monitor mode: would suspend sender: ${reason}`);
      const next = { ...c, history: [...c.history, { at: now, who: AUTO_ACTOR, event: 'would_suspend', note: `${rec.id}: ${reason}` }] };
      await this.deps.cases.save(next);
      return next;
    }
    const at = new Date(now).toISOString();
    const suspended: SenderRecord = { ...rec, status: 'suspended', status_reason: reason, status_by: AUTO_ACTOR, status_at: at, updated_at: at, updated_by: AUTO_ACTOR };
    await this.deps.store.putSender(suspended, { who: AUTO_ACTOR, channel: 'complaints', evidence: c.id }, 'sender.suspend');
    this.deps.senders.upsert(suspended);
    this.deps.log?.warn({ sender: rec.id, account: rec.account, count, case: c.id }, `sender suspended: ${reason}`);
    const next = { ...c, history: [...c.history, { at: now, who: AUTO_ACTOR, event: 'suspend', note: `${rec.id}: ${reason}` }] };
    await this.deps.cases.save(next);
    return next;
  }

  private async resolve(f: ComplaintFacts): Promise<{ by: ComplaintCase['resolved_by']; account: string | null; sender: string | null; registered: boolean; remarks: string[] }> {
    const remarks: string[] = [];
    const numbering = this.deps.cfg.policy.numbering;
    if (f.messageId && this.deps.messages) {
      const m = await this.deps.messages.lookupMessage(f.messageId);
      if (m) {
        let sender: string | null = null;
        let registered = false;
        if (m.source !== null) {
          const src = normaliseAddress(m.source, m.sourceTon ?? 0, numbering);
          const rec = this.deps.senders.find(src);
          sender = rec?.id ?? src.value;
          registered = rec !== null && rec !== undefined;
          if (f.senderAddress && f.senderAddress.value !== src.value) remarks.push(`reported sender ${f.reportedSender} differs from the message's source ${src.value}`);
          if (m.destination !== null) {
            const dst = normaliseAddress(m.destination, 1, numbering);
            if (dst.value !== f.recipient) remarks.push(`message ${f.messageId} was addressed to ${dst.value}, not to the complainant`);
          }
        } else {
          remarks.push(`message ${f.messageId} maps to account ${m.account} only (no sender recorded)`);
        }
        return { by: 'message_id', account: m.account, sender, registered, remarks };
      }
      remarks.push(`message id ${f.messageId} is not in the id map (older than receipts.map_ttl_s, or not forwarded here)`);
    }
    if (f.senderAddress) {
      const rec = this.deps.senders.find(f.senderAddress);
      if (rec) return { by: 'sender', account: rec.account, sender: rec.id, registered: true, remarks };
      remarks.push(`reported sender ${f.senderAddress.value} is not registered to any account`);
      return { by: 'none', account: null, sender: f.senderAddress.value, registered: false, remarks };
    }
    return { by: 'none', account: null, sender: null, registered: false, remarks };
  }

  /** forward / handle / reject a case. */
  async act(id: string, action: CaseAction, a: { actor: Actor; note?: string; to?: string; resolution?: string }): Promise<ComplaintCase> {
    const c = await this.deps.cases.get(id);
    if (!c) throw new DeskError(404, null, `no complaint case ${id}`);
    const r = applyAction(c, action, { who: a.actor.who, at: this.now(), note: a.note, to: a.to, resolution: a.resolution });
    if ('problem' in r) throw problemError(r.problem, 409);
    await this.deps.cases.save(r.ok);
    if (action === 'reject' && c.sender) await this.deps.cases.uncount(c.sender, c.id);
    // A handled case is a confirmed complaint: its text is a spam example for the next model.
    if (action === 'handle' && c.text && this.deps.labels) await this.deps.labels.add('spam', c.text, 'complaint', c.id, c.account);
    await this.deps.store.journal(`complaint.${action}`, a.actor, {
      case: c.id,
      msisdn: c.recipient,
      sender: c.sender ?? undefined,
      account: c.account ?? undefined,
      to: r.ok.forwarded_to ?? undefined,
    });
    return r.ok;
  }

  get(id: string): Promise<ComplaintCase | null> {
    return this.deps.cases.get(id);
  }

  /**
   * Puts a suspended sender back to active (journaled as sender.reinstate). Complaints received
   * before now no longer count toward its threshold.
   */
  async reinstate(id: string, actor: Actor, reason?: string): Promise<SenderRecord> {
    const rec = await this.deps.store.getSender(id);
    if (!rec) throw new DeskError(404, null, `no sender ${id}`);
    if (rec.status !== 'suspended') throw new DeskError(409, 'status', `sender ${id} is ${rec.status}, not suspended`);
    const at = new Date(this.now()).toISOString();
    const next: SenderRecord = { ...rec, status: 'active', status_by: actor.who, status_at: at, updated_at: at, updated_by: actor.who };
    if (reason) next.status_reason = reason;
    else delete next.status_reason;
    await this.deps.store.putSender(next, actor, 'sender.reinstate');
    this.deps.senders.upsert(next);
    return next;
  }

  /** At most once an hour: drop closed cases past complaints.retention_days. */
  private async pruneNow(now: number): Promise<void> {
    if (now - this.lastPrune < 3_600_000) return;
    this.lastPrune = now;
    try {
      await this.deps.cases.prune(now - this.deps.cfg.complaints.retention_days * 86_400_000);
    } catch {
      this.deps.metrics?.redisErrors.inc({ op: 'complaint_prune' });
    }
  }
}

function problemError(p: Problem, status: 400 | 409): DeskError {
  return new DeskError(status, p.field, `${p.field}: ${p.message}`);
}
