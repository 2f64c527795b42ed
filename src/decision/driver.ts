/**
 * The one driver of a decision, for live traffic, explain, rule tests and queue releases alike:
 *
 *   1. destination and sender authorization (policy/decide.ts decideLocal): a reject here is final;
 *   2. rules, in order, from the initial state (class from the classifier, else the sender's
 *      registration or the account default; category from the classifier). Rate rules read counters
 *      the store increments for this message. An enforce-mode reject ends the decision (no store
 *      call); tags change class/category/labels; an enforce-mode forward only means "rules accept".
 *      No rule set (or an empty one) is the same path with this step empty;
 *   3. classification with the final class (service port sending commercial content → reject) and,
 *      for commercial messages, consent / do-not-disturb (decideStored);
 *   4. a rule's queue applies to messages step 3 would forward (a message without consent is
 *      rejected, not held).
 *
 * Pure: the store is reached only through the DecisionStore callback the caller passes
 * (decision/service.ts: one batched Redis round trip; explain: no counting; rule tests: in memory).
 */
import type { HoldKind } from '../domain/hold.js';
import type { NormalAddress } from '../domain/address.js';
import { decideLocal, decideStored, type LocalResult, type Outcome } from '../policy/decide.js';
import { type StoreFacts, type StoreQuery } from '../domain/store-facts.js';
import { REASONS, ruleOf, type ReasonCode } from '../policy/reasons.js';
import type { SenderClass } from '../domain/sender.js';
import { RuleSet } from '../rules/engine.js';
import { type Facts } from '../rules/facts.js';
import type { CompiledRuleSet, RuleAction, RuleContext, RuleEvidence, RuleHit, RuleState } from '../rules/types.js';
import type { RateNeed } from '../domain/store-facts.js';

export interface DecisionInput {
  /** The message as the rules see it: account, src, sender, senderClass, dst (string), text, TLVs, now. */
  ctx: RuleContext;
  /** The destination as normalised (decideLocal refuses an invalid one). */
  recipient: NormalAddress;
  /** The account's default_class, for senders registered without a class. */
  accountClass: SenderClass;
  /** The classifier's class (service_type / TLV) and DND category; null when it says nothing. */
  messageClass: SenderClass | null;
  category: number | null;
  /** null or an empty set: no rules. */
  rules: CompiledRuleSet | null;
  /** Classes forwarded when the store cannot be asked (config policy.fail_open_classes). */
  failOpen?: readonly SenderClass[];
  /** Status per policy reason (config policy.statuses); default the catalogue's. */
  statusOf?: (reason: ReasonCode) => number;
  /** Collects the reasoning (explain, rule tests); null on the hot path. */
  trace: string[] | null;
  /**
   * release: a queued message about to leave (its hold ended or a reviewer approved it). The same
   * checks against the facts as they are now, but its counters were bumped when it arrived (rate
   * conditions read 0) and a rule's queue no longer applies.
   */
  stage?: 'submit' | 'release';
}

/** What the store is asked: counters to increment and read, and (when known) consent/DND. */
export interface StoreRequest {
  needs: RateNeed[];
  query: StoreQuery | null;
}

/**
 * Where the store's answer goes: the decision itself, so a request needs no closure. `err` set:
 * the store failed or timed out. `facts`: the answer to the request's query (null when it had
 * none); `counters`: RateNeed.key → value after counting this message (null when none were asked).
 */
export interface StoreAnswer {
  answer(err: unknown, facts: StoreFacts | null, counters: CounterValues | null): void;
  /** The decision's input, for a store that asks more on the message's behalf (the ported lookup, service.ts). */
  readonly input?: DecisionInput;
}

