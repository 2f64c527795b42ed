/**
 * TimedQueue: the simulator's one kind of deferred work (slow responses, delivery receipts).
 * Items go in with a due time and come out in insertion order once due, drained by one periodic
 * timer instead of a timer per message. Insertion order is due order while the delay is constant;
 * after a delay change, an item waits at most for the items queued before it.
 */
export class TimedQueue<T> {
  private items: (T | undefined)[] = [];
  private dues: number[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(due: number, item: T): void {
    this.items.push(item);
    this.dues.push(due);
  }

  /**
   * Hands due items to `take` in order, at most `max` of them. `take` returns false when it
   * cannot take the item now (it stays at the head for the next drain).
   */
  drain(now: number, take: (item: T) => boolean, max = Infinity): number {
    let n = 0;
    while (this.head < this.items.length && n < max && this.dues[this.head]! <= now) {
      if (!take(this.items[this.head]!)) break;
      this.items[this.head] = undefined;
      this.head++;
      n++;
    }
    this.compact();
    return n;
  }

  /** Removes every item, handing each to `fn`. */
  clear(fn?: (item: T) => void): void {
    const rest = this.items.slice(this.head) as T[];
    this.items = [];
    this.dues = [];
    this.head = 0;
    if (fn) for (const item of rest) fn(item);
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.dues = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.dues = this.dues.slice(this.head);
      this.head = 0;
    }
  }
}
