/**
 * decision/: the one place a decision is made and the only layer that talks to the store on a
 * decision's behalf. DecisionService is what the relay calls for every submit_sm/data_sm: it
 * normalises the addresses, finds the sender in the in-process registry, runs the one driver
 * (driver.ts: sender authorization → rules → classification → consent/DND) against one batched
 * store round trip, and turns the outcome into a verdict with a reason code, a status from the
 * catalogue (or config), a metric and an audit line. Policy off is one configuration of it
 * (everything forwarded as policy_off). Parts of a concatenated message share the first part's
 * decision (reassembly.ts). explain() runs the same driver without counting or auditing.
 */
import type { HoldKind } from '../domain/hold.js';
import type { AccountConfig, Config } from '../config/schema.js';
import type { NormalAddress } from '../domain/address.js';
import type { SenderClass } from '../domain/sender.js';
import { normaliseAddress } from '../policy/address.js';
import { compileClassifier, type Classifier } from '../policy/classify.js';
import { REASONS, SPOOFING_REASONS, ruleOf, type ReasonCode } from '../policy/reasons.js';
import type { SenderRegistry } from '../policy/senders.js';
import { Command } from '../protocol/commands.js';
import { encodePdu } from '../protocol/encode.js';
import { MessageView, isScanError } from '../protocol/message-view.js';
import { decodeText, encodeText } from '../protocol/text.js';
import { Tag } from '../protocol/tlv.js';
import type { RuleSet } from '../rules/engine.js';
import type { RateNeed } from '../domain/store-facts.js';
import type { RuleContext } from '../rules/types.js';
import type { Clock } from '../session/clock.js';
import type { AuditStream } from '../store/audit-stream.js';
import type { PolicyCheck } from '../store/policy-check.js';
import type { RateStore } from '../store/rates.js';
import { maskMsisdn, type AuditLog } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import { partInfo } from './concat.js';
import { runDecision, type CounterValues, type DecisionInput, type DecisionOutcome, type DecisionStore } from './driver.js';
import { partKey, Reassembler } from './reassembly.js';
import { userData } from '../protocol/message-text.js';
import type { Policy, SubmitContext, Verdict } from './verdict.js';

export interface DecisionDeps {
  cfg: Config;
  /** A bound account's configuration (default_class, concat_hold_ms); undefined for an unknown one. */
  accountConfig(systemId: string): AccountConfig | undefined;
  registry: SenderRegistry;
  store: PolicyCheck;
  metrics: Metrics;
  /** One JSON line per decision; null = off. */
  audit: AuditLog | null;
  /** The queryable copy of every decision (evidence); null = off. */
  auditStream?: AuditStream | null;
  clock: Clock;
  /** False until the sender registry has been loaded: everything fails closed until then. */
  isLoaded(): boolean;
  /** The active rule set (hot-reloaded); null or empty = no rules. */
  rules?: () => RuleSet | null;
  /** Rate counters for rate rules. */
  rates?: RateStore | null;
}

export interface Explained {
  action: 'forward' | 'reject' | 'queue';
  /** For queue: the queue (until-window, review) and, for until-window, when it would be released. */
  queue?: HoldKind;
  release_at?: string;
  /** A policy reason code (policy/reasons.ts) or a rule's own reason. */
  reason: string;
  status: number;
  rule: string;
  class: string | null;
  explanation: string;
  trace: string[];
}

/** A message's sender and recipient as the decision normalised them (the rules' context has both). */
type Normalised = Pick<RuleContext, 'src' | 'dst'>;

const POLICY_OFF: Verdict = { action: 'forward', reason: 'policy_off' };

/** Counter values by need key, read by linear search: a message has a few counters, not worth a Map. */
class NeedValues implements CounterValues {
  constructor(
    private readonly needs: readonly RateNeed[],
    private readonly values: readonly number[],
  ) {}

  get(key: string): number | undefined {
    const needs = this.needs;
    for (let k = 0; k < needs.length; k++) if (needs[k]!.key === key) return this.values[k];
    return undefined;
  }
}

