/**
 * GSM 03.38 decoding (protocol/text.ts decodeGsm7): every septet of the default alphabet, the
 * extension table after an escape, an escape with nothing (or nothing known) after it, the high bit
 * ignored, and texts longer than one decoding chunk.
 */
import { describe, expect, it } from 'vitest';
import { GSM_DEFAULT, GSM_EXTENSION, decodeGsm7 } from '../../src/protocol/text.js';

describe('decodeGsm7', () => {
  it('decodes every septet of the default alphabet to its character', () => {
    const septets = Buffer.from(Array.from({ length: 128 }, (_, i) => i).filter((i) => i !== 0x1b));
    expect(decodeGsm7(septets)).toBe([...GSM_DEFAULT].filter((_, i) => i !== 0x1b).join(''));
    expect(decodeGsm7(Buffer.from([0x00, 0x01, 0x24, 0x40, 0x5b, 0x7f]))).toBe('@£¤¡Äà');
  });

  it('decodes the extension table after an escape; an escape alone or before an unknown septet stays an escape', () => {
    for (const [septet, c] of Object.entries(GSM_EXTENSION)) expect(decodeGsm7(Buffer.from([0x41, 0x1b, Number(septet), 0x42]))).toBe(`A${c}B`);
    expect(decodeGsm7(Buffer.from([0x41, 0x1b]))).toBe('A\u001b');
    expect(decodeGsm7(Buffer.from([0x1b, 0x41]))).toBe('\u001bA');
  });

  it('ignores the high bit, and decodes texts longer than one chunk and after a longer one', () => {
    expect(decodeGsm7(Buffer.from([0xc1, 0x80]))).toBe('A@');
    const long = Buffer.alloc(10_000, 0x61);
    long[9_999] = 0x62;
    expect(decodeGsm7(long)).toBe(`${'a'.repeat(9_999)}b`);
    // The reused buffer holds the long text's code units: a short text after it is only its own.
    expect(decodeGsm7(Buffer.from([0x48, 0x69]))).toBe('Hi');
    expect(decodeGsm7(Buffer.alloc(0))).toBe('');
  });
});
