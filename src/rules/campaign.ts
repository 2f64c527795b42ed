/**
 * Campaign and content-reputation conditions (issue 18), pure:
 *
 *   campaign: {senders_over, accounts_over, recipients_over, window, near}  — counters per
 *     fingerprint, shared by every instance: distinct sender numbers and distinct accounts seen
 *     with this fingerprint within the last `window` (sliding: a sorted set of when each was last
 *     seen, RateNeed kind `recent`), and messages (one per recipient) in fixed windows. They ride the message's one Redis round trip as rate counters do (RateNeed): one
 *     entity per LSH band (near: true, the default, so a variant that shares any band is counted
 *     with its original) or the exact masked fingerprint only (near: false: one entity, the cheapest).
 *     The value a rule reads is the highest over the entities; every limit given must be exceeded.
 *   campaign: {complained: true}  — the fingerprint (or, near, any of its bands) carries a live
 *     complained/rejected mark and no allowed one (IntelView, an in-process cache: no Redis call).
 *   content: {numbers_in: [sets], domains_in: [sets]}  — a callback number (numbers.ts) or a link
 *     domain (links.ts, every reading) of the text is in one of the named reputation sets.
 */
import type { RateNeed } from '../domain/store-facts.js';
import type { IntelMark } from '../domain/intel.js';
import type { Facts } from './facts.js';
import { FINGERPRINT_VERSION } from './fingerprint.js';
import { numberSuffixes } from './numbers.js';
import { RecentCache } from '../domain/recent.js';

export type CampaignKind = 'senders' | 'accounts' | 'recipients';

export interface CampaignRule {
  periodMs: number;
  near: boolean;
  limits: readonly { kind: CampaignKind; max: number }[];
}

const FIELD: Record<CampaignKind, string> = { senders: ':s:', accounts: ':a:', recipients: ':r:' };

/** The counter entity of a fingerprint key (a band key or the exact id): "camp:<version>:<key>". */
export function campaignEntity(key: string): string {
  return `camp:${FINGERPRINT_VERSION}:${key}`;
}

/** The entities one message's campaign counters live in. */
function keysOf(r: CampaignRule, f: Facts): readonly string[] {
  const fp = f.text.fingerprint;
  return r.near && fp.bands.length > 0 ? fp.bands : [fp.id];
}

/**
 * The counters of recent (fingerprint, sender, account) triples per rule: bulk traffic repeats one
 * campaign from one sender, and a dozen need objects and their key strings a message were a third
 * of the gateway's garbage-collection time in scenario (d). Read-only once made.
 */
const RECENT_NEEDS = 256;
interface RecentNeeds {
  readonly map: RecentCache<string, RateNeed[]>;
  /** The last triple asked and its needs: bulk traffic asks the same one message after message (no key built). */
  fp: string;
  src: string;
  account: string;
  needs: RateNeed[] | null;
}
const recentNeeds = new WeakMap<CampaignRule, RecentNeeds>();

/** One message's campaign counters for rule `r`: per entity, per limit. */
export function campaignNeeds(r: CampaignRule, f: Facts): RateNeed[] {
  let cache = recentNeeds.get(r);
  if (cache === undefined) recentNeeds.set(r, (cache = { map: new RecentCache(RECENT_NEEDS), fp: '', src: '', account: '', needs: null }));
  const fp = f.text.fingerprint.id;
  const src = f.ctx.src.value;
  const account = f.ctx.account;
  if (cache.needs !== null && cache.fp === fp && cache.src === src && cache.account === account) return cache.needs;
  const id = `${fp}\u0000${src}\u0000${account}`;
  let needs = cache.map.get(id);
  if (needs === undefined) {
    needs = buildNeeds(r, f);
    cache.map.set(id, needs);
  }
  cache.fp = fp;
  cache.src = src;
  cache.account = account;
  cache.needs = needs;
  return needs;
}

function buildNeeds(r: CampaignRule, f: Facts): RateNeed[] {
  const out: RateNeed[] = [];
  const sec = r.periodMs / 1000;
  for (const key of keysOf(r, f)) {
    const entity = campaignEntity(key);
    for (const l of r.limits) {
      const field = `${FIELD[l.kind]}${sec}`;
      const needKey = entity + field;
      if (l.kind === 'recipients') out.push({ key: needKey, periodMs: r.periodMs, kind: 'count', entity, field });
      // Distinct senders and accounts over a sliding window (exact; few members a campaign).
      else out.push({ key: needKey, periodMs: r.periodMs, kind: 'recent', member: l.kind === 'senders' ? f.ctx.src.value : f.ctx.account, entity, field });
    }
  }
  return out;
}

