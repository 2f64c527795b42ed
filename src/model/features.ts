/**
 * Features of a learned content score: hashed character n-grams of the normalised text
 * (rules/normalise.ts, its `plain` form), so Chinese, English and mixed text work alike without a
 * word segmenter. The text is padded with one space on each side, so n-grams at the edges of the
 * text are told apart from those inside a word. Every n-gram of length minN..maxN (UTF-16 code
 * units) is hashed (FNV-1a over its code units, then murmur3's finaliser) into one of 2^bits
 * buckets; collisions are what keeps the model a fixed, small size.
 *
 * Hand-written: no library does hashed character n-grams without allocating a string per n-gram,
 * and this runs on the gateway's hot path (once per message that a score rule reads).
 */
// murmur3's finaliser spreads FNV's low-entropy high bits over the bucket index.
import { fmix32 as fmix } from '../domain/hash.js';

export interface FeatureSpec {
  /** Shortest and longest n-gram, in UTF-16 code units. */
  minN: number;
  maxN: number;
  /** 2^bits hash buckets (weights). */
  bits: number;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;


/** The padded text the n-grams are taken from. */
export function padded(plain: string): string {
  return ` ${plain} `;
}

/**
 * Calls `fn(bucket, start, n)` for every n-gram of the padded text (start and length in the padded
 * text); returns how many there were. No allocation.
 */
export function forEachNgram(plain: string, spec: FeatureSpec, fn: (bucket: number, start: number, n: number) => void): number {
  const t = padded(plain);
  const len = t.length;
  const shift = 32 - spec.bits;
  const { minN, maxN } = spec;
  let count = 0;
  for (let i = 0; i < len; i++) {
    let h = FNV_OFFSET;
    const end = Math.min(len, i + maxN);
    for (let j = i; j < end; j++) {
      h = Math.imul(h ^ t.charCodeAt(j), FNV_PRIME);
      const n = j - i + 1;
      if (n < minN) continue;
      fn(fmix(h) >>> shift, i, n);
      count++;
    }
  }
  return count;
}

/** Scratch for sumWeights (grown as needed; the gateway scores on one thread). */
let codes = new Uint16Array(512);

/** How many n-grams forEachNgram() visits for a text of this (unpadded) length. */
export function ngramCount(plainLength: number, spec: FeatureSpec): number {
  const len = plainLength + 2;
  let count = 0;
  for (let n = spec.minN; n <= spec.maxN; n++) if (len >= n) count += len - n + 1;
  return count;
}

/**
 * Σ weights[bucket] over every n-gram occurrence (ngramCount() says how many): what a linear score
 * needs. The hot path: one pass over the text, no allocation, no callback.
 */
export function sumWeights(plain: string, spec: FeatureSpec, weights: Float32Array): number {
  // The padded text's code units, once (each is read by up to maxN n-grams).
  const len = plain.length + 2;
  let t = codes;
  if (t.length < len) t = codes = new Uint16Array(Math.max(len, 2 * t.length));
  t[0] = 32;
  for (let i = 0; i < plain.length; i++) t[i + 1] = plain.charCodeAt(i);
  t[len - 1] = 32;
  const shift = 32 - spec.bits;
  const minN = spec.minN;
  const maxN = spec.maxN;
  let sum = 0;
  for (let i = 0; i < len; i++) {
    let h = FNV_OFFSET;
    const end = i + maxN < len ? i + maxN : len;
    for (let j = i; j < end; j++) {
      h = Math.imul(h ^ t[j]!, FNV_PRIME);
      if (j - i + 1 < minN) continue;
      let x = h;
      x ^= x >>> 16;
      x = Math.imul(x, 0x85ebca6b);
      x ^= x >>> 13;
      x = Math.imul(x, 0xc2b2ae35);
      x ^= x >>> 16;
      sum += weights[x >>> shift]!;
    }
  }
  return sum;
}

/** A message as sparse features: distinct buckets (ascending) and their occurrence counts. */
export interface SparseFeatures {
  index: Uint32Array;
  count: Float32Array;
  /** All occurrences (Σ count). */
  total: number;
}

/** The distinct buckets of a text and how often each occurs (training and naive Bayes counting). */
export function sparseOf(plain: string, spec: FeatureSpec): SparseFeatures {
  const raw: number[] = [];
  forEachNgram(plain, spec, (b) => raw.push(b));
  raw.sort((a, b) => a - b);
  let distinct = 0;
  for (let i = 0; i < raw.length; i++) if (i === 0 || raw[i] !== raw[i - 1]) distinct++;
  const index = new Uint32Array(distinct);
  const count = new Float32Array(distinct);
  let k = -1;
  for (let i = 0; i < raw.length; i++) {
    if (i === 0 || raw[i] !== raw[i - 1]) index[++k] = raw[i]!;
    count[k]! += 1;
  }
  return { index, count, total: raw.length };
}

