/**
 * Issue 16, "admin API and secrets": admin roles, failed-token slowing, 5xx correlation ids and
 * /readyz details, admin number input, and no secrets in logs.
 */
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/admin/errors.js';
import { msisdn } from '../../src/admin/input.js';

const numbering = { country_code: '86', national_prefix: '0', international_prefix: '00' };

describe('admin number input', () => {
  const problem = (raw: string): string | null => {
    try {
      msisdn(numbering, 'msisdn', raw);
      return null;
    } catch (err) {
      return (err as ApiError).message;
    }
  };

  it('refuses a leading "-" (it used to read "-1" as 861), letters and a "+" inside', () => {
    for (const raw of ['-1', '-8613800138000', '--1', '1+2', '86a13800138000', '+', '', ' ', '()', '--', '+-1', '.1']) {
      expect(problem(raw), raw).toMatch(/is not a phone number/);
    }
  });

  it('accepts digits with the separators people write, 1–15 digits', () => {
    expect(msisdn(numbering, 'm', '+86 (138) 0013-8000')).toBe('8613800138000');
    expect(msisdn(numbering, 'm', '138.0013.8000')).toBe('8613800138000');
    expect(msisdn(numbering, 'm', '(010) 6552 9988')).toBe('861065529988');
    expect(msisdn(numbering, 'm', '+1')).toBe('1');
    expect(msisdn(numbering, 'm', '+123456789012345')).toBe('123456789012345');
    expect(problem('+1234567890123456')).toMatch(/at most 15/);
  });
});
