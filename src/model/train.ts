/**
 * Training a content-score model, deterministically (seeded) and streaming (the caller feeds
 * records one by one, epoch after epoch; nothing here holds the training set):
 *
 *   lr  logistic regression by stochastic gradient descent with Adagrad step sizes and an L2
 *       penalty applied to the features a message has; feature values are n-gram counts divided by
 *       √(n-grams in the message). Several epochs; the caller re-reads its files each epoch and
 *       shuffles through a ShuffleBuffer (a full shuffle when the data fits in it).
 *   nb  multinomial naive Bayes over the same counts: one pass, weights are the smoothed log ratio
 *       of a bucket's frequency in spam and in ham, the bias the log prior odds.
 *   nblr  (the default) logistic regression over features scaled by their naive Bayes log ratio
 *       (Wang & Manning's NB-weighted linear model, "Baselines and Bigrams", ACL 2012): one counting
 *       pass, then the lr passes; the weights kept are lr's times the ratio, so it scores as lr.
 *
 * Both give a LinearModel (model.ts): a bias and one float32 weight per hash bucket. The data
 * digest (sha256 over label TAB text NL of every record, in the order read) goes into the header.
 */
import { createHash, type Hash } from 'node:crypto';
import { NORMALISER_VERSION, normaliseText } from '../rules/normalise.js';
import { sparseOf, type FeatureSpec } from './features.js';
import { encodeModel, type HeaderMetrics, type ModelHeader } from './format.js';
import { LinearModel } from './model.js';

export type Label = 'ham' | 'spam';

export interface TrainOptions {
  name: string;
  algorithm: 'lr' | 'nb' | 'nblr';
  minN: number;
  maxN: number;
  bits: number;
  /** lr only (nb makes one pass). */
  epochs: number;
  learningRate: number;
  l2: number;
  /** nb only: additive smoothing. */
  alpha: number;
  seed: number;
}

/**
 * The defaults are what the shipped English model was trained with (bench/RESULTS.md has the
 * comparison of lr, nb and nblr behind them).
 */
export const DEFAULT_TRAIN: Omit<TrainOptions, 'name'> = {
  algorithm: 'nblr',
  minN: 1,
  maxN: 4,
  bits: 16,
  epochs: 8,
  learningRate: 0.2,
  l2: 1e-6,
  alpha: 1,
  seed: 1,
};

/** mulberry32: a small seeded generator (the same sequence on every platform). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A bounded shuffle for streams: holds up to `size` items; once full, each new item lets a random
 * held one out. drain() lets the rest out in random order. Deterministic for a given random source.
 */
export class ShuffleBuffer<T> {
  private readonly items: T[] = [];

  constructor(
    private readonly size: number,
    private readonly random: () => number,
  ) {}

  /** Adds `item`; returns the item let out (undefined while the buffer fills). */
  push(item: T): T | undefined {
    if (this.items.length < this.size) {
      this.items.push(item);
      return undefined;
    }
    const i = Math.floor(this.random() * this.size);
    const out = this.items[i]!;
    this.items[i] = item;
    return out;
  }

  *drain(): Generator<T> {
    const items = this.items;
    while (items.length > 0) {
      const i = Math.floor(this.random() * items.length);
      const out = items[i]!;
      items[i] = items[items.length - 1]!;
      items.pop();
      yield out;
    }
  }
}

export class Trainer {
  readonly spec: FeatureSpec;
  private readonly w: Float64Array;
  private readonly g: Float64Array | null;
  private bias = 0;
  private biasG = 0;
  /** nb: counts per bucket and class. */
  private readonly nbSpam: Float64Array | null;
  private readonly nbHam: Float64Array | null;
  private nbSpamTotal = 0;
  private nbHamTotal = 0;
  private readonly digest: Hash = createHash('sha256');
  private epoch = -1;
  rows = 0;
  ham = 0;
  spam = 0;
  readonly files: string[] = [];

  constructor(readonly opts: TrainOptions) {
    if (opts.minN < 1 || opts.maxN < opts.minN || opts.maxN > 8) throw new RangeError(`n-gram range ${opts.minN}..${opts.maxN}: need 1 ≤ min ≤ max ≤ 8`);
    if (opts.bits < 10 || opts.bits > 20) throw new RangeError(`bits ${opts.bits}: need 10..20 (2^20 weights = 4 MiB)`);
    this.spec = { minN: opts.minN, maxN: opts.maxN, bits: opts.bits };
    const n = 2 ** opts.bits;
    this.w = new Float64Array(n);
    const nb = opts.algorithm !== 'lr';
    this.g = opts.algorithm === 'nb' ? null : new Float64Array(n);
    this.nbSpam = nb ? new Float64Array(n) : null;
    this.nbHam = nb ? new Float64Array(n) : null;
  }

  /** How many passes over the data this training makes. */
  get epochs(): number {
    const a = this.opts.algorithm;
    return a === 'nb' ? 1 : a === 'nblr' ? this.opts.epochs + 1 : this.opts.epochs;
  }

  /** Starts pass `epoch` (0-based); records of pass 0 are counted and digested. */
  beginEpoch(epoch: number): void {
    this.epoch = epoch;
  }

