/**
 * Sender behaviour profiles (issue 18): the shapes the rules (pure), the store (Redis) and the
 * receipt feed share — the signals, the profile's entity, and how a profile value travels back in
 * the one numeric slot a rate counter has in the hot path's reply.
 *
 * A profile belongs to a SENDER: the account and the source address as the policy normalised it
 * (one number may be used by two accounts; each has its own profile). Its keys all carry the hash
 * tag "{bhv:<account>:<sender>}", so on Redis Cluster a sender's profile lives in one slot.
 *
 * Packing: the hot path's reply carries one whole number per counter. The two signals that need a
 * pair (receipts: total and undeliverable; baseline: this hour's count and the baseline) pack it
 * in decimal as hi × 10^7 + lo (both below 10^7), which stays an exact integer through Lua's
 * "%.14g" number printing and a JavaScript number.
 */

/** The signals a `behaviour:` rule can test. */
export const BEHAVIOUR_SIGNALS = ['distinct_recipients', 'sequential_recipients', 'undeliverable_share', 'volume_over_baseline'] as const;
export type BehaviourSignal = (typeof BEHAVIOUR_SIGNALS)[number];

/** The profile entity (hash tag) of a sender: account and normalised source address. */
export function profileEntity(account: string, sender: string): string {
  return `bhv:${account}:${sender}`;
}

/** The field (key suffix after the entity) of the profile hash: hour counts, baseline slots, receipt ring state. */
export const PROFILE_FIELD = ':p';
/** The key suffix of the receipt ring (one bit per receipt: 1 = undeliverable). */
export const RING_FIELD = ':u';

const PACK = 10_000_000;

/** hi × 10^7 + lo, each clamped to [0, 10^7 − 1]. */
export function pack(hi: number, lo: number): number {
  const h = Math.min(PACK - 1, Math.max(0, Math.floor(hi)));
  const l = Math.min(PACK - 1, Math.max(0, Math.floor(lo)));
  return h * PACK + l;
}

export function unpack(v: number): { hi: number; lo: number } {
  return { hi: hiOf(v), lo: loOf(v) };
}

/** unpack()'s parts one at a time, without an object (the hot path's). */
export function hiOf(v: number): number {
  return Math.floor(v / PACK);
}
export function loOf(v: number): number {
  return v % PACK;
}

/** A receipts value: how many of the last receipts are known, and how many of them were undeliverable. */
export function receiptsOf(v: number): { total: number; undeliverable: number } {
  const { hi, lo } = unpack(v);
  return { total: hi, undeliverable: Math.min(lo, hi) };
}

/**
 * A baseline value: messages counted this hour, and the sender's EWMA for this hour of the day
 * (null: not enough history yet). On the wire lo = 0 means no baseline, else 1 + baseline × 10.
 */
export function baselineOf(v: number): { count: number; baseline: number | null } {
  const { hi, lo } = unpack(v);
  return { count: hi, baseline: lo === 0 ? null : (lo - 1) / 10 };
}

/** The wire form of a baseline value (tests and the case-file store). */
export function packBaseline(count: number, baseline: number | null): number {
  return pack(count, baseline === null ? 0 : 1 + Math.round(baseline * 10));
}

/** The wire form of a receipts value (tests and the case-file store). */
export function packReceipts(total: number, undeliverable: number): number {
  return pack(total, undeliverable);
}
