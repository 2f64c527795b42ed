/**
 * The gateway's Policy: normalise addresses, authorise the sender from the in-process registry,
 * classify, and — for commercial messages only — ask the store once for consent and DND. Every
 * decision gets a reason code, a status from the catalogue (or config), a metric and an audit line.
 * Parts of a concatenated message share the first part's decision.
 */
import type { Config } from '../config/schema.js';
import { Command } from '../protocol/commands.js';
import { encodePdu } from '../protocol/encode.js';
import { MessageView, isScanError } from '../protocol/message-view.js';
import type { Clock } from '../session/clock.js';
import type { PolicyStore } from '../store/policy-store.js';
import { maskMsisdn, type AuditLog } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { AccountTable } from '../upstream/accounts.js';
import { normaliseAddress } from './address.js';
import { compileClassifier, type Classifier } from './classify.js';
import { partInfo } from './concat.js';
import { messageText, partKey, Reassembler } from './reassembly.js';
import { decideLocal, decideStored, type Outcome } from './decide.js';
import { REASONS, SPOOFING_REASONS, type ReasonCode } from './reasons.js';
import type { SenderRegistry } from './senders.js';
import type { Policy, SubmitContext, Verdict } from './verdict.js';

export interface PolicyDeps {
  cfg: Config;
  accounts: AccountTable;
  registry: SenderRegistry;
  store: PolicyStore;
  metrics: Metrics;
  /** One JSON line per decision; null = off. */
  audit: AuditLog | null;
  clock: Clock;
  /** False until the sender registry has been loaded: everything fails closed until then. */
  isLoaded(): boolean;
}

export interface Explained {
  action: 'forward' | 'reject';
  reason: ReasonCode;
  status: number;
  rule: string;
  class: string | null;
  explanation: string;
  trace: string[];
}

/** The check (rule id) each reason comes from, as shown in audit lines, metrics and explain. */
export function ruleOf(reason: ReasonCode): string {
  if (reason.startsWith('sender_')) return 'policy/sender-authorization';
  if (reason === 'invalid_destination') return 'policy/destination';
  if (reason === 'service_port_marketing' || reason === 'not_commercial') return 'policy/classification';
  if (reason === 'store_unavailable' || reason === 'fail_open') return 'policy/store';
  if (reason === 'policy_off') return 'policy/off';
  return reason === 'dnd' ? 'policy/dnd' : 'policy/consent';
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
  decide(ctx: SubmitContext): Verdict | Promise<Verdict> {
    const part = partInfo(ctx.view);
    if (!part) return this.evaluate(ctx.account, ctx.view);
    const holdMs = this.d.accounts.get(ctx.account)?.cfg.concat_hold_ms;
    return this.reassembler.submit(
      partKey(ctx.account, ctx.view, part),
      { seq: part.seq, total: part.total, view: ctx.view },
      (whole) => this.evaluate(ctx.account, whole.views[0]!, whole.text),
      holdMs === undefined ? {} : { holdMs },
    );
  }

  /** `text`: the whole message text (all parts); decoded on demand for single messages. */
  private evaluate(account: string, view: MessageView, text?: string): Verdict | Promise<Verdict> {
    void text; // content rules read it (Rules issue)
    if (!this.d.isLoaded()) return this.finish(account, view, this.outcome('store_unavailable', null));
    const r = this.local(account, view, null);
    if ('done' in r) return this.finish(account, view, r.done);
    const t0 = performance.now();
    return this.d.store.check(r.ask).then(
      (facts) => {
        this.redisCheck.observe((performance.now() - t0) / 1000);
        return this.finish(account, view, decideStored(r.ask, r.class, null, facts, this.d.clock.now()));
      },
      () => {
        this.d.metrics.redisErrors.inc({ op: 'policy_check' });
        const open = this.d.cfg.policy.fail_open_classes.includes(r.class);
        return this.finish(account, view, this.outcome(open ? 'fail_open' : 'store_unavailable', r.class));
      },
    );
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

  private finish(account: string, view: MessageView, o: Outcome): Verdict {
    const v = this.verdicts.get(o.reason)!;
    if (SPOOFING_REASONS.has(o.reason)) this.d.metrics.spoofing.inc({ account, reason: o.reason });
    this.d.audit?.write({
      account,
      decision: v.action,
      reason: o.reason,
      rule: ruleOf(o.reason),
      status: v.action === 'reject' ? v.status : 0,
      class: o.class,
      src: view.sourceAddr,
      dst: maskMsisdn(view.destinationAddr),
      seq: view.sequence,
    });
    return v;
  }

  /** Flushes the audit trail (shutdown). */
  close(): void {
    this.reassembler.flushAll();
    this.d.audit?.close();
  }

  /** What would happen to this message, and why — the same path as live traffic, nothing sent. */
  async explain(m: ExplainInput): Promise<Explained> {
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
        short_message: Buffer.from(m.text ?? '', 'utf8').subarray(0, 254),
      },
      Object.entries(m.tlvs ?? {}).map(([tag, value]) => ({ tag: Number(tag), value: Buffer.from(value, 'latin1') })),
    );
    const view = MessageView.parse(pdu);
    if (isScanError(view)) throw new Error(`${view.field}: ${view.reason}`);
    const trace: string[] = [];
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
