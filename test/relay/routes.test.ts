/** MO routing table: the longest matching destination prefix names the account. */
import { describe, expect, it } from 'vitest';
import { PrefixRoutes } from '../../src/relay/routes.js';

describe('PrefixRoutes', () => {
  const routes = new PrefixRoutes([
    { prefix: '1069', account: 'broad' },
    { prefix: '10690001', account: 'exact' },
    { prefix: '106900', account: 'mid' },
    { prefix: '95', account: 'bank' },
  ]);

  it('picks the longest matching prefix, whatever the order in config', () => {
    expect(routes.match('10690001')).toBe('exact');
    expect(routes.match('1069000123')).toBe('exact');
    expect(routes.match('10690002')).toBe('mid');
    expect(routes.match('1069100')).toBe('broad');
    expect(routes.match('95555')).toBe('bank');
    const reversed = new PrefixRoutes([
      { prefix: '106900', account: 'mid' },
      { prefix: '1069', account: 'broad' },
    ]);
    expect(reversed.match('10690099')).toBe('mid');
  });

  it('ignores a leading "+" on the address', () => {
    expect(routes.match('+10690001')).toBe('exact');
    expect(routes.match('+95')).toBe('bank');
  });

  it('matches prefixes only, not substrings, and returns null when none matches', () => {
    expect(routes.match('8610690001')).toBeNull();
    expect(routes.match('106')).toBeNull(); // shorter than every prefix
    expect(routes.match('')).toBeNull();
    expect(new PrefixRoutes([]).match('10690001')).toBeNull();
  });

  it('takes the first listed of two routes with the same prefix', () => {
    const dup = new PrefixRoutes([
      { prefix: '1069', account: 'first' },
      { prefix: '1069', account: 'second' },
    ]);
    expect(dup.match('10691')).toBe('first');
  });

  it('does not change the routes it was given', () => {
    const given = [
      { prefix: '1', account: 'a' },
      { prefix: '12', account: 'b' },
    ];
    new PrefixRoutes(given).match('12');
    expect(given.map((r) => r.prefix)).toEqual(['1', '12']);
  });
});
