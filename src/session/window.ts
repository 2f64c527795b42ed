/**
 * The request window: sequence number → pending entry, capped in size, with one timer for the
 * earliest deadline rather than one per request (SMPPEX pdu_storage.ex). Every entry has the same
 * timeout, so insertion order is deadline order and a sweep stops at the first live entry.
 * Late responses (no entry) are the caller's to count; close() fails everything still pending.
 */
import type { Clock, TimerHandle } from './clock.js';

interface Slot<T> {
  value: T;
  deadline: number;
}

export class Window<T> {
  private readonly pending = new Map<number, Slot<T>>();
  private timer: TimerHandle | null = null;

  constructor(
    readonly capacity: number,
    private readonly timeoutMs: number,
    private readonly clock: Clock,
    private readonly onTimeout: (sequence: number, value: T) => void,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  get full(): boolean {
    return this.pending.size >= this.capacity;
  }

  /** Adds a pending request; false when the window is full or the sequence is already pending. */
  add(sequence: number, value: T): boolean {
    if (this.pending.size >= this.capacity || this.pending.has(sequence)) return false;
    this.pending.set(sequence, { value, deadline: this.clock.now() + this.timeoutMs });
    if (!this.timer) this.arm();
    return true;
  }

  /** Removes and returns the entry a response answers, or undefined for a late/unknown response. */
  take(sequence: number): T | undefined {
    const slot = this.pending.get(sequence);
    if (!slot) return undefined;
    this.pending.delete(sequence);
    return slot.value;
  }

  /** Removes every pending entry, handing each to `fn` (link closed: fail them all). */
  drain(fn: (sequence: number, value: T) => void): void {
    const all = [...this.pending];
    this.pending.clear();
    this.timer?.cancel();
    this.timer = null;
    for (const [seq, slot] of all) fn(seq, slot.value);
  }

  private arm(): void {
    const first = this.pending.values().next();
    if (first.done) return;
    const delay = Math.max(0, first.value.deadline - this.clock.now());
    this.timer = this.clock.setTimeout(() => this.sweep(), delay + 1);
  }

  private sweep(): void {
    this.timer = null;
    const now = this.clock.now();
    for (const [seq, slot] of this.pending) {
      if (slot.deadline > now) break;
      this.pending.delete(seq);
      this.onTimeout(seq, slot.value);
    }
    if (this.pending.size > 0 && !this.timer) this.arm();
  }
}
