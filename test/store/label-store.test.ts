/**
 * Labels from the gateway's own people: a reviewer's reject (spam) and approve (ham) in the review
 * queue and a handled complaint (spam) land in the labelled store and come out of
 * `smppguard model export-labels` (TSV for training, JSON lines with their origin).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exportLabels, sinceOf } from '../../src/cli/model.js';
import { senderId } from '../../src/domain/sender.js';
import { LabelStore, MAX_TEXT } from '../../src/store/label-store.js';
import { Redis } from 'ioredis';
import { REDIS_URL, sm, startStack, waitFor, type Stack } from '../helpers/stack.js';
import { clearKeys } from '../helpers/redis-keys.js';

const SENDER = '8610690002';
const USER = '8613800138000';

let stack: Stack | null = null;
afterEach(async () => {
  if (stack) {
    const redis = stack.gw.redis;
    await clearKeys(redis, `${stack.prefix}*`);
    await stack.stop();
  }
  stack = null;
});

const io = () => {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
};

describe('labels from reviewers and complaints', () => {
  it('a reviewer reject and approve and a handled complaint appear in export-labels', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-labels-'));
    writeFileSync(
      join(dir, 'review.yaml'),
      `version: 1
rules:
  - id: review-prize
    description: prizes wait for a reviewer
    match: { text: { contains_any: [PRIZE] } }
    action: { queue: review }
`,
    );
    stack = await startStack({
      cfg: (c) => {
        c.policy.enabled = true;
        c.rules = { dir, watch: false };
      },
    });
    const s = stack;
    const rec = { id: senderId('number', SENDER), kind: 'number' as const, value: SENDER, account: 'esme', class: 'otp' as const, status: 'active' as const, signatures: [] };
    await s.gw.store.putSender(rec, { who: 'test' });
    await waitFor(() => s.gw.sync.registry.get(rec.id) !== undefined, 1000, 'sender cached');
    const esme = await s.esme('transceiver');
    const spam = await esme.submit(sm({ source_addr: SENDER, destination_addr: USER, short_message: 'You won a PRIZE\ncall 0906 now' }));
    const ham = await esme.submit(sm({ source_addr: SENDER, destination_addr: USER, short_message: 'The PRIZE giving is at 3pm in the hall' }));
    expect([spam.status, ham.status]).toEqual([0, 0]);
    const q = s.gw.queue!.store;
    expect(await q.reject(spam.messageId, 'reviewer-1')).toBe(true);
    expect(await q.approve(ham.messageId, 'reviewer-1')).toBe(true);

    // A complaint with its text, handled (founded): a spam label. A rejected (unfounded) one is not.
    const desk = s.gw.complaints!;
    const facts = (text: string) => ({
      recipient: USER,
      reportedSender: SENDER,
      senderAddress: { kind: 'number' as const, value: SENDER },
      messageId: null,
      text,
      reportedAt: Date.now(),
      receivedAt: Date.now(),
      source: '12321' as const,
      reference: null,
      note: null,
    });
    const founded = await desk.intake(facts('贷款秒批，无需抵押，加微信办理'), { who: 'test' });
    await desk.act(founded.case.id, 'handle', { actor: { who: 'test' }, resolution: 'sender warned' });
    const unfounded = await desk.intake(facts('你好，明天见'), { who: 'test' });
    await desk.act(unfounded.case.id, 'reject', { actor: { who: 'test' }, note: 'not spam' });

    const labels = s.gw.labels!;
    for (const until = Date.now() + 3000; (await labels.count()) < 3 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20));
    expect(await labels.count()).toBe(3);

    // export-labels, through a config file naming the same Redis and prefix.
    const cfgFile = join(dir, 'gateway.yaml');
    writeFileSync(cfgFile, `redis: { url: "${REDIS_URL}", key_prefix: "${s.prefix}" }\n`);
    const tsv = io();
    const out = join(dir, 'labels.tsv');
    expect(await exportLabels({ config: cfgFile, format: 'tsv', out }, tsv.io)).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(
      ['label\ttext', 'spam\tYou won a PRIZE call 0906 now', 'ham\tThe PRIZE giving is at 3pm in the hall', 'spam\t贷款秒批，无需抵押，加微信办理', ''].join('\n'),
    );
    expect(tsv.err).toEqual([`exported 3 labels (2 spam, 1 ham) to ${out}`]);

    const jsonl = io();
    const outJson = join(dir, 'labels.jsonl');
    expect(await exportLabels({ config: cfgFile, format: 'jsonl', out: outJson, source: 'complaint', since: '1d' }, jsonl.io)).toBe(0);
    const rows = readFileSync(outJson, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    expect(rows).toEqual([{ label: 'spam', text: '贷款秒批，无需抵押，加微信办理', source: 'complaint', ref: founded.case.id, account: 'esme', time: expect.any(String) }]);

    // Nothing from the future.
    const none = io();
    expect(await exportLabels({ config: cfgFile, format: 'tsv', out: join(dir, 'none.tsv'), since: new Date(Date.now() + 60_000).toISOString() }, none.io)).toBe(0);
    expect(none.err).toEqual([`exported 0 labels (0 spam, 0 ham) to ${join(dir, 'none.tsv')}`]);
    const bad = io();
    expect(await exportLabels({ config: cfgFile, format: 'tsv', since: 'last week' }, bad.io)).toBe(2);
    expect(bad.err[0]).toMatch(/--since "last week" is neither a duration/);
  });
});

describe('LabelStore', () => {
  it('is bounded: texts cut at MAX_TEXT, old labels trimmed by age, blank texts not kept, a Redis failure reported not thrown', async () => {
    const redis = new Redis(REDIS_URL);
    const prefix = `test:labels:${process.pid}:`;
    try {
      const store = new LabelStore(redis, prefix, { retentionMs: 60_000, maxEntries: 1000 });
      expect(await store.add('spam', '   ', 'review', 'q1', 'a')).toBe(false);
      expect(await store.add('spam', 'x'.repeat(MAX_TEXT + 50), 'review', 'q1', 'a')).toBe(true);
      const [first] = await (async () => {
        const out = [];
        for await (const e of store.read()) out.push(e);
        return out;
      })();
      expect(first!.text.length).toBe(MAX_TEXT);
      // An entry older than the retention goes at the next append.
      await redis.del(store.key);
      await redis.xadd(store.key, `${Date.now() - 120_000}-0`, 'label', 'ham', 'text', 'old', 'source', 'review', 'ref', 'q0', 'account', 'a');
      await store.add('ham', 'new', 'review', 'q2', 'a');
      const texts: string[] = [];
      for await (const e of store.read()) texts.push(e.text);
      expect(texts).toEqual(['new']);
      expect(sinceOf('30d', 100 * 86_400_000)).toBe(70 * 86_400_000);
      expect(sinceOf('2026-01-01T00:00:00Z')).toBe(Date.parse('2026-01-01T00:00:00Z'));
      expect(sinceOf(undefined)).toBe(0);
      expect(sinceOf('soon')).toBeNull();
      const failing = new LabelStore(redis, prefix, { retentionMs: 1, maxEntries: 1000 }, (e) => errors.push(String(e)));
      const errors: string[] = [];
      await redis.set(`${prefix}labels-not-a-stream`, 'x');
      (failing as unknown as { key: string }).key = `${prefix}labels-not-a-stream`;
      expect(await failing.add('spam', 'text', 'review', 'q', null)).toBe(false);
      expect(errors[0]).toMatch(/WRONGTYPE/);
    } finally {
      await clearKeys(redis, `${prefix}*`);
      redis.disconnect();
    }
  });
});