export class DecisionService implements Policy {
  private readonly enabled: boolean;
  private readonly classifier: Classifier;
  readonly reassembler: Reassembler<Verdict>;
  /** The verdict of each policy reason, made once (config policy.statuses applied). */
  private readonly verdicts = new Map<ReasonCode, Verdict>();
  private readonly redisCheck;

  constructor(private readonly deps: DecisionDeps) {
    this.enabled = deps.cfg.policy.enabled;
    this.classifier = compileClassifier(deps.cfg.policy.classify);
    const ra = deps.cfg.policy.reassembly;
    // Each account's share of the buffer: by default an equal part of it, so one cannot evict another's parts.
    const accounts = Math.max(1, deps.cfg.accounts.length);
    this.reassembler = new Reassembler<Verdict>({
      clock: deps.clock,
      timeoutMs: ra.hold_ms,
      maxMessages: ra.max_messages,
      maxBytes: ra.max_bytes,
      maxMessagesPerOwner: ra.max_messages_per_account ?? Math.floor(ra.max_messages / accounts),
      maxBytesPerOwner: ra.max_bytes_per_account ?? Math.floor(ra.max_bytes / accounts),
      decidedTtlMs: deps.cfg.policy.concat_ttl_s * 1000,
      // A temporary failure is not a decision: the ESME's retry must be evaluated afresh.
      remember: (v) => v.reason !== 'store_unavailable',
      onSettled: (e) => deps.metrics.partDecisions.inc({ result: e.reason }),
    });
    for (const reason of Object.keys(REASONS) as ReasonCode[]) {
      const status = this.statusOf(reason);
      this.verdicts.set(
        reason,
        status === 0 ? { action: 'forward', reason } : { action: 'reject', status, reason, rule: ruleOf(reason) },
      );
    }
    this.redisCheck = deps.metrics.redisSeconds.labels('policy_check');
  }

  /**
   * Single messages are decided at once. Parts of a concatenated message are held until the rest
   * arrive (or the hold time runs out), decided once on the whole text, and all get that decision.
   */
  decide(ctx: SubmitContext, done: (v: Verdict) => void): Verdict | null {
    if (!this.enabled) return POLICY_OFF;
    const part = partInfo(ctx.view);
    if (!part) return this.evaluate(ctx.account, ctx.view, undefined, done);
    const holdMs = this.deps.accountConfig(ctx.account)?.concat_hold_ms;
    this.reassembler
      .submit(
        partKey(ctx.account, ctx.view, part),
        { seq: part.seq, total: part.total, view: ctx.view },
        (whole) =>
          new Promise<Verdict>((resolve) => {
            const v = this.evaluate(ctx.account, whole.views[0]!, whole.text, resolve);
            if (v) resolve(v);
          }),
        holdMs === undefined ? { owner: ctx.account } : { holdMs, owner: ctx.account },
      )
      .then(done, () => done(this.finish(ctx.account, ctx.view, 'store_unavailable', null)));
    return null;
  }

  /**
   * One message through the driver. `text`: the whole message text (all parts); decoded on demand
   * for single messages. Returns the verdict, or null when it comes later through `done`.
   */
  private evaluate(account: string, view: MessageView, text: string | undefined, done: (v: Verdict) => void): Verdict | null {
    if (!this.deps.isLoaded()) return this.finish(account, view, 'store_unavailable', null);
    const rules = this.activeRules();
    const input = this.input(account, view, text, rules, null);
    this.deps.metrics.countSenderLookup(input.ctx.sender !== null);
    input.reply = done;
    const out = runDecision(input, this.roundTrip, this.decidedLater);
    return out === null ? null : this.settle(account, view, out, input.ctx, rules);
  }

  /** A decision that waited for the store: its verdict to the message's callback (one function for every message). */
  private readonly decidedLater = (o: DecisionOutcome, i: DecisionInput): void => {
    const m = i as MessageInput;
    let v: Verdict;
    try {
      v = this.settle(m.account, m.view, o, m, m.rules);
    } catch {
      v = this.finish(m.account, m.view, 'store_unavailable', null);
    }
    m.reply!(v);
  };

