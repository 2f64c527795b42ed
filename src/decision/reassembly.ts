/**
 * Reassembly of concatenated messages, so content rules see the whole text and every part gets the
 * same decision.
 *
 * Parts are tied together by (account, source, destination, reference, total): the reference comes
 * from the UDH (IE 0x00 8-bit, IE 0x08 16-bit; esm_class UDHI 0x40) or the SAR TLVs (0x020C /
 * 0x020E / 0x020F), see partInfo() in concat.ts. Each part's submit() promise stays pending — the
 * ESME just waits for that part's submit_sm_resp — until every part has arrived; then `decide` runs
 * ONCE on the whole message and every part's promise resolves with the same value.
 *
 * Holding is bounded:
 *   - time: a message is decided on the parts present `timeoutMs` after its first part arrived
 *     (`incomplete: true`). Default 5 s: an asynchronous ESME sends the parts of a message back to
 *     back (milliseconds apart), while the hold adds to the latency the ESME sees on top of the
 *     SMSC's own answer (downstream.response_timeout_ms, 5 s by default). ESME response timers seen
 *     in practice range from 2 s (jSMPP examples) to 30–60 s (cloudhopper, Kannel); 5 s + 5 s stays
 *     well under the common ones. A synchronous ESME (window 1), or one whose window is smaller than
 *     the part count, cannot send the next part before it has the answer for this one: holding only
 *     delays it. For such accounts pass `holdMs: 0` (decide each first-seen part at once; the other
 *     parts then reuse that decision), or call flushGroup() when the session's window is full.
 *   - memory: at most `maxMessages` messages and `maxBytes` PDU bytes held; past a bound the oldest
 *     held message is decided early on what it has (never refused, never dropped).
 *   - a share per owner (the account, SubmitOptions.owner): at most `maxMessagesPerOwner` messages
 *     and `maxBytesPerOwner` bytes each; past its share an owner's own oldest message is decided
 *     early. When the overall bound is reached, the oldest message of the owner holding the most
 *     bytes goes, so one account flooding parts evicts its own, never another's.
 * One clock timer covers the earliest deadline (a min-heap of deadlines), not one timer per message.
 *
 * Decisions are remembered for `decidedTtlMs` (bounded by `maxDecided`), so a part arriving after
 * its message was decided (late, or an ESME retry) gets the same answer without a second decide.
 * A decide that throws or rejects rejects every waiting part and is not remembered; `remember(v)`
 * can exclude temporary outcomes too (e.g. store unavailable: the ESME's retry is decided afresh).
 *
 * Text: each part's user data (payload without the UDH's udhl+1 octets when UDHI is set;
 * message_payload wins over short_message), in seq order. Consecutive parts with the same
 * data_coding are concatenated as bytes and decoded together, so a UCS-2 surrogate pair or a GSM
 * escape split across parts decodes as one character. A missing part shows as U+FFFD, so text from
 * parts on either side of a gap never joins into a false keyword.
 */
import type { MessageView } from '../protocol/message-view.js';
import { messageText } from '../protocol/message-text.js';
import { systemClock, type Clock, type TimerHandle } from '../session/clock.js';
import type { PartInfo } from './concat.js';
import { ChurnMap } from '../domain/churn-map.js';

export interface Part {
  /** 1-based part number; a part outside 1..total still shares the decision but never completes it. */
  seq: number;
  total: number;
  view: MessageView;
}

export type SettleReason = 'complete' | 'timeout' | 'evicted' | 'flushed';

/** What `decide` sees: the message as far as it arrived. */
export interface Whole {
  /** Decoded text of the parts present, in seq order (U+FFFD where parts are missing). */
  text: string;
  /** One view per distinct seq, in seq order (the first copy of a duplicated part). */
  views: MessageView[];
  seqs: number[];
  total: number;
  /** True when not every part 1..total arrived (timeout, eviction or flush). */
  incomplete: boolean;
  reason: SettleReason;
}

export interface SubmitOptions {
  /**
   * How long this message may be held, from its first part (default: the reassembler's timeoutMs).
   * 0 decides at once on the parts present. A later part can shorten the deadline, never extend it.
   */
  holdMs?: number;
  /** A label (e.g. the account or session) that flushGroup() decides early. */
  group?: string;
  /** Whose share of the buffer the message counts against (the account); none: a share of its own. */
  owner?: string;
}

