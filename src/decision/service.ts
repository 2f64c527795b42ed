/**
 * decision/: the one place a decision is made and the only layer that talks to the store on a
 * decision's behalf. DecisionService is what the relay calls for every submit_sm/data_sm: it
 * normalises the addresses, finds the sender in the in-process registry, runs the one driver
 * (driver.ts: sender authorization → rules → classification → consent/DND) against one batched
 * store round trip, and turns the outcome into a verdict with a reason code, a status from the
 * catalogue (or config), a metric and an audit line. Policy off is one configuration of it
 * (everything forwarded as policy_off). Parts of a concatenated message share the first part's
 * decision (reassembly.ts). explain() runs the same driver without counting or auditing.
 *
 * A forward gets its MT route (routes.mt); when a route matches on ported_to, the recipient's
 * ported network tag is asked in the message's own store round trip (or, for a message that asks
 * the store nothing, in one lookup batched with the turn's others), and a failed lookup routes by
 * the original range or refuses the message (routes.portability.on_redis_error).
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
import { Hit } from '../rules/counts.js';
import type { RateNeed } from '../domain/store-facts.js';
import { tallied, type IntelTally } from '../store/intel-tally.js';
import type { RuleContext, RuleEvidence, RuleHit, ScoreModel, ScoreRecord } from '../rules/types.js';
import type { BehaviourActions } from './behaviour-actions.js';
import { normaliseText } from '../rules/normalise.js';
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
import type { MessageMemo, Policy, SubmitContext, Verdict } from './verdict.js';
import type { IntelView } from '../domain/intel.js';
import type { IntelMetrics } from '../telemetry/intel-metrics.js';
import { fingerprintOf } from '../rules/fingerprint.js';
import { foldChars } from '../rules/normalise.js';
import { RecentCache } from '../domain/recent.js';
import type { MtRouter, RouteFacts, RouteTarget } from './mt-router.js';

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
  /**
   * The intelligence counters counted in process and shared once a second (store/intel-tally.ts):
   * what it answers does not ride the round trip; null: every counter does.
   */
  tally?: Pick<IntelTally, 'answer' | 'seed' | 'flush'> | null;
  /** Campaign marks and reputation sets the rules read (issue 18; the IntelStore's index); null: none. */
  intel?: IntelView | null;
  /**
   * Keep a forwarded commercial message's text, once per fingerprint (intel.memory_retention_s > 0;
   * IntelStore.rememberText): the decision record carries the fingerprint, and a complaint naming
   * the message finds it through evidence (decision/feedback.ts).
   */
  rememberText?: ((memo: MessageMemo) => void) | null;
  /** Traffic-intelligence metrics (per key, top campaigns); null: none. */
  intelMetrics?: IntelMetrics | null;
  /** Metrics, log lines and suspensions for behaviour rules' evidence (null: counted nowhere). */
  behaviour?: BehaviourActions | null;
  /** explain reads behaviour profiles as stored (nothing counted); absent: they read 0. */
  profiles?: { peek(needs: readonly RateNeed[], now: number): Promise<Map<string, number>> } | null;
  /** The MT routing table (live: swapped on reload); null or absent: no routes.mt, every SMSC. */
  router?: () => MtRouter | null;
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
  /** The MT route and SMSC group a forward would take (absent without routes.mt); ported_to: the tag that chose it. */
  route?: { name: string; group: string; ported_to?: string } | null;
  /**
   * Number portability, when a route uses ported_to: the recipient's network tag (null: not ported),
   * whether it decided the route, and the lookup's error when Redis failed.
   */
  portability?: { network: string | null; decided: boolean; error?: string };
  explanation: string;
  /** What decided beyond the rule id: fingerprint, mark, reputation entry and counts (issue 18). */
  evidence?: string;
  trace: string[];
  /** Content scores the rules computed, with the n-grams that pushed each most (absent: none). */
  scores?: { model: string; p: number; top: { ngram: string; push: number }[] }[];
}

/** A message's sender and recipient as the decision normalised them (the rules' context has both). */
type Normalised = Pick<RuleContext, 'src' | 'dst' | 'sender'>;

