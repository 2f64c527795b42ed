/** bench/round-order.ts: a scenario and its twin swap places every other round. */
import { describe, expect, it } from 'vitest';
import { roundOrder } from '../../bench/round-order.js';

const ids = (list: { id: string }[]) => list.map((s) => s.id);

describe('roundOrder', () => {
  const withBaseline = ['a', 'b@base', 'b', 'c@base', 'c'].map((id) => ({ id }));
  it('runs the baseline first in odd rounds and second in even ones; a scenario without a twin keeps its place', () => {
    expect(ids(roundOrder(withBaseline, 1))).toEqual(['a', 'b@base', 'b', 'c@base', 'c']);
    expect(ids(roundOrder(withBaseline, 2))).toEqual(['a', 'b', 'b@base', 'c', 'c@base']);
    expect(ids(roundOrder(withBaseline, 3))).toEqual(['a', 'b@base', 'b', 'c@base', 'c']);
  });
  it('swaps a --compare variant with its scenario the same way', () => {
    expect(ids(roundOrder(['b', 'b~', 'c', 'c~'].map((id) => ({ id })), 2))).toEqual(['b~', 'b', 'c~', 'c']);
  });
});
