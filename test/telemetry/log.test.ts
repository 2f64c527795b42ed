import { afterEach, describe, expect, it } from 'vitest';
import { maskMsisdn, setMasking } from '../../src/telemetry/log.js';

describe('maskMsisdn', () => {
  afterEach(() => setMasking(true));
  it('keeps the prefix and the last three digits of a number, and anything that is not one', () => {
    expect(maskMsisdn('8613812345678')).toBe('86138*****678');
    expect(maskMsisdn('+8613812345678')).toBe('86138*****678');
    expect(maskMsisdn('1234567')).toBe('1***567');
    expect(maskMsisdn('+1234567')).toBe('1***567');
    expect(maskMsisdn('12345678901234567890123456789012')).toBe(`12345${'*'.repeat(24)}012`);
    for (const kept of ['', '+', '123456', '+123456', '++8613812345678', 'ACME', '8613a12345678', '１２３４５６７８', '+86 1381234567']) {
      expect(maskMsisdn(kept)).toBe(kept);
    }
    setMasking(false);
    expect(maskMsisdn('8613812345678')).toBe('8613812345678');
  });
});
