/**
 * Issue 18's must-show, on two gateway instances sharing one Redis (and one SMSC simulator):
 *   - a campaign sent through 10 sender numbers of two accounts is caught at the configured count;
 *   - a complaint about message X (naming its message id) makes a variant of X — digits changed, one
 *     word swapped, traditional characters — from the other account refused on the other instance
 *     within 1 s;
 *   - a known fraud callback number in the text is refused (set imported on one instance, refused
 *     on the other);
 *   - ordinary traffic (different texts, the same senders) never matches.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { senderId, type SenderRecord } from '../../src/domain/sender.js';
import { encodeText } from '../../src/protocol/text.js';
import type { EsmeClient } from '../helpers/esme-client.js';
import { sm, startGateway, startStack, waitFor, type GatewayStack, type Stack } from '../helpers/stack.js';
import { clearKeys, keysMatching } from '../helpers/redis-keys.js';

const PACK = `version: 1
rules:
  - id: campaign-complained
    description: near-duplicates of a complained-about message
    match: { campaign: { complained: true } }
    action: { reject: { status: 0x450, reason: campaign_complained } }
  - id: fraud-callback
    description: a known fraud callback number or link
    match: { any: [ { content: { numbers_in: [fraud-numbers, complained] } }, { content: { domains_in: [fraud-domains] } } ] }
    action: { reject: { status: 0x452, reason: fraud_callback } }
  - id: campaign-snowshoe
    description: one campaign through many sender numbers of several accounts
    match: { campaign: { senders_over: 9, accounts_over: 1, window: 10m } }
    action: { reject: { status: 0x451, reason: campaign_snowshoe } }
`;

const USER = '8613800138000';
let one: Stack;
let two: GatewayStack;
let e1: EsmeClient;
let e2: EsmeClient;
const actor = { who: 'test' };

function sender(value: string, account: string, cls: SenderRecord['class'] = 'otp'): SenderRecord {
  return { id: senderId('number', value), kind: 'number', value, account, class: cls, status: 'active', signatures: [] };
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-intel-'));
  writeFileSync(join(dir, 'intel.yaml'), PACK);
  const cfg = (prefix: string | null) => (c: Config) => {
    c.policy.enabled = true;
    c.rules = { dir, watch: false };
    if (prefix) c.redis.key_prefix = prefix;
  };
  one = await startStack({ cfg: cfg(null) });
  two = await startGateway(one.sim.port, { cfg: cfg(one.prefix) });
  // Ten sender numbers, five of each account; one commercial sender with consent for the complaint test.
  for (let i = 0; i < 10; i++) await one.gw.store.putSender(sender(`861069100${i}`, i < 5 ? 'esme' : 'other'), actor);
  await one.gw.store.putSender(sender('8610692000', 'esme', 'commercial'), actor);
  await one.gw.store.putSender(sender('8610693000', 'other', 'commercial'), actor);
  await one.gw.store.setConsent(USER, 'account:esme', 'granted', actor);
  await one.gw.store.setConsent(USER, 'account:other', 'granted', actor);
  for (const g of [one.gw, two.gw]) await waitFor(() => g.sync.registry.size >= 12, 2000, 'senders cached');
  e1 = await one.esme('transmitter', 'esme');
  e2 = await two.esme('transmitter', 'other');
}, 30_000);

afterAll(async () => {
  await two?.stop();
  await one?.stop();
});

async function send(esme: EsmeClient, from: string, text: string, to = USER): Promise<{ status: number; messageId: string }> {
  const { dataCoding, bytes } = encodeText(text);
  const r = await esme.submit(sm({ source_addr: from, destination_addr: to, data_coding: dataCoding, short_message: bytes }));
  return { status: r.status, messageId: r.messageId };
}

describe('campaign through many senders (snowshoe)', () => {
  it('is caught at the configured count: the 10th sender number, across two accounts and two instances', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      // Each sender varies the amount and the link, as a campaign does; the two accounts on two instances.
      const text = `【惠购】双十二狂欢，全场满${200 + i}减${50 + i}，限时抢购 ${['bit.ly', 'c.cn', 't.cn'][i % 3]}/x${i}y 回T退订`;
      const esme = i < 5 ? e1 : e2;
      statuses.push((await send(esme, `861069100${i}`, text, `86139000000${i}`)).status);
    }
    expect(statuses.slice(0, 9)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(statuses[9]).toBe(0x451);
  });

  it('ordinary traffic from the same senders does not match', async () => {
    const texts = ['您的验证码是 4821，5 分钟内有效。', 'Your parcel arrives tomorrow between 9 and 12.', '会议改到下午三点，地点不变。', '本月账单已出，应还 312.50 元。'];
    for (let i = 0; i < 10; i++) {
      const esme = i < 5 ? e1 : e2;
      expect((await send(esme, `861069100${i}`, texts[i % texts.length]!, `86137000000${i}`)).status).toBe(0);
    }
  });
});

describe('complaint feedback', () => {
  it('a complaint about message X makes a variant from another account refused on the other instance within 1 s', async () => {
    const x = '【速贷通】急用钱？无抵押无担保，最高可借5万元，当天到账，详询 13912345678，回T退订';
    const sent = await send(e1, '8610692000', x);
    expect(sent.status).toBe(0);
    // The variant: digits changed, one word swapped (当天 → 当日), traditional characters, another signature.
    const variant = '【好運來】急用錢？無抵押無擔保，最高可借8萬元，當日到賬，詳詢 13700001111，回T退訂';
    expect((await send(e2, '8610693000', variant)).status).toBe(0); // not known yet
    // The decision record and the SMSC's id for it reach the buffer within a flush (250 ms).
    const recorded = async () => (await one.gw.archive!.reader.decisionsFor(USER, { match: (d) => d.smscId === sent.messageId })).decisions.length > 0;
    for (let i = 0; i < 100 && !(await recorded()); i++) await new Promise((r) => setTimeout(r, 20));

    const complaint = await one.gw.complaints!.intake(
      {
        recipient: USER,
        reportedSender: null,
        senderAddress: null,
        messageId: sent.messageId,
        text: null,
        reportedAt: Date.now(),
        receivedAt: Date.now(),
        source: '12321',
        reference: null,
        note: null,
      },
      actor,
    );
    expect(complaint.case.id).toBeTruthy();
    const t0 = performance.now();
    let status = 0;
    while (performance.now() - t0 < 1000) {
      status = (await send(e2, '8610693000', variant)).status;
      if (status !== 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const ms = performance.now() - t0;
    expect(status).toBe(0x450);
    expect(ms).toBeLessThan(1000);
    // The complained message's callback number was learned: another text carrying it is refused too.
    await waitFor(() => two.gw.intel!.index.setSize('number', 'complained') > 0, 1000, 'learned number');
    expect((await send(e2, '8610693000', '您好，有任何问题请拨打 139-1234-5678 咨询'.replace('咨询', '客服'))).status).toBe(0x452);
    // Unrelated commercial traffic from the same account still flows.
    expect((await send(e2, '8610693000', '【京东】您关注的商品已降价，详情见 APP，回T退订')).status).toBe(0);
  });

  it('explain names the fingerprint and the mark', async () => {
    const out = await two.gw.decisions.explain({ account: 'other', source_addr: '8610693000', destination_addr: USER, text: '【好运】急用錢？無抵押無擔保，最高可借9萬元，當天到賬，詳詢 13700002222，回T退訂' });
    expect(out.rule).toBe('campaign-complained');
    expect(out.evidence).toMatch(/fingerprint [0-9a-f.]+ complained \(1×, complaint:/);
  });
});

describe('content reputation', () => {
  it('a known fraud callback number imported on one instance is refused on the other', async () => {
    const text = '【客服中心】您的快递丢失，理赔请联系 186-0000-1234 办理';
    expect((await send(e2, '8610693000', text)).status).toBe(0);
    await one.gw.intel!.importSet('number', 'fraud-numbers', ['18600001234']);
    await waitFor(() => two.gw.intel!.index.setSize('number', 'fraud-numbers') === 1, 1000, 'set reached instance two');
    expect((await send(e2, '8610693000', text)).status).toBe(0x452);
    const out = await two.gw.decisions.explain({ account: 'other', source_addr: '8610693000', destination_addr: USER, text });
    expect(out.evidence).toBe('number in fraud-numbers: 18600001234');
  });

  it('a fraud domain written with 点 is refused; metrics count the key', async () => {
    await one.gw.intel!.importSet('domain', 'fraud-domains', ['fraud-pay.com']);
    await waitFor(() => two.gw.intel!.index.setSize('domain', 'fraud-domains') === 1, 1000, 'domains reached instance two');
    expect((await send(e2, '8610693000', '【支付】账户异常，请访问 fraud-pay点com 验证')).status).toBe(0x452);
    const metrics = await two.gw.metrics.text();
    expect(metrics).toMatch(/smppguard_intel_key_matches_total\{key="content.domains_in",mode="enforce"\} [1-9]/);
    expect(metrics).toMatch(/smppguard_intel_reputation_entries\{set="domain:fraud-domains"\} 1/);
  });

  it('every key it wrote expires or is bounded', async () => {
    const keys = await keysMatching(one.gw.redis, `${one.prefix}*`);
    const intelKeys = keys.filter((k) => k.includes('{intel}') || k.includes('{msg}') || k.includes('{camp:'));
    expect(intelKeys.length).toBeGreaterThan(0);
    for (const k of intelKeys) {
      const ttl = await one.gw.redis.pttl(k);
      // Feeds (imported reputation sets) and their names are bounded by max_reputation_entries / MAX_SETS instead.
      if (k.includes(':rep:')) continue;
      expect(ttl, k).toBeGreaterThan(0);
    }
    await clearKeys(one.gw.redis, `${one.prefix}*`);
  });
});
