/**
 * The gateway's Policy: normalise addresses, authorise the sender from the in-process registry,
 * classify, and — for commercial messages only — ask the store once for consent and DND. Every
 * decision gets a reason code, a status from the catalogue (or config), a metric and an audit line.
 * Parts of a concatenated message share the first part's decision.
 */
import type { Config } from '../config/schema.js';
import { Command } from '../protocol/commands.js';
import { encodePdu } from '../protocol/encode.js';
import { encodeText } from '../protocol/text.js';
import { Tag } from '../protocol/tlv.js';
import { MessageView, isScanError } from '../protocol/message-view.js';
import type { Clock } from '../session/clock.js';
import type { PolicyCheck } from '../store/policy-check.js';
import { maskMsisdn, type AuditLog } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { AccountTable } from '../upstream/accounts.js';
import { normaliseAddress } from './address.js';
import { compileClassifier, type Classifier } from './classify.js';
import { partInfo } from './concat.js';
import { partKey, Reassembler } from './reassembly.js';
import { decideLocal, decideStored, type Outcome } from './decide.js';
import { REASONS, SPOOFING_REASONS, ruleOf, type ReasonCode } from './reasons.js';
import type { SenderRegistry } from './senders.js';
import type { Policy, SubmitContext, Verdict } from './verdict.js';
import type { RuleSet } from '../rules/engine.js';
import type { RuleContext } from '../rules/types.js';
import type { RateNeed } from '../domain/store-facts.js';
import { decideWithRulesAsync, decideWithRulesThen, type CallbackDecisionStore, type CounterValues, type PipelineInput, type PipelineOutcome } from '../rules/pipeline.js';
import type { RateStore } from '../store/rates.js';
import type { AuditStream } from '../store/audit-stream.js';
import { userData } from './reassembly.js';
import { decodeText } from '../protocol/text.js';

export interface PolicyDeps {
  cfg: Config;
  accounts: AccountTable;
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
  queue?: 'until-window' | 'review';
  release_at?: string;
  /** A policy reason code (reasons.ts) or a rule's own reason. */
  reason: string;
  status: number;
  rule: string;
  class: string | null;
  explanation: string;
  trace: string[];
}


/** A message's sender and recipient as the policy normalised them (the rules' context has both). */
type Normalised = Pick<RuleContext, 'src' | 'dst'>;

const NO_COUNTERS: CounterValues = new Map<string, number>();

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

export class GatewayPolicy implements Policy {
  private readonly classifier: Classifier;
  readonly reassembler: Reassembler<Verdict>;
  private readonly verdicts = new Map<ReasonCode, Verdict>();
  private readonly redisCheck;

  constructor(private readonly d: PolicyDeps) {
    this.classifier = compileClassifier(d.cfg.policy.classify);
    const ra = d.cfg.policy.reassembly;
    this.reassembler = new Reassembler<Verdict>({
      clock: d.clock,
      timeoutMs: ra.hold_ms,
      maxMessages: ra.max_messages,
      maxBytes: ra.max_bytes,
      decidedTtlMs: d.cfg.policy.concat_ttl_s * 1000,
      // A temporary failure is not a decision: the ESME's retry must be evaluated afresh.
      remember: (v) => v.reason !== 'store_unavailable',
      onSettled: (e) => d.metrics.partDecisions.inc({ result: e.reason }),
    });
    for (const reason of Object.keys(REASONS) as ReasonCode[]) {
      const status = d.cfg.policy.statuses[reason] ?? REASONS[reason].status;
      this.verdicts.set(
        reason,
        status === 0 ? { action: 'forward', reason } : { action: 'reject', status, reason, rule: ruleOf(reason) },
      );
    }
    this.redisCheck = d.metrics.redisSeconds.labels('policy_check');
  }

  /**
   * Single messages are decided at once. Parts of a concatenated message are held until the rest
   * arrive (or the hold time runs out), decided once on the whole text, and all get that decision.
   */
  decide(ctx: SubmitContext, done: (v: Verdict) => void): Verdict | null {
    const part = partInfo(ctx.view);
    if (!part) return this.evaluate(ctx.account, ctx.view, undefined, done);
    const holdMs = this.d.accounts.get(ctx.account)?.cfg.concat_hold_ms;
    this.reassembler
      .submit(
        partKey(ctx.account, ctx.view, part),
        { seq: part.seq, total: part.total, view: ctx.view },
        (whole) =>
          new Promise<Verdict>((resolve) => {
            const v = this.evaluate(ctx.account, whole.views[0]!, whole.text, resolve);
            if (v) resolve(v);
          }),
        holdMs === undefined ? {} : { holdMs },
      )
      .then(done, () => done(this.finish(ctx.account, ctx.view, this.outcome('store_unavailable', null))));
    return null;
  }