const POLICY_OFF: Verdict = { action: 'forward', reason: 'policy_off' };
/** The sender given to a route decision when no route reads it (routes without `source`). */
const NO_SOURCE: NormalAddress = { kind: 'empty', value: '' };
const NO_EVIDENCE: readonly RuleEvidence[] = [];
const isSuspend = (h: RuleHit): boolean => h.action.kind === 'suspend';
/** The rule id no_route refusals are audited under. */
const NO_ROUTE_RULE = 'routing/mt';
/** The rule id of a refusal because the ported lookup failed (routes.portability.on_redis_error: reject). */
const PORTED_RULE = 'routing/ported';

/**
 * A message's ported network tag as far as it is known: state 0 not wanted (no route uses
 * ported_to), 1 wanted and not asked yet, 4 asked, 2 answered (`ported`: the tag, null: not ported),
 * 3 the lookup failed.
 */
interface PortedFact {
  ported: string | null;
  portedState: number;
}

/** The round trip's values (for the needs the tally left NaN in `local`; `got` null only when it left none) into `local`; the tally seeded with the cold ones. */
function merge(needs: readonly RateNeed[], local: number[], got: readonly number[] | null, tally: Pick<IntelTally, 'seed'>): number[] {
  let j = 0;
  for (let i = 0; i < needs.length; i++) {
    if (!Number.isNaN(local[i])) continue;
    const v = got![j++]!;
    local[i] = v;
    if (tallied(needs[i]!)) tally.seed(needs[i]!, v);
  }
  return local;
}

/** Counter values by need key, read by linear search: a message has a few counters, not worth a Map. */
class NeedValues implements CounterValues {
  constructor(
    private readonly needs: readonly RateNeed[],
    private readonly values: readonly number[],
  ) {}

  /** Where the last key was found: the rules read their counters in the order they listed them. */
  private at = -1;

  get(key: string): number | undefined {
    const needs = this.needs;
    const next = this.at + 1;
    if (next < needs.length && needs[next]!.key === key) {
      this.at = next;
      return this.values[next];
    }
    for (let k = 0; k < needs.length; k++) {
      if (needs[k]!.key === key) {
        this.at = k;
        return this.values[k];
      }
    }
    return undefined;
  }
}

export class DecisionService implements Policy {
  private readonly enabled: boolean;
  private classifier: Classifier;
  readonly reassembler: Reassembler<Verdict>;
  /** The verdict of each policy reason, made once (config policy.statuses applied). */
  private readonly verdicts = new Map<ReasonCode, Verdict>();
  private readonly redisCheck;
  /**
   * The facts of the route decision being made, filled in place: routing is synchronous, so one
   * object serves every message (no allocation per message on the forward path; issue 20).
   */
  private readonly routeFacts: RouteFacts = { account: '', dst: '', src: NO_SOURCE, cls: null, dataCoding: 0, ported: null };
  /** Forward verdicts by route and reason, made once (a verdict is never changed; a reload makes new routes). */
  private readonly routeVerdicts = new WeakMap<RouteTarget, Map<string, Verdict>>();
  private lastRouted: (Verdict & { action: 'forward'; route: RouteTarget }) | null = null;

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
   * New policy settings (live reload): numbering, classification, statuses, fail-open classes and
   * the rest are read from `cfg` from the next message on. policy.enabled and the reassembly
   * bounds need a restart.
   */
  reconfigure(cfg: Config): void {
    this.deps.cfg = cfg;
    this.classifier = compileClassifier(cfg.policy.classify);
    for (const reason of Object.keys(REASONS) as ReasonCode[]) {
      const status = this.statusOf(reason);
      this.verdicts.set(reason, status === 0 ? { action: 'forward', reason } : { action: 'reject', status, reason, rule: ruleOf(reason) });
    }
  }