  /**
   * A queued message about to leave: decided again against consent, DND and the sender registry as
   * they are now (an opt-out or a suspension while it waited stops it), without counting it again
   * or holding it again. Audited like every decision. Each part of a concatenated message is
   * decided on its own text.
   */
  decideRelease(account: string, view: MessageView): Promise<Verdict> {
    if (!this.enabled) return Promise.resolve(POLICY_OFF);
    if (!this.deps.isLoaded()) return Promise.resolve(this.finish(account, view, 'store_unavailable', null));
    const rules = this.activeRules();
    const input = this.input(account, view, undefined, rules, null);
    input.stage = 'release';
    return new Promise<Verdict>((resolve, reject) => {
      const settle = (o: DecisionOutcome) => {
        try {
          resolve(this.settle(account, view, o, input.ctx, null));
        } catch (err) {
          reject(err);
        }
      };
      const now = runDecision(input, this.roundTrip, settle);
      if (now !== null) settle(now);
    });
  }

  /** The loaded rule set, or null when there is none (or it is empty): the driver's step 2 is then empty. */
  private activeRules(): RuleSet | null {
    const rules = this.deps.rules?.() ?? null;
    return rules && rules.ruleIds.length > 0 ? rules : null;
  }

  /** What the driver needs to know about a message (text decoded only if a rule reads it). */
  private input(account: string, view: MessageView, text: string | undefined, rules: RuleSet | null, trace: string[] | null, now?: number): MessageInput {
    const { cfg, registry, clock } = this.deps;
    const n = cfg.policy.numbering;
    const src = normaliseAddress(view.sourceAddr, view.sourceTon, n);
    const dst = normaliseAddress(view.destinationAddr, view.destTon, n);
    const sender = src.kind === 'number' || src.kind === 'alpha' ? registry.find(src) : null;
    const accountClass: SenderClass = this.deps.accountConfig(account)?.default_class ?? 'commercial';
    return new MessageInput(
      account,
      src,
      sender,
      sender ? (sender.class ?? accountClass) : null,
      dst,
      view,
      text,
      now ?? clock.now(),
      accountClass,
      this.classifier.messageClass(view),
      this.classifier.category(view),
      rules,
      cfg.policy.fail_open_classes,
      this.statusOf,
      trace,
    );
  }

  /** Status per policy reason (config policy.statuses, else the catalogue's); one function, not one per message. */
  private readonly statusOf = (reason: ReasonCode): number => this.deps.cfg.policy.statuses[reason] ?? REASONS[reason].status;

  /**
   * Counters and consent facts in one round trip: one batched script call per event-loop turn on a
   * single Redis (PolicyCheck.fetchThen); per message, per hash slot on a cluster.
   */
  private readonly roundTrip: DecisionStore = {
    fetchThen: (req, to) => {
      const t0 = performance.now();
      const needs = req.needs.length > 0 && this.deps.rates ? req.needs : null;
      this.deps.store.fetchThen(req.query, needs, (err, facts, values) => {
        if (err) {
          this.deps.metrics.redisErrors.inc({ op: 'policy_check' });
          return to.answer(err, null, null);
        }
        this.redisCheck.observe((performance.now() - t0) / 1000);
        to.answer(null, facts, needs !== null && values !== null ? new NeedValues(needs, values) : null);
      });
    },
  };

  /** A driver outcome as a verdict, counted and audited like every other decision (`rules`: where rule matches are counted; null: not counted). */
  private settle(account: string, view: MessageView, o: DecisionOutcome, addrs: Normalised, rules: RuleSet | null): Verdict {
    if (rules !== null && o.hits.length > 0) rules.record(o.hits);
    if (o.policyReason !== null) return this.finish(account, view, o.policyReason, o.class, addrs);
    const v: Verdict =
      o.action === 'reject'
        ? { action: 'reject', status: o.status, reason: o.reason, rule: o.rule }
        : o.action === 'queue'
          ? { action: 'queue', queue: o.queue ?? 'review', reason: o.reason, rule: o.rule, releaseAt: o.releaseAt }
          : { action: 'forward', reason: o.reason };
    this.audit(account, view, v.action, o.reason, o.rule, o.action === 'reject' ? o.status : 0, o.class, addrs);
    return v;
  }