export interface SettledEvent {
  key: string;
  reason: SettleReason;
  parts: number;
  total: number;
  bytes: number;
  /** From the first part's arrival to the decision. */
  heldMs: number;
}

export interface ReassemblyOptions<V> {
  clock?: Clock;
  /** Longest hold of a message, from its first part. Default 5000. */
  timeoutMs?: number;
  /** Most messages held at once. Default 10 000. */
  maxMessages?: number;
  /** Most PDU bytes held at once. Default 16 MiB. */
  maxBytes?: number;
  /** Most messages one owner (account) may hold. Default: maxMessages. */
  maxMessagesPerOwner?: number;
  /** Most PDU bytes one owner (account) may hold. Default: maxBytes. */
  maxBytesPerOwner?: number;
  /** How long a decision is kept for late parts. Default 120 000 (policy.concat_ttl_s). */
  decidedTtlMs?: number;
  /** Most decisions kept. Default 100 000. */
  maxDecided?: number;
  /** Whether a decision is reused for late parts (default: always). */
  remember?: (value: V) => boolean;
  /** Called once per message when it is decided (metrics: outcome counter, hold-time histogram). */
  onSettled?: (e: SettledEvent) => void;
}

export interface ReassemblyStats {
  /** Messages decided with every part. */
  completed: number;
  /** Messages decided incomplete at their deadline. */
  timedOut: number;
  /** Messages decided early because a bound (messages or bytes) was reached. */
  evicted: number;
  /** Messages decided early by holdMs 0, flushGroup() or flushAll(). */
  flushed: number;
  /** Parts whose seq was already held (answered with the message's decision, not counted twice). */
  duplicates: number;
  /** Parts that arrived while or after their message was decided (answered with that decision). */
  late: number;
  /** Decisions that threw or rejected. */
  failed: number;
}

const DEFAULTS = {
  timeoutMs: 5_000,
  maxMessages: 10_000,
  maxBytes: 16 * 1024 * 1024,
  decidedTtlMs: 120_000,
  maxDecided: 100_000,
};

/** The key that ties a message's parts together (same layout as the gateway policy's part key). */
export function partKey(account: string, view: MessageView, info: PartInfo): string {
  return `${account}\u0001${view.sourceAddr}\u0001${view.destinationAddr}\u0001${info.ref}\u0001${info.total}`;
}

interface Held<V> {
  key: string;
  group: string | undefined;
  owner: Owner<V>;
  total: number;
  first: number;
  deadline: number;
  parts: Map<number, MessageView>;
  /** Distinct seqs within 1..total. */
  have: number;
  bytes: number;
  decide: (whole: Whole) => V | Promise<V>;
  promise: Promise<V>;
  resolve: (v: V | Promise<V>) => void;
}

/** One owner's share: its held messages, oldest first, and their bytes. */
interface Owner<V> {
  name: string;
  held: ChurnMap<string, Held<V>>;
  bytes: number;
}

interface Deadline<V> {
  at: number;
  held: Held<V>;
}

export class Reassembler<V> {
  readonly stats: ReassemblyStats = { completed: 0, timedOut: 0, evicted: 0, flushed: 0, duplicates: 0, late: 0, failed: 0 };

  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly maxMessages: number;
  private readonly maxBytes: number;
  private readonly maxMessagesPerOwner: number;
  private readonly maxBytesPerOwner: number;
  private readonly decidedTtlMs: number;
  private readonly maxDecided: number;
  private readonly remember: (value: V) => boolean;
  private readonly onSettled: ((e: SettledEvent) => void) | undefined;

  /** Held messages, oldest first (Map insertion order). */
  private readonly held = new ChurnMap<string, Held<V>>();
  private bytes = 0;
  /** Owners with messages held (an owner is dropped when its last message is decided). */
  private readonly owners = new ChurnMap<string, Owner<V>>();
  private readonly deciding = new ChurnMap<string, Promise<V>>();
  private readonly decided = new Map<string, { value: V; expires: number }>();
  /** Min-heap of deadlines; entries of messages decided early or re-dated are skipped lazily. */
  private heap: Deadline<V>[] = [];
  private timer: TimerHandle | null = null;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(opts: ReassemblyOptions<V> = {}) {
    this.clock = opts.clock ?? systemClock;
    this.timeoutMs = opts.timeoutMs ?? DEFAULTS.timeoutMs;
    this.maxMessages = Math.max(1, opts.maxMessages ?? DEFAULTS.maxMessages);
    this.maxBytes = opts.maxBytes ?? DEFAULTS.maxBytes;
    this.maxMessagesPerOwner = Math.max(1, opts.maxMessagesPerOwner ?? this.maxMessages);
    this.maxBytesPerOwner = opts.maxBytesPerOwner ?? this.maxBytes;
    this.decidedTtlMs = opts.decidedTtlMs ?? DEFAULTS.decidedTtlMs;
    this.maxDecided = Math.max(1, opts.maxDecided ?? DEFAULTS.maxDecided);
    this.remember = opts.remember ?? (() => true);
    this.onSettled = opts.onSettled;
  }

