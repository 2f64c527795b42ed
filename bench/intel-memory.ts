/**
 * Redis memory of traffic intelligence (issue 18): `node dist/bench/intel-memory.js [--campaigns 500]`
 * against the Redis on 127.0.0.1:6379, under a prefix of its own (removed afterwards).
 *
 *   1. per active campaign fingerprint: the counters cn-miit's campaign rule keeps (distinct senders
 *      and accounts in a 10-minute window, per LSH band: near: true), plus recipients (messages) —
 *      each campaign sent by 8 senders of 2 accounts to 20 recipients, its texts varying in numbers;
 *      summed MEMORY USAGE of its keys;
 *   2. the memory's texts (intel.memory_retention_s): messages of a few campaigns whose numbers vary,
 *      each text kept once per fingerprint an hour: MEMORY USAGE of the hour bucket per kept text and
 *      per message (per message nothing else is kept in Redis: the decision record has its fingerprint);
 *   3. per mark (a complaint marks a fingerprint's id and its 6 bands).
 * MEMORY USAGE is exact for these small keys (SAMPLES 0); figures depend on the Redis version and its
 * encodings (listpack / sparse HyperLogLog thresholds), printed with them.
 */
import { randomBytes } from 'node:crypto';
import { campaignNeeds, type CampaignRule } from '../src/rules/campaign.js';
import { Facts } from '../src/rules/facts.js';
import { fingerprintOf } from '../src/rules/fingerprint.js';
import { foldChars } from '../src/rules/normalise.js';
import type { RuleContext } from '../src/rules/types.js';
import { IntelStore } from '../src/store/intel-store.js';
import { RateStore } from '../src/store/rates.js';
import { connectRedis, createRedis, scanKeys } from '../src/store/redis.js';
import { numberFlag } from './procs.js';

const argv = process.argv.slice(2);
const campaigns = numberFlag(argv, '--campaigns', 500);
const PREFIX = `bench:intel:${randomBytes(3).toString('hex')}:`;
const redis = createRedis({ url: 'redis://127.0.0.1:6379', command_timeout_ms: 10_000 });
if (!(await connectRedis(redis, 5000))) throw new Error('no Redis on 127.0.0.1:6379');
const rates = new RateStore(redis, PREFIX);

const TEMPLATES = [
  '【优选商城】尊敬的会员，您有一张{N}元无门槛优惠券即将过期，立即领取 c.cn/{N} 回T退订',
  '【快贷】急用钱？无抵押无担保，最高可借{N}万元，当天到账，详询1381234{N}，回T退订',
  '恭喜您获得本期幸运大奖，奖金{N}元，请添加客服微信 kf{N} 领取，逾期作废。',
  'Congratulations! You have won a {N} prize. Call 0906170{N} now to claim, T&C apply.',
];
const rule: CampaignRule = {
  periodMs: 600_000,
  near: true,
  limits: [
    { kind: 'senders', max: 5 },
    { kind: 'accounts', max: 1 },
    { kind: 'recipients', max: 1000 },
  ],
};

/** Three CJK characters that differ per campaign: distinct campaigns get distinct fingerprints. */
function word(c: number): string {
  return String.fromCharCode(0x4e00 + ((c * 7919) % 20000), 0x4e00 + ((c * 104729 + 3) % 20000), 0x4e00 + ((c * 1299709 + 7) % 20000));
}

function ctx(text: string, sender: string, account: string, dst: string): RuleContext {
  return { account, src: { kind: 'number', value: sender }, sender: null, senderClass: 'commercial', dst, serviceType: '', dataCoding: 8, esmClass: 0, tlv: () => undefined, text, now: Date.now() };
}

async function usage(match: string): Promise<{ keys: number; bytes: number }> {
  let keys = 0;
  let bytes = 0;
  await scanKeys(redis, match, async (ks) => {
    for (const k of ks) {
      keys++;
      bytes += Number(await redis.call('MEMORY', 'USAGE', k, 'SAMPLES', '0'));
    }
  });
  return { keys, bytes };
}

const info = String(await redis.info('server'));
const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';

// 1. campaign counters
for (let c = 0; c < campaigns; c++) {
  const tpl = `${word(c)}${TEMPLATES[c % TEMPLATES.length]}${word(c + 1)}`;
  for (let m = 0; m < 20; m++) {
    const text = tpl.replace(/\{N\}/g, () => String(100 + ((c * 31 + m * 7) % 900)));
    const f = new Facts(ctx(text, `86106900${m % 8}`, m % 2 === 0 ? 'acme' : 'beta', `8613800${String(c * 20 + m).padStart(6, '0')}`), { class: 'commercial', category: null, labels: [] });
    await rates.bump(campaignNeeds(rule, f));
  }
}
const camp = await usage(`${PREFIX}{camp:*`);

// 2. the memory's texts: once per fingerprint an hour
const intel = new IntelStore(redis, PREFIX, { memoryTtlS: 3 * 86_400, maxTexts: 1_000_000 });
const messages = 10_000;
let textChars = 0;
const fps = new Set<string>();
for (let m = 0; m < messages; m++) {
  const text = TEMPLATES[m % TEMPLATES.length]!.replace(/\{N\}/g, () => String(100 + (m % 900)));
  const folded = foldChars(text);
  textChars += folded.length;
  const fp = fingerprintOf(folded);
  fps.add(fp.id);
  intel.rememberText(fp.id, fp.bands, folded);
  if (m % 1000 === 999) await intel.flush();
}
await intel.flush();
const mem = await usage(`${PREFIX}{txt}:*`);

// 3. marks
const marks = 1000;
for (let i = 0; i < marks; i += 100) {
  const keys: string[] = [];
  for (let j = 0; j < 100; j++) {
    const fp = fingerprintOf(foldChars(`${word(i + j)}${TEMPLATES[(i + j) % 4]}${word(i + j + 7)}`));
    keys.push(fp.id);
  }
  await intel.mark(keys, 'complained', Date.now() + 86_400_000, `complaint:C${i}`);
}
const mk = await usage(`${PREFIX}{intel}:marks*`);

console.log(`# traffic intelligence memory — Redis ${version}, ${new Date().toISOString()}`);
console.log('');
console.log('| what | count | keys | bytes (MEMORY USAGE) | per unit |');
console.log('|---|---:|---:|---:|---:|');
console.log(`| active campaign fingerprint (senders + accounts + recipients, 6 bands, 10 min window; 8 senders, 2 accounts, 20 messages each) | ${campaigns} | ${camp.keys} | ${camp.bytes} | ${Math.round(camp.bytes / campaigns)} B |`);
console.log(`| kept text (6 bands, folded text of ${Math.round(textChars / messages)} chars on average), once per fingerprint an hour | ${fps.size} | ${mem.keys} | ${mem.bytes} | ${Math.round(mem.bytes / fps.size)} B |`);
console.log(`| forwarded commercial message (${messages} messages of ${fps.size} campaigns, numbers varying): the texts' share | ${messages} | ${mem.keys} | ${mem.bytes} | ${(mem.bytes / messages).toFixed(1)} B |`);
console.log(`| mark (one key: a fingerprint id or band) | ${marks} | ${mk.keys} | ${mk.bytes} | ${Math.round(mk.bytes / marks)} B |`);

await scanKeys(redis, `${PREFIX}*`, async (ks) => void (ks.length > 0 && (await redis.del(...ks))));
redis.disconnect();