  /**
   * Records as read, before any shuffling (pass 0 only): they make the data digest and the
   * counts. Call it for every record in file order, then learn() in the order to train on.
   */
  see(label: Label, text: string): void {
    if (this.epoch !== 0) return;
    this.digest.update(label).update('\t').update(text).update('\n');
    this.rows++;
    if (label === 'spam') this.spam++;
    else this.ham++;
  }

  /** One training step on one record. */
  learn(label: Label, text: string): void {
    this.learnPlain(label, normaliseText(text).plain);
  }

  /** learn() on text already normalised (NormalText.plain): several trainers can share one normalisation. */
  learnPlain(label: Label, plain: string): void {
    const x = sparseOf(plain, this.spec);
    const y = label === 'spam' ? 1 : 0;
    const counting = this.opts.algorithm === 'nb' || (this.opts.algorithm === 'nblr' && this.epoch === 0);
    if (counting) {
      const c = (y === 1 ? this.nbSpam : this.nbHam)!;
      for (let k = 0; k < x.index.length; k++) c[x.index[k]!]! += x.count[k]!;
      if (y === 1) this.nbSpamTotal += x.total;
      else this.nbHamTotal += x.total;
      return;
    }
    // nblr: after the counting pass, every feature is scaled by its naive Bayes log ratio.
    if (this.ratio === null && this.opts.algorithm === 'nblr') this.ratio = this.nbRatios();
    const r = this.ratio;
    if (r !== null) for (let k = 0; k < x.index.length; k++) x.count[k] = x.count[k]! * r[x.index[k]!]!;
    const w = this.w;
    const g = this.g!;
    const scale = x.total > 0 ? 1 / Math.sqrt(x.total) : 0;
    let z = this.bias;
    for (let k = 0; k < x.index.length; k++) z += w[x.index[k]!]! * x.count[k]! * scale;
    const p = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
    const err = p - y;
    const lr = this.opts.learningRate;
    const l2 = this.opts.l2;
    for (let k = 0; k < x.index.length; k++) {
      const i = x.index[k]!;
      const grad = err * x.count[k]! * scale + l2 * w[i]!;
      g[i]! += grad * grad;
      w[i]! -= (lr * grad) / Math.sqrt(g[i]! + 1e-12);
    }
    this.biasG += err * err;
    this.bias -= (lr * err) / Math.sqrt(this.biasG + 1e-12);
  }

  /** The trained model (threshold and validation figures are the caller's: it has the validation data). */
  model(threshold = 0.5, validation: HeaderMetrics | null = null): LinearModel {
    const header = this.header(threshold, validation);
    const weights = this.weights();
    return LinearModel.decode(encodeModel(header, weights));
  }

  /** The model file's bytes. */
  encode(threshold: number, validation: HeaderMetrics | null): Buffer {
    return encodeModel(this.header(threshold, validation), this.weights());
  }

  private ratio: Float64Array | null = null;

  /** Per bucket: log(P(bucket | spam) / P(bucket | ham)), smoothed by alpha. */
  private nbRatios(): Float64Array {
    const n = this.w.length;
    const out = new Float64Array(n);
    const a = this.opts.alpha;
    const ds = this.nbSpamTotal + a * n;
    const dh = this.nbHamTotal + a * n;
    for (let i = 0; i < n; i++) out[i] = Math.log((this.nbSpam![i]! + a) / ds) - Math.log((this.nbHam![i]! + a) / dh);
    return out;
  }

  private weights(): Float32Array {
    const n = this.w.length;
    const out = new Float32Array(n);
    if (this.opts.algorithm === 'nb') {
      out.set(this.nbRatios());
      return out;
    }
    const r = this.ratio;
    for (let i = 0; i < n; i++) out[i] = r === null ? this.w[i]! : this.w[i]! * r[i]!;
    return out;
  }

  private biasOf(): number {
    if (this.opts.algorithm === 'nb') return Math.log((this.spam + 1) / (this.ham + 1));
    return this.bias;
  }

  private dataDigest: string | null = null;

  private header(threshold: number, validation: HeaderMetrics | null): Omit<ModelHeader, 'weights_sha256'> {
    this.dataDigest ??= this.digest.digest('hex');
    const o = this.opts;
    return {
      name: o.name,
      algorithm: o.algorithm,
      features: {
        kind: 'char-ngram-hashed',
        form: 'plain',
        min_n: o.minN,
        max_n: o.maxN,
        bits: o.bits,
        hash: 'fnv1a32-fmix32',
        scale: o.algorithm === 'nb' ? 'none' : 'sqrt-count',
      },
      normaliser_version: NORMALISER_VERSION,
      bias: Math.fround(this.biasOf()),
      threshold,
      training: {
        seed: o.seed,
        epochs: this.epochs,
        learning_rate: o.learningRate,
        l2: o.l2,
        alpha: o.alpha,
        data_sha256: this.dataDigest,
        rows: this.rows,
        ham: this.ham,
        spam: this.spam,
        files: this.files,
      },
      validation,
    };
  }
}
