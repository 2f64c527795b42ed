/**
 * The request window: sequence number → pending entry, capped in size, with one timer for the
 * earliest deadline rather than one per request (SMPPEX pdu_storage.ex). Every entry has the same
 * timeout, so insertion order is deadline order and a sweep stops at the first live entry.
 * Late responses (no entry) are the caller's to count; close() fails everything still pending.
 *
 * Written by hand rather than on a Map, for the garbage collector (issue 23): a Map under constant
 * add/delete rebuilds its hash table every few hundred operations, and each table it leaves keeps a
 * pointer to its successor. Once one of them has been promoted to the old generation, the scavenger
 * takes that pointer as a root and keeps the next table, and every request in it, alive and promotes
 * it in turn: at 20,000 msg/s ~600 bytes a message went to the old generation and every scavenge
 * took ~13 ms instead of ~1 ms. Here the storage is allocated once: entries sit in a ring indexed by
 * the sequence's low bits (the sequences are the caller's own, counting up, so live entries rarely
 * share a slot; one that would is refused like a duplicate), and a second ring keeps insertion order.
 */
import type { Clock, TimerHandle } from './clock.js';

const EMPTY = -1;

export class Window<T> {
  private readonly mask: number;
  /** By slot (sequence & mask): the sequence held there (EMPTY: none), its value and deadline. */
  private readonly seqs: Float64Array;
  private readonly values: (T | undefined)[];
  private readonly deadlines: Float64Array;
  /** By slot: which add put the entry there (a sequence added again after a take is a new entry). */
  private readonly stamps: Float64Array;
  private adds = 0;
  /**
   * Sequences in insertion order and their adds' stamps, from `head` for `queued` entries (rings
   * that grow when full). Entries taken since stay until they reach the front; the front is live.
   */
  private order: Float64Array;
  private orderStamps: Float64Array;
  private head = 0;
  private queued = 0;
  private count = 0;
  private timer: TimerHandle | null = null;

  constructor(
    readonly capacity: number,
    private readonly timeoutMs: number,
    private readonly clock: Clock,
    private readonly onTimeout: (sequence: number, value: T) => void,
  ) {
    // Twice the capacity, a power of two: at most 131,072 slots (config caps a window at 65,536).
    let slots = 16;
    while (slots < capacity * 2 && slots < 131_072) slots *= 2;
    this.mask = slots - 1;
    this.seqs = new Float64Array(slots).fill(EMPTY);
    this.values = new Array<T | undefined>(slots).fill(undefined);
    this.deadlines = new Float64Array(slots);
    this.stamps = new Float64Array(slots);
    this.order = new Float64Array(slots);
    this.orderStamps = new Float64Array(slots);
  }

  get size(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  /** Adds a pending request; false when the window is full or the sequence's slot is taken (a duplicate). */
  add(sequence: number, value: T): boolean {
    const i = sequence & this.mask;
    if (this.count >= this.capacity || this.seqs[i] !== EMPTY) return false;
    this.seqs[i] = sequence;
    this.values[i] = value;
    this.deadlines[i] = this.clock.now() + this.timeoutMs;
    this.stamps[i] = ++this.adds;
    this.count++;
    if (this.queued === this.order.length) this.growOrder();
    const tail = (this.head + this.queued) % this.order.length;
    this.order[tail] = sequence;
    this.orderStamps[tail] = this.adds;
    this.queued++;
    if (!this.timer) this.arm();
    return true;
  }

  /** Removes and returns the entry a response answers, or undefined for a late/unknown response. */
  take(sequence: number): T | undefined {
    const i = sequence & this.mask;
    if (this.seqs[i] !== sequence) return undefined;
    const value = this.values[i];
    this.clear(i);
    this.dropTaken();
    return value;
  }

  /** Removes every pending entry, handing each to `fn` (link closed: fail them all). */
  drain(fn: (sequence: number, value: T) => void): void {
    const all: [number, T][] = [];
    for (let k = 0; k < this.queued; k++) {
      const at = (this.head + k) % this.order.length;
      const seq = this.order[at]!;
      const i = seq & this.mask;
      if (!this.live(i, seq, at)) continue;
      all.push([seq, this.values[i] as T]);
      this.clear(i);
    }
    this.head = this.queued = 0;
    this.timer?.cancel();
    this.timer = null;
    for (const [seq, value] of all) fn(seq, value);
  }

  private clear(i: number): void {
    this.seqs[i] = EMPTY;
    this.values[i] = undefined;
    this.count--;
  }

  /** Whether the entry at `at` in the insertion order is still pending (in slot `i`). */
  private live(i: number, seq: number, at: number): boolean {
    return this.seqs[i] === seq && this.stamps[i] === this.orderStamps[at];
  }

  /** Moves the front of the insertion order past entries already taken. */
  private dropTaken(): void {
    while (this.queued > 0) {
      const seq = this.order[this.head]!;
      if (this.live(seq & this.mask, seq, this.head)) return;
      this.head = (this.head + 1) % this.order.length;
      this.queued--;
    }
  }

  private growOrder(): void {
    const n = this.order.length;
    const order = new Float64Array(n * 2);
    const stamps = new Float64Array(n * 2);
    for (let k = 0; k < this.queued; k++) {
      order[k] = this.order[(this.head + k) % n]!;
      stamps[k] = this.orderStamps[(this.head + k) % n]!;
    }
    this.order = order;
    this.orderStamps = stamps;
    this.head = 0;
  }

  private arm(): void {
    if (this.queued === 0) return;
    const first = this.deadlines[this.order[this.head]! & this.mask]!;
    this.timer = this.clock.setTimeout(() => this.sweep(), Math.max(0, first - this.clock.now()) + 1);
  }

  private sweep(): void {
    this.timer = null;
    const now = this.clock.now();
    while (this.queued > 0) {
      const seq = this.order[this.head]!;
      const i = seq & this.mask;
      if (this.deadlines[i]! > now) break;
      const value = this.values[i] as T;
      this.clear(i);
      this.head = (this.head + 1) % this.order.length;
      this.queued--;
      this.dropTaken();
      this.onTimeout(seq, value);
    }
    if (this.queued > 0 && !this.timer) this.arm();
  }
}
