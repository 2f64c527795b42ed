/**
 * Traffic intelligence shapes every layer shares (issue 18): what feedback has said about a
 * campaign fingerprint (a mark), the reputation set kinds, and the read-only view the pure rules
 * ask on the hot path (answered from an in-process cache that pub/sub keeps current; no Redis
 * call per message).
 */

/** What a reviewer or a complaint said about a fingerprint: complained / rejected refuse, allowed clears. */
export const MARK_VERDICTS = ['complained', 'rejected', 'allowed'] as const;
export type MarkVerdict = (typeof MARK_VERDICTS)[number];

export interface IntelMark {
  /** The fingerprint id or LSH band key the mark is on. */
  key: string;
  verdict: MarkVerdict;
  /** Complaints (or reviews) that marked it. */
  count: number;
  /** Epoch ms after which it no longer counts. */
  expires: number;
  /** Where it came from: "complaint:<case id>", "review:<queue id>", … */
  source: string;
}

/** Reputation set kinds: callback numbers and link domains. */
export const REPUTATION_KINDS = ['number', 'domain'] as const;
export type ReputationKind = (typeof REPUTATION_KINDS)[number];

/** The reputation set entries learned from confirmed complaints and reviewer rejects go to. */
export const LEARNED_SET = 'complained';

/** What the rules ask about a message's fingerprint and its numbers and domains. */
export interface IntelView {
  /**
   * The mark that decides for this fingerprint: an `allowed` mark on its id or any of its bands
   * wins, else the complained/rejected mark with the most complaints; null when none is live.
   */
  markOf(id: string, bands: readonly string[], now: number): IntelMark | null;
  /** The first of `values` in reputation set `name` of `kind`, or null. */
  firstIn(kind: ReputationKind, name: string, values: readonly string[], now: number): string | null;
}

/** "https://www.Example.com/x" → "example.com"; null when it is not a domain (rule lists and reputation sets). */
export function normaliseDomainEntry(entry: string): string | null {
  let d = entry.trim().toLowerCase();
  d = d.replace(/^[a-z][a-z0-9+.-]*:\/\//, '');
  d = d.replace(/[/?#:].*$/, '');
  d = d.replace(/^\*\./, '').replace(/^www\./, '').replace(/\.$/, '');
  return /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z][a-z0-9-]*$/.test(d) ? d : null;
}

/** Numbers as reputation sets keep them: digits only, without a leading + or 00. */
export function normaliseNumber(s: string): string | null {
  let d = s.replace(/[^\d]/g, '');
  if (s.trim().startsWith('00') || d.startsWith('00')) d = d.replace(/^00/, '');
  return d.length >= 5 && d.length <= 15 ? d : null;
}

/** Most marks and reputation entries an index keeps (beyond: the soonest to expire go first). */
export const DEFAULT_INDEX_LIMIT = 1_000_000;

/**
 * Marks and reputation sets in memory: the IntelView the rules ask. The gateway keeps one filled
 * from Redis and current through pub/sub (store/intel-store.ts); rule tests fill one from their
 * fixtures. Lookups are Map/Set reads.
 */
export class IntelIndex implements IntelView {
  private readonly marks = new Map<string, IntelMark>();
  /** "<kind>:<name>" → entry → expiry (epoch ms; Infinity: none). */
  private readonly sets = new Map<string, Map<string, number>>();

  constructor(readonly limit = DEFAULT_INDEX_LIMIT) {}

  get markCount(): number {
    return this.marks.size;
  }

  setSize(kind: ReputationKind, name: string): number {
    return this.sets.get(`${kind}:${name}`)?.size ?? 0;
  }

  /** Sets names and sizes ("number:fraud-numbers" → 120). */
  setSizes(): Map<string, number> {
    return new Map([...this.sets].map(([k, v]) => [k, v.size]));
  }

  /** Adds or replaces a mark (an allowed mark replaces a complaint and the other way round). */
  putMark(m: IntelMark): void {
    if (this.marks.size >= this.limit && !this.marks.has(m.key)) this.marks.delete(this.marks.keys().next().value!);
    this.marks.set(m.key, m);
  }

  clearMarks(): void {
    this.marks.clear();
  }

  markOf(id: string, bands: readonly string[], now: number): IntelMark | null {
    // No marks (the usual day): nothing to look up, per message.
    if (this.marks.size === 0) return null;
    let best: IntelMark | null = null;
    const consider = (k: string): boolean => {
      const m = this.marks.get(k);
      if (m === undefined || m.expires <= now) return false;
      if (m.verdict === 'allowed') {
        best = m;
        return true;
      }
      if (best === null || m.count > best.count) best = m;
      return false;
    };
    if (consider(id)) return best;
    for (const b of bands) if (consider(b)) return best;
    return best;
  }

  /** Replaces a whole set's entries. */
  replaceSet(kind: ReputationKind, name: string, entries: Iterable<[string, number]>): void {
    const m = new Map<string, number>();
    for (const [e, exp] of entries) {
      if (m.size >= this.limit) break;
      m.set(e, exp);
    }
    this.sets.set(`${kind}:${name}`, m);
  }

  addEntry(kind: ReputationKind, name: string, entry: string, expires = Infinity): void {
    const key = `${kind}:${name}`;
    let m = this.sets.get(key);
    if (m === undefined) this.sets.set(key, (m = new Map()));
    if (m.size >= this.limit && !m.has(entry)) return;
    m.set(entry, expires);
  }

  firstIn(kind: ReputationKind, name: string, values: readonly string[], now: number): string | null {
    const m = this.sets.get(`${kind}:${name}`);
    if (m === undefined || m.size === 0) return null;
    for (const v of values) {
      const exp = m.get(v);
      if (exp !== undefined && exp > now) return v;
    }
    return null;
  }
}