export interface DecisionOutcome {
  action: 'forward' | 'reject' | 'queue';
  /** A policy ReasonCode, a rule's own reason, or queued_until_window / queued_review. */
  reason: string;
  /** SMPP status for a reject; 0 otherwise. */
  status: number;
  /** The rule id that decided, or the policy check (policy/consent, policy/sender-authorization, …). */
  rule: string;
  /** The policy's reason code when a policy check decided (rule is its policy/… id); null when a rule did. */
  policyReason: ReasonCode | null;
  class: SenderClass | null;
  category: number | null;
  labels: readonly string[];
  queue: HoldKind | null;
  /** until-window: when the rule's window opens for this recipient (epoch ms); null otherwise. */
  releaseAt: number | null;
  /** Every rule that matched, in order (tags, monitor-mode would-be actions, the final one). */
  hits: readonly RuleHit[];
  trace: string[] | null;
  /** What decided beyond the rule id (campaign counts, mark, reputation entry); absent when nothing. */
  evidence?: string | null;
  /** Behaviour conditions that matched, with the profile values (set only when there are some). */
  behaviour?: readonly RuleEvidence[];
  /** A `suspend` rule decided: the service suspends the sender (set only then). */
  suspend?: boolean;
}


/** What the rules read counters through: a Map, or anything with its get(). */
export type CounterValues = Pick<ReadonlyMap<string, number>, 'get'>;

const NO_COUNTERS: CounterValues = new Map<string, number>();
const NO_NEEDS: RateNeed[] = [];
const NO_HITS: readonly RuleHit[] = [];
const NO_LABELS: readonly string[] = [];

function sameQuery(a: StoreQuery, b: StoreQuery): boolean {
  return a.msisdn === b.msisdn && a.category === b.category && a.scopes.length === b.scopes.length && a.scopes.every((s, i) => s === b.scopes[i]);
}

const defaultStatusOf = (r: ReasonCode): number => REASONS[r].status;

/**
 * One message's decision as a small state machine: start() runs until the store is needed and
 * returns what to ask (or the outcome), resume() takes the store's answer and does the same; run()
 * drives it against a DecisionStore, which answers to the decision itself. Plain methods and
 * fields, no generator or closures per message: this runs for every message.
 */
export class Decision implements StoreAnswer, StoreRequest {
  /** 0: not started; 1: waiting for counters (and maybe early facts); 2: waiting for facts; 3: done. */
  private phase = 0;
  private first: LocalResult | null = null;
  private firstTrace: string[] | null = null;
  private senderLine: string | undefined = undefined;
  private initial: RuleState | null = null;
  private facts: Facts | null = null;
  /** The consent/DND query sent with the counters in phase 1 (its facts may settle phase 2). */
  private earlyQuery: StoreQuery | null = null;
  /** The request out now (StoreRequest): the decision itself, so asking allocates nothing. */
  needs: RateNeed[] = NO_NEEDS;
  query: StoreQuery | null = null;
  private state: RuleState | null = null;
  private hits: readonly RuleHit[] = NO_HITS;
  private queue: { rule: string; action: Extract<RuleAction, { kind: 'queue' }>; evidence: string | null } | null = null;
  private forwardRule: string | null = null;
  private behaviour: readonly RuleEvidence[] | null = null;
  private second: { ask: StoreQuery; class: SenderClass; trace: string[] | null } | null = null;

  constructor(private readonly i: DecisionInput) {}

  /** StoreAnswer.input: what this decision is about. */
  get input(): DecisionInput {
    return this.i;
  }

  private get trace(): string[] | null {
    return this.i.trace;
  }

  private get ctx(): RuleContext {
    return this.i.ctx;
  }

  private statusOf(reason: ReasonCode): number {
    const f = this.i.statusOf;
    return f ? f(reason) : defaultStatusOf(reason);
  }

  private local(messageClass: SenderClass | null, category: number | null, t: string[] | null): LocalResult {
    const ctx = this.ctx;
    return decideLocal({
      account: ctx.account,
      now: ctx.now,
      src: ctx.src,
      dst: this.i.recipient,
      sender: ctx.sender,
      messageClass,
      accountClass: this.i.accountClass,
      category,
      trace: t,
    });
  }

