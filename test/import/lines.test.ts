/**
 * Lines of an import file (src/import/lines.ts): split at '\n' over chunk boundaries, numbered,
 * an overlong line reported instead of kept, the last line without '\n', a BOM dropped. Pure.
 */
import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../src/import/lines.js';

function split(chunks: (string | Buffer)[], maxLine = 1 << 20): [number, string][] {
  const s = new LineSplitter(maxLine);
  const out: [number, string][] = [];
  const take = () => out.push([s.line, s.overlong ? 'OVERLONG' : s.buf.toString('utf8', s.start, s.end)]);
  for (const c of chunks) {
    s.feed(typeof c === 'string' ? Buffer.from(c) : c);
    while (s.next()) take();
  }
  if (s.last()) take();
  return out;
}

describe('LineSplitter', () => {
  it('splits at \\n across chunk boundaries, keeping a \\r, with the last line without \\n', () => {
    expect(split(['ab', 'c\nde\r\n', '', 'f', 'g\n\nh'])).toEqual([
      [1, 'abc'],
      [2, 'de\r'],
      [3, 'fg'],
      [4, ''],
      [5, 'h'],
    ]);
    expect(split(['a\n'])).toEqual([[1, 'a']]);
    expect(split([])).toEqual([]);
  });

  it('reports a line longer than maxLine as overlong, in one chunk or over several, and goes on', () => {
    expect(split(['12345678\nok\n'], 5)).toEqual([
      [1, 'OVERLONG'],
      [2, 'ok'],
    ]);
    expect(split(['ok\n1234', '5678', '90\nyes\n1234567'], 5)).toEqual([
      [1, 'ok'],
      [2, 'OVERLONG'],
      [3, 'yes'],
      [4, 'OVERLONG'],
    ]);
  });

  it('drops a UTF-8 BOM at the start of the input only, even when it is split over chunks', () => {
    const bom = Buffer.from('\uFEFF');
    expect(split([Buffer.concat([bom, Buffer.from('a\n')]), Buffer.concat([bom, Buffer.from('b\n')])])).toEqual([
      [1, 'a'],
      [2, '\uFEFFb'],
    ]);
    expect(split([bom.subarray(0, 1), bom.subarray(1), 'x\n'])).toEqual([[1, 'x']]);
  });
});
