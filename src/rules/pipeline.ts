/**
 * The whole decision for one message with rules, as pure code:
 *
 *   1. destination and sender authorization (decideLocal's checks): a reject here is final;
 *   2. rules, in order, from the initial state (class from the classifier, else the sender's
 *      registration or the account default; category from the classifier). Rate rules read counters
 *      the store increments for this message. An enforce-mode reject ends the decision (no store
 *      call); tags change class/category/labels; an enforce-mode forward only means "rules accept";
 *   3. classification with the final class (service port sending commercial content → reject) and,
 *      for commercial messages, consent / do-not-disturb (decideStored);
 *   4. a rule's queue applies to messages step 3 would forward (a message without consent is
 *      rejected, not held).
 *
 * The store is reached through yields, so one generator serves the gateway (async, one round trip
 * for counters plus — when the message starts out commercial — consent/DND), the rule test runner and
 * explain (sync, in-memory facts): see decideWithRules / decideWithRulesAsync.
 */
import type { NormalAddress } from '../policy/address.js';
import { decideLocal, decideStored, type LocalResult, type Outcome, type StoreFacts, type StoreQuery } from '../policy/decide.js';
import { REASONS, ruleOf, type ReasonCode } from '../policy/reasons.js';
import type { SenderClass } from '../policy/senders.js';
import { RuleSet } from './engine.js';
import type { CompiledRuleSet, RateNeed, RuleContext, RuleHit, RuleState } from './types.js';

export interface PipelineInput {
  /** The message as the rules see it: account, src, sender, senderClass, dst (string), text, TLVs, now. */
  ctx: RuleContext;
  /** The destination as normalised (decideLocal refuses an invalid one). */
  dst: NormalAddress;
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
}

/** What the store is asked: counters to increment and read, and (when known) consent/DND. */
export interface StoreRequest {
  needs: RateNeed[];
  query: StoreQuery | null;
}

export interface StoreReply {
  /** RateNeed.key → value after counting this message. */
  counters: ReadonlyMap<string, number>;
  /** The facts for StoreRequest.query (null when there was none). */
  facts: StoreFacts | null;
}

export interface PipelineOutcome {
  action: 'forward' | 'reject' | 'queue';
  /** A policy ReasonCode, a rule's own reason, or queued_until_window / queued_review. */
  reason: string;
  /** SMPP status for a reject; 0 otherwise. */
  status: number;
  /** The rule id that decided, or the policy check (policy/consent, policy/sender-authorization, …). */
  rule: string;
  class: SenderClass | null;
  category: number | null;
  labels: readonly string[];
  queue: 'until-window' | 'review' | null;
  /** Every rule that matched, in order (tags, monitor-mode would-be actions, the final one). */
  hits: readonly RuleHit[];
  trace: string[] | null;
}


const NO_COUNTERS: ReadonlyMap<string, number> = new Map();
const NO_HITS: readonly RuleHit[] = [];
const NO_LABELS: readonly string[] = [];

function sameQuery(a: StoreQuery, b: StoreQuery): boolean {
  return a.msisdn === b.msisdn && a.category === b.category && a.scopes.length === b.scopes.length && a.scopes.every((s, i) => s === b.scopes[i]);
}

