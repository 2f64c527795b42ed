/** Cluster slots and the start-up key layout check. */
import { describe, expect, it } from 'vitest';
import { hashTag, keySlot, layoutProblems } from '../../src/store/slots.js';

describe('cluster slots', () => {
  it('matches Redis CLUSTER KEYSLOT (values from redis-cli)', () => {
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('123456789')).toBe(12739);
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    expect(hashTag('a{}b{c}')).toBe('a{}b{c}');
    expect(hashTag('sg:{q}:saf:x')).toBe('q');
  });

  it('the default layout keeps every multi-key call in one slot', () => {
    expect(layoutProblems('sg:', 'sg:{q}')).toEqual([]);
  });

  it('refuses a key prefix with a brace, and a queue prefix without a tag', () => {
    expect(layoutProblems('sg:{x}:', 'sg:{q}')[0]).toMatch(/contains a brace/);
    expect(layoutProblems('sg:', 'sg:q').join('\n')).toMatch(/queue .* fall in \d slots/);
  });
});
