/**
 * Records of a small import file (src/import/records.ts, as complaints/import.ts reads them):
 * gzip or plain, CSV or JSON lines or sniffed, each record with the line it starts on. Pure.
 */
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decompress } from '../../src/import/input.js';
import { readRecords, type RecordItem } from '../../src/import/records.js';

async function read(content: string | Buffer, format: 'csv' | 'jsonl' | 'sniff'): Promise<RecordItem[]> {
  const { chunks } = await decompress(Readable.from([typeof content === 'string' ? Buffer.from(content) : content]));
  const out: RecordItem[] = [];
  for await (const r of readRecords(chunks, { format })) out.push(r);
  return out;
}

describe('readRecords', () => {
  it('reads CSV records, a quoted text holding a comma and a line break, from gzip too', async () => {
    const csv = '# export\nrecipient,text\n8613800138000,"sale, 50% off\nreply TD"\n8613800138001,"a ""quote"""\n';
    const want = [
      { line: 2, fields: ['recipient', 'text'] },
      { line: 3, fields: ['8613800138000', 'sale, 50% off\nreply TD'] },
      { line: 5, fields: ['8613800138001', 'a "quote"'] },
    ];
    expect(await read(csv, 'csv')).toEqual(want);
    expect(await read(gzipSync(csv), 'sniff')).toEqual(want);
  });

  it('reads JSON lines, telling a line that is not JSON from JSON that is not an object', async () => {
    const jsonl = '\uFEFF{"a":1}\r\n\n# note\nnope\n[1]\n{"b":2}';
    const want = [{ line: 1, object: { a: 1 } }, { line: 4, invalid: expect.stringMatching(/JSON/) }, { line: 5, notObject: true }, { line: 6, object: { b: 2 } }];
    expect(await read(jsonl, 'jsonl')).toEqual(want);
    expect(await read(jsonl, 'sniff')).toEqual(want);
  });

  it('sniffs CSV when the first line that is not blank or a comment does not start with {', async () => {
    expect(await read('\n# x\na,b\n{"not":"json here"}\n', 'sniff')).toEqual([
      { line: 3, fields: ['a', 'b'] },
      { line: 4, fields: ['{"not":"json here"}'] },
    ]);
  });

  it('reports a broken quote as a bad line and goes on', async () => {
    expect(await read('h\n"open\nnext\n', 'csv')).toEqual([
      { line: 1, fields: ['h'] },
      { line: 2, bad: 'unbalanced quotes' },
      { line: 3, fields: ['next'] },
    ]);
  });
});