  /** A policy reason's verdict (made once), counted and audited. */
  private finish(account: string, view: MessageView, reason: ReasonCode, cls: SenderClass | null, addrs: Normalised | null = null): Verdict {
    const v = this.verdicts.get(reason)!;
    if (SPOOFING_REASONS.has(reason)) this.deps.metrics.spoofing.inc({ account, reason });
    this.audit(account, view, v.action, reason, ruleOf(reason), v.action === 'reject' ? v.status : 0, cls, addrs);
    return v;
  }

  /** `addrs`: the sender and recipient as the decision normalised them; null: normalised here. */
  private audit(account: string, view: MessageView, decision: string, reason: string, rule: string, status: number, cls: string | null, addrs: Normalised | null): void {
    // Each address is decoded from the PDU once for all three uses.
    const srcAddr = view.sourceAddr;
    const dstAddr = view.destinationAddr;
    if (decision === 'reject') this.deps.metrics.countRejection(account, srcAddr);
    const stream = this.deps.auditStream;
    if (stream) {
      const n = this.deps.cfg.policy.numbering;
      const src = addrs ? addrs.src.value : normaliseAddress(srcAddr, view.sourceTon, n).value;
      const dst = addrs ? addrs.dst : normaliseAddress(dstAddr, view.destTon, n).value;
      stream.add(account, decision, reason, rule, status, cls, src, dst);
    }
    this.deps.audit?.write({
      account,
      decision,
      reason,
      rule,
      status,
      class: cls,
      src: srcAddr,
      dst: maskMsisdn(dstAddr),
      seq: view.sequence,
      id: view.gatewayId,
    });
  }

  /** Opens the audit file again after log rotation moved it (SIGUSR2). */
  reopenAudit(): void {
    this.deps.audit?.reopen();
  }

  /** Decides the held parts of concatenated messages now rather than after their hold (shutdown). */
  flushHeld(): void {
    this.reassembler.flushAll();
  }

  /** Flushes the audit trail (shutdown). */
  close(): void {
    this.reassembler.flushAll();
    this.deps.audit?.close();
    void this.deps.auditStream?.close();
  }

  /**
   * What would happen to this message, and why: the same driver as live traffic, nothing sent,
   * counted or audited (rate counters read 0).
   */
  async explain(m: ExplainInput): Promise<Explained> {
    const view = explainView(m);
    const trace: string[] = [];
    let o: DecisionOutcome;
    if (!this.enabled) {
      trace.push('policy off: every message is forwarded');
      return { action: 'forward', reason: 'policy_off', status: 0, rule: 'policy/off', class: null, explanation: 'policy is off', trace };
    }
    if (!this.deps.isLoaded()) {
      trace.push('sender registry not loaded yet');
      o = { action: 'reject', reason: 'store_unavailable', status: this.statusOf('store_unavailable'), rule: ruleOf('store_unavailable'), policyReason: 'store_unavailable', class: null, category: null, labels: [], queue: null, releaseAt: null, hits: [], trace };
    } else {
      const now = explainAt(m.at, this.deps.clock.now());
      if (m.at !== undefined) trace.push(`decided as at ${new Date(now).toISOString()} (at: ${m.at})`);
      const input = this.input(m.account, view, m.text, this.activeRules(), trace, now);
      o = await new Promise<DecisionOutcome>((resolve) => {
        const now = runDecision(input, this.noCounting, resolve);
        if (now !== null) resolve(now);
      });
    }
    return {
      action: o.action,
      ...(o.queue ? { queue: o.queue } : {}),
      ...(o.releaseAt !== null ? { release_at: new Date(o.releaseAt).toISOString() } : {}),
      reason: o.reason,
      status: o.status,
      rule: o.rule,
      class: o.class,
      explanation: o.reason in REASONS ? REASONS[o.reason as ReasonCode].text : `rule ${o.rule}: ${o.reason}`,
      trace: o.trace ?? trace,
    };
  }

