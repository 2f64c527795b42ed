/**
 * The labelled store: decoded message texts with a label that people gave them, for the next
 * training of a content-score model (docs/model.md). Reviewers' decisions (approve → ham, reject →
 * spam; queue/message-queue.ts) and handled complaints (spam; complaints/desk.ts) append here;
 * `smppguard model export-labels` reads it back as TSV or JSON lines.
 *
 * Layout: one Redis stream `<p>labels`, one entry per label with fields label, text, source
 * (review | complaint), ref (queue message id or case id), account. Bounded twice: entries older
 * than labels.retention_days are trimmed (XTRIM MINID, exactly) and the stream is capped at about
 * labels.max_entries (MAXLEN ~); a text is cut at MAX_TEXT characters. Appends are off the
 * message path (an operator's action), one XADD each; a failure is counted and logged, never
 * thrown at the reviewer.
 */
import type { Redis } from 'ioredis';

export type LabelSource = 'review' | 'complaint';
export type LabelValue = 'ham' | 'spam';

export interface LabelEntry {
  id: string;
  /** Epoch ms (the stream id's time). */
  time: number;
  label: LabelValue;
  text: string;
  source: LabelSource;
  ref: string;
  account: string;
}

export interface LabelStoreOptions {
  retentionMs: number;
  maxEntries: number;
}

/** Longest text kept (characters); a longer one is cut (concatenated messages stay whole up to it). */
export const MAX_TEXT = 4000;

export class LabelStore {
  readonly key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly o: LabelStoreOptions,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {
    this.key = `${prefix}labels`;
  }

  /** Appends one label; resolves false (and reports the error) when Redis failed. */
  async add(label: LabelValue, text: string, source: LabelSource, ref: string, account: string | null, now = Date.now()): Promise<boolean> {
    if (text.trim() === '') return false;
    const minId = Math.max(0, now - this.o.retentionMs);
    try {
      await this.redis.xadd(
        this.key,
        'MAXLEN',
        '~',
        String(this.o.maxEntries),
        '*',
        'label',
        label,
        'text',
        text.length > MAX_TEXT ? text.slice(0, MAX_TEXT) : text,
        'source',
        source,
        'ref',
        ref,
        'account',
        account ?? '',
      );
      // MINID and MAXLEN cannot be given together in one XADD: the age bound is its own, exact trim
      // (labels come at the pace of people, so trimming exactly costs nothing).
      await this.redis.xtrim(this.key, 'MINID', String(minId));
      return true;
    } catch (err) {
      this.onError(err);
      return false;
    }
  }

  /** Labels from `since` (epoch ms) on, oldest first, in pages (nothing held beyond a page). */
  async *read(since = 0, page = 1000): AsyncGenerator<LabelEntry> {
    let start = since > 0 ? String(since) : '-';
    for (;;) {
      const rows = (await this.redis.xrange(this.key, start, '+', 'COUNT', page)) as [string, string[]][];
      for (const [id, fields] of rows) {
        const f: Record<string, string> = {};
        for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
        if (f.label !== 'ham' && f.label !== 'spam') continue;
        yield {
          id,
          time: Number(id.split('-')[0]),
          label: f.label,
          text: f.text ?? '',
          source: f.source === 'complaint' ? 'complaint' : 'review',
          ref: f.ref ?? '',
          account: f.account ?? '',
        };
      }
      if (rows.length < page) return;
      start = `(${rows[rows.length - 1]![0]}`;
    }
  }

  /** Entries in the stream now. */
  count(): Promise<number> {
    return this.redis.xlen(this.key);
  }
}
