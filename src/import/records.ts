/**
 * Records of a small import file, one at a time, for callers that handle each row on its own
 * (complaints/import.ts): gunzipped chunks → lines → CSV records (csv.ts) or JSON objects
 * (jsonl.ts), each with the line it starts on. The policy-data driver (import-file.ts) uses the same
 * parts directly, for its fast path and batching.
 */
import { CsvDecoder } from './csv.js';
import { jsonLine, type JsonLine } from './jsonl.js';
import { LineSplitter, MAX_LINE } from './lines.js';

export type RecordItem = { line: number } & (
  | { fields: string[] }
  | JsonLine
  /** Not a record: a CSV record with a broken quote, or an overlong line. */
  | { bad: string }
);

/**
 * `format` 'sniff': JSON lines when the first line that is neither blank nor a comment starts with
 * `{`, else CSV.
 */
export async function* readRecords(chunks: AsyncIterable<Buffer>, o: { format: 'csv' | 'jsonl' | 'sniff' }): AsyncGenerator<RecordItem> {
  const lines = new LineSplitter(MAX_LINE);
  let format = o.format;
  let csv = null as CsvDecoder | null;
  const pending: RecordItem[] = [];
  const take = (): void => {
    for (let r; csv && (r = csv.take()); ) pending.push(r.bad !== undefined ? { line: r.line, bad: r.bad } : { line: r.line, fields: r.fields });
  };
  const one = (): void => {
    if (lines.overlong) {
      csv?.flush();
      take();
      pending.push({ line: lines.line, bad: `line longer than ${MAX_LINE} bytes` });
      return;
    }
    if (format === 'sniff') {
      const s = lines.buf.toString('utf8', lines.start, lines.end).trim();
      if (s === '' || s[0] === '#') return;
      format = s[0] === '{' ? 'jsonl' : 'csv';
    }
    if (format === 'jsonl') {
      const j = jsonLine(lines.buf, lines.start, lines.end);
      if (j) pending.push({ line: lines.line, ...j });
      return;
    }
    csv ??= new CsvDecoder(MAX_LINE);
    csv.line(lines.buf, lines.start, lines.end, lines.line);
  };
  for await (const chunk of chunks) {
    lines.feed(chunk);
    while (lines.next()) one();
    csv?.flush();
    take();
    yield* pending.splice(0);
  }
  if (lines.last()) one();
  await csv?.end();
  take();
  yield* pending.splice(0);
}
