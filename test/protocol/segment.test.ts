/**
 * Outgoing text as short_messages (protocol/segment.ts): the coding chosen, the 160/153 and 70/67
 * limits, the concatenation UDH, escape and surrogate pairs kept whole — checked by decoding the
 * parts back with the gateway's own decoders.
 */
import { describe, expect, it } from 'vitest';
import { chooseCoding, ESM_UDHI, segmentText } from '../../src/protocol/segment.js';
import { decodeGsm7, decodeUcs2 } from '../../src/protocol/text.js';

const body = (p: Buffer, split: boolean) => (split ? p.subarray(6) : p);

describe('segmentText', () => {
  it('GSM 7-bit when every character has a septet, UCS-2 otherwise', () => {
    expect(chooseCoding('Hello @ £5 [ok] €')).toBe('gsm7');
    expect(chooseCoding('您好')).toBe('ucs2');
    expect(chooseCoding('naïve')).toBe('ucs2'); // ï has no GSM septet
    const s = segmentText('Your code is 1234');
    expect(s).toMatchObject({ coding: 'gsm7', dataCoding: 0, esmClass: 0 });
    expect(s.parts).toHaveLength(1);
    expect(decodeGsm7(s.parts[0]!)).toBe('Your code is 1234');
    const u = segmentText('验证码 1234');
    expect(u).toMatchObject({ coding: 'ucs2', dataCoding: 8, esmClass: 0 });
    expect(decodeUcs2(u.parts[0]!)).toBe('验证码 1234');
  });

  it('160 septets fit one message; 161 make two parts of at most 153 with a UDH', () => {
    expect(segmentText('a'.repeat(160)).parts).toHaveLength(1);
    const s = segmentText('a'.repeat(161), { ref: 0x42 });
    expect(s.esmClass).toBe(ESM_UDHI);
    expect(s.parts.map((p) => [...p.subarray(0, 6)])).toEqual([
      [5, 0, 3, 0x42, 2, 1],
      [5, 0, 3, 0x42, 2, 2],
    ]);
    expect(s.parts.map((p) => p.length - 6)).toEqual([153, 8]);
    expect(s.parts.map((p) => decodeGsm7(body(p, true))).join('')).toBe('a'.repeat(161));
  });

  it('an escape pair (€) counts two septets and is never split across parts', () => {
    const text = `${'a'.repeat(152)}€${'b'.repeat(10)}`;
    const s = segmentText(text);
    expect(s.parts).toHaveLength(2);
    expect(s.parts[0]!.length - 6).toBe(152);
    expect(s.parts.map((p) => decodeGsm7(body(p, true))).join('')).toBe(text);
  });

  it('70 UCS-2 characters fit one message; longer text splits at 67, surrogate pairs kept whole', () => {
    expect(segmentText('字'.repeat(70)).parts).toHaveLength(1);
    const text = `${'字'.repeat(66)}😀${'字'.repeat(10)}`;
    const s = segmentText(text);
    expect(s.parts).toHaveLength(2);
    expect(s.parts[0]!.length - 6).toBe(132); // 66 characters: the emoji's pair would not fit
    expect(s.parts.map((p) => decodeUcs2(body(p, true))).join('')).toBe(text);
  });

  it('a forced GSM coding refuses characters GSM cannot carry; UCS-2 may be forced for any text', () => {
    expect(() => segmentText('您好', { coding: 'gsm7' })).toThrow(/GSM 03\.38 cannot carry/);
    expect(segmentText('hello', { coding: 'ucs2' }).dataCoding).toBe(8);
  });
});
