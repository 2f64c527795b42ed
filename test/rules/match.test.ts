import { describe, expect, it } from 'vitest';
import type { RuleContext, RuleState } from '../../src/rules/types.js';
import { ctx, INITIAL, matches, oneRule, ruleSet, sender } from './helpers.js';

interface Case {
  key: string;
  match: string;
  yes: Partial<RuleContext> & { tlvs?: Record<number, string> };
  no: Partial<RuleContext> & { tlvs?: Record<number, string> };
  extra?: string;
  files?: Record<string, string>;
  state?: { yes?: Partial<RuleState>; no?: Partial<RuleState> };
}

const cases: Case[] = [
  { key: 'account', match: '{ account: [acme, beta] }', yes: { account: 'beta' }, no: { account: 'gamma' } },
  { key: 'sender (exact)', match: '{ sender: "+861069001" }', yes: {}, no: { src: { kind: 'number', value: '861069002' } } },
  {
    key: 'sender (prefix)',
    match: '{ sender: "86106*" }',
    yes: { src: { kind: 'number', value: '8610690077' } },
    no: { src: { kind: 'number', value: '8613800000' } },
  },
  { key: 'sender (alpha)', match: '{ sender: AcmeBk }', yes: { src: { kind: 'alpha', value: 'ACMEBK' } }, no: { src: { kind: 'alpha', value: 'OTHER' } } },
  { key: 'sender_class', match: '{ sender_class: service }', yes: { senderClass: 'service' }, no: { senderClass: 'commercial' } },
  { key: 'destination_prefix', match: '{ destination_prefix: ["86138", 86139] }', yes: { dst: '8613912345678' }, no: { dst: '8615012345678' } },
  { key: 'destination_country', match: '{ destination_country: [IN, US] }', yes: { dst: '14155550100' }, no: { dst: '8613800138000' } },
  { key: 'service_type', match: '{ service_type: MKT }', yes: { serviceType: 'MKT' }, no: { serviceType: 'OTP' } },
  { key: 'data_coding', match: '{ data_coding: [0, 8] }', yes: { dataCoding: 0 }, no: { dataCoding: 3 } },
  { key: 'tlv present', match: '{ tlv: { tag: 0x1400, present: true } }', yes: { tlvs: { 0x1400: 'x' } }, no: {} },
  { key: 'tlv absent', match: '{ tlv: { tag: 0x1400, present: false } }', yes: {}, no: { tlvs: { 0x1400: 'x' } } },
  {
    key: 'tlv equals (C-string NUL ignored)',
    match: '{ tlv: { tag: 0x1401, equals: "1107" } }',
    yes: { tlvs: { 0x1401: '1107\0' } },
    no: { tlvs: { 0x1401: '1108' } },
  },
  { key: 'text contains_any', match: '{ text: { contains_any: [loan, 贷款] } }', yes: { text: '秒批贷 款' }, no: { text: 'hello' } },
  { key: 'text contains_all', match: '{ text: { contains_all: [loan, fast] } }', yes: { text: 'FAST l0an' }, no: { text: 'loan only' } },
  {
    key: 'text list',
    match: '{ text: { list: spam } }',
    extra: 'lists: { spam: lists/spam.txt }\n',
    files: { 'lists/spam.txt': '# spam words\n发票\n\nlottery\n' },
    yes: { text: 'you won the L0TTERY' },
    no: { text: 'your parcel' },
  },
  { key: 'text regex (raw text)', match: '{ text: { regex: "\\\\d{6}", flags: "" } }', yes: { text: 'code 123456' }, no: { text: 'code 12 34 56' } },
  { key: 'text regex i flag', match: '{ text: { regex: "^hello", flags: i } }', yes: { text: 'HELLO you' }, no: { text: 'oh hello' } },
  {
    key: 'text regex on normalised text',
    match: '{ text: { regex: "free\\\\s+money", normalised: true } }',
    yes: { text: 'ＦＲＥＥ  money' },
    no: { text: 'free-ish money' },
  },
  { key: 'urls present', match: '{ urls: { present: true } }', yes: { text: 'see x.cn/a' }, no: { text: 'no link' } },
  { key: 'urls absent', match: '{ urls: { present: false } }', yes: { text: 'no link' }, no: { text: 'http://a.b.example' } },
  {
    key: 'urls domains_in (list, subdomains)',
    match: '{ urls: { domains_in: bad } }',
    extra: 'lists: { bad: lists/bad.txt }\n',
    files: { 'lists/bad.txt': 'evil.cn\nhttps://www.phish.top/\n' },
    yes: { text: '登录 https://m.evil.cn/x' },
    no: { text: 'https://good.cn' },
  },
  {
    key: 'urls domains_not_in (inline)',
    match: '{ urls: { domains_not_in: [acme.com, acme.cn] } }',
    yes: { text: 'acme.com and other.io' },
    no: { text: 'www.acme.com/x and shop.acme.cn' },
  },
  { key: 'signature present (start)', match: '{ signature: present }', yes: { text: '【ACME商城】hi' }, no: { text: 'hi 【 】' } },
  { key: 'signature present (end)', match: '{ signature: present }', yes: { text: 'hi 【ACME商城】' }, no: { text: 'hi【x' } },
  { key: 'signature absent', match: '{ signature: absent }', yes: { text: 'hello' }, no: { text: '【ACME商城】hello' } },
  {
    key: 'signature unregistered',
    match: '{ signature: unregistered }',
    yes: { text: '【某银行】hello' },
    no: { text: '【ＡＣＭＥ商城】hello' },
  },
  { key: 'opt_out_hint present', match: '{ opt_out_hint: present }', yes: { text: '五折，回T退订' }, no: { text: '五折' } },
  { key: 'opt_out_hint present (English)', match: '{ opt_out_hint: present }', yes: { text: 'Sale! Reply STOP to opt out' }, no: { text: 'Sale!' } },
  { key: 'opt_out_hint absent', match: '{ opt_out_hint: absent }', yes: { text: '五折' }, no: { text: '五折 拒收请回复R' } },
  {
    key: 'opt_out_hint with a file list',
    match: '{ opt_out_hint: present }',
    extra: 'lists: { hints: lists/hints.txt }\nopt_out_hints: hints\n',
    files: { 'lists/hints.txt': 'send UNSUB\n' },
    yes: { text: 'send unsub to 1234' },
    no: { text: 'Reply STOP to opt out' },
  },
  {
    key: 'class',
    match: '{ class: [commercial] }',
    yes: {},
    no: {},
    state: { no: { class: 'otp' } },
  },
  { key: 'category', match: '{ category: [1, 3] }', yes: {}, no: {}, state: { yes: { category: 3 }, no: { category: 2 } } },
  { key: 'label', match: '{ label: promo }', yes: {}, no: {}, state: { yes: { labels: ['promo'] }, no: { labels: ['x'] } } },
  { key: 'any', match: '{ any: [{ account: x }, { service_type: MKT }] }', yes: { serviceType: 'MKT' }, no: {} },
  { key: 'all', match: '{ all: [{ account: acme }, { service_type: MKT }] }', yes: { serviceType: 'MKT' }, no: { account: 'x', serviceType: 'MKT' } },
  { key: 'not', match: '{ not: { account: acme } }', yes: { account: 'other' }, no: {} },
  { key: 'several keys: all must hold', match: '{ account: acme, data_coding: 8 }', yes: {}, no: { dataCoding: 0 } },
  { key: 'empty match: always', match: '{}', yes: {}, no: {}, state: {} },
];

describe('match keys', () => {
  for (const c of cases) {
    it(c.key, () => {
      const set = ruleSet(oneRule(c.match, c.extra), c.files);
      expect(matches(set, ctx(c.yes), { ...INITIAL, ...c.state?.yes })).toBe(true);
      if (c.key !== 'empty match: always') expect(matches(set, ctx(c.no), { ...INITIAL, ...c.state?.no })).toBe(false);
    });
  }

  it('signature unregistered is false without a signature, true for a sender with none registered', () => {
    const set = ruleSet(oneRule('{ signature: unregistered }'));
    expect(matches(set, ctx({ text: 'plain' }))).toBe(false);
    expect(matches(set, ctx({ text: '【ACME商城】x', sender: sender({ signatures: [] }) }))).toBe(true);
    expect(matches(set, ctx({ text: '【ACME商城】x', sender: null }))).toBe(true);
  });
});
