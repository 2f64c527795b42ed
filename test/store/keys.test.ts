import { describe, expect, it } from 'vitest';
import { bucketOf, Keys, msisdnOf } from '../../src/store/keys.js';

describe('keys: numbers to buckets', () => {
  it('splits a number of 1–15 digits into bucket and member, and back', () => {
    for (const m of ['1', '8613800138000', '999999999999999']) {
      const { bucket, member } = bucketOf(m);
      expect(msisdnOf(bucket, member)).toBe(m);
    }
    expect(bucketOf('8613800138000')).toEqual({ bucket: Math.floor(8613800138000 / 32768), member: 8613800138000 % 32768 });
  });
  it('refuses what is not 1–15 digits (beyond, numbers lose precision and collide)', () => {
    for (const bad of ['', '1234567890123456', '86138a0138000', '+8613800138000', ' 1', '1.5', '１２']) {
      expect(() => bucketOf(bad), JSON.stringify(bad)).toThrow(RangeError);
      expect(() => new Keys('p:').consent(bad), JSON.stringify(bad)).toThrow(RangeError);
    }
  });
  it("names a number's consent hash by its bucket", () => {
    expect(new Keys('p:').consent('8613800138000')).toBe(`p:consent:{r:${Math.floor(8613800138000 / 32768)}}:8613800138000`);
  });
});