  /**
   * `text`: the whole message text (all parts); decoded on demand for single messages. Returns the
   * verdict, or null when it comes later through `done` (the store was asked).
   */
  private evaluate(account: string, view: MessageView, text: string | undefined, done: (v: Verdict) => void): Verdict | null {
    if (!this.d.isLoaded()) return this.finish(account, view, this.outcome('store_unavailable', null));
    const rules = this.d.rules?.();
    if (rules && rules.ruleIds.length > 0) return this.evaluateWithRules(account, view, text, rules, done);
    const r = this.local(account, view, null);
    if ('done' in r) return this.finish(account, view, r.done);
    const t0 = performance.now();
    this.d.store.checkThen(r.ask, (err, facts) => {
      if (err) {
        this.d.metrics.redisErrors.inc({ op: 'policy_check' });
        const open = this.d.cfg.policy.fail_open_classes.includes(r.class);
        return done(this.finish(account, view, this.outcome(open ? 'fail_open' : 'store_unavailable', r.class)));
      }
      this.redisCheck.observe((performance.now() - t0) / 1000);
      done(this.finish(account, view, decideStored(r.ask, r.class, null, facts!, this.d.clock.now())));
    });
    return null;
  }

  /**
   * With rules: sender authorization, rules (content, classification, rates, windows), then
   * consent/DND; one store round trip for rate counters and consent facts together. Returns the
   * verdict, or null when it comes later through `done`.
   */
  private evaluateWithRules(account: string, view: MessageView, text: string | undefined, rules: RuleSet, done: (v: Verdict) => void): Verdict | null {
    const input = this.pipelineInput(account, view, text, rules, null);
    this.d.metrics.countSenderLookup(input.ctx.sender !== null);
    const settle = (o: PipelineOutcome): Verdict => {
      rules.record(o.hits);
      return this.finishRule(account, view, o, input.ctx);
    };
    const out = decideWithRulesThen(input, this.roundTrip, (o) => {
      let v: Verdict;
      try {
        v = settle(o);
      } catch {
        v = this.finish(account, view, this.outcome('store_unavailable', null));
      }
      done(v);
    });
    return out === null ? null : settle(out);
  }
  /** What the rules pipeline needs to know about a message (text decoded only if a rule reads it). */
  private pipelineInput(account: string, view: MessageView, text: string | undefined, rules: RuleSet, trace: string[] | null): PipelineInput {
    const n = this.d.cfg.policy.numbering;
    const src = normaliseAddress(view.sourceAddr, view.sourceTon, n);
    const dst = normaliseAddress(view.destinationAddr, view.destTon, n);
    const sender = src.kind === 'number' || src.kind === 'alpha' ? this.d.registry.find(src) : null;
    const accountClass = this.d.accounts.get(account)?.cfg.default_class ?? 'commercial';
    const ctx = new ViewContext(account, src, sender, sender ? (sender.class ?? accountClass) : null, dst.value, view, text, this.d.clock.now());
    return {
      ctx,
      dst,
      accountClass,
      messageClass: this.classifier.messageClass(view),
      category: this.classifier.category(view),
      rules,
      failOpen: this.d.cfg.policy.fail_open_classes,
      statusOf: this.statusOf,
      trace,
    };
  }

  /** Status per policy reason (config policy.statuses, else the catalogue's); one function, not one per message. */
  private readonly statusOf = (reason: ReasonCode): number => this.d.cfg.policy.statuses[reason] ?? REASONS[reason].status;

  /**
   * Counters and consent facts in one round trip: one batched script call per event-loop turn on a
   * single Redis (PolicyCheck.fetchThen); per message, per hash slot on a cluster.
   */
  private readonly roundTrip: CallbackDecisionStore = {
    fetchThen: (req, cb) => {
      const t0 = performance.now();
      const needs = req.needs.length > 0 && this.d.rates ? req.needs : null;
      this.d.store.fetchThen(req.query, needs, (err, facts, values) => {
        if (err) {
          this.d.metrics.redisErrors.inc({ op: 'policy_check' });
          return cb(err, null);
        }
        this.redisCheck.observe((performance.now() - t0) / 1000);
        cb(null, { counters: needs !== null && values !== null ? new NeedValues(needs, values) : NO_COUNTERS, facts });
      });
    },
  };

  /** A pipeline outcome as a verdict, counted and audited like every other decision (`addrs`: the addresses already normalised). */
  private finishRule(account: string, view: MessageView, o: PipelineOutcome, addrs: Normalised): Verdict {
    if (o.reason in REASONS && o.rule.startsWith('policy/')) {
      return this.finish(account, view, { action: o.action === 'reject' ? 'reject' : 'forward', reason: o.reason as ReasonCode, class: o.class, trace: null }, addrs);
    }
    const v: Verdict =
      o.action === 'reject'
        ? { action: 'reject', status: o.status, reason: o.reason, rule: o.rule }
        : o.action === 'queue'
          ? { action: 'queue', queue: o.queue ?? 'review', reason: o.reason, rule: o.rule, releaseAt: o.releaseAt }
          : { action: 'forward', reason: o.reason };
    this.audit(account, view, v.action, o.reason, o.rule, o.action === 'reject' ? o.status : 0, o.class, addrs);
    return v;
  }

