/**
 * Sender behaviour profiles' cost in Redis (issue 18): `node dist/bench/behaviour-bytes.js
 * [--senders 1000] [--messages 100] [--receipts 500]` (after `npm run build`). Every sender sends
 * `--messages` messages to random recipients through PolicyCheck.fetchThen() with the four
 * signals of rules/cn-miit.yaml's behaviour rules (the batched script, 256 messages a turn as a busy
 * gateway does) and gets `--receipts` receipts through BehaviourStore; then prints the Redis bytes
 * per active sender profile (MEMORY USAGE of every key, by kind) and the script's Redis CPU per
 * message (INFO commandstats, evalsha usec / messages) with and without the behaviour needs, same
 * run, alternating. One dense HyperLogLog (a sender past ~3000 distinct recipients in the window)
 * is measured apart: it is the largest piece. Keys under bench:bhv:<random>: are removed at the end.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { compileSources } from '../src/rules/compile-set.js';
import type { RuleSet } from '../src/rules/engine.js';
import type { RuleContext } from '../src/rules/types.js';
import { BehaviourStore } from '../src/store/behaviour-store.js';
import { PolicyCheck } from '../src/store/policy-check.js';
import { RateStore } from '../src/store/rates.js';
import { connectRedis, createRedis, scanKeys } from '../src/store/redis.js';
import { median, numberFlag } from './procs.js';

const argv = process.argv.slice(2);
const SENDERS = numberFlag(argv, '--senders', 1000);
const MESSAGES = numberFlag(argv, '--messages', 100);
const RECEIPTS = numberFlag(argv, '--receipts', 500);
const PREFIX = `bench:bhv:${randomBytes(3).toString('hex')}:`;
const PER_TURN = 256;

const RULES = `version: 1
rules:
  - { id: scan, description: b, mode: monitor, match: { behaviour: { sequential_recipients_over: 50, window: 10m } }, action: { suspend: {} } }
  - { id: undeliv, description: b, mode: monitor, match: { behaviour: { undeliverable_share_over: 0.5, min_receipts: 200 } }, action: { suspend: {} } }
  - { id: spread, description: b, mode: monitor, match: { behaviour: { distinct_recipients_over: 5000, window: 1h } }, action: { suspend: {} } }
  - { id: surge, description: b, mode: monitor, match: { behaviour: { volume_over_baseline: 10, min_baseline: 50 } }, action: { suspend: {} } }
`;
// --only scan|undeliv|spread|surge: one signal's rule (to see what each costs).
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : null;
const text = only === null ? RULES : RULES.split('\n').filter((l) => !l.startsWith('  - {') || l.includes(`id: ${only},`)).join('\n');
const compiled = compileSources([{ path: '/bench/behaviour.yaml', text }], { read: () => '' });
if (!compiled.ok) throw new Error(compiled.errors.join('\n'));
const set: RuleSet = compiled.set;

const redis = createRedis({ url: 'redis://127.0.0.1:6379', command_timeout_ms: 10_000 });
if (!(await connectRedis(redis, 5000))) throw new Error('no Redis on 127.0.0.1:6379');
const rates = new RateStore(redis, PREFIX);
const check = new PolicyCheck(redis, PREFIX, undefined, rates);
const profiles = new BehaviourStore(redis, PREFIX, { receiptsWindow: RECEIPTS, ttlMs: 8 * 86_400_000 });

const ctxOf = (sender: number, dst: string): RuleContext => ({
  account: 'bench',
  src: { kind: 'number', value: `86106900${String(sender).padStart(5, '0')}` },
  sender: null,
  senderClass: 'commercial',
  dst,
  serviceType: '',
  dataCoding: 8,
  esmClass: 0,
  tlv: () => undefined,
  text: '',
  now: Date.now(),
});
const recipient = () => `86138${String(randomInt(0, 100_000_000)).padStart(8, '0')}`;
const INITIAL = { class: 'commercial' as const, category: null, labels: [] };

async function evalshaUsec(): Promise<{ calls: number; usec: number }> {
  const info = await redis.info('commandstats');
  const m = info.match(/cmdstat_evalsha:calls=(\d+),usec=(\d+)/);
  return m ? { calls: Number(m[1]), usec: Number(m[2]) } : { calls: 0, usec: 0 };
}

/** `total` messages through the batched script, PER_TURN a turn; with or without the behaviour needs. Returns usec per message. */
async function round(total: number, withBehaviour: boolean, senderOf: (i: number) => number): Promise<number> {
  const before = await evalshaUsec();
  for (let i = 0; i < total; i += PER_TURN) {
    const turn: Promise<void>[] = [];
    for (let j = i; j < Math.min(total, i + PER_TURN); j++) {
      const dst = recipient();
      const needs = withBehaviour ? set.rateNeeds(ctxOf(senderOf(j), dst), INITIAL) : null;
      const q = { msisdn: dst, scopes: ['sender:bench', 'account:bench'], category: null };
      turn.push(new Promise((resolve, reject) => check.fetchThen(q, needs, (err) => (err ? reject(err as Error) : resolve()))));
    }
    await Promise.all(turn);
  }
  const after = await evalshaUsec();
  return (after.usec - before.usec) / total;
}

