/**
 * Issue 18: every evasion form the normaliser undoes, for keywords (text.contains_any) and for
 * blocked domains (urls.domains_in), and ordinary text that must not match.
 */
import { describe, expect, it } from 'vitest';
import { deobfuscateLinks, domainCandidates } from '../../src/rules/links.js';
import { foldChars, lightOf, normaliseText, NORMALISER_VERSION } from '../../src/rules/normalise.js';
import { toSimplified, VARIANT_CHARS } from '../../src/rules/chinese-variants.js';
import { ctx, matches, oneRule, ruleSet } from './helpers.js';

const keywordRule = ruleSet(oneRule('{ text: { contains_any: [免费领取, 贷款, 中奖, free money, 加微信] } }'));
const domainRule = ruleSet(oneRule('{ urls: { domains_in: [fraud.com, bit.ly] } }'));

const KEYWORD_EVASIONS: [string, string][] = [
  ['traditional characters', '恭喜您，免費領取iPhone一部'],
  ['traditional (Hong Kong variant forms)', '貸款秒批，無抵押'],
  ['emoji between characters', '恭喜您免🎁费🎁领🎁取大礼'],
  ['a run of emoji between characters', '急用钱？贷🔥🔥💰款当天到账'],
  ['symbols between characters', '您已中★奖，请尽快领取'],
  ['punctuation between characters', '您已中！？奖'],
  ['mixed symbols', '加☆微※信领红包'],
  ['symbols between Latin letters', 'get f★r★e★e m♥o♥n♥e♥y now'],
  ['ASCII punctuation between letters', 'get f!r!e!e money'],
  ['full-width', 'ＦＲＥＥ ＭＯＮＥＹ inside'],
  ['zero-width characters', '免\u200b费\u200d领取'],
  ['traditional and emoji together', '免費🎁領取'],
];

const DOMAIN_EVASIONS: [string, string][] = [
  ['点 for the dot', '点击 fraud点com 领取'],
  ['點 (traditional) for the dot', '點擊 fraud點com 領取'],
  ['dot for the dot', 'visit fraud dot com today'],
  ['DOT in capitals', 'visit FRAUD DOT COM today'],
  ['[.]', 'go to fraud[.]com'],
  ['(.)', 'go to fraud(.)com'],
  ['[dot]', 'go to fraud[dot]com'],
  ['(点) in full-width brackets', 'go to fraud（点）com'],
  ['ideographic full stop 。', '访问fraud。com领奖'],
  ['half-width ideographic full stop ｡', '访问fraud｡com领奖'],
  ['full-width dot ．', '访问 fraud．com'],
  ['full-width letters and dot', '访问 ｆｒａｕｄ．ｃｏｍ'],
  ['spaces around the dot', 'visit fraud . com now'],
  ['spaces inside the host', 'visit fra ud.com now'],
  ['letters spaced out', 'visit f r a u d . c o m'],
  ['missing scheme with a path', 'bit.ly/3xYz 领取'],
  ['missing scheme, bare name', '详情 fraud.com'],
  ['subdomain with scheme', 'https://m.fraud.com/x'],
  ['dot between emoji-free Chinese text', '链接：bit点ly/abc'],
];

const NORMAL = [
  '【顺丰速运】您的快递已到达驿站，取件码 1234，请凭码取件。',
  '【招商银行】您尾号1234的卡于12月5日消费100.00元。',
  '明天下午三点开会，请准时参加，谢谢！',
  'Your order has shipped. Track it at https://example.com/track',
  'See you at 5. Me too, ok. Dot the i.',
  '今天天气很好，一点点小雨，记得带伞😊',
  '恭喜发财，新年快乐🧧',
  'The polka dot dress is 50% off at our store',
  '贷方余额：0元',
];

describe('normaliser version', () => {
  it('is a positive integer, exported under its agreed name', () => {
    expect(Number.isInteger(NORMALISER_VERSION)).toBe(true);
    expect(NORMALISER_VERSION).toBeGreaterThanOrEqual(2);
  });
});

describe('traditional → simplified from OpenCC data', () => {
  it('folds thousands of characters, Taiwan and Hong Kong forms included', () => {
    expect(VARIANT_CHARS).toBeGreaterThan(2500);
    expect(toSimplified('發財 裏 著 臺灣 峯 點擊連結')).toBe('发财 里 着 台湾 峰 点击连结');
  });
  it('leaves simplified text, Latin and digits as they are', () => {
    expect(toSimplified('免费领取 free 123')).toBe('免费领取 free 123');
  });
  it('is applied by foldChars (so keywords, signatures and domains see it)', () => {
    expect(foldChars('【中國銀行】')).toBe('【中国银行】');
  });
});

describe('keyword evasions', () => {
  for (const [form, text] of KEYWORD_EVASIONS) {
    it(`caught: ${form}`, () => {
      expect(matches(keywordRule, ctx({ text }))).toBe(true);
    });
  }
  it('a keyword written in traditional characters matches simplified text too', () => {
    const set = ruleSet(oneRule('{ text: { contains_any: [免費領取] } }'));
    expect(matches(set, ctx({ text: '免费领取' }))).toBe(true);
  });
  it('symbols and emoji runs normalise away', () => {
    expect(normaliseText('贷🔥🔥💰款').plain).toBe('贷款');
    expect(normaliseText('f★r★e★e').plain).toBe('free');
    expect(normaliseText('1️⃣0️⃣0️⃣8️⃣6️⃣').plain).toBe('10086');
  });
});

describe('blocked-domain evasions', () => {
  for (const [form, text] of DOMAIN_EVASIONS) {
    it(`caught: ${form}`, () => {
      expect(matches(domainRule, ctx({ text }))).toBe(true);
    });
  }
  it('obfuscated dots count as links for urls.present (strict reading)', () => {
    const present = ruleSet(oneRule('{ urls: { present: true } }'));
    expect(matches(present, ctx({ text: 'fraud点com' }))).toBe(true);
    expect(matches(present, ctx({ text: 'fraud[.]com' }))).toBe(true);
  });
  it('the strict reading does not join sentences ("ok. me")', () => {
    expect(deobfuscateLinks(lightOf(foldChars('See you. Me too')))).toBe('see you. me too');
    const notIn = ruleSet(oneRule('{ urls: { domains_not_in: [example.com] } }'));
    expect(matches(notIn, ctx({ text: 'See you. Me too, ok. me' }))).toBe(false);
  });
  it('candidates start where a space was dropped, and only there', () => {
    expect(domainCandidates('visit fra ud.com today', [])).toContain('fraud.com');
    expect(domainCandidates('f r a u d . c o m', [])).toEqual(['fraud.com']);
  });
  it('is linear: a long hostile text costs its length', () => {
    const hostile = `a${' '.repeat(20000)}.${' '.repeat(20000)}b`.repeat(2);
    const t0 = performance.now();
    domainCandidates(lightOf(hostile), []);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

describe('ordinary traffic', () => {
  for (const text of NORMAL) {
    it(`does not match: ${text}`, () => {
      expect(matches(keywordRule, ctx({ text }))).toBe(false);
      expect(matches(domainRule, ctx({ text }))).toBe(false);
    });
  }
});
