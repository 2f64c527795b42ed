/**
 * The feedback loop (issue 18): what a complaint or a reviewer says about a message becomes marks
 * on its campaign fingerprint and entries in the learned reputation set, in Redis and — through
 * pub/sub — in every instance's IntelIndex, so that near-duplicates from any sender or account are
 * matched by `campaign: {complained: true}` and `content: {numbers_in/domains_in: complained}`
 * within a second.
 *
 *   complaint (complaints/desk.ts, after intake)  naming a message id → the complainant's decision
 *     records (archive and buffer, as evidence reads them) give the message's fingerprint: the
 *     decision's msg_id is the gateway's id, an `smsc_id` record joins the SMSC's id to it; the
 *     memory's text for that fingerprint (store/intel-store.ts) gives its numbers and links.
 *     Carrying the text → fingerprinted here. Marks `complained`, learns its callback numbers and
 *     link domains.
 *   review reject (queue)  marks `rejected`, learns its numbers and domains;
 *   review approve         marks `allowed` (wins over complaints on the same fingerprint/bands).
 */
import { LEARNED_SET, type MarkVerdict } from '../domain/intel.js';
import { fingerprintOf } from '../rules/fingerprint.js';
import { deobfuscateLinks } from '../rules/links.js';
import { extractDomains } from '../rules/lists.js';
import { foldChars, lightOf } from '../rules/normalise.js';
import { extractNumbers } from '../rules/numbers.js';
import { messageIdCandidates, normaliseMessageId } from '../protocol/receipt.js';
import type { DecisionRecord } from '../store/audit-stream.js';
import type { IntelStore } from '../store/intel-store.js';

/** Where a recipient's decision records are read (archive/reader.ts: the archive and the buffer). */
export interface DecisionRecords {
  decisionsFor(msisdn: string, q: { from?: number; limit?: number; match?: (d: DecisionRecord) => boolean }): Promise<{ decisions: DecisionRecord[] }>;
}

export interface FeedbackOptions {
  /** How long a mark and a learned entry count, in ms. */
  markTtlMs: number;
  /** Learn callback numbers and link domains from complaints and rejects. */
  learn: boolean;
  /** The decision records a complaint's message id is looked up in; null: by text only. */
  decisions?: DecisionRecords | null;
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

  /** A complaint case: by its message id (the decision records and the memory), else its text. */
  async complaint(c: { id: string; recipient: string; message_id: string | null; text: string | null }): Promise<FeedbackResult> {
    let folded: string | null = null;
    let keys: string[] | null = null;
    let from: FeedbackResult['from'] = 'none';
    const fp = c.message_id ? await this.fingerprintOf(c.recipient, c.message_id) : null;
    if (fp !== null) {
      const m = await this.store.textOf(fp);
      from = 'memory';
      keys = m ? [fp, ...m.bands] : [fp];
      // Without the text (expired, or not kept), the fingerprint alone is marked; the complaint's own text gives numbers and links.
      folded = m ? m.text : c.text ? foldChars(c.text) : '';
    }
    if (folded === null && c.text) {
      folded = foldChars(c.text);
      from = 'text';
    }
    if (folded === null) return NOTHING;
    return this.apply(folded, keys, fp, 'complained', `complaint:${c.id}`, from);
  }

  /**
   * The fingerprint of the message `messageId` (the SMSC's id or the gateway's, in any usual
   * spelling) sent to `recipient` within the memory's retention; null when not found.
   */
  private async fingerprintOf(recipient: string, messageId: string): Promise<string | null> {
    const source = this.opts.decisions;
    if (!source || this.store.memoryTtlS <= 0) return null;
    const ids = new Set(messageIdCandidates(messageId));
    const named = (id: string | null) => id !== null && id !== '' && ids.has(normaliseMessageId(id));
    const r = await source.decisionsFor(recipient, {
      from: this.now() - this.store.memoryTtlS * 1000,
      limit: 100_000,
      // The message's smsc_id record (by the SMSC's id), and every fingerprinted decision (the join is below).
      match: (d) => d.fingerprint !== null || named(d.smscId),
    });
    for (const d of r.decisions) if (named(d.smscId) && d.msgId !== '') ids.add(normaliseMessageId(d.msgId));
    for (let i = r.decisions.length - 1; i >= 0; i--) {
      const d = r.decisions[i]!;
      if (d.fingerprint !== null && named(d.msgId)) return d.fingerprint;
    }
    return null;
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