try {
  // Profiles: every sender's messages (alternating rounds with and without behaviour, same count).
  const total = SENDERS * MESSAGES;
  const roundSize = Math.min(total, 25_600);
  const withUs: number[] = [];
  const withoutUs: number[] = [];
  for (let done = 0; done < total; done += roundSize) {
    const n = Math.min(roundSize, total - done);
    withoutUs.push(await round(n, false, () => 0));
    withUs.push(await round(n, true, (j) => (done + j) % SENDERS));
  }
  for (let s = 0; s < SENDERS; s++) {
    for (let r = 0; r < RECEIPTS; r++) profiles.recordReceipt('bench', ctxOf(s, '').src.value, r % 10 === 0);
    if (s % 50 === 49) await profiles.flush();
  }
  await profiles.flush();

  const byKind = new Map<string, { keys: number; bytes: number }>();
  await scanKeys(redis, `${PREFIX}{bhv:*`, async (keys) => {
    for (const k of keys) {
      const bytes = Number(await redis.call('MEMORY', 'USAGE', k, 'SAMPLES', '0'));
      const kind = k.endsWith('}:p') ? 'profile hash (hour count, 24 baseline slots, ring totals)' : k.endsWith('}:u') ? `receipt ring (${RECEIPTS} bits)` : k.includes('}:q:') ? 'sequence state (per window)' : 'distinct recipients HyperLogLog (per window)';
      const e = byKind.get(kind) ?? { keys: 0, bytes: 0 };
      e.keys++;
      e.bytes += bytes;
      byKind.set(kind, e);
    }
  });
  // The baseline slots fill over a day: fill all 24 of every sender's to measure a mature profile.
  const mature = ctxOf(0, '').src.value;
  for (let h = 0; h < 24; h++) await profiles.setBaseline('bench', mature, h, 123.456, 7);
  const matureHash = Number(await redis.call('MEMORY', 'USAGE', profiles.profileKey('bench', mature), 'SAMPLES', '0'));
  // One dense HyperLogLog: 5000 distinct recipients from one sender within the hour.
  const dense = ctxOf(SENDERS + 1, '');
  for (let i = 0; i < 5000; i += PER_TURN) {
    await Promise.all(
      Array.from({ length: Math.min(PER_TURN, 5000 - i) }, () => {
        const needs = set.rateNeeds({ ...dense, dst: recipient() }, INITIAL);
        return new Promise<void>((resolve, reject) => check.fetchThen(null, needs, (err) => (err ? reject(err as Error) : resolve())));
      }),
    );
  }
  let denseBytes = 0;
  await scanKeys(redis, `${PREFIX}{bhv:bench:${dense.src.value}}:r:*`, async (keys) => {
    for (const k of keys) denseBytes += Number(await redis.call('MEMORY', 'USAGE', k, 'SAMPLES', '0'));
  });

  let sum = 0;
  console.log(`senders ${SENDERS}, ${MESSAGES} messages each to random recipients, ${RECEIPTS} receipts each (ring N = ${RECEIPTS})`);
  console.log('| key (per sender) | keys | bytes per sender |');
  console.log('|---|---:|---:|');
  for (const [kind, e] of byKind) {
    sum += e.bytes / SENDERS;
    console.log(`| ${kind} | ${e.keys} | ${Math.round(e.bytes / SENDERS)} |`);
  }
  console.log(`| **total per active sender profile** | | **${Math.round(sum)}** |`);
  console.log(`profile hash with all 24 baseline slots filled: ${matureHash} bytes`);
  console.log(`distinct-recipients HyperLogLog after 5000 distinct recipients (dense): ${denseBytes} bytes`);
  console.log(`script Redis CPU per message (evalsha usec / messages, medians of ${withUs.length} alternating rounds): consent check only ${median(withoutUs).toFixed(2)} µs, with the four behaviour signals ${median(withUs).toFixed(2)} µs`);
} finally {
  await scanKeys(redis, `${PREFIX}*`, async (keys) => void (await redis.del(...keys)));
  redis.disconnect();
}
