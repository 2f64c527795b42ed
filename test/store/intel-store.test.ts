/**
 * IntelStore against the real Redis on 127.0.0.1:6379 (unique key prefix): marks (counts, expiry,
 * the cap), reputation sets (replace, add, the entry cap), learned entries, the memory's texts, and
 * two instances kept in step through pub/sub; and the feedback a reviewer or a complaint gives
 * (decision/feedback.ts; a complaint's message id found through the decision records, store/audit-stream.ts);
 * and `smppguard import reputation` (cli/import-reputation.ts) on a file.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReputationImport } from '../../src/cli/import-reputation.js';
import { Feedback } from '../../src/decision/feedback.js';
import { reputationEntry } from '../../src/import/reputation-rows.js';
import { fingerprintOf } from '../../src/rules/fingerprint.js';
import { foldChars } from '../../src/rules/normalise.js';
import { AuditStream } from '../../src/store/audit-stream.js';
import { IntelStore } from '../../src/store/intel-store.js';
import { connectRedis, createRedis, type Redis } from '../../src/store/redis.js';
import { clearKeys, keysMatching } from '../helpers/redis-keys.js';

const PREFIX = `test:intel:${process.pid}:${randomBytes(4).toString('hex')}:`;
let redis: Redis;
let a: IntelStore;
let b: IntelStore;

beforeAll(async () => {
  redis = createRedis({ url: 'redis://127.0.0.1:6379', command_timeout_ms: 2000 });
  expect(await connectRedis(redis, 5000)).toBe(true);
  a = new IntelStore(redis, PREFIX, { maxMarks: 5, maxEntries: 4, memoryTtlS: 3600 });
  b = new IntelStore(redis, PREFIX, { maxMarks: 5, maxEntries: 4, memoryTtlS: 3600 });
  await a.start();
  await b.start();
});

afterAll(async () => {
  await a.stop();
  await b.stop();
  await clearKeys(redis, `${PREFIX}*`);
  redis.disconnect();
});

async function until(p: () => boolean, ms = 1000): Promise<void> {
  const t0 = Date.now();
  while (!p()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('marks', () => {
  it('count each complaint, reach the other instance, and expire', async () => {
    const exp = Date.now() + 60_000;
    await a.mark(['k1', 'k2'], 'complained', exp, 'complaint:C1');
    const [m] = await a.mark(['k1'], 'complained', exp, 'complaint:C2');
    expect(m!.count).toBe(2);
    await until(() => b.index.markOf('k1', [], Date.now())?.count === 2);
    expect(b.index.markOf('zz', ['k2'], Date.now())?.source).toBe('complaint:C1');
    expect(b.index.markOf('k1', [], exp + 1)).toBeNull();
    expect(await redis.pttl(`${PREFIX}{intel}:marks`)).toBeGreaterThan(0);
  });

  it('are capped: beyond max_marks the soonest to expire go', async () => {
    const now = Date.now();
    for (let i = 0; i < 8; i++) await a.mark([`cap${i}`], 'rejected', now + 100_000 + i, `review:${i}`);
    const all = await a.allMarks();
    expect(all.length).toBeLessThanOrEqual(5);
    expect(all.some((m) => m.key === 'cap7')).toBe(true);
    expect(all.some((m) => m.key === 'cap0')).toBe(false);
  });

  it('a reload brings back what Redis holds (a missed event)', async () => {
    b.index.clearMarks();
    await b.reload();
    expect(b.index.markCount).toBe((await a.allMarks()).length);
  });
});

describe('reputation sets', () => {
  it('replace, add, and refuse beyond max entries', async () => {
    expect(await a.importSet('number', 'feed', ['111111111', '222222222'])).toBe(2);
    await until(() => b.index.setSize('number', 'feed') === 2);
    expect(await a.importSet('number', 'feed', ['333333333'], { add: true })).toBe(3);
    expect(await a.importSet('number', 'feed', ['444444444'])).toBe(1);
    await until(() => b.index.setSize('number', 'feed') === 1);
    await expect(a.importSet('number', 'feed', ['1', '2', '3', '4', '5'].map((x) => x.repeat(9)))).rejects.toThrow(/max_reputation_entries/);
    expect(await a.sets()).toContainEqual({ kind: 'number', name: 'feed', size: 1 });
    expect(b.index.firstIn('number', 'feed', ['9', '444444444'], Date.now())).toBe('444444444');
  });

  it('learned entries expire and stop at the cap', async () => {
    const exp = Date.now() + 60_000;
    expect(await a.learn('domain', 'complained', ['a.com', 'b.com', 'c.com', 'd.com', 'e.com'], exp)).toBe(4);
    await until(() => b.index.setSize('domain', 'complained') === 4);
    expect(b.index.firstIn('domain', 'complained', ['a.com'], exp + 1)).toBeNull();
  });
});

describe("the memory's texts", () => {
  it('keeps a text once per fingerprint and hour, with a TTL; another instance reads it', async () => {
    a.rememberText('fp1', ['0.x', '1.y'], '急用钱 详询 13912345678');
    a.rememberText('fp1', ['0.x', '1.y'], 'a later text of the same campaign is not stored again');
    await a.flush();
    expect(await b.textOf('fp1')).toEqual({ fingerprint: 'fp1', bands: ['0.x', '1.y'], text: '急用钱 详询 13912345678' });
    expect(await b.textOf('nope')).toBeNull();
    const keys = await keysMatching(redis, `${PREFIX}{txt}:*`);
    expect(keys).toHaveLength(1);
    expect(await redis.hlen(keys[0]!)).toBe(1);
    for (const k of keys) expect(await redis.ttl(k)).toBeGreaterThan(3600);
  });

  it('keeps at most maxTexts an hour, counting the rest', async () => {
    const small = new IntelStore(redis, `${PREFIX}small:`, { memoryTtlS: 3600, maxTexts: 100 });
    for (let i = 0; i < 150; i++) small.rememberText(`fp${i}`, [], `text ${i}`);
    await small.flush();
    expect(small.textsSkipped).toBe(50);
    expect(await small.textOf('fp99')).not.toBeNull();
    expect(await small.textOf('fp100')).toBeNull();
  });

  it('is off with retention 0', async () => {
    const off = new IntelStore(redis, PREFIX, { memoryTtlS: 0 });
    off.rememberText('fp-off', [], 'text');
    await off.flush();
    expect(await off.textOf('fp-off')).toBeNull();
    expect(await a.textOf('fp-off')).toBeNull();
  });
});

describe('complaint feedback by message id', () => {
  const text = '【速贷通】急用钱？无抵押无担保，详询 13912345678，回T退订';
  const recipient = '8613900001234';

  it("finds the message's fingerprint by the SMSC's id (the smsc_id record joins it to the decision), and its text in the memory", async () => {
    const stream = new AuditStream(redis, PREFIX, { shards: 4, maxBytes: 0, maxAgeMs: 0, flushMs: 0, maxBuffer: 1000 });
    const fp = fingerprintOf(foldChars(text));
    // Another message to the same number first, then the one complained about.
    stream.add('esme1', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial', '8610690001', recipient, 'G0', 'other-fp');
    stream.add('esme1', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial', '8610690001', recipient, 'G1', fp.id);
    stream.addSmscId('esme1', '8610690001', recipient, 'G0', '0A1B2B');
    stream.addSmscId('esme1', '8610690001', recipient, 'G1', '0A1B2C');
    await stream.flush();
    a.rememberText(fp.id, fp.bands, foldChars(text));
    await a.flush();
    const fb = new Feedback(a, { markTtlMs: 60_000, learn: true, decisions: stream });
    // The SMSC's id in another spelling (the decimal of its hex).
    const r = await fb.complaint({ id: 'C1', recipient, message_id: String(0x0a1b2c), text: null });
    expect(r).toMatchObject({ from: 'memory', fingerprint: fp.id, keys: 1 + fp.bands.length, numbers: ['13912345678'] });
    // The gateway's own id (a queued message's ESME got it) works too.
    expect((await fb.complaint({ id: 'C2', recipient, message_id: 'G1', text: null })).fingerprint).toBe(fp.id);
    // Another recipient's complaint naming the same id finds nothing.
    expect((await fb.complaint({ id: 'C3', recipient: '8613900009999', message_id: '0A1B2C', text: null })).from).toBe('none');
    await stream.close();
  });
});

describe('review feedback', () => {
  const text = '【理财】稳赚不赔，日收益百分之五，加微信 licai888 了解，回T退订';
  it('a reject marks the fingerprint rejected and learns its links; an approve marks it allowed', async () => {
    const fb = new Feedback(a, { markTtlMs: 60_000, learn: true });
    const fp = fingerprintOf(foldChars(text));
    const r = await fb.review('Q1', `${text} fraud-licai点com`, 'reject');
    expect(r.keys).toBe(1 + fp.bands.length);
    expect(r.domains).toEqual(['fraud-licai.com']);
    await until(() => b.index.markOf(fp.id, fp.bands, Date.now())?.verdict === 'rejected');
    await fb.review('Q2', text, 'approve');
    await until(() => b.index.markOf(fp.id, fp.bands, Date.now())?.verdict === 'allowed');
  });

  it('a complaint with neither a remembered id nor a text marks nothing', async () => {
    const fb = new Feedback(a, { markTtlMs: 60_000, learn: false });
    expect((await fb.complaint({ id: 'C9', recipient: '8613900001234', message_id: 'unknown', text: null })).from).toBe('none');
    expect((await fb.complaint({ id: 'C9', recipient: '8613900001234', message_id: null, text })).from).toBe('text');
  });
});

describe('smppguard import reputation', () => {
  it('reads numbers (CSV, JSONL, comments) and loads them; bad lines are counted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-rep-'));
    const cfg = join(dir, 'gateway.yaml');
    writeFileSync(cfg, `redis:\n  url: redis://127.0.0.1:6379\n  key_prefix: "${PREFIX}"\naccounts: []\n`);
    const file = join(dir, 'fraud.csv');
    writeFileSync(file, 'value,source\n# a comment\n+86 138 1234 5678,12321\n{"value": "4001234567"}\nnot-a-number\n');
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    const err = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((s: string) => (out.push(s), true)) as typeof process.stdout.write;
    process.stderr.write = ((s: string) => (out.push(s), true)) as typeof process.stderr.write;
    let code: number;
    try {
      code = await runReputationImport(file, { config: cfg, set: 'fraud-numbers', kind: 'number', showErrors: 10 });
    } finally {
      process.stdout.write = write;
      process.stderr.write = err;
    }
    expect(code).toBe(0);
    expect(out.join('')).toMatch(/fraud.csv:5: "not-a-number" is not a phone number/);
    expect(out.join('')).toMatch(/reputation number:fraud-numbers: 2 entries loaded, 1 bad lines; the set holds 2/);
    await until(() => b.index.setSize('number', 'fraud-numbers') === 2);
    expect(b.index.firstIn('number', 'fraud-numbers', ['8613812345678'], Date.now())).toBe('8613812345678');
  });

  it('entries: domains normalised, headers and comments skipped', () => {
    expect(reputationEntry('domain', 'https://WWW.Fraud.com/x')).toEqual({ value: 'fraud.com' });
    expect(reputationEntry('domain', 'value')).toBeNull();
    expect(reputationEntry('domain', '# x')).toBeNull();
    expect(reputationEntry('number', '{"value": 5}')).toEqual({ bad: 'a JSON line needs a "value" string' });
  });
});
