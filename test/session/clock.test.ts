import { describe, expect, it } from 'vitest';
import { ManualClock, ShiftedClock, systemClock } from '../../src/session/clock.js';

describe('ManualClock', () => {
  it('starts at the given time and moves only on advance', () => {
    const c = new ManualClock(1000);
    expect(c.now()).toBe(1000);
    expect(c.now()).toBe(1000);
    c.advance(250);
    expect(c.now()).toBe(1250);
    expect(new ManualClock().now()).toBe(1_700_000_000_000);
  });

  it('fires timers in deadline order, ties in registration order, at their own time', () => {
    const c = new ManualClock(0);
    const log: string[] = [];
    c.setTimeout(() => log.push(`c@${c.now()}`), 30);
    c.setTimeout(() => log.push(`a@${c.now()}`), 10);
    c.setTimeout(() => log.push(`b1@${c.now()}`), 20);
    c.setTimeout(() => log.push(`b2@${c.now()}`), 20);
    c.advance(19);
    expect(log).toEqual(['a@10']);
    expect(c.now()).toBe(19);
    c.advance(100);
    expect(log).toEqual(['a@10', 'b1@20', 'b2@20', 'c@30']);
    expect(c.now()).toBe(119);
  });

  it('fires a timer exactly at its deadline, and only once', () => {
    const c = new ManualClock(0);
    let n = 0;
    c.setTimeout(() => n++, 5);
    c.advance(4);
    expect(n).toBe(0);
    c.advance(1);
    expect(n).toBe(1);
    c.advance(1000);
    expect(n).toBe(1);
  });

  it('treats negative and zero delays as due on the next advance', () => {
    const c = new ManualClock(0);
    const log: number[] = [];
    c.setTimeout(() => log.push(1), -50);
    c.setTimeout(() => log.push(2), 0);
    expect(log).toEqual([]);
    c.advance(0);
    expect(log).toEqual([1, 2]);
  });

  it('does not fire a cancelled timer', () => {
    const c = new ManualClock(0);
    let n = 0;
    const h = c.setTimeout(() => n++, 10);
    h.cancel();
    h.cancel();
    c.advance(100);
    expect(n).toBe(0);
  });

  it('fires timers set during advance when they fall within it', () => {
    const c = new ManualClock(0);
    const log: string[] = [];
    c.setTimeout(() => {
      log.push(`first@${c.now()}`);
      c.setTimeout(() => log.push(`second@${c.now()}`), 10);
      c.setTimeout(() => log.push(`late@${c.now()}`), 100);
    }, 10);
    c.advance(50);
    expect(log).toEqual(['first@10', 'second@20']);
    c.advance(60);
    expect(log).toEqual(['first@10', 'second@20', 'late@110']);
  });

  it('lets a timer cancel another due in the same advance', () => {
    const c = new ManualClock(0);
    const log: string[] = [];
    const later = c.setTimeout(() => log.push('later'), 20);
    c.setTimeout(() => {
      log.push('first');
      later.cancel();
    }, 10);
    c.advance(100);
    expect(log).toEqual(['first']);
  });
});

describe('systemClock', () => {
  it('reads wall time', () => {
    const before = Date.now();
    const t = systemClock.now();
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(Date.now());
  });

  it('fires a real timer and cancels another', async () => {
    const log: string[] = [];
    const cancelled = systemClock.setTimeout(() => log.push('cancelled'), 1);
    cancelled.cancel();
    await new Promise<void>((resolve) => systemClock.setTimeout(() => (log.push('fired'), resolve()), 2));
    await new Promise((r) => setTimeout(r, 5));
    expect(log).toEqual(['fired']);
  });
});

describe('ShiftedClock', () => {
  it('moves now() by its offset, and on advance(); timers run in real time', async () => {
    const c = new ShiftedClock(3_600_000);
    expect(Math.abs(c.now() - (Date.now() + 3_600_000))).toBeLessThan(50);
    c.advance(60_000);
    expect(Math.abs(c.now() - (Date.now() + 3_660_000))).toBeLessThan(50);
    expect(Math.abs(ShiftedClock.at(1000).now() - 1000)).toBeLessThan(50);
    const t0 = Date.now();
    await new Promise<void>((resolve) => c.setTimeout(resolve, 20));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(15);
  });
});