/** The decision as a generator: yields what it needs from the store, returns the outcome. */
export function* decisionSteps(i: PipelineInput): Generator<StoreRequest, PipelineOutcome, StoreReply> {
  const trace = i.trace;
  const statusOf = i.statusOf ?? ((r: ReasonCode) => REASONS[r].status);
  const ctx = i.ctx;
  const local = (messageClass: SenderClass | null, category: number | null, t: string[] | null): LocalResult =>
    decideLocal({
      account: ctx.account,
      now: ctx.now,
      src: ctx.src,
      dst: i.dst,
      sender: ctx.sender,
      messageClass,
      accountClass: i.accountClass,
      category,
      trace: t,
    });
  const policy = (o: Outcome, hits: readonly RuleHit[], category: number | null, labels: readonly string[]): PipelineOutcome => ({
    action: o.action,
    reason: o.reason,
    status: o.action === 'reject' ? statusOf(o.reason) : 0,
    rule: ruleOf(o.reason),
    class: o.class,
    category,
    labels,
    queue: null,
    hits,
    trace,
  });
  const storeFailed = (cls: SenderClass, hits: readonly RuleHit[], category: number | null, labels: readonly string[]) => {
    trace?.push('policy store unreachable');
    const reason: ReasonCode = i.failOpen?.includes(cls) ? 'fail_open' : 'store_unavailable';
    return policy({ action: reason === 'fail_open' ? 'forward' : 'reject', reason, class: cls, trace }, hits, category, labels);
  };

  // 1. destination and sender authorization
  const t1: string[] | null = trace ? [] : null;
  const first = local(i.messageClass, i.category, t1);
  if ('done' in first && (first.done.reason === 'invalid_destination' || first.done.reason.startsWith('sender_'))) {
    if (trace) trace.push(...t1!);
    return policy(first.done, NO_HITS, i.category, NO_LABELS);
  }
  const senderLine = t1?.[0];
  if (trace && senderLine) trace.push(senderLine);

  // 2. rules
  const registered = ctx.sender?.class ?? i.accountClass;
  const initial: RuleState = { class: i.messageClass ?? registered, category: i.category, labels: NO_LABELS as string[] };
  const rules = i.rules && i.rules.ruleIds.length > 0 ? i.rules : null;
  let counters = NO_COUNTERS;
  let early: { query: StoreQuery; facts: StoreFacts } | null = null;
  let state = initial;
  let hits = NO_HITS;
  let queue: { rule: string; queue: 'until-window' | 'review' } | null = null;
  let forwardRule: string | null = null;
  if (rules) {
    // RuleSet (engine.ts) shares one message's facts (text, rate keys) between needs and evaluation.
    const facts = rules instanceof RuleSet ? rules.facts(ctx, initial) : null;
    const needs = facts ? (rules as RuleSet).needsOf(facts) : rules.rateNeeds(ctx, initial);
    if (needs.length > 0) {
      // The message starts out commercial: ask consent/DND in the same round trip as the counters.
      const query = 'ask' in first ? first.ask : null;
      try {
        const reply: StoreReply = yield { needs, query };
        counters = reply.counters;
        if (query && reply.facts) early = { query, facts: reply.facts };
      } catch {
        trace?.push('rate counters unavailable: rate conditions read 0');
      }
    }
    // RuleSet (engine.ts) also explains itself into the trace; any other CompiledRuleSet just decides.
    const out = facts ? (rules as RuleSet).decide(facts, counters, trace) : rules.evaluate(ctx, initial, counters);
    state = out.state;
    hits = out.hits;
    const fin = out.final;
    if (fin) {
      const a = fin.action;
      if (a.kind === 'reject') {
        trace?.push(`reject: rule ${fin.rule} (${a.reason})`);
        return {
          action: 'reject',
          reason: a.reason,
          status: a.status,
          rule: fin.rule,
          class: state.class,
          category: state.category,
          labels: state.labels,
          queue: null,
          hits,
          trace,
        };
      }
      if (a.kind === 'queue') queue = { rule: fin.rule, queue: a.queue };
      if (a.kind === 'forward') forwardRule = fin.rule;
    }
  }

  // 3. classification with the final class, then consent / DND
  const t2: string[] | null = trace ? [] : null;
  const changed = state.class !== initial.class;
  const second = local(changed || i.messageClass !== null ? state.class : null, state.category, t2);
  if (trace) for (const line of t2!) if (line !== senderLine) trace.push(line);
  let o: Outcome;
  if ('done' in second) o = second.done;
  else {
    let facts: StoreFacts | null = early && sameQuery(early.query, second.ask) ? early.facts : null;
    if (!facts) {
      try {
        const reply: StoreReply = yield { needs: [], query: second.ask };
        facts = reply.facts;
      } catch {
        facts = null;
      }
      if (!facts) return storeFailed(second.class, hits, state.category, state.labels);
    }
    o = decideStored(second.ask, second.class, trace, facts, ctx.now);
  }

  // 4. a rule's queue holds what would be forwarded
  if (queue && o.action === 'forward') {
    trace?.push(`queue: rule ${queue.rule} (${queue.queue})`);
    return {
      action: 'queue',
      reason: queue.queue === 'review' ? 'queued_review' : 'queued_until_window',
      status: 0,
      rule: queue.rule,
      class: o.class,
      category: state.category,
      labels: state.labels,
      queue: queue.queue,
      hits,
      trace,
    };
  }
  const result = policy(o, hits, state.category, state.labels);
  if (forwardRule && result.action === 'forward') result.rule = forwardRule;
  return result;
}

