import { describe, expect, it } from 'vitest';
import { KeywordSet, MultiMatcher, extractDomains } from '../../src/rules/lists.js';
import { lightNormalise, normaliseText } from '../../src/rules/normalise.js';
import { ctx, matches, oneRule, ruleSet } from './helpers.js';

describe('normaliseText', () => {
  it.each([
    ['full-width', 'ＦＲＥＥ ｍｏｎｅｙ', 'free money'],
    ['zero-width', 'fr\u200bee mo\u200dney\ufeff', 'free money'],
    ['soft hyphen', 'fr\u00adee', 'free'],
    ['Cyrillic look-alikes', 'frее mоnеy', 'free money'],
    ['Greek capitals', 'ΗΕLLΟ', 'hello'],
    ['accents', 'Ünïcödé', 'unicode'],
    ['split letters', 'f.r.e.e m-o-n-e-y', 'free money'],
    ['split CJK', '免 费 领 取', '免费领取'],
    ['CJK next to Latin', '回复 TD 退订', '回复td退订'],
    ['words keep their spaces', 'I am a boy, really', 'i am a boy really'],
    ['kana and Hangul survive the folding', 'ガギ が 한국어', 'ガギが한국어'],
  ])('%s', (_, input, plain) => {
    expect(normaliseText(input).plain).toBe(plain);
  });

  it('reads leetspeak only in tokens that mix letters and digits', () => {
    expect(normaliseText('fr33 v1agra').leet).toBe('free viagra');
    expect(normaliseText('ca$h @ccount').leet).toBe('cash account');
    // plain numbers stay numbers in both forms
    expect(normaliseText('call 10086, pay $100').plain).toBe('call 10086 pay $100');
    expect(normaliseText('call 10086, pay $100').leet).toBe('caii 10086 pay $100');
  });

  it('keeps the ideographic full stop as a dot for URLs', () => {
    expect(lightNormalise('访问 ＢＩＴ。ly/abc')).toBe('访问 bit.ly/abc');
  });
});

describe('keyword matching on normalised text', () => {
  const set = ruleSet(oneRule('{ text: { contains_any: [free money, 免费, viagra, "10086"] } }'));
  it.each([
    'Get FREE MONEY now',
    'Get ＦＲＥＥ　ＭＯＮＥＹ now',
    'Get fr\u200bee mo\u200bney now',
    'Get frее mоnеy now',
    'Get f.r.e.e m.o.n.e.y now',
    'Get fr33 m0ney now',
    '点击 免 费 领取',
    'cheap V1AGRA',
    'v|agra? no: vi@gra',
    'call 10086',
  ])('catches %j', (text) => {
    expect(matches(set, ctx({ text }))).toBe(true);
  });
  it.each(['Get money free', 'call 1008 now', 'freedom', 'nothing here'])('leaves %j alone', (text) => {
    expect(matches(set, ctx({ text }))).toBe(false);
  });
});

describe('multi-pattern search', () => {
  it('finds overlapping patterns in one pass (Aho–Corasick)', () => {
    const m = new MultiMatcher(['he', 'she', 'his', 'hers']);
    const found = new Uint8Array(4);
    expect(m.mark('ushers', found)).toBe(3);
    expect([...found]).toEqual([1, 1, 0, 1]);
    expect(m.any('xyz')).toBe(false);
  });
  it('contains_all needs every keyword, in either form', () => {
    const { set } = KeywordSet.from(['free', 'gift']);
    expect(set.all(normaliseText('a fr33 g1ft'))).toBe(true);
    expect(set.all(normaliseText('a free car'))).toBe(false);
  });
  it('reports keywords that normalise to nothing', () => {
    expect(KeywordSet.from(['...', 'ok']).empty).toEqual(['...']);
  });
});

describe('URL extraction', () => {
  it.each([
    ['点击bit.ly/abc领取', ['bit.ly']],
    ['visit https://WWW.Example.com/x?y', ['example.com']],
    ['go to taobao.com。', ['taobao.com']],
    ['http://my-site.co.uk/path and www.foo.example', ['my-site.co.uk', 'foo.example']],
    ['mail bob@corp.com, e.g. this, mr.smith said', []],
    ['bit。ly/x', ['bit.ly']],
  ])('%j → %j', (text, want) => {
    expect(extractDomains(lightNormalise(text))).toEqual(want);
  });
});
