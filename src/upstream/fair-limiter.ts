/**
 * Bounded, fair concurrency for password checks: at most `maxConcurrent` tasks run at once, and
 * waiting tasks queue per key (the source IP); a free slot goes to the waiting key with the fewest
 * tasks running (round-robin between equals), so a flood from one IP waits behind itself while a bind
 * from another IP takes the next free slot. Each key's
 * queue is small (`maxQueuedPerKey`); beyond it run() refuses at once. Written by hand: p-limit and
 * its kin have one FIFO queue, which is exactly what lets one IP starve the others.
 */
export class FairLimiter {
  private running = 0;
  /** Tasks running per key (keys with none are absent). */
  private readonly runningPer = new Map<string, number>();
  /** Waiting starters per key; the Map's order is the round-robin ring (a served key moves to the end). */
  private readonly queues = new Map<string, (() => void)[]>();

  constructor(
    readonly maxConcurrent: number,
    readonly maxQueuedPerKey: number,
  ) {}

  /** Tasks running now. */
  get active(): number {
    return this.running;
  }

  /** Runs `task` when a slot is free, fairly between keys; null (task not run) if `key`'s queue is full. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> | null {
    if (this.running < this.maxConcurrent && this.queues.size === 0) return this.start(key, task);
    const q = this.queues.get(key) ?? [];
    if (q.length >= this.maxQueuedPerKey) return null;
    if (q.length === 0) this.queues.set(key, q);
    return new Promise<T>((resolve, reject) => q.push(() => void this.start(key, task).then(resolve, reject)));
  }

  private start<T>(key: string, task: () => Promise<T>): Promise<T> {
    this.running++;
    this.runningPer.set(key, (this.runningPer.get(key) ?? 0) + 1);
    let p: Promise<T>;
    try {
      p = task();
    } catch (err) {
      p = Promise.reject(err as Error);
    }
    return p.finally(() => {
      this.running--;
      const n = this.runningPer.get(key)! - 1;
      if (n > 0) this.runningPer.set(key, n);
      else this.runningPer.delete(key);
      this.next();
    });
  }

  /** Starts the next waiting task of the waiting key with the fewest running (the earliest in the ring among equals). */
  private next(): void {
    while (this.running < this.maxConcurrent && this.queues.size > 0) {
      let key = '';
      let fewest = Infinity;
      for (const k of this.queues.keys()) {
        const n = this.runningPer.get(k) ?? 0;
        if (n < fewest) [key, fewest] = [k, n];
        if (n === 0) break;
      }
      const q = this.queues.get(key)!;
      this.queues.delete(key);
      const starter = q.shift()!;
      if (q.length > 0) this.queues.set(key, q); // to the back of the ring
      starter();
    }
  }
}
