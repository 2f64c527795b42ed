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