  /**
   * Single messages are decided at once. Parts of a concatenated message are held until the rest
   * arrive (or the hold time runs out), decided once on the whole text, and all get that decision.
   */
  decide(ctx: SubmitContext, done: (v: Verdict) => void): Verdict | null {
    if (!this.enabled) {
      const router = this.deps.router?.();
      return router ? this.routeOff(router, ctx.account, ctx.view, done) : POLICY_OFF;
    }
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
    this.wantPorted(input, input.recipient);
    const out = runDecision(input, this.roundTrip, this.decidedLater);
    if (out === null) return null;
    // Decided without the store: a forward whose route needs the ported tag asks it now.
    if (out.action === 'forward' && this.lookupPorted(input, input.dst, () => this.decidedLater(out, input))) return null;
    return this.settle(account, view, out, input.ctx, rules);
  }

  /** Marks a message whose route may depend on its ported tag (a route uses ported_to); not a number: not ported. */
  private wantPorted(pf: PortedFact, recipient: NormalAddress): void {
    if (!this.deps.router?.()?.needsPorted) return;
    pf.portedState = recipient.kind === 'number' && /^\d{1,15}$/.test(recipient.value) ? 1 : 2;
  }

  /**
   * A forward whose route needs the ported tag, not asked yet (the decision made no store round
   * trip): one lookup, batched with the turn's others, then `then`. False when nothing is to ask.
   */
  private lookupPorted(pf: PortedFact, dst: string, then: () => void): boolean {
    if (pf.portedState !== 1) return false;
    pf.portedState = 4;
    this.deps.store.fetchThen(
      null,
      null,
      (err, _f, _c, tag) => {
        if (err) {
          this.deps.metrics.redisErrors.inc({ op: 'ported_lookup' });
          pf.portedState = 3;
        } else {
          pf.ported = tag ?? null;
          pf.portedState = 2;
        }
        then();
      },
      dst,
    );
    return true;
  }