  private policy(o: Outcome, hits: readonly RuleHit[], category: number | null, labels: readonly string[]): DecisionOutcome {
    return {
      action: o.action,
      reason: o.reason,
      status: o.action === 'reject' ? this.statusOf(o.reason) : 0,
      rule: ruleOf(o.reason),
      policyReason: o.reason,
      class: o.class,
      category,
      labels,
      queue: null,
      releaseAt: null,
      hits,
      trace: this.trace,
    };
  }

  private storeFailed(cls: SenderClass, hits: readonly RuleHit[], category: number | null, labels: readonly string[]): DecisionOutcome {
    const trace = this.trace;
    trace?.push('policy store unreachable');
    const reason: ReasonCode = this.i.failOpen?.includes(cls) ? 'fail_open' : 'store_unavailable';
    return this.policy({ action: reason === 'fail_open' ? 'forward' : 'reject', reason, class: cls, trace }, hits, category, labels);
  }

  /** Runs until the store is needed: the request, or the outcome when none is. */
  start(): StoreRequest | DecisionOutcome {
    if (this.phase !== 0) throw new Error('Decision.start() called twice');
    const i = this.i;
    const trace = this.trace;
    const ctx = this.ctx;

    // 1. destination and sender authorization
    const t1: string[] | null = trace ? [] : null;
    const first = (this.first = this.local(i.messageClass, i.category, t1));
    if ('done' in first && (first.done.reason === 'invalid_destination' || first.done.reason.startsWith('sender_'))) {
      this.phase = 3;
      if (trace) trace.push(...t1!);
      return this.policy(first.done, NO_HITS, i.category, NO_LABELS);
    }
    this.firstTrace = t1;
    const senderLine = (this.senderLine = t1?.[0]);
    if (trace && senderLine) trace.push(senderLine);

    // 2. rules: the counters they need (and, when the message starts out commercial, consent/DND in the same round trip)
    const rules = i.rules && i.rules.ruleIds.length > 0 ? i.rules : null;
    if (rules) {
      // The rules' state starts from the classifier's class, else the sender's registration or the account default.
      const registered = ctx.sender?.class ?? i.accountClass;
      const initial: RuleState = (this.initial = { class: i.messageClass ?? registered, category: i.category, labels: NO_LABELS as string[] });
      this.state = initial;
      // RuleSet (engine.ts) shares one message's facts (text, rate keys) between needs and evaluation.
      const facts = (this.facts = rules instanceof RuleSet ? rules.facts(ctx, initial) : null);
      const needs = facts ? (rules as RuleSet).needsOf(facts) : rules.rateNeeds(ctx, initial);
      if (needs.length > 0 && i.stage !== 'release') {
        this.earlyQuery = 'ask' in first ? first.ask : null;
        this.phase = 1;
        return this.request(needs, this.earlyQuery);
      }
    }
    return this.afterRules(NO_COUNTERS, null);
  }

  private request(needs: RateNeed[], query: StoreQuery | null): StoreRequest {
    this.needs = needs;
    this.query = query;
    return this;
  }

  /** The store's answer to the last request (`ok` false: the store failed or timed out). */
  private resume(ok: boolean, answered: StoreFacts | null, values: CounterValues | null): StoreRequest | DecisionOutcome {
    if (this.phase === 1) {
      let counters = NO_COUNTERS;
      let early: StoreFacts | null = null;
      if (ok) {
        if (values !== null) counters = values;
        if (this.earlyQuery && answered) early = answered;
      } else this.trace?.push('rate counters unavailable: rate conditions read 0');
      return this.afterRules(counters, early);
    }
    if (this.phase === 2) {
      this.phase = 3;
      const facts = ok ? answered : null;
      const state = this.state;
      if (!facts) return this.withEvidence(this.storeFailed(this.second!.class, this.hits, state ? state.category : this.i.category, state ? state.labels : NO_LABELS));
      return this.finishStored(decideStored(this.second!.ask, this.second!.class, this.trace, facts, this.ctx.now));
    }
    throw new Error('Decision.resume() without a pending request');
  }

