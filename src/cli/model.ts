/**
 * `smppguard model …` — the learned content score's tools (docs/model.md):
 *   split          a seeded, stratified train / validation / test split of a labelled file
 *   train          fit a model over hashed character n-grams (src/model/), streaming, seeded
 *   test           its figures on labelled data at a threshold, and the threshold for a target
 *                  rate of ham wrongly blocked
 *   export-labels  the labels reviewers and complaints left in Redis (store/label-store.ts)
 * Files are read by labelled-input.ts (TSV, CSV, JSON lines; gzip); the model code is pure.
 */
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { parseDuration } from '../domain/time.js';
import { ImportError } from '../import/kinds.js';
import { formatReport, headerMetrics, reportAt, thresholdForHamRate, type Scored } from '../model/evaluate.js';
import { LinearModel } from '../model/model.js';
import { DEFAULT_TRAIN, ShuffleBuffer, Trainer, seededRandom, type Label, type TrainOptions } from '../model/train.js';
import { LabelStore } from '../store/label-store.js';
import { redactUrl } from '../telemetry/redact.js';
import { newStats, readLabelled, type LabelledRecord, type ReadStats } from './labelled-input.js';
import { oneShotRedis, readConfig } from './one-shot.js';
import { normaliseText } from '../rules/normalise.js';

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

const stdio: Output = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
};

/** Progress lines at most this often (stderr). */
const PROGRESS_MS = 2000;

class Progress {
  private last = Date.now();
  constructor(
    private readonly io: Output,
    private readonly quiet: boolean,
  ) {}