  /** Messages currently held. */
  get heldMessages(): number {
    return this.held.size;
  }

  /** PDU bytes currently held (each distinct part once). */
  get heldBytes(): number {
    return this.bytes;
  }

  /** Decisions remembered for late parts. */
  get decidedKeys(): number {
    return this.decided.size;
  }

  /**
   * Holds this part until its message is whole (or its deadline or a bound is reached), then
   * resolves with the decision shared by every part. `decide` runs once per message; the first
   * part's callback is the one used.
   */
  submit(key: string, part: Part, decide: (whole: Whole) => V | Promise<V>, opts: SubmitOptions = {}): Promise<V> {
    const now = this.clock.now();
    const known = this.lookup(key, now);
    if (known) {
      this.stats.late++;
      return known;
    }
    const hold = opts.holdMs ?? this.timeoutMs;
    let h = this.held.get(key);
    if (h) {
      if (h.parts.has(part.seq)) {
        this.stats.duplicates++;
        return h.promise;
      }
    } else {
      let resolve!: (v: V | Promise<V>) => void;
      const promise = new Promise<V>((r) => (resolve = r));
      const name = opts.owner ?? '';
      let owner = this.owners.get(name);
      if (!owner) {
        owner = { name, held: new ChurnMap(), bytes: 0 };
        this.owners.set(name, owner);
      }
      h = {
        key,
        group: opts.group,
        owner,
        total: part.total,
        first: now,
        deadline: Number.POSITIVE_INFINITY,
        parts: new Map(),
        have: 0,
        bytes: 0,
        decide,
        promise,
        resolve,
      };
      this.held.set(key, h);
      owner.held.set(key, h);
    }
    h.parts.set(part.seq, part.view);
    if (part.seq >= 1 && part.seq <= h.total) h.have++;
    h.bytes += part.view.pdu.length;
    h.owner.bytes += part.view.pdu.length;
    this.bytes += part.view.pdu.length;
    const owner = h.owner;
    const promise = h.promise;

    if (h.have >= h.total) this.settle(h, 'complete');
    else if (hold <= 0) this.settle(h, 'flushed');
    else if (now + hold < h.deadline) {
      h.deadline = now + hold;
      this.push({ at: h.deadline, held: h });
    }
    this.enforceBounds(owner);
    this.arm();
    return promise;
  }

  /** Decides now every message held under `group` (e.g. when that session's window is full). */
  flushGroup(group: string): number {
    let n = 0;
    for (const h of [...this.held.values()]) {
      if (h.group === group) {
        this.settle(h, 'flushed');
        n++;
      }
    }
    this.arm();
    return n;
  }

  /** Decides now every held message (shutdown). */
  flushAll(): number {
    let n = 0;
    for (const h of [...this.held.values()]) {
      this.settle(h, 'flushed');
      n++;
    }
    this.arm();
    return n;
  }

