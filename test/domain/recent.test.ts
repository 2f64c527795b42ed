import { describe, expect, it } from 'vitest';
import { RecentCache } from '../../src/domain/recent.js';

describe('RecentCache', () => {
  it('keeps at most its size, dropping the older generation whole', () => {
    const c = new RecentCache<string, number>(4); // two generations of 2
    for (let i = 0; i < 6; i++) c.set(`k${i}`, i);
    expect(c.size).toBe(4);
    expect([c.get('k0'), c.get('k1')]).toEqual([undefined, undefined]);
    expect([c.get('k4'), c.get('k5')]).toEqual([4, 5]);
    expect(c.get('k2')).toBe(2); // in the older generation: moved forward
    expect(c.size).toBeLessThanOrEqual(4);
  });

  it('moves an entry found in the older generation forward, so a key in use is not dropped', () => {
    const c = new RecentCache<string, number>(4);
    c.set('hot', 1);
    for (let i = 0; i < 20; i++) {
      c.set(`cold${i}`, i);
      expect(c.get('hot')).toBe(1);
    }
    expect(c.size).toBeLessThanOrEqual(5); // a moved key may sit in both generations until the older goes
  });

  it('stays bounded under a stream of keys never seen again', () => {
    const c = new RecentCache<number, object>(512);
    for (let i = 0; i < 100_000; i++) {
      if (c.get(i) === undefined) c.set(i, { i });
      expect(c.size).toBeLessThanOrEqual(512);
    }
  });
});
