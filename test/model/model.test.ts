/**
 * The learned content score's pure core: features, training (deterministic), scoring, the file
 * format and what it refuses, and the figures `model test` reports.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { modelSplit, modelTest, modelTrain, type TrainFlags } from '../../src/cli/model.js';
import { forEachNgram, ngramCount, sumWeights } from '../../src/model/features.js';
import { confusionAt, reportAt, rocAuc, thresholdForHamRate } from '../../src/model/evaluate.js';
import { decodeModel, encodeModel, ModelFormatError } from '../../src/model/format.js';
import { LinearModel } from '../../src/model/model.js';
import { DEFAULT_TRAIN, ShuffleBuffer, seededRandom } from '../../src/model/train.js';
import { NORMALISER_VERSION, normaliseText } from '../../src/rules/normalise.js';
import { EN, ZH, trainOn, tsvOf } from '../helpers/labelled.js';

const quietIo = () => {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
};

const flags = (out: string, o: Partial<TrainFlags> = {}): TrainFlags => ({
  ...DEFAULT_TRAIN,
  name: 'test',
  out,
  targetHamBlocked: 0.3,
  shuffleBuffer: 1000,
  folds: 0,
  quiet: true,
  ...o,
});

describe('features', () => {
  it('hashes every n-gram of the padded text, and the hot-path sum agrees with the visitor', () => {
    const spec = { minN: 1, maxN: 4, bits: 16 };
    const plain = normaliseText('Hello 世界, FREE prize').plain;
    const seen: string[] = [];
    const w = new Float32Array(2 ** 16).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
    let sum = 0;
    const n = forEachNgram(plain, spec, (b, start, len) => {
      seen.push(` ${plain} `.slice(start, start + len));
      sum += w[b]!;
    });
    expect(n).toBe(ngramCount(plain.length, spec));
    expect(seen).toContain(' he');
    expect(seen).toContain('世界');
    expect(sumWeights(plain, spec, w)).toBeCloseTo(sum, 4);
    // A longer text than the scratch buffer holds.
    const long = 'x'.repeat(3000);
    let s2 = 0;
    forEachNgram(long, spec, (b) => (s2 += w[b]!));
    expect(sumWeights(long, spec, w)).toBeCloseTo(s2, 2);
  });

  it('the shuffle buffer lets every item out once, in a seeded order', () => {
    const run = (seed: number) => {
      const b = new ShuffleBuffer<number>(5, seededRandom(seed));
      const out: number[] = [];
      for (let i = 0; i < 20; i++) {
        const x = b.push(i);
        if (x !== undefined) out.push(x);
      }
      out.push(...b.drain());
      return out;
    };
    expect([...run(3)].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(run(3)).toEqual(run(3));
    expect(run(3)).not.toEqual(run(4));
  });
});

describe('training', () => {
  it('training twice on the same file gives the identical model file (seeded, no time in it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-model-'));
    const data = join(dir, 'en.tsv');
    writeFileSync(data, tsvOf(EN));
    for (const algorithm of ['lr', 'nb', 'nblr'] as const) {
      const a = quietIo();
      expect(await modelTrain([data], flags(join(dir, `a-${algorithm}.model`), { algorithm, folds: 2 }), a.io)).toBe(0);
      expect(await modelTrain([data], flags(join(dir, `b-${algorithm}.model`), { algorithm, folds: 2 }), quietIo().io)).toBe(0);
      const first = readFileSync(join(dir, `a-${algorithm}.model`));
      expect(readFileSync(join(dir, `b-${algorithm}.model`)).equals(first)).toBe(true);
      expect(a.out.join('\n')).toMatch(/2-fold cross-validation/);
    }
    // Another seed shuffles differently: another model.
    await modelTrain([data], flags(join(dir, 'c.model'), { algorithm: 'lr', seed: 7 }), quietIo().io);
    await modelTrain([data], flags(join(dir, 'd.model'), { algorithm: 'lr', seed: 1 }), quietIo().io);
    expect(readFileSync(join(dir, 'c.model')).equals(readFileSync(join(dir, 'd.model')))).toBe(false);
  });

  it('the header records features, n-gram range, normaliser version, data digest and validation figures', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-model-'));
    writeFileSync(join(dir, 'train.tsv'), tsvOf(EN));
    // The same records as gzipped JSON lines validate it.
    writeFileSync(join(dir, 'val.jsonl.gz'), gzipSync(EN.map(([label, text]) => JSON.stringify({ label, text })).join('\n')));
    const r = quietIo();
    expect(await modelTrain([join(dir, 'train.tsv')], flags(join(dir, 'm.model'), { validation: join(dir, 'val.jsonl.gz'), targetHamBlocked: 0 }), r.io)).toBe(0);
    const m = LinearModel.decode(readFileSync(join(dir, 'm.model')));
    expect(m.header.features).toMatchObject({ kind: 'char-ngram-hashed', min_n: 1, max_n: 4, bits: 16 });
    expect(m.header.normaliser_version).toBe(NORMALISER_VERSION);
    expect(m.header.training).toMatchObject({ rows: EN.length, spam: 8, ham: 10, files: ['train.tsv'] });
    expect(m.header.training.data_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(m.header.validation).toMatchObject({ rows: EN.length, ham_blocked_pct: 0 });
    // Learned what it was shown: every spam above every ham on its own data.
    const spam = EN.filter(([l]) => l === 'spam').map(([, t]) => m.scoreText(t));
    const ham = EN.filter(([l]) => l === 'ham').map(([, t]) => m.scoreText(t));
    expect(Math.min(...spam)).toBeGreaterThan(Math.max(...ham));
  });

  it('a Chinese sample set trains and scores sensibly (no word segmenter: character n-grams)', () => {
    const m = trainOn(ZH).model();
    // Unseen messages in the same vein.
    expect(m.scoreText('恭喜您获得现金红包，点击链接领取')).toBeGreaterThan(0.5);
    expect(m.scoreText('澳门赌场注册送彩金')).toBeGreaterThan(0.5);
    expect(m.scoreText('今天晚上我回家吃饭')).toBeLessThan(0.5);
    expect(m.scoreText('明天开会请准时到')).toBeLessThan(0.5);
    // Traditional-width and full-width forms go through the same normalisation as rules see.
    expect(m.scoreText('恭喜您中獎了！點擊領取現金紅包')).toBeGreaterThan(m.scoreText('妈，我晚上回家'));
    const e = m.explain(normaliseText('注册即送彩金'), 3);
    expect(e.top).toHaveLength(3);
    expect(e.top[0]!.push).toBeGreaterThan(0);
    expect(LinearModel.describe(e.top)).toMatch(/^".+"\(\+\d/);
  });

  it('reads CSV (columns by header, quoted text) gzipped the same as TSV', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-model-'));
    const csv = ['id,text,label', ...EN.map(([l, t], i) => `${i},"${t.replace(/"/g, '""')}, ok",${l}`), '99,"two, ""quoted"" lines",spam', '100,no label,'].join('\n');
    writeFileSync(join(dir, 'en.csv.gz'), gzipSync(csv));
    writeFileSync(join(dir, 'en.txt'), `${EN.map(([l, t]) => `${l.toUpperCase()}\t${t}, ok`).join('\r\n')}\r\nspam\ttwo, "quoted" lines`);
    const a = quietIo();
    expect(await modelTrain([join(dir, 'en.csv.gz')], flags(join(dir, 'csv.model'), { epochs: 2 }), a.io)).toBe(0);
    expect(a.err.join('\n')).toMatch(/1 record skipped[\s\S]*label is neither ham nor spam/);
    const b = quietIo();
    // Sniffed as TSV (a tab on the first line), CRLF line ends, labels in any case.
    expect(await modelTrain([join(dir, 'en.txt')], flags(join(dir, 'tsv.model'), { epochs: 2 }), b.io)).toBe(0);
    const ha = LinearModel.decode(readFileSync(join(dir, 'csv.model'))).header;
    const hb = LinearModel.decode(readFileSync(join(dir, 'tsv.model'))).header;
    expect(ha.training.rows).toBe(EN.length + 1);
    // The same records whatever the format: the same data digest.
    expect(hb.training.rows).toBe(EN.length + 1);
    expect(ha.training.data_sha256).toBe(hb.training.data_sha256);
  });

  it('refuses impossible settings and one-class data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-model-'));
    writeFileSync(join(dir, 'ham.tsv'), tsvOf(EN.filter(([l]) => l === 'ham')));
    const r = quietIo();
    expect(await modelTrain([join(dir, 'ham.tsv')], flags(join(dir, 'x.model')), r.io)).toBe(1);
    expect(r.err.join('\n')).toMatch(/0 spam and 10 ham messages: both are needed/);
    const r2 = quietIo();
    expect(await modelTrain([join(dir, 'ham.tsv')], flags(join(dir, 'x.model'), { minN: 5, maxN: 2 }), r2.io)).toBe(2);
    expect(r2.err.join('\n')).toMatch(/n-gram range 5..2/);
    const r3 = quietIo();
    expect(await modelTrain([join(dir, 'missing.tsv')], flags(join(dir, 'x.model')), r3.io)).toBe(2);
    expect(r3.err.join('\n')).toMatch(/missing.tsv: cannot read \(no such file\)/);
  });
});

describe('the model file', () => {
  const good = () => trainOn(EN, { epochs: 2 }).encode(0.5, null);

  it('round-trips', () => {
    const bytes = good();
    const { header, weights } = decodeModel(bytes);
    expect(weights.length).toBe(2 ** 16);
    expect(decodeModel(encodeModel(header, weights)).header).toEqual(header);
  });

  it('refuses a file that is not a model, another format version, a bad header, another normaliser version, cut or corrupted weights', () => {
    const bytes = good();
    const nl1 = bytes.indexOf(10);
    const nl2 = bytes.indexOf(10, nl1 + 1);
    const header = JSON.parse(bytes.subarray(nl1 + 1, nl2).toString()) as Record<string, unknown>;
    const withHeader = (h: object) => Buffer.concat([bytes.subarray(0, nl1 + 1), Buffer.from(JSON.stringify(h)), bytes.subarray(nl2)]);
    const refused = (b: Uint8Array) => {
      try {
        decodeModel(b, 'm.model');
      } catch (e) {
        expect(e).toBeInstanceOf(ModelFormatError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refused(Buffer.from('version: 1\nrules: []\n'))).toMatch(/m.model: not a smppguard model file/);
    expect(refused(Buffer.concat([Buffer.from('smppguard-model 2'), bytes.subarray(nl1)]))).toMatch(/model file format 2, this gateway reads format 1/);
    expect(refused(bytes.subarray(0, nl1 + 10))).toMatch(/header line is cut short/);
    expect(refused(Buffer.concat([bytes.subarray(0, nl1 + 1), Buffer.from('{oops\n')]))).toMatch(/header is not JSON/);
    expect(refused(withHeader({ ...header, features: { ...(header.features as object), bits: 40 } }))).toMatch(/invalid header: features.bits/);
    expect(refused(withHeader({ ...header, normaliser_version: NORMALISER_VERSION + 1 }))).toMatch(
      new RegExp(`trained with normaliser version ${NORMALISER_VERSION + 1}, this gateway normalises text with version ${NORMALISER_VERSION}`),
    );
    expect(refused(bytes.subarray(0, bytes.length - 4))).toMatch(/bytes of weights, the header's 2\^16 buckets need 262144/);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 1] ^= 0x40;
    expect(refused(flipped)).toMatch(/do not match the header's weights_sha256/);
  });
});

describe('figures', () => {
  const scored = [
    { spam: true, p: 0.9 },
    { spam: true, p: 0.8 },
    { spam: true, p: 0.3 },
    { spam: false, p: 0.7 },
    { spam: false, p: 0.2 },
    { spam: false, p: 0.1 },
    { spam: false, p: 0.1 },
  ];

  it('confusion, precision, recall, rates and ROC-AUC at a threshold (spam when above it)', () => {
    expect(confusionAt(scored, 0.5)).toEqual({ tp: 2, fp: 1, tn: 3, fn: 1 });
    const r = reportAt(scored, 0.5);
    expect(r).toMatchObject({ precision: 0.6667, recall: 0.6667, spam_caught_pct: 66.67, ham_blocked_pct: 25 });
    // 11 of 12 spam/ham pairs are ordered right.
    expect(rocAuc(scored)).toBeCloseTo(11 / 12, 6);
    expect(rocAuc([{ spam: true, p: 1 }])).toBeNaN();
    expect(rocAuc([{ spam: true, p: 0.5 }, { spam: false, p: 0.5 }])).toBe(0.5);
  });

  it('the threshold for a target rate of ham wrongly blocked', () => {
    expect(thresholdForHamRate(scored, 0)).toBe(0.7);
    expect(confusionAt(scored, thresholdForHamRate(scored, 0)).fp).toBe(0);
    expect(thresholdForHamRate(scored, 0.25)).toBe(0.2);
    expect(confusionAt(scored, 0.2).fp).toBe(1);
    expect(thresholdForHamRate(scored, 1)).toBe(0);
    expect(thresholdForHamRate([{ spam: true, p: 0.4 }], 0.01)).toBe(1);
  });
});

describe('smppguard model split and test', () => {
  it('splits stratified and seeded; test prints the figures and the threshold for a target', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-model-'));
    const rows = [...EN, ...EN, ...EN, ...EN, ...EN];
    writeFileSync(join(dir, 'all.tsv'), `${tsvOf(rows)}bad line without a tab\nmaybe\tnot a label\n`);
    const r = quietIo();
    expect(await modelSplit(join(dir, 'all.tsv'), { outDir: join(dir, 'split'), seed: 1, validationPct: 20, testPct: 20 }, r.io)).toBe(0);
    expect(r.out).toEqual([
      `${join(dir, 'split', 'train.tsv')}: 54 messages (24 spam, 30 ham)`,
      `${join(dir, 'split', 'validation.tsv')}: 18 messages (8 spam, 10 ham)`,
      `${join(dir, 'split', 'test.tsv')}: 18 messages (8 spam, 10 ham)`,
    ]);
    expect(r.err.join('\n')).toMatch(/2 records skipped[\s\S]*all.tsv:92: no TAB between label and text[\s\S]*all.tsv:93: label "maybe" is neither ham nor spam/);
    const again = quietIo();
    await modelSplit(join(dir, 'all.tsv'), { outDir: join(dir, 'split2'), seed: 1, validationPct: 20, testPct: 20 }, again.io);
    expect(readFileSync(join(dir, 'split2', 'test.tsv'), 'utf8')).toBe(readFileSync(join(dir, 'split', 'test.tsv'), 'utf8'));
    expect(await modelSplit(join(dir, 'all.tsv'), { outDir: join(dir, 'x'), seed: 1, validationPct: 60, testPct: 50 }, quietIo().io)).toBe(2);

    await modelTrain([join(dir, 'split', 'train.tsv')], flags(join(dir, 'm.model')), quietIo().io);
    const t = quietIo();
    expect(await modelTest(join(dir, 'm.model'), [join(dir, 'split', 'test.tsv')], { targetHamBlocked: 0, quiet: true }, t.io)).toBe(0);
    const text = t.out.join('\n');
    expect(text).toMatch(/messages: 18 \(8 spam, 10 ham\); threshold 0.5/);
    expect(text).toMatch(/spam caught: [\d.]+ % \(\d+ of 8\)\s+ham wrongly blocked: [\d.]+ % \(\d+ of 10\)/);
    expect(text).toMatch(/precision [\d.]+ {2}recall [\d.]+ {2}F1 [\d.]+ {2}ROC-AUC [\d.]+/);
    expect(text).toMatch(/confusion matrix/);
    expect(text).toMatch(/threshold for at most 0 % ham wrongly blocked on this data: /);
    const j = quietIo();
    await modelTest(join(dir, 'm.model'), [join(dir, 'split', 'test.tsv')], { targetHamBlocked: 0.3, json: true, quiet: true }, j.io);
    const parsed = JSON.parse(j.out.join('\n')) as { at_threshold: { rows: number; confusion: object } };
    expect(parsed.at_threshold.rows).toBe(18);
    const bad = quietIo();
    writeFileSync(join(dir, 'bad.model'), 'nope');
    expect(await modelTest(join(dir, 'bad.model'), [join(dir, 'split', 'test.tsv')], { targetHamBlocked: 0.3 }, bad.io)).toBe(2);
    expect(bad.err.join('\n')).toMatch(/not a smppguard model file/);
  });
});
