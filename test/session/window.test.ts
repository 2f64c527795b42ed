import { describe, expect, it } from 'vitest';
import { ManualClock, type TimerHandle } from '../../src/session/clock.js';
import { Window } from '../../src/session/window.js';

/** A ManualClock that counts the timers set on it and how many are live (set, not fired, not cancelled). */
class CountingClock extends ManualClock {
  created = 0;
  live = 0;
  maxLive = 0;
  override setTimeout(fn: () => void, ms: number): TimerHandle {
    this.created++;
    this.live++;
    this.maxLive = Math.max(this.maxLive, this.live);
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        this.live--;
      }
    };
    const h = super.setTimeout(() => {
      finish();
      fn();
    }, ms);
    return {
      cancel: () => {
        finish();
        h.cancel();
      },
    };
  }
}

const TIMEOUT = 1000;

function setup(capacity = 4) {
  const clock = new CountingClock(0);
  const expired: [number, string, number][] = [];
  const w = new Window<string>(capacity, TIMEOUT, clock, (seq, v) => expired.push([seq, v, clock.now()]));
  return { clock, w, expired };
}

describe('Window: add / take', () => {
  it('adds until full, then refuses', () => {
    const { w } = setup(3);
    expect(w.capacity).toBe(3);
    expect([w.size, w.full]).toEqual([0, false]);
    expect(w.add(1, 'a')).toBe(true);
    expect(w.add(2, 'b')).toBe(true);
    expect([w.size, w.full]).toEqual([2, false]);
    expect(w.add(3, 'c')).toBe(true);
    expect([w.size, w.full]).toEqual([3, true]);
    expect(w.add(4, 'd')).toBe(false);
    expect(w.size).toBe(3);
    expect(w.take(4)).toBeUndefined();
  });

  it('refuses a sequence that is already pending', () => {
    const { w } = setup();
    expect(w.add(7, 'first')).toBe(true);
    expect(w.add(7, 'second')).toBe(false);
    expect(w.take(7)).toBe('first');
    expect(w.add(7, 'third')).toBe(true);
    expect(w.take(7)).toBe('third');
  });

  it('takes entries in any order (responses out of order) and frees room', () => {
    const { w } = setup(3);
    w.add(10, 'a');
    w.add(11, 'b');
    w.add(12, 'c');
    expect(w.take(11)).toBe('b');
    expect([w.size, w.full]).toEqual([2, false]);
    expect(w.add(13, 'd')).toBe(true);
    expect(w.take(13)).toBe('d');
    expect(w.take(10)).toBe('a');
    expect(w.take(12)).toBe('c');
    expect(w.size).toBe(0);
  });

  it('returns undefined for a late or unknown response, and for a second take', () => {
    const { w, clock, expired } = setup();
    w.add(1, 'a');
    expect(w.take(1)).toBe('a');
    expect(w.take(1)).toBeUndefined();
    expect(w.take(999)).toBeUndefined();
    w.add(2, 'b');
    clock.advance(TIMEOUT + 1);
    expect(expired.map((e) => e[0])).toEqual([2]);
    expect(w.take(2)).toBeUndefined(); // the response came after the timeout
  });
});

