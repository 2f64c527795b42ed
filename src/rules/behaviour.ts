/**
 * `behaviour:` rule conditions (issue 18): a sender's behaviour profile against a threshold.
 * Pure: a rule's condition becomes one profile need per message (store/rate-layout.ts and
 * store/lua/behaviour.lua answer it in the message's one round trip, like a rate counter), and
 * the value that comes back is judged here, with the words explain, the audit line and the
 * metrics use. docs/intelligence.md#sender-behaviour documents each signal.
 */
import { PROFILE_FIELD, baselineOf, hiOf, loOf, profileEntity, receiptsOf, type BehaviourSignal } from '../domain/behaviour.js';
import type { RateNeed } from '../domain/store-facts.js';
import { parseDuration } from '../domain/time.js';
import type { Facts } from './facts.js';

/** The YAML form (schema.ts validates it). */
export interface BehaviourSpec {
  distinct_recipients_over?: number;
  sequential_recipients_over?: number;
  undeliverable_share_over?: number;
  volume_over_baseline?: number;
  window?: string;
  gap?: number;
  min_receipts?: number;
  min_baseline?: number;
}

export const DEFAULT_GAP = 2;
export const DEFAULT_MIN_RECEIPTS = 100;
export const DEFAULT_MIN_BASELINE = 10;
const HOUR = 3_600_000;

/** A compiled `behaviour:` condition. */
export interface BehaviourRule {
  readonly signal: BehaviourSignal;
  readonly threshold: number;
  /** The window (distinct, sequential); an hour for the baseline; unused (an hour) for receipts. */
  readonly periodMs: number;
  readonly window: string;
  readonly gap: number;
  readonly minReceipts: number;
  readonly minBaseline: number;
  /** The need's field within the sender's profile entity. */
  readonly field: string;
  readonly kind: RateNeed['kind'];
}

/** The signal a spec names (schema.ts checks there is exactly one). */
export function signalOf(b: BehaviourSpec): BehaviourSignal {
  if (b.distinct_recipients_over !== undefined) return 'distinct_recipients';
  if (b.sequential_recipients_over !== undefined) return 'sequential_recipients';
  if (b.undeliverable_share_over !== undefined) return 'undeliverable_share';
  return 'volume_over_baseline';
}

export function compileBehaviour(b: BehaviourSpec): BehaviourRule {
  const signal = signalOf(b);
  const window = b.window ?? '1h';
  const periodMs = b.window !== undefined ? parseDuration(b.window)! : HOUR;
  const gap = b.gap ?? DEFAULT_GAP;
  const base = { signal, window, periodMs, gap, minReceipts: b.min_receipts ?? DEFAULT_MIN_RECEIPTS, minBaseline: b.min_baseline ?? DEFAULT_MIN_BASELINE };
  switch (signal) {
    case 'distinct_recipients':
      return { ...base, threshold: b.distinct_recipients_over!, field: `:r:${periodMs / 1000}`, kind: 'distinct' };
    case 'sequential_recipients':
      return { ...base, threshold: b.sequential_recipients_over!, field: `:q:${gap}:${periodMs / 1000}`, kind: 'sequence' };
    case 'undeliverable_share':
      return { ...base, periodMs: HOUR, threshold: b.undeliverable_share_over!, field: PROFILE_FIELD, kind: 'receipts' };
    case 'volume_over_baseline':
      return { ...base, periodMs: HOUR, threshold: b.volume_over_baseline!, field: PROFILE_FIELD, kind: 'baseline' };
  }
}

/**
 * The profile need of one message. Its key names what is computed (two rules with the same
 * signal and window share it, and the store does the work once); the entity is the sender's
 * profile, the field where in it the store looks.
 */
