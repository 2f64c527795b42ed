/**
 * The compiled rule set: rules are closures built once at load (compile.ts); evaluation walks them
 * in order over one per-message Facts object that derives what conditions ask for (normalised
 * text, domains, signature, content hash) lazily and at most once (facts.ts). Rate rules say which
 * counters they need (rate-plan.ts); matches are counted in slots (counts.ts).
 */
import type { SenderClass } from '../domain/sender.js';
import { Facts, MEMO_RULES, TextCache, type Cond } from './facts.js';
import { counterOf, counterParts, type CounterParts, type RateRule } from './rate-plan.js';
import { behaviourNeed, judge, trips, type BehaviourRule } from './behaviour.js';
import { Hit, RuleCounts } from './counts.js';
import type { CompiledRuleSet, RuleAction, RuleContext, RuleEvidence, RuleHit, RuleOutcome, RuleState } from './types.js';
import type { RateNeed } from '../domain/store-facts.js';
import { campaignExceeds, campaignHolds, campaignNeeds, type CampaignRule } from './campaign.js';

export interface CompiledRule {
  readonly id: string;
  /** "file:line:col" of the rule, for messages. */
  readonly where: string;
  readonly mode: 'enforce' | 'monitor';
  readonly action: RuleAction;
  readonly hit: Hit;
  /** Every condition but the rate. */
  readonly cond: Cond;
  readonly rate: RateRule | null;
  /** Campaign counters (campaign.ts): every limit must be exceeded, like a rate. */
  readonly campaign?: CampaignRule | null;
  /** What its campaign/content keys found, for explain and the audit line. */
  readonly evidence?: ((f: Facts) => string | null) | null;
  /** Its traffic-intelligence keys ("campaign.senders_over", "content.numbers_in", …), for metrics. */
  readonly intelKeys?: readonly string[];
  /** A sender behaviour profile condition (behaviour.ts); never with a rate. */
  readonly behaviour?: BehaviourRule | null;
}

export function describeAction(a: RuleAction): string {
  switch (a.kind) {
    case 'forward':
      return 'forward';
    case 'reject':
      return `reject ${a.reason} (status 0x${a.status.toString(16)})`;
    case 'queue':
      return `queue ${a.queue}`;
    case 'suspend':
      return `suspend the sender and reject ${a.reason} (status 0x${a.status.toString(16)})`;
    case 'tag':
      return `tag ${[a.class && `class=${a.class}`, a.category && `category=${a.category}`, a.label && `label=${a.label}`].filter(Boolean).join(' ')}`;
  }
}

export class RuleSet implements CompiledRuleSet {
  readonly ruleIds: readonly string[];
  /** The behaviour signals the loaded rules read (the receipt feed writes only when one reads receipts). */
  readonly signals: ReadonlySet<string>;
  private readonly byId: Map<string, CompiledRule>;
  /** Per rule: the message-independent parts of its counter (null: no rate). */
  private readonly counterParts: (CounterParts | null)[];
  /**
   * Per rule: whether a counter it needs can be one an earlier rule needs too (the same kind of
   * counter, window and subject: then the key is the same), so needsOf() looks for it among those
   * already listed; otherwise each need is new, and the look is skipped (per message).
   */
  private readonly mayRepeat: boolean[];
  private readonly texts = new TextCache();
  /**
   * Per rule, the last behaviour value that matched and its evidence: a bulk sender over a
   * threshold reads the same value for a share interval (store/intel-tally.ts), message after
   * message, and its words and object were made for each.
   */
  private readonly lastEvidence: ({ v: number; e: RuleEvidence } | undefined)[] = [];

  constructor(
    readonly rules: readonly CompiledRule[],
    readonly version: string,
    readonly files: readonly string[],
    readonly counts: RuleCounts,
  ) {
    this.ruleIds = rules.map((r) => r.id);
    this.signals = new Set(rules.flatMap((r) => (r.behaviour ? [r.behaviour.signal] : [])));
    this.byId = new Map(rules.map((r) => [r.id, r]));
    this.counterParts = rules.map((r) => (r.rate ? counterParts(r.rate) : null));
    const shapes = new Set<string>();
    this.mayRepeat = rules.map((r, i) => {
      const mine = needShapes(r, this.counterParts[i] ?? null);
      const repeat = mine.some((s) => shapes.has(s));
      for (const s of mine) shapes.add(s);
      return repeat;
    });
  }

