/**
 * A loaded content-score model: a linear model over hashed character n-grams (features.ts) of the
 * normalised text, scoring a message's spam probability in [0, 1]. Pure and immutable once built;
 * one instance per loaded file (a reload makes a new one, so caches keyed by the instance stay
 * right). Logistic regression and naive Bayes share it: both are a bias plus one weight per bucket;
 * they differ only in how counts are scaled (header features.scale).
 */
import { normaliseText, type NormalText } from '../rules/normalise.js';
import { forEachNgram, ngramCount, padded, sumWeights, type FeatureSpec } from './features.js';
import { decodeModel, type ModelHeader } from './format.js';

/** One n-gram's share of a score: how far it pushed the log-odds (positive: towards spam). */
export interface NgramPush {
  ngram: string;
  push: number;
}

export interface ScoreExplained {
  p: number;
  /** The n-grams that moved the score most, largest |push| first. */
  top: NgramPush[];
}

function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

export class LinearModel {
  readonly spec: FeatureSpec;
  private readonly sqrtScale: boolean;
  private readonly bias: number;

  constructor(
    readonly header: ModelHeader,
    readonly weights: Float32Array,
  ) {
    this.spec = { minN: header.features.min_n, maxN: header.features.max_n, bits: header.features.bits };
    this.sqrtScale = header.features.scale === 'sqrt-count';
    this.bias = header.bias;
  }

  /** Reads a model file's bytes (format.ts); throws ModelFormatError on anything wrong. */
  static decode(bytes: Uint8Array, name?: string): LinearModel {
    const { header, weights } = decodeModel(bytes, name);
    return new LinearModel(header, weights);
  }

  /** The log-odds of spam for an already normalised text (NormalText.plain). */
  logit(plain: string): number {
    const sum = sumWeights(plain, this.spec, this.weights);
    if (!this.sqrtScale) return this.bias + sum;
    return this.bias + sum / Math.sqrt(ngramCount(plain.length, this.spec));
  }

  /** Spam probability of an already normalised text (the gateway's facts have it). */
  score(plain: string): number {
    return sigmoid(this.logit(plain));
  }

  /** Spam probability of raw text: normalised here exactly as the gateway normalises it. */
  scoreText(text: string): number {
    return this.score(normaliseText(text).plain);
  }

  /**
   * The score and the `k` n-grams that pushed it most (for explain and evidence; not the hot path).
   * Pushes of one n-gram occurring several times add up; collisions are attributed to every n-gram
   * in the bucket (the weight is the bucket's).
   */
  explain(norm: NormalText | string, k = 5): ScoreExplained {
    const plain = typeof norm === 'string' ? norm : norm.plain;
    const t = padded(plain);
    const pushes = new Map<string, number>();
    const w = this.weights;
    const n = forEachNgram(plain, this.spec, (b, start, len) => {
      const g = t.slice(start, start + len);
      pushes.set(g, (pushes.get(g) ?? 0) + w[b]!);
    });
    const scale = this.sqrtScale && n > 0 ? 1 / Math.sqrt(n) : 1;
    const top = [...pushes]
      .map(([ngram, s]) => ({ ngram, push: s * scale }))
      .sort((a, b) => Math.abs(b.push) - Math.abs(a.push) || (a.ngram < b.ngram ? -1 : 1))
      .slice(0, k);
    return { p: this.score(plain), top };
  }

  /** e.g. `"free"(+0.41) " txt"(+0.33) "call"(+0.21)`: an explanation on one line. */
  /** The first 12 hex digits of the weights' sha256: which model scored, in the decision record. */
  get version(): string {
    return this.header.weights_sha256.slice(0, 12);
  }

  static describe(top: readonly NgramPush[]): string {
    return top.map((t) => `${JSON.stringify(t.ngram)}(${t.push >= 0 ? '+' : ''}${t.push.toFixed(2)})`).join(' ');
  }
}
