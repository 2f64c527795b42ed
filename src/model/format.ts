/**
 * The model file: one versioned file per model, readable by eye at the top and compact below.
 *
 *   line 1   "smppguard-model 1"                  the format and its version
 *   line 2   the header, one line of JSON          (ModelHeader below: features, n-gram range,
 *                                                  normaliser version, training data digest, metrics)
 *   rest     2^bits little-endian float32 weights  (sha256 in the header)
 *
 * decodeModel() refuses anything it cannot vouch for, with a message that says what is wrong: not a
 * model file, another format version, a header that does not validate, a model trained with
 * another normaliser version than this gateway's (its n-grams would not be the ones it learned),
 * weights of the wrong length or whose digest does not match.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { NORMALISER_VERSION } from '../rules/normalise.js';

export const MAGIC = 'smppguard-model';
export const FORMAT_VERSION = 1;
/** Buckets: 2^MIN_BITS to 2^MAX_BITS (2^20 float32 weights = 4 MiB, under the 5 MB budget). */
export const MIN_BITS = 10;
export const MAX_BITS = 20;

const Metrics = z.object({
  rows: z.number().int().min(0),
  ham: z.number().int().min(0),
  spam: z.number().int().min(0),
  threshold: z.number(),
  precision: z.number(),
  recall: z.number(),
  f1: z.number(),
  ham_blocked_pct: z.number(),
  spam_caught_pct: z.number(),
  roc_auc: z.number(),
});
export type HeaderMetrics = z.infer<typeof Metrics>;

export const ModelHeaderSchema = z.strictObject({
  /** Free text: what the model is for (e.g. "English SMS spam, SMS Spam Collection"). */
  name: z.string().min(1).max(200),
  /** lr: logistic regression (feature values count / sqrt(n-grams)); nb: multinomial naive Bayes (raw counts). */
  algorithm: z.enum(['lr', 'nb', 'nblr']),
  features: z.strictObject({
    kind: z.literal('char-ngram-hashed'),
    /** Which normalised form the n-grams are taken from (rules/normalise.ts). */
    form: z.literal('plain'),
    min_n: z.number().int().min(1).max(8),
    max_n: z.number().int().min(1).max(8),
    bits: z.number().int().min(MIN_BITS).max(MAX_BITS),
    hash: z.literal('fnv1a32-fmix32'),
    /** lr: each count divided by √(n-gram occurrences in the message); nb: raw counts. */
    scale: z.enum(['sqrt-count', 'none']),
  }),
  normaliser_version: z.number().int().min(1),
  bias: z.number(),
  /** The score above which the trainer would call a message spam (chosen for a target ham-blocked rate). */
  threshold: z.number().min(0).max(1),
  training: z.strictObject({
    seed: z.number().int(),
    epochs: z.number().int().min(1),
    /** lr: Adagrad's learning rate and the L2 penalty; nb: the additive (Lidstone) smoothing. */
    learning_rate: z.number(),
    l2: z.number(),
    alpha: z.number(),
    /** sha256 of the training records (label, TAB, text, NL, in the order read), before normalisation. */
    data_sha256: z.string().regex(/^[0-9a-f]{64}$/),
    rows: z.number().int().min(0),
    ham: z.number().int().min(0),
    spam: z.number().int().min(0),
    files: z.array(z.string()),
  }),
  /** Figures on the validation data the threshold was chosen on (null: none given). */
  validation: Metrics.nullable(),
  weights_sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type ModelHeader = z.infer<typeof ModelHeaderSchema>;

export class ModelFormatError extends Error {}

/** The model file's bytes. */
export function encodeModel(header: Omit<ModelHeader, 'weights_sha256'>, weights: Float32Array): Buffer {
  const bytes = Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength);
  const le = isLittleEndian() ? bytes : swap32(bytes);
  const full: ModelHeader = { ...header, weights_sha256: sha256(le) };
  const head = Buffer.from(`${MAGIC} ${FORMAT_VERSION}\n${JSON.stringify(full)}\n`, 'utf8');
  return Buffer.concat([head, le]);
}

/** Reads a model file; throws ModelFormatError saying what is wrong. `name` prefixes the message. */
export function decodeModel(bytes: Uint8Array, name = 'model'): { header: ModelHeader; weights: Float32Array } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nl1 = buf.indexOf(10);
  const first = buf.subarray(0, nl1 < 0 ? Math.min(buf.length, 40) : nl1).toString('latin1');
  const m = /^smppguard-model (\d+)$/.exec(first);
  if (!m) throw new ModelFormatError(`${name}: not a smppguard model file (it should start with "${MAGIC} ${FORMAT_VERSION}")`);
  if (Number(m[1]) !== FORMAT_VERSION) {
    throw new ModelFormatError(`${name}: model file format ${m[1]}, this gateway reads format ${FORMAT_VERSION}: train it again with this version`);
  }
  const nl2 = buf.indexOf(10, nl1 + 1);
  if (nl2 < 0) throw new ModelFormatError(`${name}: the header line is cut short`);
  let json: unknown;
  try {
    json = JSON.parse(buf.subarray(nl1 + 1, nl2).toString('utf8'));
  } catch (e) {
    throw new ModelFormatError(`${name}: the header is not JSON (${(e as Error).message})`);
  }
  const parsed = ModelHeaderSchema.safeParse(json);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(header)'}: ${i.message}`).join('; ');
    throw new ModelFormatError(`${name}: invalid header: ${why}`);
  }
  const header = parsed.data;
  if (header.normaliser_version !== NORMALISER_VERSION) {
    throw new ModelFormatError(
      `${name}: trained with normaliser version ${header.normaliser_version}, this gateway normalises text with version ${NORMALISER_VERSION}: ` +
        'its n-grams would not be the ones it learned; train it again with this version (smppguard model train)',
    );
  }
  if (header.features.min_n > header.features.max_n) throw new ModelFormatError(`${name}: invalid header: features.min_n is above features.max_n`);
  const body = buf.subarray(nl2 + 1);
  const want = 4 * 2 ** header.features.bits;
  if (body.length !== want) {
    throw new ModelFormatError(`${name}: ${body.length} bytes of weights, the header's 2^${header.features.bits} buckets need ${want} (truncated or not this model's file)`);
  }
  if (sha256(body) !== header.weights_sha256) throw new ModelFormatError(`${name}: the weights do not match the header's weights_sha256 (corrupted file)`);
  const copy = new Uint8Array(body.length);
  copy.set(body);
  const weights = new Float32Array(isLittleEndian() ? copy.buffer : swap32(Buffer.from(copy.buffer)).buffer);
  for (let i = 0; i < weights.length; i++) if (!Number.isFinite(weights[i]!)) throw new ModelFormatError(`${name}: weight ${i} is not a finite number`);
  return { header, weights };
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function isLittleEndian(): boolean {
  return new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
}

function swap32(b: Buffer): Buffer {
  const c = Buffer.from(b);
  c.swap32();
  return c;
}
