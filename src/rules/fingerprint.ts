/**
 * Campaign fingerprints: a near-duplicate fingerprint of a message's text, so that one campaign
 * sent with its numbers, codes, links or signature changed — or a word swapped, or written in
 * traditional characters — lands on the same keys, and unrelated texts do not.
 *
 *   1. mask the variable parts of the folded text (normalise.ts foldChars: width, case,
 *      traditional → simplified): the 【signature】 at the start or end, links (links.ts reads
 *      obfuscated dots first) → ℓ, every run of letters and digits that holds a digit (numbers,
 *      codes, amounts, callback numbers) and every run of 5+ Latin letters glued to Chinese text
 *      (contact ids: 微信wxabcdef) → ϑ;
 *   2. normalise the masked text (separators, symbols and emoji runs collapsed) and cut it into
 *      character 3-grams (shingles);
 *   3. MinHash: BANDS × ROWS minimums of independent 32-bit hashes of the shingles; LSH: each band
 *      of ROWS minimums is hashed into one key. Two texts whose shingle sets have Jaccard
 *      similarity s share at least one band key with probability 1 − (1 − s^ROWS)^BANDS.
 *
 * Why MinHash and these numbers: bench/campaign-grouping.ts measures them against real spam
 * variants (bench/RESULTS.md); SimHash's 16-bit bands put unrelated texts in one bucket too often
 * to count senders per bucket. Pure and linear in the text: one pass per step, BANDS × ROWS hashes a
 * shingle.
 */
import { deobfuscateLinks } from './links.js';
import { fmix32 as fmix } from '../domain/hash.js';
import { lightOf, normaliseFolded, NORMALISER_VERSION } from './normalise.js';
import { RecentCache } from '../domain/recent.js';

/** LSH bands and rows per band (bench/campaign-grouping.ts). Changing them changes every key: bump FINGERPRINT_VERSION. */
export const BANDS = 6;
export const ROWS = 4;
/** The fingerprint scheme (with the normaliser's version): part of every key, so old keys are never read as new. */
export const FINGERPRINT_VERSION = `${NORMALISER_VERSION}.1`;

export interface Fingerprint {
  /** Exact hash of the masked, normalised text (16 hex digits): identical campaigns. */
  readonly id: string;
  /** LSH band keys ("<band>.<12 hex>"), BANDS of them; empty when the text masks to nothing. */
  readonly bands: readonly string[];
  /** The masked, normalised text the fingerprint was taken of (what feedback stores). */
  readonly masked: string;
}

const SIG_START = /^\s*【[^【】]{1,30}】/;
const SIG_END = /【[^【】]{1,30}】\s*$/;

function isAlnum(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** URL characters besides letters and digits (a run of them with a dot between alnums is a link). */
function isUrlChar(c: number): boolean {
  return isAlnum(c) || c === 0x2e || c === 0x2f || c === 0x3a || c === 0x2d || c === 0x5f || c === 0x3f || c === 0x3d || c === 0x26 || c === 0x25 || c === 0x23 || c === 0x7e || c === 0x2b;
}

/** A CJK ideograph at `i` (false outside the string). */
function isCjkAt(t: string, i: number): boolean {
  if (i < 0 || i >= t.length) return false;
  const c = t.charCodeAt(i);
  return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf);
}

/** Placeholders: one character each, kept by the normaliser (not separators). */
const LINK = 'ℓ';
const NUMBER = 'ϑ';

/**
 * The folded text with its variable parts masked: signature dropped, links → ℓ, runs of letters and
 * digits holding a digit → ϑ. One pass.
 */
export function maskVariable(folded: string): string {
  let t = folded.replace(SIG_START, '').replace(SIG_END, '');
  t = deobfuscateLinks(lightOf(t));
  // Unchanged stretches are copied in slices: `out` holds what is written, t[from, i) is pending.
  let out = '';
  let from = 0;
  const n = t.length;
  let i = 0;
  while (i < n) {
    if (!isUrlChar(t.charCodeAt(i))) {
      i++;
      continue;
    }
    let j = i;
    let link = false;
    let digit = false;
    while (j < n) {
      const d = t.charCodeAt(j);
      if (!isUrlChar(d)) break;
      if (isDigit(d)) digit = true;
      else if (d === 0x2e && j > i && isAlnum(t.charCodeAt(j - 1)) && isAlnum(t.charCodeAt(j + 1))) link = true;
      else if (d === 0x3a && t.startsWith('://', j)) link = true;
      j++;
    }
    if (link) {
      out += `${t.slice(from, i)} ${LINK} `;
      from = j;
    } else if (digit) {
      // Not a link: its words one by one (punctuation inside stays), a word with a digit masked.
      out += t.slice(from, i);
      let k = i;
      while (k < j) {
        if (!isAlnum(t.charCodeAt(k))) {
          out += t[k];
          k++;
          continue;
        }
        let e = k;
        let hasDigit = false;
        while (e < j && isAlnum(t.charCodeAt(e))) {
          if (isDigit(t.charCodeAt(e))) hasDigit = true;
          e++;
        }
        out += hasDigit ? NUMBER : t.slice(k, e);
        k = e;
      }
      from = j;
    } else if (j - i >= 5 && (isCjkAt(t, i - 1) || isCjkAt(t, j))) {
      // Latin letters glued to Chinese text: a contact id or code (微信wxabcdef领取), masked like a number.
      out += `${t.slice(from, i)}${NUMBER}`;
      from = j;
    }
    i = j;
  }
  return from === 0 ? t : out + t.slice(from);
}


