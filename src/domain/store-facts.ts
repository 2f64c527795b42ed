/**
 * What a decision asks the store and what it gets back: the consent/DND query and facts, and the
 * rate counters a rule needs. Declared here so that the pure layers (policy/, rules/) and store/
 * (which answers them) share the shapes without importing each other.
 */
/** What the store must be asked for a commercial message. */
export interface StoreQuery {
  msisdn: string;
  /** Consent scopes, most specific first: sender:…, brand:…, account:… */
  scopes: string[];
  category: number | null;
}

export interface StoreFacts {
  dnd: boolean;
  dndCategory: boolean;
  /** Stored consent value per scope, in StoreQuery.scopes order. */
  consent: (string | null)[];
}

/** Members a `recent` counter keeps at most (the oldest go first): its value never reads above this (rate-counters.lua SG_RECENT_CAP). */
export const RECENT_CAP = 1000;

/** A counter a rate rule needs: incremented once per message, compared with the rule's max. */
export interface RateNeed {
  /**
   * The counter's name, e.g. "rate:recipient:8613800138000:86400": what its value is looked up by,
   * and (without `entity`) what the store derives the entity and field from (store/rates.ts).
   */
  key: string;
  periodMs: number;
  /**
   * count: messages in the window; distinct: distinct `member`s in the window (HyperLogLog);
   * recent: distinct `member`s seen within the last periodMs, a sliding window (exact, a sorted set
   * of at most RECENT_CAP members: campaign senders and accounts).
   * Sender behaviour profiles (domain/behaviour.ts, store/lua/behaviour.lua): sequence: the
   * longest run of near-consecutive recipients in the window (`member` the recipient); baseline:
   * this hour's count and the sender's baseline for the hour, packed; receipts: the last receipts'
   * total and undeliverable count, packed (read only).
   */
  kind: 'count' | 'distinct' | 'recent' | 'sequence' | 'baseline' | 'receipts';
  member?: string;
  /**
   * Set by the rule engine, which has them at hand: the counter's entity (its hash tag, e.g.
   * "rate:recipient:8613800138000") and its field within it (":86400"), with key === entity + field.
   */
  entity?: string;
  field?: string;
  /**
   * A statistic about a sender, not a cap (a behaviour rule's distinct recipients): the intelligence
   * tally may count it in process and share it once a second (store/intel-tally.ts). Rate rules'
   * counters never carry it: a cap stays exact in the round trip.
   */
  statistic?: true;
}