  /** A decision that waited for the store: its verdict to the message's callback (one function for every message). */
  private readonly decidedLater = (o: DecisionOutcome, i: DecisionInput): void => {
    const m = i as MessageInput;
    if (o.action === 'forward' && this.lookupPorted(m, m.dst, () => this.decidedLater(o, i))) return;
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
    if (!this.enabled) {
      const router = this.deps.router?.();
      if (!router) return Promise.resolve(POLICY_OFF);
      return new Promise<Verdict>((resolve) => {
        const v = this.routeOff(router, account, view, resolve);
        if (v !== null) resolve(v);
      });
    }
    if (!this.deps.isLoaded()) return Promise.resolve(this.finish(account, view, 'store_unavailable', null));
    const rules = this.activeRules();
    const input = this.input(account, view, undefined, rules, null);
    input.stage = 'release';
    this.wantPorted(input, input.recipient);
    return new Promise<Verdict>((resolve, reject) => {
      const settle = (o: DecisionOutcome) => {
        if (o.action === 'forward' && this.lookupPorted(input, input.dst, () => settle(o))) return;
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
      this.deps.intel ?? null,
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
      // The ported tag rides the message's first round trip when its route may need it.
      const m = to.input as MessageInput | undefined;
      const pf = m !== undefined && m.portedState === 1 ? m : null;
      // The tally answers the intelligence counters it holds warm; the rest go to Redis.
      const tally = this.deps.tally;
      let local: number[] | null = null;
      let remote = needs;
      if (tally && needs !== null) {
        const values = (local = new Array<number>(needs.length));
        const n = tally.answer(needs, values);
        if (n === needs.length) {
          remote = null;
          if (req.query === null && pf === null) return to.answer(null, null, new NeedValues(needs, values));
        } else if (n > 0) {
          remote = [];
          for (let i = 0; i < needs.length; i++) if (Number.isNaN(values[i])) remote.push(needs[i]!);
        }
      }
      if (pf !== null) pf.portedState = 4;
      this.deps.store.fetchThen(
        req.query,
        remote,
        (err, facts, got, tag) => {
          // The tally's values with the round trip's in between (its cold counters seeded).
          const values = local !== null && !err && (remote === null || got !== null) ? merge(needs!, local, got, tally!) : got;
          if (pf !== null) {
            pf.portedState = err ? 3 : 2;
            pf.ported = err ? null : (tag ?? null);
          }
          if (err) {
            this.deps.metrics.redisErrors.inc({ op: 'policy_check' });
            return to.answer(err, null, null);
          }
          this.redisCheck.observe((performance.now() - t0) / 1000);
          to.answer(null, facts, needs !== null && values !== null ? new NeedValues(needs, values) : null);
        },
        pf !== null ? pf.dst : null,
      );
    },
  };

  /** A driver outcome as a verdict, counted and audited like every other decision (`rules`: where rule matches are counted; null: not counted). */
  private settle(account: string, view: MessageView, o: DecisionOutcome, addrs: Normalised, rules: RuleSet | null): Verdict {
    if (rules !== null && o.hits.length > 0) {
      rules.record(o.hits);
      const im = this.deps.intelMetrics;
      if (im) for (const h of o.hits) if (h instanceof Hit) for (const cell of h.intelCells) im.keyMatch(cell);
    }
    const behaviour = o.behaviour;
    // A suspend rule may match on anything (text, a rate), not only on behaviour: it suspends without evidence too.
    if (rules !== null && (behaviour !== undefined || o.suspend === true || (o.hits.length > 0 && o.hits.some(isSuspend)))) {
      this.deps.behaviour?.note(account, addrs.src, addrs.sender, behaviour ?? NO_EVIDENCE, o.hits, o.suspend === true, o.rule);
    }
    const why = joinEvidence(o.evidence ?? null, behaviour === undefined ? null : evidenceText(behaviour));
    if (o.policyReason !== null) {
      const fp = this.verdicts.get(o.policyReason)!.action === 'forward' ? this.fingerprinted(o, addrs) : '';
      return this.finish(account, view, o.policyReason, o.class, addrs, why, o.hits.length > 0, fp);
    }
    let v: Verdict =
      o.action === 'reject'
        ? { action: 'reject', status: o.status, reason: o.reason, rule: o.rule }
        : o.action === 'queue'
          ? { action: 'queue', queue: o.queue ?? 'review', reason: o.reason, rule: o.rule, releaseAt: o.releaseAt }
          : { action: 'forward', reason: o.reason };
    if (v.action === 'forward') {
      v = this.routed(account, view, v, o.class, addrs.src, addrs.dst, addrs instanceof MessageInput ? addrs : null);
      if (v.action === 'reject') return this.auditNoRoute(account, view, v, o.class, addrs);
    }
    this.audit(account, view, v.action, o.reason, o.rule, o.action === 'reject' ? o.status : 0, o.class, addrs, why, o.hits.length > 0, v.action === 'forward' ? this.fingerprinted(o, addrs) : '');
    return v;
  }

  /**
   * A forwarded commercial message's fingerprint for its decision record, its text kept once per
   * fingerprint (issue 18's memory); "" when the memory is off or the message is not commercial.
   */
  private fingerprinted(o: DecisionOutcome, addrs: Normalised): string {
    const keep = this.deps.rememberText;
    if (!keep || o.class !== 'commercial' || !(addrs instanceof MessageInput)) return '';
    const memo = this.memoOf(addrs);
    this.deps.intelMetrics?.countCampaign(memo.fingerprint);
    keep(memo);
    return memo.fingerprint;
  }

  /** Fingerprints of recent texts, by text (bulk traffic repeats one text to many numbers)… */
  private readonly memos = new RecentCache<string, MessageMemo>(512);
  /** … and by a single message's coding and user data bytes, not decoded (memoOf). */
  private readonly memosByBytes = new RecentCache<string, MessageMemo>(512);

  /**
   * A forwarded commercial message's fingerprint and folded text, recorded with its decision,
   * cached: bulk traffic repeats one text. A single message whose text nothing has decoded is
   * looked up by its bytes (MessageInput.bytesKey), so a repeat is never decoded: GSM 7-bit
   * decoding, a loop in JavaScript, was ~3 % of the gateway's CPU in (c) (bench/RESULTS.md,
   * session 25).
   */
  private memoOf(m: MessageInput): MessageMemo {
    const bytes = m.bytesKey();
    const cache = bytes === null ? this.memos : this.memosByBytes;
    const key = bytes ?? m.text;
    let memo = cache.get(key);
    if (memo === undefined) {
      const folded = foldChars(m.text);
      const fp = fingerprintOf(folded);
      memo = { fingerprint: fp.id, bands: fp.bands, text: folded };
      if (key.length <= 2048) cache.set(key, memo);
    }
    return memo;
  }

  /** A policy reason's verdict (made once), counted and audited. */
  private finish(account: string, view: MessageView, reason: ReasonCode, cls: SenderClass | null, addrs: Normalised | null = null, evidence: string | null = null, matched = false, fingerprint = ''): Verdict {
    let v = this.verdicts.get(reason)!;
    if (SPOOFING_REASONS.has(reason)) this.deps.metrics.spoofing.inc({ account, reason });
    if (v.action === 'forward' && this.deps.router?.()) {
      const n = this.deps.cfg.policy.numbering;
      const src = addrs ? addrs.src : normaliseAddress(view.sourceAddr, view.sourceTon, n);
      const dst = addrs ? addrs.dst : normaliseAddress(view.destinationAddr, view.destTon, n).value;
      v = this.routed(account, view, v, cls, src, dst, addrs instanceof MessageInput ? addrs : null);
      if (v.action === 'reject') return this.auditNoRoute(account, view, v, cls, addrs);
    }
    this.audit(account, view, v.action, reason, ruleOf(reason), v.action === 'reject' ? v.status : 0, cls, addrs, evidence, matched, fingerprint);
    return v;
  }

  /**
   * A forward verdict with its MT route (routes.mt), or the no_route refusal. Unchanged without a
   * routing table (every SMSC shares the traffic). `pf`: the recipient's ported tag as looked up
   * (null: not looked up, as not ported); a failed lookup routes by the original range, or refuses
   * the message with routes.portability.on_redis_error: reject.
   */
  private routed(account: string, view: MessageView, v: Verdict & { action: 'forward' }, cls: SenderClass | null, src: NormalAddress, dst: string, pf: PortedFact | null): Verdict {
    const router = this.deps.router?.();
    if (!router) return v;
    if (pf !== null && pf.portedState === 3 && router.needsPorted && this.deps.cfg.routes.portability.on_redis_error === 'reject') {
      return { action: 'reject', status: this.statusOf('store_unavailable'), reason: 'store_unavailable', rule: PORTED_RULE };
    }
    const f = this.routeFacts;
    f.account = account;
    f.dst = dst;
    f.src = src;
    f.cls = cls;
    f.dataCoding = view.dataCoding;
    f.ported = pf !== null && pf.portedState === 2 ? pf.ported : null;
    const route = router.route(f);
    f.src = NO_SOURCE;
    if (route === null) return { action: 'reject', status: this.deps.cfg.routes.no_route_status, reason: 'no_route', rule: NO_ROUTE_RULE };
    // Bulk traffic takes one route for one reason message after message: the last verdict first.
    const last = this.lastRouted;
    if (last !== null && last.route === route && last.reason === v.reason) return last;
    let byReason = this.routeVerdicts.get(route);
    if (byReason === undefined) this.routeVerdicts.set(route, (byReason = new Map()));
    let routedV = byReason.get(v.reason);
    if (routedV === undefined) byReason.set(v.reason, (routedV = { action: 'forward', reason: v.reason, route }));
    this.lastRouted = routedV as Verdict & { action: 'forward'; route: RouteTarget };
    return routedV;
  }

  /**
   * Policy off with a routing table: the route; when a route uses ported_to, after one ported
   * lookup (then null, and `done` gets it). The class (service_type/TLV, else the account's
   * default) and the sender are worked out only when a route reads them, or for a no_route audit.
   */
  private routeOff(router: MtRouter, account: string, view: MessageView, done: (v: Verdict) => void): Verdict | null {
    const dst = normaliseAddress(view.destinationAddr, view.destTon, this.deps.cfg.policy.numbering);
    if (!router.needsPorted) return this.routeOffNow(account, view, dst.value, null);
    const pf: PortedFact = { ported: null, portedState: 0 };
    this.wantPorted(pf, dst);
    if (this.lookupPorted(pf, dst.value, () => done(this.routeOffNow(account, view, dst.value, pf)))) return null;
    return this.routeOffNow(account, view, dst.value, pf);
  }

  /** routeOff's decision once the ported tag (if any) is known; the table may have been reloaded meanwhile. */
  private routeOffNow(account: string, view: MessageView, dst: string, pf: PortedFact | null): Verdict {
    const router = this.deps.router?.();
    const cls = router?.needsClass ? this.offClass(account, view) : null;
    const src = router?.needsSource ? normaliseAddress(view.sourceAddr, view.sourceTon, this.deps.cfg.policy.numbering) : NO_SOURCE;
    const v = this.routed(account, view, POLICY_OFF as Verdict & { action: 'forward' }, cls, src, dst, pf);
    return v.action === 'reject' ? this.auditNoRoute(account, view, v, cls ?? this.offClass(account, view), null) : v;
  }

  /** A message's class with policy off: as policy.classify says, else the account's default_class. */
  private offClass(account: string, view: MessageView): SenderClass {
    return this.classifier.messageClass(view) ?? this.deps.accountConfig(account)?.default_class ?? 'commercial';
  }

  /** A message the policy would forward that no MT route takes (or whose ported lookup failed, fail closed): audited as such. */
  private auditNoRoute(account: string, view: MessageView, v: Verdict & { action: 'reject' }, cls: SenderClass | null, addrs: Normalised | null): Verdict {
    this.audit(account, view, 'reject', v.reason, v.rule ?? NO_ROUTE_RULE, v.status, cls, addrs);
    return v;
  }

  /** `addrs`: the sender and recipient as the decision normalised them; null: normalised here. */
  private audit(
    account: string,
    view: MessageView,
    decision: string,
    reason: string,
    rule: string,
    status: number,
    cls: string | null,
    addrs: Normalised | null,
    evidence: string | null = null,
    matched = false,
    fingerprint = '',
  ): void {
    // Content scores the rules computed (absent on most messages): the audit line's and the decision record's.
    const scores = addrs ? (addrs as Partial<MessageInput>).scores : undefined;
    const score = scores ? scoreLine(addrs!, matched) : null;
    // Each address is decoded from the PDU once for all three uses.
    const srcAddr = view.sourceAddr;
    const dstAddr = view.destinationAddr;
    if (decision === 'reject') this.deps.metrics.countRejection(account, srcAddr);
    const stream = this.deps.auditStream;
    if (stream) {
      const n = this.deps.cfg.policy.numbering;
      const src = addrs ? addrs.src.value : normaliseAddress(srcAddr, view.sourceTon, n).value;
      const dst = addrs ? addrs.dst : normaliseAddress(dstAddr, view.destTon, n).value;
      const extra = scores && scores.length > 0 ? { score: scores[0]!.p, modelVersion: `${scores[0]!.model}@${scores[0]!.of.version ?? '?'}`, scoreDetail: score! } : null;
      // A live forward's line waits for the SMSC's id (the relay releases it); any other is written now.
      const held = stream.add(account, decision, reason, rule, status, cls, src, dst, view.gatewayId, fingerprint, extra, decision === 'forward' && view.holdRecord);
      if (held !== null) view.held = held;
      // The SMSC's id, when one takes a message decided earlier (the queue's), is recorded under the same sender and recipient.
      view.recordSrc = src;
      view.recordDst = dst;
    }
    // One shape for every line (absent fields undefined): spreads made a copy and a new shape per line.
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
      evidence: evidence ?? undefined,
      score: score ?? undefined,
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
    let scored: Explained['scores'];
    if (!this.enabled) {
      trace.push('policy off: every message is forwarded');
      const off: Explained = { action: 'forward', reason: 'policy_off', status: 0, rule: 'policy/off', class: null, explanation: 'policy is off', trace };
      const n = this.deps.cfg.policy.numbering;
      const cls = this.classifier.messageClass(view) ?? this.deps.accountConfig(m.account)?.default_class ?? 'commercial';
      return this.explainRoute(off, m.account, view, cls, normaliseAddress(view.sourceAddr, view.sourceTon, n), normaliseAddress(view.destinationAddr, view.destTon, n));
    }
    // Profiles are read as stored: what this instance counted since its last share goes first.
    await this.deps.tally?.flush().catch(() => undefined);
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
      if (input.scores) {
        const norm = normaliseText(input.text);
        scored = input.scores.map((s) => {
          const e = s.of.explain(norm, 5);
          return { model: s.model, p: s.p, top: e.top };
        });
      }
    }
    const n = this.deps.cfg.policy.numbering;
    const explained: Explained = {
      ...(scored ? { scores: scored } : {}),
      action: o.action,
      ...(o.queue ? { queue: o.queue } : {}),
      ...(o.releaseAt !== null ? { release_at: new Date(o.releaseAt).toISOString() } : {}),
      reason: o.reason,
      status: o.status,
      rule: o.rule,
      class: o.class,
      explanation: o.reason in REASONS ? REASONS[o.reason as ReasonCode].text : `rule ${o.rule}: ${o.reason}${o.evidence ? ` (${o.evidence})` : ''}`,
      ...(o.evidence ? { evidence: o.evidence } : {}),
      trace: o.trace ?? trace,
    };
    if (o.action !== 'forward') return explained;
    return this.explainRoute(explained, m.account, view, o.class, normaliseAddress(view.sourceAddr, view.sourceTon, n), normaliseAddress(view.destinationAddr, view.destTon, n));
  }

  /**
   * A forward's MT route in explain: the route and group, or no_route with its status; the reasons
   * in the trace. When a route uses ported_to, the recipient's ported tag is looked up first (as
   * live traffic does) and shown under `portability`.
   */
  private async explainRoute(e: Explained, account: string, view: MessageView, cls: SenderClass | null, src: NormalAddress, dstAddr: NormalAddress): Promise<Explained> {
    const router = this.deps.router?.();
    if (!router) return e;
    const dst = dstAddr.value;
    let ported: string | null = null;
    let portability: Explained['portability'];
    if (router.needsPorted) {
      const pf: PortedFact = { ported: null, portedState: 0 };
      this.wantPorted(pf, dstAddr);
      if (pf.portedState === 1) {
        try {
          ported = await this.deps.store.portedOf(dst);
          e.trace.push(
            ported !== null
              ? `number portability: ${dst} is in the ported-number table with network ${ported}`
              : `number portability: ${dst} is not in the ported-number table: routed as its original range`,
          );
          portability = { network: ported, decided: false };
        } catch (err) {
          const onError = this.deps.cfg.routes.portability.on_redis_error;
          const msg = err instanceof Error ? err.message : String(err);
          e.trace.push(
            `number portability: the lookup failed (${msg}); routes.portability.on_redis_error is ${onError}: ` +
              (onError === 'reject' ? 'the message is refused' : 'routed as its original range'),
          );
          portability = { network: null, decided: false, error: msg };
          if (onError === 'reject') {
            const status = this.statusOf('store_unavailable');
            return { ...e, action: 'reject', reason: 'store_unavailable', status, rule: PORTED_RULE, route: null, portability, explanation: 'the ported-number lookup failed and routes.portability.on_redis_error is reject' };
          }
        }
      } else {
        e.trace.push(`number portability: ${dst} is not a subscriber number: routed as its original range`);
        portability = { network: null, decided: false };
      }
    }
    const { route, trace } = router.explain({ account, dst, src, cls, dataCoding: view.dataCoding, ported });
    e.trace.push(...trace);
    if (route) {
      const decided = ported !== null && route.portedTo;
      return {
        ...e,
        route: { name: route.name, group: route.group, ...(decided ? { ported_to: ported! } : {}) },
        ...(portability ? { portability: { ...portability, decided } } : {}),
      };
    }
    const status = this.deps.cfg.routes.no_route_status;
    return { ...e, action: 'reject', reason: 'no_route', status, rule: NO_ROUTE_RULE, route: null, ...(portability ? { portability } : {}), explanation: 'no MT route takes this message (routes.mt)' };
  }

  /** explain's store: consent/DND as stored, rate counters not bumped (they read 0), behaviour profiles as stored. */
  private readonly noCounting: DecisionStore = {
    fetchThen: (req, to) => {
      const profiles = this.deps.profiles;
      const peek = profiles && req.needs.length > 0 ? profiles.peek(req.needs, this.deps.clock.now()) : Promise.resolve(null);
      Promise.all([req.query ? this.deps.store.check(req.query) : null, peek]).then(
        ([facts, values]) => to.answer(null, facts, values),
        (err: unknown) => to.answer(err, null, null),
      );
    },
  };
}

/** The audit line's one evidence field: what the campaign/content keys found, then the behaviour conditions. */
function joinEvidence(a: string | null, b: string | null): string | null {
  return a === null ? b : b === null ? a : `${a}; ${b}`;
}

/** A decision's behaviour evidence as one audit field: "rule: what it saw" per condition, monitor ones marked. */
function evidenceText(evidence: readonly RuleEvidence[]): string {
  // One condition that saw what the last message's did (the rules share the evidence object): its words again.
  if (evidence.length === 1 && evidence[0] === lastSole.e) return lastSole.text;
  let out = '';
  for (const e of evidence) out += `${out === '' ? '' : '; '}${e.rule}${e.mode === 'monitor' ? ' (monitor)' : ''}: ${e.text}`;
  if (evidence.length === 1) lastSole = { e: evidence[0]!, text: out };
  return out;
}
let lastSole: { e: RuleEvidence | null; text: string } = { e: null, text: '' };

/**
 * The audit's score field: each model's score, and — when a rule matched (enforce or monitor), so
 * the decision may need explaining — the three n-grams that pushed it most. null when no rule
 * scored the message. Computed off the rules' path, only for scored messages.
 */
function scoreLine(ctx: Normalised, withNgrams: boolean): string | null {
  const scores = (ctx as Partial<MessageInput>).scores;
  if (!scores) return null;
  let out = '';
  for (const s of scores) {
    if (out !== '') out += ' ';
    out += `${s.model}=${s.p.toFixed(4)}`;
    if (withNgrams) out += topNgrams(s.of, (ctx as MessageInput).text);
  }
  return out;
}

/**
 * The n-grams that pushed a model's score of `text` most, as the audit line writes them; kept for
 * the last texts of each model instance (bulk traffic repeats one text, and the explanation
 * normalises the text again and walks its n-grams: ~40 µs a message in scenario (ds)).
 */
function topNgrams(model: ScoreModel, text: string): string {
  let cache = ngramCache.get(model);
  if (cache === undefined) ngramCache.set(model, (cache = new RecentCache(256)));
  let line = cache.get(text);
  if (line === undefined) {
    line = '';
    for (const t of model.explain(normaliseText(text), 3).top) line += ` ${JSON.stringify(t.ngram)}${t.push >= 0 ? '+' : ''}${t.push.toFixed(2)}`;
    if (text.length <= 2048) cache.set(text, line);
  }
  return line;
}
const ngramCache = new WeakMap<ScoreModel, RecentCache<string, string>>();

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
class MessageInput implements DecisionInput, RuleContext, PortedFact {
  /** Where a decision that waited for the store sends its verdict (live traffic only). */
  reply: ((v: Verdict) => void) | null = null;
  /** The recipient's ported network tag (PortedFact). */
  ported: string | null = null;
  portedState = 0;
  /** Content scores the rules computed for this message (rules/facts.ts Facts.scoreOf fills it). */
  scores: ScoreRecord[] | null = null;
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
    readonly intel: IntelView | null,
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

  /**
   * The text's cache key without decoding it: the data_coding as one character, then the user data
   * bytes one character each (a native copy), which decodeText maps to one text. null when the text
   * is already known (given: the whole of a concatenated message; or decoded): key by the text.
   */
  bytesKey(): string | null {
    if (this.decoded !== undefined) return null;
    return String.fromCharCode(this.dataCoding) + userData(this.view).toString('latin1');
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
