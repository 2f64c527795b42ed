/**
 * The model loader: loads configured model files, refuses a bad one with a clear message while
 * the last good model stays active (metric, log line), reloads when a file changes, and rules'
 * score conditions see the reloaded model from the next message on.
 */
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { beforeEach, describe, expect, it } from 'vitest';
import { ModelLoader } from '../../src/decision/model-loader.js';
import { compileSources } from '../../src/rules/compile-set.js';
import { NORMALISER_VERSION } from '../../src/rules/normalise.js';
import { LinearModel } from '../../src/model/model.js';
import { EN, trainOn } from '../helpers/labelled.js';
import { INITIAL, ctx } from '../rules/helpers.js';

const logs: { level: string; msg: string; obj: Record<string, unknown> }[] = [];
const log = {
  info: (obj: object, msg: string) => logs.push({ level: 'info', msg, obj: obj as Record<string, unknown> }),
  error: (obj: object, msg: string) => logs.push({ level: 'error', msg, obj: obj as Record<string, unknown> }),
};

const goodBytes = trainOn(EN, { epochs: 4 }).encode(0.5, null);
/** Another good model (other seed, so other weights). */
const otherBytes = trainOn(EN, { epochs: 4, seed: 9 }).encode(0.5, null);

function withHeader(bytes: Buffer, change: (h: Record<string, unknown>) => void): Buffer {
  const nl1 = bytes.indexOf(10);
  const nl2 = bytes.indexOf(10, nl1 + 1);
  const h = JSON.parse(bytes.subarray(nl1 + 1, nl2).toString()) as Record<string, unknown>;
  change(h);
  return Buffer.concat([bytes.subarray(0, nl1 + 1), Buffer.from(JSON.stringify(h)), bytes.subarray(nl2)]);
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sg-models-'));
  logs.length = 0;
});

const SPAM = 'WINNER you have won a cash prize, call now to claim';

describe('ModelLoader', () => {
  it('keeps the last good model when the file turns bad (wrong header, other normaliser version), says why, and takes the fixed file', async () => {
    const file = join(dir, 'spam.model');
    writeFileSync(file, goodBytes);
    const registry = new Registry();
    const models = new ModelLoader({ spam: file }, { registry, log });
    expect(models.load()).toBe(true);
    const first = models.get('spam')!;
    expect(first.scoreText(SPAM)).toBeGreaterThan(0.5);
    expect(logs.at(-1)).toMatchObject({ level: 'info', msg: 'model: loaded', obj: { model: 'spam', file } });

    // Not a model at all.
    writeFileSync(file, 'version: 1\n');
    expect(models.load()).toBe(false);
    expect(models.get('spam')).toBe(first);
    expect(logs.at(-1)).toMatchObject({ level: 'error', msg: 'model: load failed; keeping the last good model' });
    expect(String(logs.at(-1)!.obj.err)).toMatch(/spam.model: not a smppguard model file/);

    // A model trained with another normaliser version.
    writeFileSync(file, withHeader(goodBytes, (h) => (h.normaliser_version = NORMALISER_VERSION + 1)));
    expect(models.load()).toBe(false);
    expect(models.get('spam')).toBe(first);
    expect(models.status()[0]!.problem).toMatch(
      new RegExp(`trained with normaliser version ${NORMALISER_VERSION + 1}, this gateway normalises text with version ${NORMALISER_VERSION}.*train it again`),
    );
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/smppguard_model_reload_failures_total\{model="spam"\} 2/);
    expect(metrics).toMatch(/smppguard_model_last_reload_success\{model="spam"\} 0/);
    expect(metrics).toMatch(new RegExp(`smppguard_model_info\\{model="spam",version="${first.header.weights_sha256.slice(0, 12)}",algorithm="nblr"\\} 1`));

    // Unchanged bad bytes are not re-read on every event; a SIGHUP reload tries again.
    expect(models.load()).toBe(false);
    expect(models.reload()).toBe(false);
    expect(await registry.metrics()).toMatch(/smppguard_model_reload_failures_total\{model="spam"\} 3/);

    // Fixed: the new model is active.
    writeFileSync(file, otherBytes);
    expect(models.load()).toBe(true);
    expect(models.get('spam')).not.toBe(first);
    expect(models.status()[0]).toMatchObject({ problem: null });
    expect(await registry.metrics()).toMatch(/smppguard_model_last_reload_success\{model="spam"\} 1/);
  });

  it('a model that never loaded is reported and its score conditions do not hold', () => {
    const models = new ModelLoader({ gone: join(dir, 'missing.model') }, { log });
    expect(models.load()).toBe(false);
    expect(models.get('gone')).toBeNull();
    expect(models.status()[0]!.problem).toMatch(/missing.model: cannot read \(ENOENT\)/);
    expect(logs.at(-1)!.msg).toBe('model: load failed; no model of this name is active (its score conditions do not hold)');
  });

  it('reloads when the file is replaced (a ConfigMap swaps it by rename), and rules score with the new model without recompiling', async () => {
    const file = join(dir, 'spam.model');
    writeFileSync(file, goodBytes);
    const models = new ModelLoader({ spam: file }, { log, debounceMs: 20 });
    models.start();
    try {
      const r = compileSources(
        [
          {
            path: join(dir, 'r.yaml'),
            text: `version: 1
rules:
  - id: scored
    description: learned score
    mode: monitor
    match: { score: { model: spam, above: 0.5 } }
    action: { reject: { reason: spam_score } }
`,
          },
        ],
        { read: () => '', models },
      );
      if (!r.ok) throw new Error(r.errors.join('\n'));
      const before = models.get('spam')!;
      writeFileSync(join(dir, 'next.tmp'), otherBytes);
      renameSync(join(dir, 'next.tmp'), file);
      const deadline = Date.now() + 5000;
      while (models.get('spam') === before && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      expect(models.get('spam')).not.toBe(before);
      expect(models.get('spam')!.header.weights_sha256).toBe(LinearModel.decode(otherBytes).header.weights_sha256);
      // The compiled rule reads the new model: the score recorded for a message is the new model's.
      const c = ctx({ text: SPAM, scores: null });
      const out = r.set.evaluate(c, INITIAL, new Map());
      expect(out.hits.map((h) => `${h.rule}/${h.mode}`)).toEqual(['scored/monitor']);
      expect(c.scores).toHaveLength(1);
      expect(c.scores![0]!.of).toBe(models.get('spam'));
      expect(c.scores![0]!.p).toBeCloseTo(models.get('spam')!.scoreText(SPAM), 9);
    } finally {
      models.close();
    }
  });

  it('a rule naming a model the configuration does not declare is a load error', () => {
    const models = new ModelLoader({ spam: join(dir, 'x.model') });
    const errors = (match: string): string => {
      const r = compileSources(
        [{ path: 'r.yaml', text: `version: 1\nrules:\n  - id: scored\n    description: x\n    match: ${match}\n    action: { reject: { reason: spam_score } }\n` }],
        { read: () => '', models },
      );
      return r.ok ? '' : r.errors.join('\n');
    };
    expect(errors('{ score: { model: spma, above: 0.9 } }')).toMatch(
      /^r.yaml:5:\d+: rules\[0\]\.match\.score\.model: unknown model spma \(declare it under models: in the gateway configuration\)$/,
    );
    expect(errors('{ score: { model: spam, above: 1.5 } }')).toMatch(/rules\[0\]\.match\.score\.above: above is a probability in \[0, 1\)/);
    expect(errors('{ score: { model: spam, above: 0.9 } }')).toBe('');
  });
});