/** Synchronous store (rule tests, explain with in-memory facts). */
export interface SyncDecisionStore {
  /** Increments and reads the counters; may throw (rates then read 0). */
  counters(needs: RateNeed[]): ReadonlyMap<string, number>;
  /** Consent/DND facts; may throw (the store-unavailable outcome). */
  facts(q: StoreQuery): StoreFacts;
}

export interface AsyncDecisionStore {
  /** One round trip: increments and reads the counters, and answers the query when there is one. */
  fetch(req: StoreRequest): StoreReply | Promise<StoreReply>;
}

/** Runs the decision against a synchronous store. */
export function decideWithRules(i: PipelineInput, store: SyncDecisionStore): PipelineOutcome {
  const gen = decisionSteps(i);
  let step = gen.next();
  while (!step.done) {
    const req = step.value;
    let reply: StoreReply;
    try {
      reply = {
        counters: req.needs.length ? store.counters(req.needs) : NO_COUNTERS,
        facts: req.query ? store.facts(req.query) : null,
      };
    } catch (e) {
      step = gen.throw(e);
      continue;
    }
    step = gen.next(reply);
  }
  return step.value;
}

/** Runs the decision against the gateway's store: synchronous when no store call is needed. */
export function decideWithRulesAsync(i: PipelineInput, store: AsyncDecisionStore): PipelineOutcome | Promise<PipelineOutcome> {
  const gen = decisionSteps(i);
  const drive = (step: IteratorResult<StoreRequest, PipelineOutcome>): PipelineOutcome | Promise<PipelineOutcome> => {
    while (!step.done) {
      let reply: StoreReply | Promise<StoreReply>;
      try {
        reply = store.fetch(step.value);
      } catch (e) {
        step = gen.throw(e);
        continue;
      }
      if (reply instanceof Promise) {
        return reply.then(
          (r) => drive(gen.next(r)),
          (e: unknown) => drive(gen.throw(e)),
        );
      }
      step = gen.next(reply);
    }
    return step.value;
  };
  return drive(gen.next());
}

/** A store that answers by callback (the gateway's batched round trip: no promise per message). */
export interface CallbackDecisionStore {
  /** One round trip, as AsyncDecisionStore.fetch; `done` gets the error or the reply, at most once. */
  fetchThen(req: StoreRequest, done: (err: unknown, reply: StoreReply | null) => void): void;
}

/**
 * Runs the decision against a callback store: returns the outcome when no store call was needed
 * (or the store answered at once), else null and the outcome comes through `done`, exactly once.
 */
export function decideWithRulesThen(i: PipelineInput, store: CallbackDecisionStore, done: (o: PipelineOutcome) => void): PipelineOutcome | null {
  const gen = decisionSteps(i);
  return driveThen(gen, gen.next(), store, done);
}

function driveThen(
  gen: Generator<StoreRequest, PipelineOutcome, StoreReply>,
  first: IteratorResult<StoreRequest, PipelineOutcome>,
  store: CallbackDecisionStore,
  done: (o: PipelineOutcome) => void,
): PipelineOutcome | null {
  let step = first;
  while (!step.done) {
    // A store that answers inside fetchThen is taken synchronously; a later answer resumes here.
    let pending = true;
    let syncErr: unknown = null;
    let syncReply: StoreReply | null = null;
    let answered = false;
    const req = step.value;
    try {
      store.fetchThen(req, (err, reply) => {
        if (pending) {
          answered = true;
          syncErr = err;
          syncReply = reply;
          return;
        }
        const next = err || !reply ? gen.throw(err ?? new Error('store answered nothing')) : gen.next(reply);
        const out = driveThen(gen, next, store, done);
        if (out !== null) done(out);
      });
    } catch (e) {
      answered = true;
      syncErr = e ?? new Error('store failed');
    }
    pending = false;
    if (!answered) return null;
    step = syncErr || !syncReply ? gen.throw(syncErr ?? new Error('store answered nothing')) : gen.next(syncReply);
  }
  return step.value;
}
