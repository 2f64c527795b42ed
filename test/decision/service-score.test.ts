/**
 * A learned score on live traffic, through the real decision path (gateway, SMPP, Redis): a
 * monitor-mode `score` rule counts its matches without refusing anything; explain and the
 * evidence stream show the score and the n-grams that pushed it most; a concatenated message is
 * scored once, on its whole text; a bad model file keeps the last good model.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { senderId } from '../../src/domain/sender.js';
import type { EsmeClient } from '../helpers/esme-client.js';
import { EN, trainOn } from '../helpers/labelled.js';
import { sm, startStack, waitFor, type Stack } from '../helpers/stack.js';
import { clearKeys } from '../helpers/redis-keys.js';

const SENDER = '8610690002';
const USER = '8613800138000';
const SPAM = 'WINNER! You have won a cash prize, call now to claim';
const HAM = 'Are we still meeting for lunch tomorrow?';

let stack: Stack | null = null;
afterEach(async () => {
  if (stack) {
    const redis = stack.gw.redis;
    await clearKeys(redis, `${stack.prefix}*`);
    await stack.stop();
  }
  stack = null;
});

async function start(): Promise<{ esme: EsmeClient; modelFile: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-score-'));
  const modelFile = join(dir, 'spam.model');
  writeFileSync(modelFile, trainOn(EN, { epochs: 6 }).encode(0.5, null));
  writeFileSync(
    join(dir, 'score.yaml'),
    `version: 1
rules:
  - id: spam-score-watch
    description: the learned score, watched before it is enforced
    mode: monitor
    match: { score: { model: spam, above: 0.5 } }
    action: { reject: { status: 0x45, reason: spam_score } }
`,
  );
  stack = await startStack({
    cfg: (c) => {
      c.policy.enabled = true;
      c.rules = { dir, watch: false };
      c.models = { spam: modelFile };
      c.audit.stream.flush_ms = 0;
      c.http.readyz_details = true;
    },
  });
  const rec = { id: senderId('number', SENDER), kind: 'number' as const, value: SENDER, account: 'esme', class: 'otp' as const, status: 'active' as const, signatures: [] };
  await stack.gw.store.putSender(rec, { who: 'test' });
  await waitFor(() => stack!.gw.sync.registry.get(rec.id) !== undefined, 1000, 'sender cached');
  return { esme: await stack.esme('transmitter'), modelFile };
}

const send = (esme: EsmeClient, text: string | Buffer, over: Record<string, string | number | Buffer> = {}) =>
  esme.submit(sm({ source_addr: SENDER, destination_addr: USER, short_message: text, ...over })).then((r) => r.status);

describe('a score rule on live traffic', () => {
  it('in monitor mode counts the would-be rejects and refuses nothing; explain and evidence show the score and its n-grams', async () => {
    const { esme } = await start();
    expect(await send(esme, SPAM)).toBe(0);
    expect(await send(esme, HAM)).toBe(0);
    expect(await send(esme, SPAM)).toBe(0);
    const metrics = await stack!.gw.metrics.text();
    expect(metrics).toMatch(/smppguard_rule_matches_total\{rule="spam-score-watch",action="reject",mode="monitor"\} 2/);
    expect(metrics).toMatch(/smppguard_model_last_reload_success\{model="spam"\} 1/);

    // explain: the score, the n-grams, and that the rule would have rejected.
    const e = await stack!.gw.decisions.explain({ account: 'esme', source_addr: SENDER, destination_addr: USER, text: SPAM });
    expect(e.action).toBe('forward');
    expect(e.scores).toHaveLength(1);
    expect(e.scores![0]!.model).toBe('spam');
    expect(e.scores![0]!.p).toBeGreaterThan(0.5);
    expect(e.scores![0]!.top.length).toBe(5);
    expect(e.trace.some((l) => /^score spam: 0\.\d{4}; n-grams that pushed it most: "/.test(l))).toBe(true);
    expect(e.trace).toContain('rule spam-score-watch matched (monitor, not applied): would reject spam_score (status 0x45)');
    const calm = await stack!.gw.decisions.explain({ account: 'esme', source_addr: SENDER, destination_addr: USER, text: HAM });
    expect(calm.scores![0]!.p).toBeLessThan(0.5);

    // Evidence: each decision has its score; the matched ones with the n-grams that pushed it most.
    await stack!.gw.auditStream!.flush();
    // Decisions only (a forwarded message has an smsc_id record too).
    const decisionsOnly = async () => (await stack!.gw.auditStream!.decisionsFor(USER, { match: (d) => d.decision !== 'smsc_id' })).decisions;
    let recs = await decisionsOnly();
    for (const until = Date.now() + 3000; recs.length < 3 && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 50));
      recs = await decisionsOnly();
    }
    expect(recs).toHaveLength(3);
    expect(recs[0]!.score).toMatch(/^spam=0\.\d{4}( "[^"]+"[+-]\d+\.\d\d){3}$/);
    expect(recs[1]!.score).toMatch(/^spam=0\.\d{4}$/);
    expect(Number(recs[1]!.score!.slice(5))).toBeLessThan(0.5);
  });

  it('scores a concatenated message once, on its whole text', async () => {
    const { esme } = await start();
    const udh = (seq: number) => Buffer.from([5, 0, 3, 0x31, 2, seq]);
    const parts = await Promise.all([
      send(esme, Buffer.concat([udh(1), Buffer.from('WINNER! You have won a cash ')]), { esm_class: 0x40 }),
      send(esme, Buffer.concat([udh(2), Buffer.from('prize, call now to claim')]), { esm_class: 0x40 }),
    ]);
    expect(parts).toEqual([0, 0]);
    // One decision for the whole message: one match counted, not one per part.
    expect(await stack!.gw.metrics.text()).toMatch(/smppguard_rule_matches_total\{rule="spam-score-watch",action="reject",mode="monitor"\} 1/);
  });

  it('a bad model file keeps the last good model running, and /readyz says why', async () => {
    const { esme, modelFile } = await start();
    const before = stack!.gw.models!.get('spam');
    writeFileSync(modelFile, 'smppguard-model 1\n{"name":"x"}\n');
    expect(stack!.gw.reloadRules()).toBe(true);
    expect(stack!.gw.models!.get('spam')).toBe(before);
    const ready = await stack!.gw.readiness();
    expect(ready.checks.models!.detail).toMatch(/^spam: [0-9a-f]{12} \(last load failed: .*spam.model: invalid header: /);
    expect(await send(esme, SPAM)).toBe(0);
    expect(await stack!.gw.metrics.text()).toMatch(/smppguard_rule_matches_total\{rule="spam-score-watch",action="reject",mode="monitor"\} 1/);
  });
});
