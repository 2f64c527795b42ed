/**
 * Per-rule match counts in plain number slots, shared with the loader's Prometheus counter and
 * flushed at scrape: no label hashing per message.
 */
import type { RuleAction, RuleHit } from './types.js';

/** One counter slot per (rule, action, mode): the rule's match count. */
export interface CountSlot {
  readonly rule: string;
  readonly action: RuleAction['kind'];
  readonly mode: 'enforce' | 'monitor';
  n: number;
  reported: number;
}

/** Match counts by rule, shared across reloads so counts recorded on a retired set still export. */
export class RuleCounts {
  private readonly slots = new Map<string, CountSlot>();

  slot(rule: string, action: RuleAction['kind'], mode: 'enforce' | 'monitor'): CountSlot {
    const key = `${rule}\u0001${action}\u0001${mode}`;
    let s = this.slots.get(key);
    if (!s) {
      s = { rule, action, mode, n: 0, reported: 0 };
      this.slots.set(key, s);
    }
    return s;
  }

  /** Hands every count not yet reported to `inc` (called when Prometheus scrapes). */
  flush(inc: (labels: { rule: string; action: string; mode: string }, n: number) => void): void {
    for (const s of this.slots.values()) {
      if (s.n === s.reported) continue;
      inc({ rule: s.rule, action: s.action, mode: s.mode }, s.n - s.reported);
      s.reported = s.n;
    }
  }

  get(rule: string, action: RuleAction['kind'], mode: 'enforce' | 'monitor'): number {
    return this.slots.get(`${rule}\u0001${action}\u0001${mode}`)?.n ?? 0;
  }
}

/** A rule hit that knows its counter slot (kept private so hits compare as plain RuleHits). */
export class Hit implements RuleHit {
  readonly #slot: CountSlot;
  readonly #intel: readonly string[];

  constructor(
    readonly rule: string,
    readonly action: RuleAction,
    readonly mode: 'enforce' | 'monitor',
    slot: CountSlot,
    intelKeys: readonly string[] = [],
  ) {
    this.#slot = slot;
    this.#intel = intelKeys.map((k) => `${k}\u0001${mode}`);
  }

  count(): void {
    this.#slot.n++;
  }

  /** The rule's traffic-intelligence keys, each with its mode as IntelMetrics.keyMatch() counts them ("<key>\u0001<mode>"), built once. */
  get intelCells(): readonly string[] {
    return this.#intel;
  }
}
