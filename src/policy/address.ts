/**
 * Address normalisation: every number the policy compares (sender registry, consent, DND) is in
 * one form — international digits without '+' — or, for alphanumeric senders (TON 5), the upper-
 * cased name. SMPP TON values: 0 unknown, 1 international, 2 national, 5 alphanumeric (3.4 §5.2.5).
 */
import { digitsOnly, type NormalAddress, type Numbering } from '../domain/address.js';

const TON_UNKNOWN = 0;
const TON_INTERNATIONAL = 1;
const TON_NATIONAL = 2;
const TON_ALPHANUMERIC = 5;

/** Every character an ASCII digit, at most 20 (the common case, checked without a regex). */
const allDigits = (s: string): boolean => digitsOnly(s, 20);

export function normaliseAddress(raw: string, ton: number, n: Numbering): NormalAddress {
  // Hot path: plain international digits.
  if (ton === TON_INTERNATIONAL && allDigits(raw)) return { kind: 'number', value: raw };
  // Also hot (import files, API calls, TON unknown): plain digits, the steps below without their
  // regular expressions (the prefixes and country code are digits: config schema).
  if (ton === TON_UNKNOWN && allDigits(raw)) {
    const v =
      n.international_prefix && raw.startsWith(n.international_prefix)
        ? raw.slice(n.international_prefix.length)
        : n.national_prefix && raw.startsWith(n.national_prefix)
          ? n.country_code + raw.slice(n.national_prefix.length)
          : raw.startsWith(n.country_code)
            ? raw
            : n.country_code + raw;
    // All digits (so are the prefixes and the country code): only the length can be wrong now.
    return v.length > 0 && v.length <= 20 ? { kind: 'number', value: v } : { kind: 'invalid', value: v };
  }
  const s = raw.trim();
  if (s === '') return { kind: 'empty', value: '' };
  if (ton === TON_ALPHANUMERIC || /[A-Za-z]/.test(s)) return { kind: 'alpha', value: s.toUpperCase() };
  const compact = s.replace(/[\s().-]/g, '');
  if (compact.startsWith('+')) return digits(compact.slice(1));
  if (ton === TON_INTERNATIONAL) return digits(compact);
  if (n.international_prefix && compact.startsWith(n.international_prefix)) {
    return digits(compact.slice(n.international_prefix.length));
  }
  if (n.national_prefix && compact.startsWith(n.national_prefix)) {
    return digits(n.country_code + compact.slice(n.national_prefix.length));
  }
  if (ton === TON_NATIONAL) return digits(n.country_code + compact);
  // TON unknown, no prefix: already international if it starts with the country code.
  return digits(compact.startsWith(n.country_code) ? compact : n.country_code + compact);
}

function digits(s: string): NormalAddress {
  return /^\d{1,20}$/.test(s) ? { kind: 'number', value: s } : { kind: 'invalid', value: s };
}

/** Normalises a number given in an API call or an import file (no TON: "+…", "00…", "0…" or digits). */
export function normaliseMsisdn(raw: string, n: Numbering): string | null {
  const a = normaliseAddress(raw, 0, n);
  return a.kind === 'number' ? a.value : null;
}
