/**
 * The shapes of a normalised address and of the numbering plan it is normalised with
 * (policy/address.ts does the normalising). International digits without '+', or an upper-cased
 * alphanumeric name.
 */
export interface Numbering {
  /** Default country code for national numbers, e.g. "86". */
  country_code: string;
  /** Trunk prefix dialled before national numbers, e.g. "0" (stripped). */
  national_prefix: string;
  /** International access prefix, e.g. "00" (stripped, the rest is international). */
  international_prefix: string;
}

export type NormalAddress =
  | { kind: 'number'; value: string }
  | { kind: 'alpha'; value: string }
  | { kind: 'empty'; value: '' }
  | { kind: 'invalid'; value: string };

/** True when `s` is 1 to `max` ASCII digits (a loop: no regular expression on the hot paths that ask). */
export function digitsOnly(s: string, max: number): boolean {
  if (s.length === 0 || s.length > max) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}
