/**
 * CSV decoding for imports (src/import/csv.ts, csv-parse underneath): fields and quoting, records
 * spanning lines, BOM and CRLF, comments and blank lines, the line each record is numbered with,
 * and how a broken quote is bounded to one bad row. Pure: no Redis.
 */
import { describe, expect, it } from 'vitest';
import { CsvDecoder } from '../../src/import/csv.js';
import { LineSplitter } from '../../src/import/lines.js';

/** [line, ...fields] per record, [line, 'BAD', reason] per bad row; the input fed `chunk` bytes at a time. */
async function decode(text: string | Buffer, o: { chunk?: number; maxRecordBytes?: number } = {}): Promise<unknown[][]> {
  const data = typeof text === 'string' ? Buffer.from(text) : text;
  const chunk = o.chunk ?? 1 << 20;
  const lines = new LineSplitter(1 << 20);
  const csv = new CsvDecoder(o.maxRecordBytes ?? 1 << 20);
  const out: unknown[][] = [];
  const drain = () => {
    for (let r; (r = csv.take()); ) out.push(r.bad !== undefined ? [r.line, 'BAD', r.bad] : [r.line, ...r.fields]);
  };
  for (let i = 0; i < data.length; i += chunk) {
    lines.feed(data.subarray(i, i + chunk));
    while (lines.next()) csv.line(lines.buf, lines.start, lines.end, lines.line);
    csv.flush();
    drain();
  }
  if (lines.last()) csv.line(lines.buf, lines.start, lines.end, lines.line);
  await csv.end();
  drain();
  return out;
}

/** decode(), and the same whatever the chunk size (chunk boundaries inside lines, quotes and CRLFs). */
async function decodeAnyChunks(text: string, o: { maxRecordBytes?: number } = {}): Promise<unknown[][]> {
  const whole = await decode(text, o);
  for (const chunk of [1, 2, 3, 7]) expect(await decode(text, { ...o, chunk }), `chunks of ${chunk}`).toEqual(whole);
  return whole;
}

describe('CsvDecoder', () => {
  it('splits plain and quoted fields, trimming outside quotes only', async () => {
    expect(await decodeAnyChunks('a, b ,c\n"x, y",2,"say ""hi"""\na,\n " q " , r \n')).toEqual([
      [1, 'a', 'b', 'c'],
      [2, 'x, y', '2', 'say "hi"'],
      [3, 'a', ''],
      [4, ' q ', 'r'],
    ]);
  });

  it('keeps a quote inside an unquoted field as it is', async () => {
    expect(await decodeAnyChunks('ab"c,d\n')).toEqual([[1, 'ab"c', 'd']]);
  });

  it('reads a quoted field holding line breaks as one record, numbered with the line it starts on', async () => {
    const text = 'first,1\n"reply ""TD""\nto stop, thanks",2\n"a\n\n# not a comment\n",3\nlast,4\n';
    expect(await decodeAnyChunks(text)).toEqual([
      [1, 'first', '1'],
      [2, 'reply "TD"\nto stop, thanks', '2'],
      [4, 'a\n\n# not a comment\n', '3'],
      [8, 'last', '4'],
    ]);
  });

  it('drops a UTF-8 BOM at the start and reads CRLF line ends (kept inside a quoted field)', async () => {
    expect(await decodeAnyChunks('\uFEFFmsisdn,category\r\n8613800138000,3\r\n"two\r\nlines",4\r\n')).toEqual([
      [1, 'msisdn', 'category'],
      [2, '8613800138000', '3'],
      [3, 'two\r\nlines', '4'],
    ]);
    // Elsewhere U+FEFF is whitespace, trimmed like any other.
    expect(await decode('a\n\uFEFFb\n')).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
  });

  it('skips blank lines and # comments (also indented ones), but not a # inside a field', async () => {
    expect(await decodeAnyChunks('# header comment\n\n   \n  # indented\na,#b\n\t\nbrand:A#1,x\nlast')).toEqual([
      [5, 'a', '#b'],
      [7, 'brand:A#1', 'x'],
      [8, 'last'],
    ]);
  });

  it('numbers lines as the file has them when a carriage return sits inside a line', async () => {
    expect(await decodeAnyChunks('x\ry,1\nnext,2\n"q\rr",3\nend\n')).toEqual([
      [1, 'x\ry', '1'],
      [2, 'next', '2'],
      [3, 'q\rr', '3'],
      [4, 'end'],
    ]);
  });

  it('a quote left open is one bad row; the lines after it are read as they are', async () => {
    expect(await decodeAnyChunks('"open,2\n8613800138000\n8613800138001,3\n')).toEqual([
      [1, 'BAD', 'unbalanced quotes'],
      [2, '8613800138000'],
      [3, '8613800138001', '3'],
    ]);
    // …also when a later quote would have closed it with text after the closing quote.
    expect(await decodeAnyChunks('ok,0\n"open,2\nx,1\n"y",3\nz\n')).toEqual([
      [1, 'ok', '0'],
      [2, 'BAD', 'unbalanced quotes'],
      [3, 'x', '1'],
      [4, 'y', '3'],
      [5, 'z'],
    ]);
  });

  it('text after a closing quote is a bad row, and the next line is read', async () => {
    expect(await decodeAnyChunks('"a"b,2\ne,f\n')).toEqual([
      [1, 'BAD', 'unbalanced quotes'],
      [2, 'e', 'f'],
    ]);
  });

  it('a quoted field growing past maxRecordBytes is a bad row, and the lines it swallowed are read again', async () => {
    const text = `"stray,1\n${Array.from({ length: 100 }, (_, i) => `861380013${String(i).padStart(4, '0')}`).join('\n')}\n`;
    const out = await decode(text, { maxRecordBytes: 300 });
    expect(out[0]).toEqual([1, 'BAD', 'unbalanced quotes']);
    expect(out.slice(1)).toEqual(Array.from({ length: 100 }, (_, i) => [i + 2, `861380013${String(i).padStart(4, '0')}`]));
  });

  it('says whether a quoted field may be open (the DND fast path must not take the next line)', async () => {
    const csv = new CsvDecoder();
    const line = (s: string, n: number) => csv.line(Buffer.from(s), 0, s.length, n);
    expect(csv.open).toBe(false);
    line('plain,1', 1);
    expect(csv.open).toBe(false);
    line('"quoted, closed",2', 2);
    expect(csv.open).toBe(true); // not known until csv-parse has read past it
    line('next,3', 3);
    csv.flush();
    expect(csv.open).toBe(false);
    line('"open', 4);
    line('still', 5);
    csv.flush();
    expect(csv.open).toBe(true);
    line('closed",6', 6);
    line('after,7', 7);
    csv.flush();
    expect(csv.open).toBe(false);
    await csv.end();
    const got: unknown[] = [];
    for (let r; (r = csv.take()); ) got.push([r.line, ...(r.fields ?? [])]);
    expect(got).toEqual([
      [1, 'plain', '1'],
      [2, 'quoted, closed', '2'],
      [3, 'next', '3'],
      [4, 'open\nstill\nclosed', '6'],
      [7, 'after', '7'],
    ]);
  });

  it('reports a skipped line as false, and a line handed to csv-parse as true', () => {
    const csv = new CsvDecoder();
    const line = (s: string) => csv.line(Buffer.from(s), 0, Buffer.byteLength(s), 1);
    expect(line('')).toBe(false);
    expect(line('# c')).toBe(false);
    expect(line('\u3000')).toBe(false); // ideographic space only
    expect(line('a,b')).toBe(true);
  });
});
