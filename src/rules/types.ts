/**
 * rules/: carriers tune the gateway through YAML rule packs in rules/. This file is the contract
 * between the rule engine (load, validate, compile, evaluate) and the policy that runs it on every
 * message. The engine is pure: no I/O on the hot path; counters it needs come in as a Map.
 *
 * Per message the policy:
 *   1. builds a RuleContext (after sender authorization),
 *   2. asks ruleSet.rateNeeds(ctx) which counters the message touches (rules whose other
 *      conditions match), and increments them in Redis in the same round trip as consent/DND,
 *   3. calls ruleSet.evaluate(ctx, counters): rules run in file order; `tag` rules change the state
 *      (class, category, labels) seen by later rules and by the consent check; the first matching
 *      enforce-mode forward/reject/queue ends evaluation; monitor-mode hits are only reported.
 */
import type { HoldKind } from '../domain/hold.js';
import type { NormalAddress } from '../domain/address.js';
import type { SenderClass, SenderRecord } from '../domain/sender.js';
import type { RateNeed } from '../domain/store-facts.js';
import type { IntelView } from '../domain/intel.js';
import type { NormalText } from './normalise.js';

export interface RuleContext {
  account: string;
  /** The sender as normalised by the policy, and its registration (null if none). */
  src: NormalAddress;
  sender: SenderRecord | null;
  /** Class from the sender registration (or the account default), before any rule. */
  senderClass: SenderClass | null;
  /** Normalised destination (international digits, no '+'). */
  dst: string;
  serviceType: string;
  dataCoding: number;
  esmClass: number;
  tlv(tag: number): Buffer | undefined;
  /** The whole message text: every part of a concatenated message, decoded. */
  text: string;
  /** Epoch ms. */
  now: number;
  /** Campaign marks and reputation sets (issue 18); absent: those conditions never hold. */
  intel?: IntelView | null;
  /** Where explain's reasoning goes (score conditions add their score and n-grams); null or absent on the hot path. */
  readonly trace?: string[] | null;
  /** The content scores this message's rules computed (null: none yet; absent: not collected), for audit and evidence. */
  scores?: ScoreRecord[] | null;
}

/** A learned content score as rules use it (model/model.ts LinearModel is one). */
export interface ScoreModel {
  /** Which weights scored (the decision record's model_version), e.g. a digest prefix. */
  readonly version?: string;
  /** Spam probability of a normalised text (NormalText.plain). */
  score(plain: string): number;
  /** The score and the n-grams that pushed it most (explain, evidence). */
  explain(norm: NormalText, k?: number): { p: number; top: { ngram: string; push: number }[] };
}

/** The models rules may name (`score: {model: <name>, …}`): the gateway's, from its config. */
export interface ScoreModels {
  /** Whether a model of this name is configured (an unknown name is a rule load error). */
  has(name: string): boolean;
  /** The active model (null: configured but not loaded; score conditions on it do not hold). */
  get(name: string): ScoreModel | null;
}

/** One model's score of one message. */
export interface ScoreRecord {
  model: string;
  p: number;
  /** The model instance that scored (to explain the score later). */
  of: ScoreModel;
}

/** What tag rules set; starts from the classifier's view (service_type / TLV / sender class). */
export interface RuleState {
  class: SenderClass | null;
  category: number | null;
  labels: string[];
}

export type RuleAction =
  | { kind: 'forward' }
  | { kind: 'reject'; status: number; reason: string }
  | {
      kind: 'queue';
      queue: HoldKind;
      /** until-window: when the rule's time condition stops matching for this recipient (epoch ms). */
      opensAt?: (dst: string, now: number) => number;
    }
  | { kind: 'tag'; class?: SenderClass; category?: number; label?: string }
  /** Refuses the message like reject and suspends the sender's registration (decision/behaviour-actions.ts). */
  | { kind: 'suspend'; status: number; reason: string };

/**
 * What a behaviour condition saw when its rule matched (explain, audit line, metrics). Shared
 * between messages that saw the same value: never changed once made.
 */
export interface RuleEvidence {
  readonly rule: string;
  readonly signal: string;
  readonly mode: 'enforce' | 'monitor';
  readonly text: string;
}

export interface RuleHit {
  rule: string;
  action: RuleAction;
  mode: 'enforce' | 'monitor';
}

export interface RuleOutcome {
  state: RuleState;
  /** What decided the final hit beyond its rule id: the fingerprint, mark or reputation entry and counts (null: nothing more to say). */
  evidence?: string | null;
  /** The enforce-mode forward/reject/queue that ended evaluation, if any. */
  final: RuleHit | null;
  /** Every rule that matched, in order (tags, monitor-mode would-be actions, the final one). */
  hits: RuleHit[];
  /** The behaviour conditions among the hits, with the profile values that tripped them. */
  behaviour?: RuleEvidence[];
}

export interface CompiledRuleSet {
  /** Content hash of every loaded file (shown in metrics and /readyz). */
  readonly version: string;
  readonly files: readonly string[];
  readonly ruleIds: readonly string[];
  rateNeeds(ctx: RuleContext, initial: RuleState): RateNeed[];
  evaluate(ctx: RuleContext, initial: RuleState, counters: ReadonlyMap<string, number>): RuleOutcome;
}
