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

/*
 * Date.now() and performance.now() read at most once per event-loop task. A task is one socket
 * read, timer or immediate, which on the hot path handles many PDUs, each of which asked the time
 * several times (the window's deadline, the bucket, the session's last receive, latency stamps):
 * on the 2-core bench VM a clock read measured 130–170 ns, ~5 % of the gateway's CPU in scenario (b)
 * (bench/RESULTS.md, issue 23). The cached value is dropped by a microtask, which Node runs after
 * every task, so time moves between tasks as before and stands still only within one synchronous
 * stretch (never more than that stretch: a task that holds the loop for 2 ms reads a time up to
 * 2 ms old at its end). Nothing here spins on the clock; loops that wait use Date.now() and await.
 */
let wall = 0;
let mono = 0;
let wallFresh = false;
let monoFresh = false;
let dropScheduled = false;
const drop = (): void => {
  wallFresh = false;
  monoFresh = false;
  dropScheduled = false;
};

/** Date.now(), read once per event-loop task. */
export function taskNow(): number {
  if (!wallFresh) {
    wall = Date.now();
    wallFresh = true;
    if (!dropScheduled) {
      dropScheduled = true;
      queueMicrotask(drop);
    }
  }
  return wall;
}

/** performance.now(), read once per event-loop task (latency stamps: exact to within the task's own length). */
export function taskMonoNow(): number {
  if (!monoFresh) {
    mono = performance.now();
    monoFresh = true;
    if (!dropScheduled) {
      dropScheduled = true;
      queueMicrotask(drop);
    }
  }
  return mono;
}

export const systemClock: Clock = {
  now: taskNow,
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
    return taskNow() + this.offsetMs;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return systemClock.setTimeout(fn, ms);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
