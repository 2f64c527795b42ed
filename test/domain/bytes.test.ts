/**
 * The hot path's text writers (src/domain/bytes.ts): the byte loop for short text and Buffer's
 * utf8Write for long text give the same bytes, and a character past ASCII is caught at any length
 * and any position.
 */
import { describe, expect, it } from 'vitest';
import { putAscii, putUtf8 } from '../../src/domain/bytes.js';

const ASCII = 'HINCRBY sg:rl:{acct-7}:n $12\r\n~!"\\\u0000\u007f0123456789abcdefghijklmnopqrstuvwxyz';
const OTHERS = ['é', '品', '\u0080', '😀', '\ud800' /* a lone surrogate */];

/** `s` written by `put` at offset 5 of a buffer with exactly the room the writers ask (3 bytes a character) and a guard byte after it. */
function written(put: (b: Buffer, o: number, s: string) => number, s: string): { end: number; bytes: Buffer; guard: number } {
  const b = Buffer.alloc(5 + 3 * s.length + 1, 0xee);
  const end = put(b, 5, s);
  return { end, bytes: b.subarray(5, end < 0 ? 5 : end), guard: b[b.length - 1]! };
}

describe('putAscii and putUtf8', () => {
  it('write ASCII text of every length from 0 to 100 exactly, and nothing past it', () => {
    for (let n = 0; n <= 100; n++) {
      const s = ASCII.repeat(3).slice(0, n);
      for (const put of [putAscii, putUtf8]) {
        const r = written(put, s);
        expect(r.end, `${put.name}, ${n} characters`).toBe(5 + n);
        expect(r.bytes.equals(Buffer.from(s, 'latin1')), `${put.name}, ${n} characters`).toBe(true);
        expect(r.guard).toBe(0xee);
      }
    }
  });

  it('putAscii refuses text with any other character, at any length and position; putUtf8 writes it as UTF-8', () => {
    for (let n = 1; n <= 80; n++) {
      for (const other of OTHERS) {
        for (const at of [0, Math.floor(n / 2), n - 1]) {
          const s = `${'a'.repeat(at)}${other}${'b'.repeat(n - at - 1)}`;
          expect(written(putAscii, s).end, `${JSON.stringify(other)} at ${at} of ${n}`).toBe(-1);
          const u = written(putUtf8, s);
          const want = Buffer.from(s, 'utf8');
          expect(u.end, `${JSON.stringify(other)} at ${at} of ${n}`).toBe(5 + want.length);
          expect(u.bytes.equals(want), `${JSON.stringify(other)} at ${at} of ${n}`).toBe(true);
        }
      }
    }
  });
});