  /** explain's store: consent/DND as stored, rate counters not bumped (they read 0). */
  private readonly noCounting: DecisionStore = {
    fetchThen: (req, to) => {
      if (!req.query) return to.answer(null, null, null);
      this.deps.store.check(req.query).then(
        (facts) => to.answer(null, facts, null),
        (err: unknown) => to.answer(err, null, null),
      );
    },
  };
}

/** explain's message as the PDU live traffic would carry: the whole text in message_payload. */
function explainView(m: ExplainInput): MessageView {
  const body = encodeText(m.text ?? '');
  const pdu = encodePdu(
    Command.submit_sm,
    0,
    1,
    {
      service_type: m.service_type ?? '',
      source_addr_ton: m.source_addr_ton ?? 1,
      source_addr_npi: 1,
      source_addr: m.source_addr,
      dest_addr_ton: m.dest_addr_ton ?? 1,
      dest_addr_npi: 1,
      destination_addr: m.destination_addr,
      data_coding: body.dataCoding,
    },
    [
      // The whole text, however long, so content rules see all of it.
      { tag: Tag.message_payload, value: body.bytes },
      ...Object.entries(m.tlvs ?? {}).map(([tag, value]) => ({ tag: Number(tag), value: Buffer.from(value, 'latin1') })),
    ],
  );
  const view = MessageView.parse(pdu);
  if (isScanError(view)) throw new Error(`${view.field}: ${view.reason}`);
  return view;
}

/**
 * One live message as the driver and the rules see it: the decision's input and the rules' context
 * in one object (one allocation per message); the text is decoded on first read (only if a rule
 * reads it).
 */
class MessageInput implements DecisionInput, RuleContext {
  /** Where a decision that waited for the store sends its verdict (live traffic only). */
  reply: ((v: Verdict) => void) | null = null;
  stage: 'submit' | 'release' = 'submit';
  readonly serviceType: string;
  readonly dataCoding: number;
  readonly esmClass: number;
  readonly dst: string;
  private decoded: string | undefined;

  constructor(
    readonly account: string,
    readonly src: RuleContext['src'],
    readonly sender: RuleContext['sender'],
    readonly senderClass: RuleContext['senderClass'],
    readonly recipient: NormalAddress,
    readonly view: MessageView,
    text: string | undefined,
    readonly now: number,
    readonly accountClass: SenderClass,
    readonly messageClass: SenderClass | null,
    readonly category: number | null,
    readonly rules: RuleSet | null,
    readonly failOpen: readonly SenderClass[],
    readonly statusOf: (reason: ReasonCode) => number,
    readonly trace: string[] | null,
  ) {
    this.serviceType = view.serviceType;
    this.dataCoding = view.dataCoding;
    this.esmClass = view.esmClass;
    this.dst = recipient.value;
    this.decoded = text;
  }

  /** The rules' context: this same object. */
  get ctx(): RuleContext {
    return this;
  }

  tlv(tag: number): Buffer | undefined {
    return this.view.tlv(tag);
  }

  get text(): string {
    // One message: what messageText([view]) gives, without its run bookkeeping.
    return (this.decoded ??= decodeText(userData(this.view), this.dataCoding));
  }
}

export interface ExplainInput {
  account: string;
  source_addr: string;
  source_addr_ton?: number;
  destination_addr: string;
  dest_addr_ton?: number;
  service_type?: string;
  text?: string;
  /** tag (decimal or 0x…) → value as text */
  tlvs?: Record<string, string>;
  /**
   * RFC 3339 time to decide as at ("what if it were 10:00?"): time windows, validity and consent
   * expiry are judged then; consent and DND are read as stored now. Default: now.
   */
  at?: string;
}

/** An explain's `at` as epoch ms; throws on a time that is not RFC 3339 (date, time and offset). */
export function explainAt(at: string | undefined, now: number): number {
  if (at === undefined) return now;
  const ms = /^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d(:\d\d(\.\d+)?)?([Zz]|[+-]\d\d:\d\d)$/.test(at) ? Date.parse(at) : NaN;
  if (!Number.isFinite(ms)) throw new RangeError(`at: not an RFC 3339 time with an offset (e.g. 2026-12-05T10:00:00+08:00): ${at}`);
  return ms;
}