  private outcome(reason: ReasonCode, cls: Outcome['class'], trace: string[] | null = null): Outcome {
    return { action: REASONS[reason].status === 0 ? 'forward' : 'reject', reason, class: cls, trace };
  }

  private local(account: string, view: MessageView, trace: string[] | null) {
    const n = this.d.cfg.policy.numbering;
    const src = normaliseAddress(view.sourceAddr, view.sourceTon, n);
    const dst = normaliseAddress(view.destinationAddr, view.destTon, n);
    const sender = src.kind === 'number' || src.kind === 'alpha' ? this.d.registry.find(src) : null;
    this.d.metrics.countSenderLookup(sender !== null);
    return decideLocal({
      account,
      now: this.d.clock.now(),
      src,
      dst,
      sender,
      messageClass: this.classifier.messageClass(view),
      accountClass: this.d.accounts.get(account)?.cfg.default_class ?? 'commercial',
      category: this.classifier.category(view),
      trace,
    });
  }

  private finish(account: string, view: MessageView, o: Outcome, addrs: Normalised | null = null): Verdict {
    const v = this.verdicts.get(o.reason)!;
    if (SPOOFING_REASONS.has(o.reason)) this.d.metrics.spoofing.inc({ account, reason: o.reason });
    this.audit(account, view, v.action, o.reason, ruleOf(o.reason), v.action === 'reject' ? v.status : 0, o.class, addrs);
    return v;
  }

  /** `addrs`: the sender and recipient as the decision normalised them; null: normalised here. */
  private audit(account: string, view: MessageView, decision: string, reason: string, rule: string, status: number, cls: string | null, addrs: Normalised | null = null): void {
    // Each address is decoded from the PDU once for all three uses.
    const srcAddr = view.sourceAddr;
    const dstAddr = view.destinationAddr;
    if (decision === 'reject') this.d.metrics.countRejection(account, srcAddr);
    const stream = this.d.auditStream;
    if (stream) {
      const n = this.d.cfg.policy.numbering;
      const src = addrs ? addrs.src.value : normaliseAddress(srcAddr, view.sourceTon, n).value;
      const dst = addrs ? addrs.dst : normaliseAddress(dstAddr, view.destTon, n).value;
      stream.add(account, decision, reason, rule, status, cls, src, dst);
    }
    this.d.audit?.write({
      account,
      decision,
      reason,
      rule,
      status,
      class: cls,
      src: srcAddr,
      dst: maskMsisdn(dstAddr),
      seq: view.sequence,
    });
  }

  /** Opens the audit file again after log rotation moved it (SIGUSR2). */
  reopenAudit(): void {
    this.d.audit?.reopen();
  }

  /** Flushes the audit trail (shutdown). */
  close(): void {
    this.reassembler.flushAll();
    this.d.audit?.close();
    void this.d.auditStream?.close();
  }

  /** What would happen to this message, and why — the same path as live traffic, nothing sent. */
  async explain(m: ExplainInput): Promise<Explained> {
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
    const trace: string[] = [];
    const rules = this.d.rules?.();
    if (this.d.isLoaded() && rules && rules.ruleIds.length > 0) {
      // The live pipeline, without counting, auditing or bumping rate counters (they read 0).
      const o = await decideWithRulesAsync(this.pipelineInput(m.account, view, m.text, rules, trace), {
        fetch: (req) => (req.query ? this.d.store.check(req.query) : Promise.resolve(null)).then((facts) => ({ counters: new Map(), facts })),
      });
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
    let o: Outcome;
    if (!this.d.isLoaded()) o = this.outcome('store_unavailable', null, trace);
    else {
      const r = this.local(m.account, view, trace);
      if ('done' in r) o = r.done;
      else {
        try {
          o = decideStored(r.ask, r.class, r.trace, await this.d.store.check(r.ask), this.d.clock.now());
        } catch {
          const open = this.d.cfg.policy.fail_open_classes.includes(r.class);
          trace.push('policy store unreachable');
          o = this.outcome(open ? 'fail_open' : 'store_unavailable', r.class, trace);
        }
      }
    }
    const v = this.verdicts.get(o.reason)!;
    return {
      action: v.action,
      reason: o.reason,
      status: v.action === 'reject' ? v.status : 0,
      rule: ruleOf(o.reason),
      class: o.class,
      explanation: REASONS[o.reason].text,
      trace: o.trace ?? trace,
    };
  }
}

/** The rules' view of one message; the text is decoded on first read (only if a rule reads it). */
class ViewContext implements RuleContext {
  readonly serviceType: string;
  readonly dataCoding: number;
  readonly esmClass: number;
  private decoded: string | undefined;

  constructor(
    readonly account: string,
    readonly src: RuleContext['src'],
    readonly sender: RuleContext['sender'],
    readonly senderClass: RuleContext['senderClass'],
    readonly dst: string,
    private readonly view: MessageView,
    text: string | undefined,
    readonly now: number,
  ) {
    this.serviceType = view.serviceType;
    this.dataCoding = view.dataCoding;
    this.esmClass = view.esmClass;
    this.decoded = text;
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
}