describe('Window: timeouts', () => {
  it('times an entry out one tick after its deadline, not before', () => {
    const { w, clock, expired } = setup();
    w.add(1, 'a');
    clock.advance(TIMEOUT);
    expect(expired).toEqual([]);
    expect(w.size).toBe(1);
    clock.advance(1);
    expect(expired).toEqual([[1, 'a', TIMEOUT + 1]]);
    expect(w.size).toBe(0);
  });

  it('fires in order, exactly once per expired entry, as time advances', () => {
    const { w, clock, expired } = setup(10);
    w.add(1, 'a'); // deadline 1000
    clock.advance(100);
    w.add(2, 'b'); // 1100
    w.add(3, 'c'); // 1100
    clock.advance(400);
    w.add(4, 'd'); // 1500
    w.add(5, 'e'); // 1500
    expect(w.take(3)).toBe('c');
    clock.advance(501); // t = 1001
    expect(expired).toEqual([[1, 'a', 1001]]);
    clock.advance(100); // t = 1101
    expect(expired.map((e) => e[0])).toEqual([1, 2]);
    expect(expired[1]).toEqual([2, 'b', 1101]);
    clock.advance(10_000);
    expect(expired).toEqual([
      [1, 'a', 1001],
      [2, 'b', 1101],
      [4, 'd', 1501],
      [5, 'e', 1501],
    ]);
    expect(w.size).toBe(0);
    clock.advance(10_000);
    expect(expired).toHaveLength(4);
  });

  it('expires, in the same sweep, an entry whose deadline is exactly the sweep time', () => {
    const { w, clock, expired } = setup();
    w.add(1, 'a'); // deadline 1000, timer at 1001
    clock.advance(1);
    w.add(2, 'b'); // deadline 1001
    clock.advance(TIMEOUT);
    expect(expired).toEqual([
      [1, 'a', 1001],
      [2, 'b', 1001],
    ]);
    expect(clock.created).toBe(1);
  });

  it('expires everything due in one big jump, in insertion (= deadline) order', () => {
    const { w, clock, expired } = setup(100);
    for (let i = 1; i <= 50; i++) {
      w.add(i, `v${i}`);
      clock.advance(10);
    }
    clock.advance(5000);
    expect(expired.map((e) => e[0])).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('uses one timer for the whole window, not one per entry', () => {
    const { w, clock } = setup(1000);
    for (let i = 1; i <= 1000; i++) w.add(i, 'x');
    expect(clock.created).toBe(1);
    expect(clock.live).toBe(1);
    clock.advance(TIMEOUT + 1);
    expect(w.size).toBe(0);
    expect(clock.created).toBe(1);
    expect(clock.live).toBe(0);
  });

  it('keeps at most one live timer, one per distinct deadline at most, while entries arrive over time', () => {
    const { w, clock, expired } = setup(10_000);
    let seq = 1;
    for (let step = 0; step < 300; step++) {
      for (let k = 0; k < 5; k++) w.add(seq++, 'x'); // a burst of 5 sharing one deadline
      w.take(seq - 1 - (step % 5)); // one answered
      clock.advance(37);
      expect(clock.live).toBeLessThanOrEqual(1);
    }
    clock.advance(TIMEOUT + 1);
    expect(expired).toHaveLength(1200);
    expect(clock.maxLive).toBe(1);
    expect(clock.live).toBe(0);
    // 1500 requests, 300 distinct deadlines: the timer is re-armed per deadline, never per request.
    expect(clock.created).toBeLessThanOrEqual(301);
  });

  it('re-arms for the next entry after taking the first one', () => {
    const { w, clock, expired } = setup();
    w.add(1, 'a'); // deadline 1000
    clock.advance(500);
    w.add(2, 'b'); // deadline 1500
    w.take(1);
    clock.advance(501); // the first timer fires at 1001, finds nothing due, re-arms
    expect(expired).toEqual([]);
    expect(clock.live).toBe(1);
    clock.advance(499); // 1500
    expect(expired).toEqual([]);
    clock.advance(1); // 1501
    expect(expired).toEqual([[2, 'b', 1501]]);
  });

  it('arms again when entries are added after the window emptied', () => {
    const { w, clock, expired } = setup();
    w.add(1, 'a');
    clock.advance(TIMEOUT + 1);
    expect(expired).toHaveLength(1);
    w.add(2, 'b');
    clock.advance(TIMEOUT + 1);
    expect(expired.map((e) => e[0])).toEqual([1, 2]);
    expect(clock.created).toBe(2);
  });

  it('survives a timeout handler that adds or takes entries', () => {
    const clock = new CountingClock(0);
    const log: number[] = [];
    const w: Window<string> = new Window<string>(10, TIMEOUT, clock, (seq) => {
      log.push(seq);
      if (seq === 1) w.add(100, 'retry'); // re-sent from the handler
      if (seq === 2) w.take(3);
    });
    w.add(1, 'a');
    w.add(2, 'b');
    w.add(3, 'c');
    clock.advance(TIMEOUT + 1);
    expect(log).toEqual([1, 2]);
    expect(w.size).toBe(1);
    expect(clock.live).toBe(1);
    clock.advance(TIMEOUT + 1);
    expect(log).toEqual([1, 2, 100]);
    expect(clock.live).toBe(0);
  });
});

describe('Window: drain', () => {
  it('fails every pending entry once, in insertion order, and cancels the timer', () => {
    const { w, clock, expired } = setup();
    w.add(5, 'e');
    w.add(3, 'c');
    w.add(9, 'i');
    w.take(3);
    const failed: [number, string][] = [];
    w.drain((seq, v) => failed.push([seq, v]));
    expect(failed).toEqual([
      [5, 'e'],
      [9, 'i'],
    ]);
    expect(w.size).toBe(0);
    expect(clock.live).toBe(0);
    clock.advance(10 * TIMEOUT);
    expect(expired).toEqual([]);
    const again: number[] = [];
    w.drain((seq) => again.push(seq));
    expect(again).toEqual([]);
  });

  it('leaves the window usable afterwards', () => {
    const { w, clock, expired } = setup(2);
    w.add(1, 'a');
    w.add(2, 'b');
    w.drain(() => {});
    expect(w.add(1, 'again')).toBe(true);
    clock.advance(TIMEOUT + 1);
    expect(expired).toEqual([[1, 'again', TIMEOUT + 1]]);
  });

  it('lets the drain callback add to the window (reconnect path) without losing the entry', () => {
    const { w, clock, expired } = setup();
    w.add(1, 'a');
    w.drain((seq, v) => w.add(seq + 10, v));
    expect(w.size).toBe(1);
    clock.advance(TIMEOUT + 1);
    expect(expired).toEqual([[11, 'a', TIMEOUT + 1]]);
  });
});

describe('Window: its own storage (no Map)', () => {
  it('refuses a sequence whose slot holds a live entry (one 16 sequences older with 16 slots), and takes it once that one is gone', () => {
    const { w } = setup(4); // 16 slots
    expect(w.add(3, 'old')).toBe(true);
    expect(w.add(3 + 16, 'clash')).toBe(false);
    expect(w.size).toBe(1);
    expect(w.take(3 + 16)).toBeUndefined();
    expect(w.take(3)).toBe('old');
    expect(w.add(3 + 16, 'now')).toBe(true);
    expect(w.take(3 + 16)).toBe('now');
  });

  it('keeps deadline order when a sequence is added again while an older entry of it waits in the order', () => {
    const { w, clock, expired } = setup(4);
    w.add(1, 'a'); // deadline 1000
    w.add(7, 'b'); // 1000
    w.take(7); // 7's place in the order stays behind 1 until 1 goes
    clock.advance(300);
    w.add(2, 'c'); // 1300
    clock.advance(300);
    w.add(7, 'd'); // 1600: a new entry, not the one taken
    clock.advance(TIMEOUT - 600 + 1); // 1001: only 'a' is due
    expect(expired).toEqual([[1, 'a', 1001]]);
    clock.advance(300); // 1301
    expect(expired.map((e) => e[1])).toEqual(['a', 'c']);
    clock.advance(300); // 1601
    expect(expired.map((e) => e[1])).toEqual(['a', 'c', 'd']);
    expect(w.size).toBe(0);
  });

  it('grows its order when one entry waits while many newer ones come and go, and still times each out in order', () => {
    const { w, clock, expired } = setup(4); // order starts at 16
    w.add(0, 'stuck');
    for (let s = 1; s <= 1000; s++) {
      if (s % 16 === 0) {
        expect(w.add(s, 'clash')).toBe(false); // the stuck entry's slot
        continue;
      }
      expect(w.add(s, `m${s}`)).toBe(true);
      expect(w.take(s)).toBe(`m${s}`);
    }
    w.add(1001, 'last');
    expect(w.size).toBe(2);
    clock.advance(TIMEOUT + 1);
    expect(expired.map((e) => e[1])).toEqual(['stuck', 'last']);
    const left: number[] = [];
    w.drain((s) => left.push(s));
    expect(left).toEqual([]);
  });

  it('drains in insertion order after sequences wrapped round the slots', () => {
    const { w } = setup(4);
    for (let s = 0; s < 40; s++) {
      w.add(s, String(s));
      if (s < 37) w.take(s);
    }
    const left: number[] = [];
    w.drain((s) => left.push(s));
    expect(left).toEqual([37, 38, 39]);
    expect(w.size).toBe(0);
  });
});
