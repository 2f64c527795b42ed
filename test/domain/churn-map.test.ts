import { describe, expect, it } from 'vitest';
import { ChurnMap } from '../../src/domain/churn-map.js';

describe('ChurnMap', () => {
  it('behaves as a Map across its renewals: entries, order, size', () => {
    const m = new ChurnMap<number, string>(4);
    const ref = new Map<number, string>();
    for (let i = 0; i < 200; i++) {
      m.set(i, `v${i}`);
      ref.set(i, `v${i}`);
      if (i % 3 !== 0) {
        expect(m.delete(i - 1)).toBe(ref.delete(i - 1));
      }
      expect(m.size).toBe(ref.size);
    }
    expect([...m]).toEqual([...ref]);
    expect([...m.keys()]).toEqual([...ref.keys()]);
    expect([...m.values()]).toEqual([...ref.values()]);
    expect(m.has(199)).toBe(true);
    expect(m.get(1)).toBeUndefined();
    expect(m.delete(-5)).toBe(false);
  });

  it('visits each entry once when the entry at hand is deleted while iterating, renewals included', () => {
    const m = new ChurnMap<number, number>(2);
    for (let i = 0; i < 10; i++) m.set(i, i);
    const seen: number[] = [];
    for (const [k] of m) {
      seen.push(k);
      if (k % 2 === 0) m.delete(k);
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...m.keys()]).toEqual([1, 3, 5, 7, 9]);
  });
});