export function behaviourNeed(b: BehaviourRule, f: Facts): RateNeed {
  const c = f.ctx;
  // Per message and rule these strings were garbage: kept per sender while it sends (bounded),
  // and the last sender's at hand (bulk traffic is one sender message after message).
  let cached = cache.get(b);
  if (cached === undefined) cache.set(b, (cached = { map: new Map(), account: '', src: '', need: null }));
  let hit = cached.need;
  if (hit === null || cached.account !== c.account || cached.src !== c.src.value) {
    const bySender = cached.map;
    let bySrc = bySender.get(c.account);
    if (bySrc === undefined) {
      if (bySender.size >= MAX_CACHED) bySender.clear();
      bySender.set(c.account, (bySrc = new Map()));
    }
    hit = bySrc.get(c.src.value) ?? null;
    if (hit === null) {
      if (bySrc.size >= MAX_CACHED) bySrc.clear();
      const entity = profileEntity(c.account, c.src.value);
      // Baseline and receipts both live in the profile hash: their keys say which is meant.
      const key = b.kind === 'distinct' || b.kind === 'sequence' ? entity + b.field : `${entity}${b.field}:${b.kind}`;
      hit = { key, periodMs: b.periodMs, kind: b.kind, entity, field: b.field };
      bySrc.set(c.src.value, hit);
    }
    cached.account = c.account;
    cached.src = c.src.value;
    cached.need = hit;
  }
  // A need with no member (baseline, receipts) is the same object every time (read only).
  if (b.kind !== 'distinct' && b.kind !== 'sequence') return hit;
  if (b.kind === 'sequence') return { key: hit.key, periodMs: b.periodMs, kind: b.kind, member: c.dst, entity: hit.entity, field: b.field };
  return { key: hit.key, periodMs: b.periodMs, kind: b.kind, member: c.dst, entity: hit.entity, field: b.field, statistic: true };
}

/** Senders per account (and accounts) whose need strings a rule keeps. */
const MAX_CACHED = 4096;
const cache = new WeakMap<BehaviourRule, { map: Map<string, Map<string, RateNeed>>; account: string; src: string; need: RateNeed | null }>();

/** Whether a profile value (as the store answered; 0 when unread) trips the condition: judge()'s hit, without the words (per message). */
export function trips(b: BehaviourRule, v: number): boolean {
  switch (b.signal) {
    case 'distinct_recipients':
    case 'sequential_recipients':
      return v > b.threshold;
    // receiptsOf() and baselineOf() without their objects (per message); judge() reads them.
    case 'undeliverable_share': {
      const total = hiOf(v);
      const undeliverable = Math.min(loOf(v), total);
      return total >= b.minReceipts && total > 0 && undeliverable / total > b.threshold;
    }
    case 'volume_over_baseline': {
      const lo = loOf(v);
      return lo !== 0 && hiOf(v) / Math.max((lo - 1) / 10, b.minBaseline) > b.threshold;
    }
  }
}

/** Whether a profile value (as the store answered; 0 when unread) trips the condition, and in words. */
export function judge(b: BehaviourRule, v: number): { hit: boolean; text: string } {
  switch (b.signal) {
    case 'distinct_recipients':
      return { hit: v > b.threshold, text: `distinct recipients ${v} ${v > b.threshold ? '>' : '<='} ${b.threshold} in ${b.window}` };
    case 'sequential_recipients':
      return {
        hit: v > b.threshold,
        text: `sequential recipients: longest run ${v} ${v > b.threshold ? '>' : '<='} ${b.threshold} in ${b.window} (gap ${b.gap})`,
      };
    case 'undeliverable_share': {
      const { total, undeliverable } = receiptsOf(v);
      const share = total > 0 ? undeliverable / total : 0;
      const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
      if (total < b.minReceipts) return { hit: false, text: `undeliverable ${undeliverable}/${total} receipts: fewer than min_receipts ${b.minReceipts}` };
      const hit = share > b.threshold;
      return { hit, text: `undeliverable ${undeliverable}/${total} receipts = ${pct(share)} ${hit ? '>' : '<='} ${pct(b.threshold)}` };
    }
    case 'volume_over_baseline': {
      const { count, baseline } = baselineOf(v);
      if (baseline === null) return { hit: false, text: `volume ${count} this hour: no baseline for this hour yet` };
      const floor = Math.max(baseline, b.minBaseline);
      const ratio = count / floor;
      const hit = ratio > b.threshold;
      return {
        hit,
        text: `volume ${count} this hour = ${ratio.toFixed(1)}x baseline ${baseline.toFixed(1)}${floor > baseline ? ` (floor min_baseline ${b.minBaseline})` : ''} ${hit ? '>' : '<='} ${b.threshold}x`,
      };
    }
  }
}