  tick(line: () => string): void {
    if (this.quiet) return;
    const now = Date.now();
    if (now - this.last < PROGRESS_MS) return;
    this.last = now;
    this.io.err(line());
  }
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

function progressOf(file: string, s: ReadStats): string {
  const of = s.totalBytes ? ` of ${mb(s.totalBytes)} (${Math.floor((100 * s.bytesRead) / s.totalBytes)} %)` : '';
  return `${basename(file)}: ${mb(s.bytesRead)}${of}, ${s.records.toLocaleString('en')} messages`;
}

function reportBad(file: string, s: ReadStats, io: Output): void {
  if (s.bad === 0) return;
  io.err(`${file}: ${s.bad} record${s.bad === 1 ? '' : 's'} skipped (not label + text); the first:`);
  for (const p of s.problems) io.err(`  ${p}`);
}

function tsvLine(label: Label, text: string): string {
  return `${label}\t${text.replace(/[\t\r\n]+/g, ' ')}`;
}

/** Every record of the files, scored. */
async function scoreFiles(model: LinearModel, files: readonly string[], io: Output, progress: Progress): Promise<Scored[]> {
  const scored: Scored[] = [];
  for (const f of files) {
    const stats = newStats();
    for await (const r of readLabelled(f, stats)) {
      scored.push({ spam: r.label === 'spam', p: model.scoreText(r.text) });
      progress.tick(() => `scoring ${progressOf(f, stats)}`);
    }
    reportBad(f, stats, io);
  }
  return scored;
}

// ---- split ---------------------------------------------------------------------------------------

export interface SplitFlags {
  outDir: string;
  seed: number;
  validationPct: number;
  testPct: number;
}

/**
 * Splits one labelled file into train.tsv, validation.tsv and test.tsv under outDir: per label,
 * the messages are shuffled with the seed and cut by the percentages, so each part has the file's
 * share of spam. Records keep their file order within a part. Holds the file in memory (a corpus
 * to split, not the traffic of a year).
 */
export async function modelSplit(file: string, o: SplitFlags, io: Output = stdio): Promise<number> {
  if (!(o.validationPct >= 0 && o.testPct >= 0 && o.validationPct + o.testPct < 100)) {
    io.err('--validation and --test are percentages that leave something to train on');
    return 2;
  }
  const stats = newStats();
  const all: LabelledRecord[] = [];
  try {
    for await (const r of readLabelled(file, stats)) all.push(r);
  } catch (e) {
    io.err((e as Error).message);
    return 2;
  }
  reportBad(file, stats, io);
  const part = new Uint8Array(all.length); // 0 train, 1 validation, 2 test
  const random = seededRandom(o.seed);
  for (const label of ['ham', 'spam'] as const) {
    const idx: number[] = [];
    all.forEach((r, i) => r.label === label && idx.push(i));
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    const nTest = Math.round((idx.length * o.testPct) / 100);
    const nVal = Math.round((idx.length * o.validationPct) / 100);
    idx.forEach((i, k) => (part[i] = k < nTest ? 2 : k < nTest + nVal ? 1 : 0));
  }
  mkdirSync(o.outDir, { recursive: true });
  const names = ['train.tsv', 'validation.tsv', 'test.tsv'];
  for (let p = 0; p < 3; p++) {
    const lines = ['label\ttext'];
    let ham = 0;
    let spam = 0;
    all.forEach((r, i) => {
      if (part[i] !== p) return;
      lines.push(tsvLine(r.label, r.text));
      if (r.label === 'spam') spam++;
      else ham++;
    });
    writeFileSync(join(o.outDir, names[p]!), `${lines.join('\n')}\n`);
    io.out(`${join(o.outDir, names[p]!)}: ${ham + spam} messages (${spam} spam, ${ham} ham)`);
  }
  return 0;
}

// ---- train ---------------------------------------------------------------------------------------

export interface TrainFlags extends Omit<TrainOptions, 'name'> {
  out: string;
  name: string;
  validation?: string;
  /** Percent of validation ham the chosen threshold may block (the threshold is the lowest that does not exceed it). */
  targetHamBlocked: number;
  threshold?: number;
  shuffleBuffer: number;
  /** Choose the threshold on k-fold cross-validation of the training data (0: no). */
  folds: number;
  quiet?: boolean;
}

export async function modelTrain(files: readonly string[], o: TrainFlags, io: Output = stdio): Promise<number> {
  let trainer: Trainer;
  try {
    trainer = new Trainer({ ...o });
  } catch (e) {
    io.err((e as Error).message);
    return 2;
  }
  trainer.files.push(...files.map((f) => basename(f)));
  const progress = new Progress(io, o.quiet === true);
  const random = seededRandom(o.seed);
  const t0 = Date.now();
  // Cross-validation: k more trainers, each learning all but one fold; a message's fold is fixed
  // by its position in the input (the same every pass), drawn from its own seeded sequence.
  const k = o.folds;
  const foldTrainers = Array.from({ length: k }, () => new Trainer({ ...o }));
  const foldOf = (i: number): number => (k === 0 ? -1 : Math.floor(seededRandom((o.seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0)() * k));
  type Item = LabelledRecord & { fold: number };
  const learn = (r: Item): void => {
    const plain = normaliseText(r.text).plain;
    trainer.learnPlain(r.label, plain);
    for (let j = 0; j < k; j++) if (j !== r.fold) foldTrainers[j]!.learnPlain(r.label, plain);
  };
  try {
    for (let epoch = 0; epoch < trainer.epochs; epoch++) {
      trainer.beginEpoch(epoch);
      for (const t of foldTrainers) t.beginEpoch(epoch);
      const buffer = new ShuffleBuffer<Item>(o.shuffleBuffer, random);
      let seq = 0;
      for (const f of files) {
        const stats = newStats();
        for await (const r of readLabelled(f, stats)) {
          trainer.see(r.label, r.text);
          const out = buffer.push({ ...r, fold: foldOf(seq++) });
          if (out) learn(out);
          progress.tick(() => `train: pass ${epoch + 1}/${trainer.epochs}, ${progressOf(f, stats)}`);
        }
        if (epoch === 0) reportBad(f, stats, io);
      }
      for (const r of buffer.drain()) learn(r);
    }
  } catch (e) {
    io.err((e as Error).message);
    return 2;
  }
  if (trainer.spam === 0 || trainer.ham === 0) {
    io.err(`training data has ${trainer.spam} spam and ${trainer.ham} ham messages: both are needed`);
    return 1;
  }
  io.err(`trained on ${trainer.rows.toLocaleString('en')} messages (${trainer.spam} spam, ${trainer.ham} ham), ${trainer.epochs} pass(es), ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  let threshold = o.threshold ?? 0.5;
  let validation = null;
  if (k > 0) {
    // Out-of-fold scores: every message scored by the trainer that did not learn it.
    const models = foldTrainers.map((t) => t.model());
    const scored: Scored[] = [];
    let seq = 0;
    for (const f of files) {
      for await (const r of readLabelled(f, newStats())) scored.push({ spam: r.label === 'spam', p: models[foldOf(seq++)]!.scoreText(r.text) });
    }
    const cvThreshold = thresholdForHamRate(scored, o.targetHamBlocked / 100);
    if (o.threshold === undefined) threshold = cvThreshold;
    io.out(`${k}-fold cross-validation on the training data (out-of-fold scores):`);
    io.out(formatReport(reportAt(scored, threshold), [`threshold for at most ${o.targetHamBlocked} % ham wrongly blocked: ${cvThreshold}`]));
  }
  if (o.validation) {
    const draft = trainer.model(threshold, null);
    let scored: Scored[];
    try {
      scored = await scoreFiles(draft, [o.validation], io, progress);
    } catch (e) {
      io.err((e as Error).message);
      return 2;
    }
    if (o.threshold === undefined && k === 0) threshold = thresholdForHamRate(scored, o.targetHamBlocked / 100);
    const r = reportAt(scored, threshold);
    validation = headerMetrics(r);
    io.out(`validation (${o.validation}):`);
    io.out(formatReport(r));
  }
  const bytes = trainer.encode(threshold, validation);
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, bytes);
  const m = LinearModel.decode(bytes, o.out);
  io.out(
    `wrote ${o.out}: ${(bytes.length / 1e6).toFixed(2)} MB, ${o.algorithm} over ${o.minN}-${o.maxN}-grams in 2^${o.bits} buckets, ` +
      `threshold ${threshold}, data sha256 ${m.header.training.data_sha256.slice(0, 16)}…, version ${m.header.weights_sha256.slice(0, 12)}`,
  );
  return 0;
}

// ---- test ----------------------------------------------------------------------------------------

export interface TestFlags {
  threshold?: number;
  targetHamBlocked: number;
  json?: boolean;
  quiet?: boolean;
}

export async function modelTest(modelFile: string, files: readonly string[], o: TestFlags, io: Output = stdio): Promise<number> {
  let model: LinearModel;
  try {
    const t0 = performance.now();
    model = LinearModel.decode(readFileSync(modelFile), modelFile);
    io.err(`loaded ${modelFile} in ${(performance.now() - t0).toFixed(1)} ms`);
  } catch (e) {
    io.err(e instanceof Error && 'code' in e ? `${modelFile}: cannot read (${(e as NodeJS.ErrnoException).code})` : (e as Error).message);
    return 2;
  }
  let scored: Scored[];
  const t0 = performance.now();
  try {
    scored = await scoreFiles(model, files, io, new Progress(io, o.quiet === true));
  } catch (e) {
    io.err(e instanceof ImportError ? e.message : (e as Error).message);
    return 2;
  }
  const ms = performance.now() - t0;
  const threshold = o.threshold ?? model.header.threshold;
  const at = reportAt(scored, threshold);
  const t = thresholdForHamRate(scored, o.targetHamBlocked / 100);
  const target = reportAt(scored, t);
  if (o.json) {
    const { confusion, ...m } = at;
    io.out(
      JSON.stringify(
        {
          model: { file: modelFile, name: model.header.name, algorithm: model.header.algorithm, version: model.header.weights_sha256.slice(0, 12), threshold: model.header.threshold },
          at_threshold: { ...m, confusion },
          for_target: { target_ham_blocked_pct: o.targetHamBlocked, threshold: t, spam_caught_pct: target.spam_caught_pct, ham_blocked_pct: target.ham_blocked_pct },
        },
        null,
        2,
      ),
    );
  } else {
    io.out(`model ${model.header.name} (${model.header.algorithm}, version ${model.header.weights_sha256.slice(0, 12)}) on ${files.join(', ')}:`);
    io.out(
      formatReport(at, [
        `threshold for at most ${o.targetHamBlocked} % ham wrongly blocked on this data: ${t} (spam caught ${target.spam_caught_pct.toFixed(2)} %, ham blocked ${target.ham_blocked_pct.toFixed(3)} %)`,
        `(read and scored ${scored.length} messages in ${ms.toFixed(0)} ms)`,
      ]),
    );
  }
  return 0;
}

// ---- export-labels -------------------------------------------------------------------------------

export interface ExportFlags {
  config: string;
  since?: string;
  format: 'tsv' | 'jsonl';
  out?: string;
  source?: 'review' | 'complaint';
}

/** `--since 30d` (a duration back from now) or an ISO 8601 time; epoch ms, or null when unreadable. */
export function sinceOf(v: string | undefined, now = Date.now()): number | null {
  if (v === undefined) return 0;
  const d = parseDuration(v);
  if (d !== null) return now - d;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : null;
}

export async function exportLabels(o: ExportFlags, io: Output = stdio): Promise<number> {
  const c = readConfig(o.config);
  if ('error' in c) {
    io.err(c.error);
    return 2;
  }
  const cfg = c.cfg;
  const since = sinceOf(o.since);
  if (since === null) {
    io.err(`--since "${o.since}" is neither a duration (30d, 12h) nor a time (ISO 8601)`);
    return 2;
  }
  const redis = await oneShotRedis(cfg, 10_000);
  if (!redis) {
    io.err(`Redis at ${redactUrl(cfg.redis.url)} is not reachable`);
    return 2;
  }
  const file = o.out ? createWriteStream(o.out) : null;
  const write = (line: string): Promise<void> | void => {
    if (!file) return void process.stdout.write(`${line}\n`);
    if (!file.write(`${line}\n`)) return new Promise((r) => file.once('drain', () => r()));
  };
  let n = 0;
  const by = { ham: 0, spam: 0 };
  try {
    const store = new LabelStore(redis, cfg.redis.key_prefix, { retentionMs: cfg.labels.retention_days * 86_400_000, maxEntries: cfg.labels.max_entries });
    if (o.format === 'tsv') await write('label\ttext');
    for await (const e of store.read(since)) {
      if (o.source && e.source !== o.source) continue;
      n++;
      by[e.label]++;
      await write(
        o.format === 'tsv'
          ? tsvLine(e.label, e.text)
          : JSON.stringify({ label: e.label, text: e.text, source: e.source, ref: e.ref, account: e.account, time: new Date(e.time).toISOString() }),
      );
    }
  } catch (e) {
    io.err(`reading labels: ${(e as Error).message}`);
    return 2;
  } finally {
    redis.disconnect();
    if (file) await new Promise((r) => file.end(r));
  }
  io.err(`exported ${n} labels (${by.spam} spam, ${by.ham} ham)${o.out ? ` to ${o.out}` : ''}`);
  return 0;
}

// ---- commander -----------------------------------------------------------------------------------

function num(name: string, min: number, max: number, int = false): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max || (int && !Number.isInteger(n))) {
      throw new Error(`${name} must be ${int ? 'a whole number' : 'a number'} from ${min} to ${max}, got ${v}`);
    }
    return n;
  };
}

function parsed<T>(name: string, min: number, max: number, int: boolean, fallback: T): (v: string) => number | T {
  const f = num(name, min, max, int);
  return (v) => {
    try {
      return f(v);
    } catch (e) {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exit(2);
    }
    return fallback;
  };
}

export function registerModel(program: Command): void {
  const model = program
    .command('model')
    .description('train, test and feed the learned content score (docs/model.md)')
    .addHelpText('after', '\nExamples:\n  $ smppguard model test models/spam-en.model data/sms-spam-en/split/test.tsv\n  $ smppguard model export-labels -c config/gateway.yaml --since 30d -o labels.tsv\n');

  model
    .command('split')
    .description('seeded, stratified split of a labelled file into train.tsv, validation.tsv and test.tsv')
    .argument('<file>', 'labelled messages: TSV label<TAB>text, CSV or JSON lines (gzip too)')
    .requiredOption('-o, --out-dir <dir>', 'where the three files go')
    .option('--seed <n>', 'random seed', parsed('--seed', 0, 2 ** 32 - 1, true, 1), 1)
    .option('--validation <pct>', 'percent of each label for validation', parsed('--validation', 0, 99, false, 15), 15)
    .option('--test <pct>', 'percent of each label held out for the final test', parsed('--test', 0, 99, false, 15), 15)
    .addHelpText('after', '\nExample:\n  $ smppguard model split data/sms-spam-en/sms-spam-en.tsv -o data/sms-spam-en/split --seed 1\n')
    .action(async (file: string, o: { outDir: string; seed: number; validation: number; test: number }) => {
      process.exitCode = await modelSplit(file, { outDir: o.outDir, seed: o.seed, validationPct: o.validation, testPct: o.test });
    });

  const d = DEFAULT_TRAIN;
  model
    .command('train')
    .description('fit a model over hashed character n-grams of the normalised text; writes one model file')
    .argument('<files...>', 'labelled messages: TSV label<TAB>text, CSV (label,text) or JSON lines {"label","text"}; gzip too')
    .requiredOption('-o, --out <file>', 'the model file to write (e.g. models/spam-en.model)')
    .option('--name <text>', 'what the model is for (kept in its header)', 'content score')
    .option('--algorithm <lr|nb|nblr>', 'lr: logistic regression (Adagrad); nb: multinomial naive Bayes; nblr: logistic regression over naive-Bayes-scaled features', d.algorithm)
    .option('--min-n <n>', 'shortest n-gram (characters)', parsed('--min-n', 1, 8, true, d.minN), d.minN)
    .option('--max-n <n>', 'longest n-gram (characters)', parsed('--max-n', 1, 8, true, d.maxN), d.maxN)
    .option('--bits <n>', 'hash buckets 2^n (10-20; 18 = 1 MiB of weights)', parsed('--bits', 10, 20, true, d.bits), d.bits)
    .option('--epochs <n>', 'passes over the data (lr)', parsed('--epochs', 1, 1000, true, d.epochs), d.epochs)
    .option('--learning-rate <x>', 'Adagrad learning rate (lr)', parsed('--learning-rate', 1e-6, 100, false, d.learningRate), d.learningRate)
    .option('--l2 <x>', 'L2 penalty (lr)', parsed('--l2', 0, 1, false, d.l2), d.l2)
    .option('--alpha <x>', 'additive smoothing (nb)', parsed('--alpha', 1e-9, 100, false, d.alpha), d.alpha)
    .option('--seed <n>', 'random seed (shuffling)', parsed('--seed', 0, 2 ** 32 - 1, true, d.seed), d.seed)
    .option('--shuffle-buffer <n>', 'messages held for shuffling (the whole file when it fits)', parsed('--shuffle-buffer', 1, 1e8, true, 200_000), 200_000)
    .option('--folds <k>', 'choose the threshold on k-fold cross-validation of the training data (0: off; trains k more models)', parsed('--folds', 0, 20, true, 0), 0)
    .option('--validation <file>', 'labelled messages to report on (and, without --folds, to choose the threshold on)')
    .option('--target-ham-blocked <pct>', 'with --validation: the threshold keeps ham wrongly blocked at or under this percent', parsed('--target-ham-blocked', 0, 100, false, 0.3), 0.3)
    .option('--threshold <p>', 'the threshold to record instead of choosing one', parsed('--threshold', 0, 1, false, 0.5))
    .option('-q, --quiet', 'no progress lines')
    .addHelpText(
      'after',
      '\nExample:\n  $ smppguard model train data/sms-spam-en/split/train.tsv data/sms-spam-en/split/validation.tsv --folds 5 -o models/spam-en.model\n',
    )
    .action(async (files: string[], o: TrainFlags & { algorithm: string }) => {
      if (o.algorithm !== 'lr' && o.algorithm !== 'nb' && o.algorithm !== 'nblr') {
        process.stderr.write(`--algorithm is lr, nb or nblr, got ${String(o.algorithm)}\n`);
        process.exitCode = 2;
        return;
      }
      process.exitCode = await modelTrain(files, o);
    });

  model
    .command('test')
    .description('precision, recall, F1, ham wrongly blocked, spam caught, ROC-AUC and the confusion matrix on labelled data')
    .argument('<model>', 'the model file')
    .argument('<files...>', 'labelled messages (as for train)')
    .option('--threshold <p>', "spam when the score is above this (default: the model's own)", parsed('--threshold', 0, 1, false, 0.5))
    .option('--target-ham-blocked <pct>', 'also report the threshold that keeps ham wrongly blocked at or under this percent', parsed('--target-ham-blocked', 0, 100, false, 0.3), 0.3)
    .option('--json', 'the figures as JSON')
    .option('-q, --quiet', 'no progress lines')
    .addHelpText('after', '\nExample:\n  $ smppguard model test models/spam-en.model data/sms-spam-en/split/test.tsv\n')
    .action(async (modelFile: string, files: string[], o: TestFlags) => {
      process.exitCode = await modelTest(modelFile, files, o);
    });

  model
    .command('export-labels')
    .description("the gateway's labels (reviewers' approve → ham / reject → spam, handled complaints → spam) as TSV or JSON lines")
    .requiredOption('-c, --config <file>', 'gateway configuration (for Redis)')
    .option('--since <when>', 'only labels from this far back (30d, 12h) or this time (ISO 8601) on')
    .option('--format <tsv|jsonl>', 'tsv: label<TAB>text (what train reads); jsonl: with source, ref, account, time', 'tsv')
    .option('--source <review|complaint>', 'only labels from reviewers or from complaints')
    .option('-o, --out <file>', 'write here instead of stdout')
    .addHelpText('after', '\nExamples:\n  $ smppguard model export-labels -c config/gateway.yaml --since 30d -o labels.tsv\n  $ smppguard model export-labels -c config/gateway.yaml --format jsonl --source complaint\n')
    .action(async (o: ExportFlags) => {
      if (o.format !== 'tsv' && o.format !== 'jsonl') {
        process.stderr.write(`--format is tsv or jsonl, got ${String(o.format)}\n`);
        process.exitCode = 2;
        return;
      }
      if (o.source !== undefined && o.source !== 'review' && o.source !== 'complaint') {
        process.stderr.write(`--source is review or complaint, got ${String(o.source)}\n`);
        process.exitCode = 2;
        return;
      }
      process.exitCode = await exportLabels(o);
    });
}