  // ---- running against a store ------------------------------------------------------------------

  private store: DecisionStore | null = null;
  private done: ((o: DecisionOutcome, i: DecisionInput) => void) | null = null;
  /** 0: no request out; 1: inside fetchThen (an answer now is taken synchronously); 2: answer awaited. */
  private waiting = 0;
  private syncOk = false;
  private syncFacts: StoreFacts | null = null;
  private syncCounters: CounterValues | null = null;

  /** Runs to the outcome, or to a request the store answers later (then null; `done` gets the outcome). */
  run(store: DecisionStore, done: (o: DecisionOutcome, i: DecisionInput) => void): DecisionOutcome | null {
    this.store = store;
    this.done = done;
    return this.loop(this.start());
  }

  private loop(first: StoreRequest | DecisionOutcome): DecisionOutcome | null {
    let r = first;
    while (isRequest(r)) {
      this.waiting = 1;
      this.syncOk = false;
      let answered: boolean;
      try {
        this.store!.fetchThen(r, this);
        answered = this.waiting === 0;
      } catch {
        // A store that throws instead of answering has failed (unless it answered first).
        answered = true;
        if (this.waiting !== 0) this.syncOk = false;
      }
      if (!answered) {
        this.waiting = 2;
        return null;
      }
      this.waiting = 0;
      const facts = this.syncFacts;
      const counters = this.syncCounters;
      this.syncFacts = null;
      this.syncCounters = null;
      r = this.resume(this.syncOk, facts, counters);
    }
    return r;
  }

  /** The store's answer (StoreAnswer): taken at once inside fetchThen, else resumes the decision. */
  answer(err: unknown, facts: StoreFacts | null, counters: CounterValues | null): void {
    if (this.waiting === 1) {
      this.waiting = 0;
      this.syncOk = !err;
      this.syncFacts = facts;
      this.syncCounters = counters;
      return;
    }
    if (this.waiting !== 2) return; // a second answer to one request: ignored
    this.waiting = 0;
    const out = this.loop(this.resume(!err, err ? null : facts, err ? null : counters));
    if (out !== null) this.done!(out, this.i);
  }

  /** Rules with their counters, then classification with the final class and consent/DND. */
  private afterRules(counters: CounterValues, early: StoreFacts | null): StoreRequest | DecisionOutcome {
    const i = this.i;
    const trace = this.trace;
    const initial = this.initial;
    const rules = i.rules && i.rules.ruleIds.length > 0 ? i.rules : null;
    if (rules && initial) {
      // RuleSet (engine.ts) also explains itself into the trace; any other CompiledRuleSet just decides.
      const facts = this.facts;
      const out = facts ? (rules as RuleSet).decide(facts, counters, trace) : rules.evaluate(this.ctx, initial, counters as ReadonlyMap<string, number>);
      const state = (this.state = out.state);
      this.hits = out.hits;
      if (out.behaviour) this.behaviour = out.behaviour;
      const fin = out.final;
      if (fin) {
        const a = fin.action;
        if (a.kind === 'reject' || a.kind === 'suspend') {
          this.phase = 3;
          trace?.push(`${a.kind === 'suspend' ? 'suspend the sender and reject' : 'reject'}: rule ${fin.rule} (${a.reason})`);
          return this.withEvidence({
            action: 'reject',
            reason: a.reason,
            status: a.status,
            rule: fin.rule,
            policyReason: null,
            class: state.class,
            category: state.category,
            labels: state.labels,
            queue: null,
            releaseAt: null,
            hits: out.hits,
            trace,
            evidence: out.evidence ?? null,
            ...(a.kind === 'suspend' ? { suspend: true } : {}),
          });
        }
        if (a.kind === 'queue' && i.stage !== 'release') this.queue = { rule: fin.rule, action: a, evidence: out.evidence ?? null };
        if (a.kind === 'forward') this.forwardRule = fin.rule;
      }
    }

    // 3. classification with the final class, then consent / DND
    const state = this.state;
    let second: LocalResult;
    let t2: string[] | null;
    if (state === null || initial === null || (state.class === initial.class && state.category === initial.category)) {
      // No rules, or they changed nothing the checks read: step 1's result stands.
      second = this.first!;
      t2 = this.firstTrace;
    } else {
      const changed = state.class !== initial.class;
      t2 = trace ? [] : null;
      second = this.local(changed || i.messageClass !== null ? state.class : null, state.category, t2);
    }
    if (trace) for (const line of t2!) if (line !== this.senderLine) trace.push(line);
    if ('done' in second) {
      this.phase = 3;
      return this.finishStored(second.done);
    }
    if (early && this.earlyQuery && sameQuery(this.earlyQuery, second.ask)) {
      this.phase = 3;
      return this.finishStored(decideStored(second.ask, second.class, trace, early, this.ctx.now));
    }
    this.second = second;
    this.phase = 2;
    return this.request(NO_NEEDS, second.ask);
  }