/**
 * Whether every limit is exceeded (the highest value over the entities), and what decided: the
 * entity and the counts, for explain and the audit line.
 */
export function campaignHolds(r: CampaignRule, needs: readonly RateNeed[], counters: Pick<ReadonlyMap<string, number>, 'get'>): { holds: boolean; evidence: string } {
  return { holds: campaignExceeds(r, needs, counters), evidence: campaignEvidence(r, needs, counters) };
}

/** Whether every limit is exceeded: campaignHolds()'s answer without the words (per message). */
export function campaignExceeds(r: CampaignRule, needs: readonly RateNeed[], counters: Pick<ReadonlyMap<string, number>, 'get'>): boolean {
  const n = r.limits.length;
  // In need order (the order the counters were listed and are looked up fastest), the best of each
  // limit kept in locals (one per kind, so three at most: compile-match.ts): no array per message.
  let b0 = 0;
  let b1 = 0;
  let b2 = 0;
  for (let k = 0; k < needs.length; k++) {
    const v = counters.get(needs[k]!.key) ?? 0;
    const li = k % n;
    if (li === 0) b0 = v > b0 ? v : b0;
    else if (li === 1) b1 = v > b1 ? v : b1;
    else b2 = v > b2 ? v : b2;
  }
  const l = r.limits;
  return b0 > l[0]!.max && (n < 2 || b1 > l[1]!.max) && (n < 3 || b2 > l[2]!.max);
}

/** What campaignHolds() says in words: the counts and the entity that had them. */
function campaignEvidence(r: CampaignRule, needs: readonly RateNeed[], counters: Pick<ReadonlyMap<string, number>, 'get'>): string {
  const n = r.limits.length;
  const parts: string[] = [];
  for (let li = 0; li < n; li++) {
    let best = 0;
    let at = '';
    for (let k = li; k < needs.length; k += n) {
      const v = counters.get(needs[k]!.key) ?? 0;
      if (v > best) {
        best = v;
        at = needs[k]!.entity!;
      }
    }
    const l = r.limits[li]!;
    parts.push(`${l.kind} ${best}${best > l.max ? ' > ' : ' ≤ '}${l.max}${at ? ` (${at.slice(at.lastIndexOf(':') + 1)})` : ''}`);
  }
  return `campaign ${parts.join(', ')} in ${r.periodMs / 1000}s`;
}

/** The live mark on this message's fingerprint (null: none, or no intel). */
export function markOf(f: Facts, near: boolean): IntelMark | null {
  const intel = f.ctx.intel;
  if (!intel) return null;
  const fp = f.text.fingerprint;
  return intel.markOf(fp.id, near ? fp.bands : [], f.ctx.now);
}

export function complainedCond(near: boolean, want: boolean): (f: Facts) => boolean {
  return (f) => {
    const m = markOf(f, near);
    const complained = m !== null && m.verdict !== 'allowed';
    return complained === want;
  };
}

export function describeMark(m: IntelMark): string {
  return `fingerprint ${m.key} ${m.verdict} (${m.count}×, ${m.source})`;
}

/** The first entry of sets `names` among the text's numbers (every suffix of 7+ digits) / domains and parents, as "set: entry". */
export function reputationHit(f: Facts, kind: 'number' | 'domain', names: readonly string[]): string | null {
  const intel = f.ctx.intel;
  if (!intel) return null;
  let values: string[];
  if (kind === 'number') {
    const nums = f.text.numbers;
    if (nums.length === 0) return null;
    values = [];
    for (const n of nums) for (const s of numberSuffixes(n)) values.push(s);
  } else {
    const doms = f.text.domainCandidates;
    if (doms.length === 0) return null;
    values = [];
    for (const d of doms) {
      let x = d;
      for (;;) {
        values.push(x);
        const dot = x.indexOf('.');
        if (dot < 0 || x.indexOf('.', dot + 1) < 0) break;
        x = x.slice(dot + 1);
      }
    }
  }
  for (const name of names) {
    const hit = intel.firstIn(kind, name, values, f.ctx.now);
    if (hit !== null) return `${name}: ${hit}`;
  }
  return null;
}