  static empty(counts = new RuleCounts()): RuleSet {
    return new RuleSet([], 'empty', [], counts);
  }

  rule(id: string): CompiledRule | undefined {
    return this.byId.get(id);
  }

  /** One message's facts, for needsOf() then decide() (text facts shared with recent identical texts). */
  facts(ctx: RuleContext, initial: RuleState): Facts {
    return new Facts(ctx, initial, this.texts);
  }

  /** The campaign counters one rule reads for this message (rule tests set them by rule id). */
  campaignNeedsOf(ruleId: string, ctx: RuleContext, initial: RuleState): RateNeed[] | null {
    const r = this.byId.get(ruleId);
    if (!r?.campaign) return null;
    return campaignNeeds(r.campaign, this.facts(ctx, initial));
  }

  /** The counter of rule `i` (which has a rate or a behaviour condition) for this message, built once per message. */
  private needOf(i: number, f: Facts): RateNeed {
    let needs = f.needs;
    if (needs === null) needs = f.needs = new Array<RateNeed | undefined>(this.rules.length);
    let n = needs[i];
    if (n === undefined) {
      const r = this.rules[i]!;
      n = needs[i] = r.rate !== null ? counterOf(r.rate, this.counterParts[i]!, f) : behaviourNeed(r.behaviour!, f);
    }
    return n;
  }

  /**
   * The counters this message touches: those of rate rules whose other conditions hold, walking the
   * rules as evaluate() would (tags applied) and stopping at the first enforce-mode
   * forward/reject/queue rule that has no rate. A tag rule with a rate is not applied here.
   */
  rateNeeds(ctx: RuleContext, initial: RuleState): RateNeed[] {
    return this.needsOf(this.facts(ctx, initial));
  }