  /** Decides what is held and stops the timer. */
  close(): void {
    this.flushAll();
    this.timer?.cancel();
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private lookup(key: string, now: number): Promise<V> | undefined {
    const pending = this.deciding.get(key);
    if (pending) return pending;
    const d = this.decided.get(key);
    if (!d) return undefined;
    if (d.expires <= now) {
      this.decided.delete(key);
      return undefined;
    }
    return Promise.resolve(d.value);
  }

  private keep(key: string, value: V): void {
    const now = this.clock.now();
    this.decided.delete(key);
    // Same TTL for all, so insertion order is expiry order: drop expired ones, then the oldest.
    for (const [k, e] of this.decided) {
      if (e.expires <= now || this.decided.size >= this.maxDecided) this.decided.delete(k);
      else break;
    }
    this.decided.set(key, { value, expires: now + this.decidedTtlMs });
  }

  private settle(h: Held<V>, reason: SettleReason): void {
    this.held.delete(h.key);
    this.bytes -= h.bytes;
    h.owner.held.delete(h.key);
    h.owner.bytes -= h.bytes;
    if (h.owner.held.size === 0) this.owners.delete(h.owner.name);
    if (reason === 'complete') this.stats.completed++;
    else if (reason === 'timeout') this.stats.timedOut++;
    else if (reason === 'evicted') this.stats.evicted++;
    else this.stats.flushed++;

    const seqs = [...h.parts.keys()].sort((a, b) => a - b);
    const views = seqs.map((s) => h.parts.get(s)!);
    const whole: Whole = {
      text: messageText(views, seqs),
      views,
      seqs,
      total: h.total,
      incomplete: h.have < h.total,
      reason,
    };
    this.onSettled?.({ key: h.key, reason, parts: seqs.length, total: h.total, bytes: h.bytes, heldMs: this.clock.now() - h.first });

    let p: Promise<V>;
    try {
      p = Promise.resolve(h.decide(whole));
    } catch (e) {
      p = Promise.reject(e);
    }
    const key = h.key;
    this.deciding.set(key, p);
    p.then(
      (v) => {
        if (this.deciding.get(key) !== p) return;
        this.deciding.delete(key);
        if (this.remember(v)) this.keep(key, v);
      },
      () => {
        this.stats.failed++;
        if (this.deciding.get(key) === p) this.deciding.delete(key);
      },
    );
    h.resolve(p);
  }

  private enforceBounds(owner: Owner<V>): void {
    // The owner's own share first: past it, its own oldest message goes.
    while (owner.held.size > this.maxMessagesPerOwner || (owner.bytes > this.maxBytesPerOwner && owner.held.size > 0)) {
      this.settle(owner.held.values().next().value as Held<V>, 'evicted');
    }
    // Then the overall bound: the oldest message of whoever holds the most (messages or bytes, the bound reached).
    while (this.held.size > this.maxMessages || (this.bytes > this.maxBytes && this.held.size > 0)) {
      const size = this.held.size > this.maxMessages ? (o: Owner<V>) => o.held.size : (o: Owner<V>) => o.bytes;
      let biggest: Owner<V> | null = null;
      for (const o of this.owners.values()) if (!biggest || size(o) > size(biggest)) biggest = o;
      this.settle(biggest!.held.values().next().value as Held<V>, 'evicted');
    }
  }

  // ---- one timer for the earliest deadline ---------------------------------------------------------

  private live(d: Deadline<V>): boolean {
    return this.held.get(d.held.key) === d.held && d.held.deadline === d.at;
  }

  private arm(): void {
    while (this.heap.length > 0 && !this.live(this.heap[0]!)) this.pop();
    // Entries of messages decided early wait in the heap until they surface; keep it from growing.
    if (this.heap.length > 2 * this.held.size + 1024) {
      this.heap = this.heap.filter((d) => this.live(d));
      for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
    }
    const next = this.heap[0];
    if (!next) {
      this.timer?.cancel();
      this.timer = null;
      this.timerAt = Number.POSITIVE_INFINITY;
      return;
    }
    if (this.timer && this.timerAt === next.at) return;
    this.timer?.cancel();
    this.timerAt = next.at;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, next.at - this.clock.now()));
  }

  private fire(): void {
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      if (!this.live(top)) {
        this.pop();
        continue;
      }
      if (top.at > now) break;
      this.pop();
      this.settle(top.held, 'timeout');
    }
    this.arm();
  }

  private push(d: Deadline<V>): void {
    const a = this.heap;
    a.push(d);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]!.at <= a[i]!.at) break;
      [a[parent], a[i]] = [a[i]!, a[parent]!];
      i = parent;
    }
  }

  private pop(): void {
    const a = this.heap;
    const last = a.pop()!;
    if (a.length === 0) return;
    a[0] = last;
    this.down(0);
  }

  private down(i: number): void {
    const a = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && a[l]!.at < a[m]!.at) m = l;
      if (r < a.length && a[r]!.at < a[m]!.at) m = r;
      if (m === i) return;
      [a[m], a[i]] = [a[i]!, a[m]!];
      i = m;
    }
  }
}
