/**
 * Labelled messages from files, streamed: TSV (`label<TAB>text`, one per line), CSV (columns
 * `label` and `text` by header, else the first two) or JSON lines (`{"label": …, "text": …}`);
 * gzip recognised by its magic bytes (import/input.ts). Labels are `ham` or `spam` (any case);
 * a first line `label<TAB>text` is a header. Bad records (no tab, unknown label, broken CSV or JSON)
 * are counted and the first few kept for the report, never fatal: a corpus is rarely spotless.
 * The file side of `smppguard model train|test|split`; the model code (src/model/) is pure.
 */
import { formatOf, openInput } from '../import/input.js';
import { LineSplitter, MAX_LINE } from '../import/lines.js';
import { readRecords } from '../import/records.js';
import type { Label } from '../model/train.js';

export type LabelledFormat = 'tsv' | 'csv' | 'jsonl';

export interface LabelledRecord {
  label: Label;
  text: string;
  line: number;
}

export interface ReadStats {
  records: number;
  bad: number;
  /** The first problems, as "file:line: why". */
  problems: string[];
  bytesRead: number;
  totalBytes: number | null;
}

const MAX_PROBLEMS = 10;

function labelOf(v: unknown): Label | null {
  if (typeof v !== 'string') return null;
  const l = v.trim().toLowerCase();
  return l === 'ham' || l === 'spam' ? l : null;
}

/** The format of a labelled file: by extension (.tsv, .csv, .jsonl/.ndjson/.json, after .gz), else sniffed. */
export function labelledFormatOf(name: string, firstBytes: Buffer, gzip: boolean): LabelledFormat {
  const base = name.toLowerCase().replace(/\.gz$/, '');
  if (/\.(tsv|tab)$/.test(base)) return 'tsv';
  if (!gzip && !/\.(csv|jsonl|ndjson|json)$/.test(base)) {
    const first = firstBytes.subarray(0, 4096).toString('utf8').split('\n')[0] ?? '';
    if (first.includes('\t')) return 'tsv';
  }
  return formatOf(name, firstBytes, gzip);
}

/**
 * The labelled records of one file, in file order. `stats` is filled as it goes (progress reads
 * bytesRead). A file that cannot be opened throws (import/kinds.ts ImportError, with the reason).
 */
export async function* readLabelled(path: string, stats: ReadStats, o: { format?: LabelledFormat } = {}): AsyncGenerator<LabelledRecord> {
  const input = await openInput(path, {});
  stats.totalBytes = input.totalBytes;
  const format = o.format ?? labelledFormatOf(path, input.firstBytes, input.gzip);
  const bad = (line: number, why: string) => {
    stats.bad++;
    if (stats.problems.length < MAX_PROBLEMS) stats.problems.push(`${path}:${line}: ${why}`);
  };
  const sync = () => (stats.bytesRead = input.bytesRead());
  try {
    if (format === 'tsv') {
      const lines = new LineSplitter(MAX_LINE);
      const one = (): LabelledRecord | null => {
        if (lines.overlong) {
          bad(lines.line, `line longer than ${MAX_LINE} bytes`);
          return null;
        }
        let end = lines.end;
        if (end > lines.start && lines.buf[end - 1] === 13) end--;
        const s = lines.buf.toString('utf8', lines.start, end);
        if (s.trim() === '') return null;
        const tab = s.indexOf('\t');
        if (tab < 0) {
          bad(lines.line, 'no TAB between label and text');
          return null;
        }
        const label = labelOf(s.slice(0, tab));
        if (label === null) {
          if (lines.line === 1 && s.slice(0, tab).trim().toLowerCase() === 'label') return null;
          bad(lines.line, `label ${JSON.stringify(s.slice(0, tab).slice(0, 20))} is neither ham nor spam`);
          return null;
        }
        return { label, text: s.slice(tab + 1), line: lines.line };
      };
      for await (const chunk of input.chunks) {
        lines.feed(chunk);
        sync();
        while (lines.next()) {
          const r = one();
          if (r) {
            stats.records++;
            yield r;
          }
        }
      }
      if (lines.last()) {
        const r = one();
        if (r) {
          stats.records++;
          yield r;
        }
      }
      return;
    }
    let labelCol = 0;
    let textCol = 1;
    let first = true;
    for await (const item of readRecords(input.chunks, { format })) {
      sync();
      if ('bad' in item) {
        bad(item.line, item.bad);
        continue;
      }
      if ('invalid' in item) {
        bad(item.line, `not JSON (${item.invalid})`);
        continue;
      }
      if ('notObject' in item) {
        bad(item.line, 'not a JSON object');
        continue;
      }
      let label: Label | null;
      let text: unknown;
      if ('object' in item) {
        label = labelOf(item.object.label);
        text = item.object.text;
      } else {
        const f = item.fields;
        if (first) {
          first = false;
          const lower = f.map((x) => x.trim().toLowerCase());
          if (lower.includes('label') && lower.includes('text')) {
            labelCol = lower.indexOf('label');
            textCol = lower.indexOf('text');
            continue;
          }
        }
        label = labelOf(f[labelCol]);
        text = f[textCol];
      }
      if (label === null) {
        bad(item.line, 'label is neither ham nor spam');
        continue;
      }
      if (typeof text !== 'string') {
        bad(item.line, 'no text');
        continue;
      }
      stats.records++;
      yield { label, text, line: item.line };
    }
  } finally {
    sync();
    input.close();
  }
}

export function newStats(): ReadStats {
  return { records: 0, bad: 0, problems: [], bytesRead: 0, totalBytes: null };
}
