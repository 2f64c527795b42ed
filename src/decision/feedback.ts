/**
 * The feedback loop (issue 18): what a complaint or a reviewer says about a message becomes marks
 * on its campaign fingerprint and entries in the learned reputation set, in Redis and — through
 * pub/sub — in every instance's IntelIndex, so that near-duplicates from any sender or account are
 * matched by `campaign: {complained: true}` and `content: {numbers_in/domains_in: complained}`
 * within a second.
 *
 *   complaint (complaints/desk.ts, after intake)  naming a message id → the per-message memory's
 *     fingerprint and text; carrying the text → fingerprinted here. Marks `complained`, learns its
 *     callback numbers and link domains.
 *   review reject (queue)  marks `rejected`, learns its numbers and domains;
 *   review approve         marks `allowed` (wins over complaints on the same fingerprint/bands).
 */
import { LEARNED_SET, type MarkVerdict } from '../domain/intel.js';
import { fingerprintOf } from '../rules/fingerprint.js';
import { deobfuscateLinks } from '../rules/links.js';
import { extractDomains } from '../rules/lists.js';
import { foldChars, lightOf } from '../rules/normalise.js';
import { extractNumbers } from '../rules/numbers.js';
import type { IntelStore } from '../store/intel-store.js';

export interface FeedbackOptions {
  /** How long a mark and a learned entry count, in ms. */
  markTtlMs: number;
  /** Learn callback numbers and link domains from complaints and rejects. */
  learn: boolean;
  now?: () => number;
}

/** What one piece of feedback did. */
export interface FeedbackResult {
  /** The fingerprint marked (null: nothing to mark: no text, and the id is not remembered). */
  fingerprint: string | null;
  keys: number;
  numbers: string[];
  domains: string[];
  /** Where the text came from. */
  from: 'memory' | 'text' | 'none';
}

const NOTHING: FeedbackResult = { fingerprint: null, keys: 0, numbers: [], domains: [], from: 'none' };

export class Feedback {
  private readonly now: () => number;

  constructor(
    readonly store: IntelStore,
    readonly opts: FeedbackOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** A complaint case: by its message id (the memory), else its text. */
  async complaint(c: { id: string; message_id: string | null; text: string | null }): Promise<FeedbackResult> {
    let folded: string | null = null;
    let keys: string[] | null = null;
    let fp: string | null = null;
    let from: FeedbackResult['from'] = 'none';
    if (c.message_id) {
      const m = await this.store.recall(c.message_id);
      if (m) {
        folded = m.text;
        fp = m.fingerprint;
        keys = [m.fingerprint, ...m.bands];
        from = 'memory';
      }
    }
    if (folded === null && c.text) {
      folded = foldChars(c.text);
      from = 'text';
    }
    if (folded === null) return NOTHING;
    return this.apply(folded, keys, fp, 'complained', `complaint:${c.id}`, from);
  }

  /** A reviewer's decision on a held message's text. */
  async review(queueId: string, text: string, decision: 'approve' | 'reject'): Promise<FeedbackResult> {
    return this.apply(foldChars(text), null, null, decision === 'approve' ? 'allowed' : 'rejected', `review:${queueId}`, 'text');
  }

  private async apply(folded: string, keys: string[] | null, fp: string | null, verdict: MarkVerdict, source: string, from: FeedbackResult['from']): Promise<FeedbackResult> {
    if (keys === null) {
      const f = fingerprintOf(folded);
      fp = f.id;
      keys = [f.id, ...f.bands];
    }
    const expires = this.now() + this.opts.markTtlMs;
    await this.store.mark(keys, verdict, expires, source);
    let numbers: string[] = [];
    let domains: string[] = [];
    if (verdict !== 'allowed' && this.opts.learn) {
      numbers = [...new Set(extractNumbers(folded))];
      domains = [...new Set(extractDomains(deobfuscateLinks(lightOf(folded))))];
      await this.store.learn('number', LEARNED_SET, numbers, expires);
      await this.store.learn('domain', LEARNED_SET, domains, expires);
    }
    return { fingerprint: fp, keys: keys.length, numbers, domains, from };
  }
}