const SEEDS = new Uint32Array(64);
for (let i = 0; i < SEEDS.length; i++) SEEDS[i] = fmix(0x9e3779b9 + i * 0x7f4a7c15);

function hex8(h: number): string {
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** 64-bit FNV-style hash of a string as 16 hex digits. */
function hash64(s: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x050c5d1f;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x01000193) ^ (h1 >>> 13);
  }
  return hex8(fmix(h1)) + hex8(fmix(h2 ^ h1));
}

/** The shingles' 32-bit hashes (character 3-grams of `s`; the whole of a shorter `s`). */
export function shingleHashes(s: string): Uint32Array {
  const n = s.length;
  if (n === 0) return new Uint32Array(0);
  if (n < 3) return Uint32Array.of(fmix(s.charCodeAt(0) * 65599 + (s.charCodeAt(1) || 0)));
  const out = new Uint32Array(n - 2);
  let a = s.charCodeAt(0);
  let b = s.charCodeAt(1);
  for (let i = 2; i < n; i++) {
    const c = s.charCodeAt(i);
    out[i - 2] = fmix(Math.imul(a, 0x01000193) ^ Math.imul(b, 0x9e3779b1) ^ c);
    a = b;
    b = c;
  }
  return out;
}

/** MinHash signature: `k` minimums, one per seeded hash. */
export function minHash(shingles: Uint32Array, k: number): Uint32Array {
  const mins = new Uint32Array(k).fill(0xffffffff);
  for (let i = 0; i < shingles.length; i++) {
    const h = shingles[i]!;
    for (let j = 0; j < k; j++) {
      const v = fmix(h ^ SEEDS[j]!);
      if (v < mins[j]!) mins[j] = v;
    }
  }
  return mins;
}

/** LSH band keys of a signature: `bands` keys of `rows` minimums each. */
export function bandKeys(sig: Uint32Array, bands: number, rows: number): string[] {
  const out: string[] = [];
  for (let b = 0; b < bands; b++) {
    let h1 = 0x811c9dc5 ^ b;
    let h2 = 0x2545f491 ^ b;
    for (let r = 0; r < rows; r++) {
      const v = sig[b * rows + r]!;
      h1 = fmix(h1 ^ v);
      h2 = fmix(Math.imul(h2, 31) + v);
    }
    out.push(`${b}.${hex8(h1)}${hex8(h2).slice(0, 4)}`);
  }
  return out;
}

/** The text to shingle: the masked text normalised, spaces dropped (CJK has none; Latin keeps its letters in order). */
export function shingleText(folded: string): string {
  const plain = normaliseFolded(maskVariable(folded)).plain;
  return plain.replace(/ /g, '');
}

/** A message's fingerprint from its folded text (normalise.ts foldChars). */
export function fingerprintOf(folded: string, bands = BANDS, rows = ROWS): Fingerprint {
  const cacheable = bands === BANDS && rows === ROWS && folded.length <= 2048;
  if (cacheable) {
    const hit = recent.get(folded);
    if (hit !== undefined) return hit;
  }
  const fp = compute(folded, bands, rows);
  if (cacheable) {
    recent.set(folded, fp);
  }
  return fp;
}

/**
 * The fingerprints of the last texts seen (insertion order, the oldest dropped): bulk traffic sends
 * one text, or a few variants, to many numbers, and a MinHash costs tens of µs a text. Measured in
 * scenario (d): every message fingerprinted anew cost ~40 µs of gateway CPU.
 */
const RECENT_TEXTS = 512;
const recent = new RecentCache<string, Fingerprint>(RECENT_TEXTS);

function compute(folded: string, bands: number, rows: number): Fingerprint {
  const masked = shingleText(folded);
  if (masked.replace(/[ϑℓ]/g, '').length < 4) return { id: hash64(masked), bands: [], masked };
  const sig = minHash(shingleHashes(masked), bands * rows);
  return { id: hash64(masked), bands: bandKeys(sig, bands, rows), masked };
}
