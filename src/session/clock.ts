/**
 * Time behind an interface, so windows, keepalives and buckets are tested by moving time forward
 * (ManualClock.advance) instead of sleeping.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

/** A clock that moves only when told to; timers fire in deadline order during advance(). */
export class ManualClock implements Clock {
  private t: number;
  private timers: { at: number; fn: () => void; live: boolean; id: number }[] = [];
  private ids = 0;
  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { at: this.t + Math.max(0, ms), fn, live: true, id: this.ids++ };
    this.timers.push(timer);
    return { cancel: () => void (timer.live = false) };
  }
  advance(ms: number): void {
    const target = this.t + ms;
    for (;;) {
      const due = this.timers
        .filter((x) => x.live && x.at <= target)
        .sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      due.live = false;
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.timers = this.timers.filter((x) => x.live);
    this.t = target;
  }
}

/**
 * Wall time moved by a settable offset; timers run in real time. For the demo, gateway tests and
 * benchmarks that need "it is 07:59:50 in Shanghai" or "eleven hours later" while sockets and
 * timeouts behave normally (`smppguard start --clock-offset-ms`). The queue releases window jobs
 * by this clock (queue/message-queue.ts).
 */
export class ShiftedClock implements Clock {
  constructor(private offsetMs = 0) {}
  /** A clock whose now() is `at` at the moment of construction. */
  static at(at: number): ShiftedClock {
    return new ShiftedClock(at - Date.now());
  }
  now(): number {
    return Date.now() + this.offsetMs;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return systemClock.setTimeout(fn, ms);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