  /** The outcome with the behaviour evidence of this decision, when there is some. */
  private withEvidence(o: DecisionOutcome): DecisionOutcome {
    if (this.behaviour !== null) o.behaviour = this.behaviour;
    return o;
  }

  /** 4. a rule's queue holds what would be forwarded; otherwise the policy's outcome. */
  private finishStored(o: Outcome): DecisionOutcome {
    return this.withEvidence(this.finishStoredBare(o));
  }

  private finishStoredBare(o: Outcome): DecisionOutcome {
    const state = this.state;
    const category = state ? state.category : this.i.category;
    const labels = state ? state.labels : NO_LABELS;
    const queue = this.queue;
    if (queue && o.action === 'forward') {
      const a = queue.action;
      const releaseAt = a.opensAt ? a.opensAt(this.ctx.dst, this.ctx.now) : null;
      this.trace?.push(`queue: rule ${queue.rule} (${a.queue}${releaseAt === null ? '' : ` until ${new Date(releaseAt).toISOString()}`})`);
      return {
        action: 'queue',
        reason: a.queue === 'review' ? 'queued_review' : 'queued_until_window',
        status: 0,
        rule: queue.rule,
        policyReason: null,
        class: o.class,
        category,
        labels,
        queue: a.queue,
        releaseAt,
        hits: this.hits,
        trace: this.trace,
        evidence: queue.evidence,
      };
    }
    const result = this.policy(o, this.hits, category, labels);
    if (this.forwardRule && result.action === 'forward') {
      result.rule = this.forwardRule;
      result.policyReason = null;
    }
    return result;
  }
}

function isRequest(r: StoreRequest | DecisionOutcome): r is StoreRequest {
  return (r as StoreRequest).needs !== undefined;
}

/**
 * Where a decision gets its facts: one round trip for the counters and (when asked) consent/DND.
 * The answer goes to `to.answer()`, exactly once; it may come before fetchThen returns (a
 * synchronous store: rule tests, explain with in-memory facts). `req` is read during the call: the
 * decision reuses it for its next request.
 */
export interface DecisionStore {
  fetchThen(req: StoreRequest, to: StoreAnswer): void;
}

/**
 * Runs one decision: returns the outcome when no store call was needed (or the store answered at
 * once), else null and the outcome comes through `done` (with the input, so one callback can serve
 * every message), exactly once. The only way a decision runs.
 */
export function runDecision(i: DecisionInput, store: DecisionStore, done: (o: DecisionOutcome, i: DecisionInput) => void): DecisionOutcome | null {
  return new Decision(i).run(store, done);
}