  /** rateNeeds() on facts from facts() (leaves them in their initial state for decide()). */
  needsOf(f: Facts): RateNeed[] {
    const needs: RateNeed[] = [];
    const rules = this.rules;
    const memo = rules.length <= MEMO_RULES;
    let evaluated = 0;
    let held = 0;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      const holds = r.cond(f);
      const look = this.mayRepeat[i]!;
      if (memo) {
        evaluated |= 1 << i;
        if (holds) held |= 1 << i;
        f.evaluated = evaluated;
        f.held = held;
      }
      if (!holds) continue;
      const campaign = r.campaign ?? null;
      if (campaign !== null) {
        // campaignNeeds() keeps them per (fingerprint, sender, account): no array per message.
        for (const need of campaignNeeds(campaign, f)) {
          let dup = false;
          if (look) for (const n of needs) if (n.key === need.key) dup = true;
          if (!dup) needs.push(need);
        }
        if (r.rate === null && !r.behaviour) continue;
      }
      if (r.rate !== null || r.behaviour) {
        const need = this.needOf(i, f);
        let dup = false;
        if (look) for (const n of needs) if (n.key === need.key) dup = true;
        if (!dup) needs.push(need);
        continue;
      }
      if (r.mode === 'monitor') continue;
      if (r.action.kind === 'tag') f.apply(r.action);
      else break;
    }
    return needs;
  }

  /** The counter one rule reads for this message (null: not a rate rule). */
  rateNeedOf(ruleId: string, ctx: RuleContext, initial: RuleState): RateNeed | null {
    const r = this.byId.get(ruleId);
    if (!r?.rate && !r?.behaviour) return null;
    return this.needOf(this.rules.indexOf(r), this.facts(ctx, initial));
  }

  /**
   * Runs the rules in order. A rate condition holds when the counter (after counting this message)
   * exceeds max; a counter missing from `counters` reads 0. Pure: call record() to count the hits.
   */
  evaluate(ctx: RuleContext, initial: RuleState, counters: ReadonlyMap<string, number>, trace: string[] | null = null): RuleOutcome {
    return this.decide(this.facts(ctx, initial), counters, trace);
  }

  /** evaluate() on facts from facts() (after needsOf(), whose rate keys it reuses). */
  decide(f: Facts, counters: Pick<ReadonlyMap<string, number>, 'get'>, trace: string[] | null = null): RuleOutcome {
    f.reset();
    const hits: RuleHit[] = [];
    let behaviour: RuleEvidence[] | null = null;
    let final: RuleHit | null = null;
    let evidence: string | null = null;
    const rules = this.rules;
    // needsOf()'s condition results hold while this walk is the same as its walk: the same rules
    // in the same state, which changes only when an enforce-mode tag rule with a rate, behaviour or
    // campaign condition fires (needsOf cannot know it would). A monitor-mode hit changes nothing:
    // a sender flagged on every message (a bulk sender over a spread threshold) keeps the results.
    let evaluated = f.evaluated;
    const held = f.held;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      const bit = 1 << i;
      if ((evaluated & bit) !== 0 ? (held & bit) === 0 : !r.cond(f)) continue;
      if (r.rate !== null) {
        const n = counters.get(this.needOf(i, f).key) ?? 0;
        if (n <= r.rate.max) continue;
        trace?.push(`rule ${r.id}: rate ${n} > ${r.rate.max} per ${r.rate.periodMs / 1000}s`);
      } else if (r.behaviour) {
        const b = r.behaviour;
        const v = counters.get(this.needOf(i, f).key) ?? 0;
        // The words only where they are read (a hit, or explain's trace): per message, they were garbage.
        if (!trace && !trips(b, v)) continue;
        let e = this.lastEvidence[i];
        if (trace || e === undefined || e.v !== v) {
          const j = judge(b, v);
          trace?.push(`rule ${r.id}: behaviour ${j.text}`);
          if (!j.hit) continue;
          this.lastEvidence[i] = e = { v, e: { rule: r.id, signal: b.signal, mode: r.mode, text: j.text } };
        }
        (behaviour ??= []).push(e.e);
      }
      let said: string | null = null;
      const campaign = r.campaign ?? null;
      if (campaign !== null) {
        const cn = campaignNeeds(campaign, f);
        if (!trace && !campaignExceeds(campaign, cn, counters)) continue;
        const c = campaignHolds(campaign, cn, counters);
        if (!c.holds) continue;
        said = c.evidence;
        trace?.push(`rule ${r.id}: ${c.evidence}`);
      }
      if (r.evidence) {
        const e = r.evidence(f);
        if (e !== null) {
          said = said === null ? e : `${said}; ${e}`;
          trace?.push(`rule ${r.id}: ${e}`);
        }
      }
      hits.push(r.hit);
      if (r.mode === 'monitor') {
        trace?.push(`rule ${r.id} matched (monitor, not applied): would ${describeAction(r.action)}`);
        continue;
      }
      trace?.push(`rule ${r.id} matched: ${describeAction(r.action)}`);
      if (r.action.kind === 'tag') {
        f.apply(r.action);
        // A tag needsOf() did not apply (it cannot know a rate, behaviour or campaign condition
        // holds): the state the later conditions see differs from its walk's, so they are judged afresh.
        if (r.rate !== null || r.behaviour || r.campaign) evaluated = 0;
      } else {
        final = r.hit;
        evidence = said;
        break;
      }
    }
    return behaviour === null ? { state: f.state, final, hits, evidence } : { state: f.state, final, hits, evidence, behaviour };
  }

  /** Counts the hits of a decision in smppguard_rule_matches_total (live traffic only, not explain). */
  record(hits: readonly RuleHit[]): void {
    for (const h of hits) if (h instanceof Hit) h.count();
  }
}

/**
 * What a rule's counters are, less the message: two rules with a shape in common can need the same
 * counter (key) for one message; rules without one never do (keys differ in field or entity).
 */
function needShapes(r: CompiledRule, parts: CounterParts | null): string[] {
  const out: string[] = [];
  if (r.rate !== null && parts !== null) out.push(`rate ${parts.head} ${parts.field} ${parts.content}`);
  if (r.behaviour) out.push(`behaviour ${r.behaviour.kind} ${r.behaviour.field}`);
  // Campaign needs of one rule are distinct among themselves (one per entity and limit).
  if (r.campaign) for (const l of r.campaign.limits) out.push(`campaign ${l.kind} ${r.campaign.periodMs}`);
  return out;
}

/** Counts hits in smppguard_rule_matches_total, whichever rule set produced them. */
export function recordHits(hits: readonly RuleHit[]): void {
  for (const h of hits) if (h instanceof Hit) h.count();
}

/** The class a message starts with before any rule: the classifier's, else the sender's. */
export function initialState(classifierClass: SenderClass | null, senderClass: SenderClass | null, category: number | null): RuleState {
  return { class: classifierClass ?? senderClass, category, labels: [] };
}
