/**
 * CSV decoding for imports, by csv-parse: commas, double-quoted fields ("" is a quote inside
 * quotes; a quoted field may hold commas and line breaks), fields trimmed outside quotes, a quote
 * inside an unquoted field kept as it is. Lines come from LineSplitter (lines.ts); each record is
 * numbered with the line it starts on, and blank lines and `#` comments are skipped.
 *
 * What this adds around csv-parse (whose grammar it does not repeat):
 * - line numbers: csv-parse counts lines as it goes (Parser.info.lines, read when it hands a record
 *   over); the lines given to it are remembered until their record is out.
 * - a bound on a broken quote: a record csv-parse cannot finish — a quote left open until the input
 *   ends or the record passes `maxRecordBytes`, or text after a closing quote — is one bad row
 *   ("unbalanced quotes") at the line it starts on, and the lines after that line are decoded
 *   again, so a stray quote costs one row, not the rest of the file.
 * - `open`: whether a quoted field may still be open, i.e. whether the next line belongs to the
 *   decoder whatever it looks like (the DND fast path reads the other lines itself).
 *
 *   const csv = new CsvDecoder();
 *   csv.line(buf, start, end, lineNo);   // … for each line
 *   csv.flush();                         // hands the lines to csv-parse
 *   for (let r; (r = csv.take()); ) use(r);
 *   await csv.end();                     // the last record (csv-parse holds it until the end)
 */
import { finished } from 'node:stream/promises';
import { Parser, type CsvError, type Options } from 'csv-parse';

/** A record (its fields) or a line that is not one (bad), with the line it starts on. */
export type CsvItem = { line: number; fields: string[]; bad?: undefined } | { line: number; bad: string; fields?: undefined };

const NL = Buffer.from('\n');
const EMPTY = Buffer.alloc(0);
const QUOTE = 34;
const CR = 13;

/** csv-parse's Parser, handing each record over synchronously with the line it ends on. */
class RecordParser extends Parser {
  constructor(
    opts: Options,
    private readonly onRecord: (fields: string[], endLine: number) => void,
  ) {
    super(opts);
  }

  // The Transform's records, taken as csv-parse pushes them (while it parses a write), so the line
  // count is the one of the record; nothing goes to the readable side.
  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null) return super.push(chunk, encoding);
    this.onRecord(chunk as string[], this.info.lines);
    return true;
  }
}

/** Bytes start..end blank or a `#` comment (after whitespace): skipped, as csv-parse (comment '#', trim) skips it. */
function skippable(b: Buffer, start: number, end: number): boolean {
  let i = start;
  while (i < end && (b[i] === 32 || b[i] === 9 || b[i] === CR)) i++;
  if (i === end) return true;
  if (b[i] === 35) return true;
  // Other whitespace (form feed, NBSP, ideographic space, …): decode to be sure.
  if (b[i]! < 0x80 && b[i]! > 32) return false;
  const s = b.toString('utf8', i, end).trim();
  return s === '' || s[0] === '#';
}

export class CsvDecoder {
  private parser!: RecordParser;
  private readonly out: CsvItem[] = [];
  private outHead = 0;

  // Lines handed to the current parser whose record is not out yet, oldest first (from `head`):
  // file line number, bytes (pBuf from pFrom to pTo), whether skippable, and csv-parse's line count
  // at its end (csv-parse counts every '\n' and every '\r' it reads: a line with k carriage
  // returns, a CRLF one included, counts 1 + k).
  private pLine: number[] = [];
  private pBuf: Buffer[] = [];
  private pFrom: number[] = [];
  private pTo: number[] = [];
  private pSkip: boolean[] = [];
  private pEnd: number[] = [];
  private head = 0;
  /** csv-parse's line count at the end of the last line handed over. */
  private fed = 0;
  /** The count at the end of the last line with a quote, and at the end of the last record out. */
  private lastQuote = 0;
  private lastEnd = 0;
  // Bytes for csv-parse: `batch`, then the run of lines that follow each other in runBuf (with
  // their '\n'), so a chunk of lines is handed over without copying each.
  private batch: Buffer[] = [];
  private runBuf: Buffer | null = null;
  private runFrom = 0;
  private runTo = 0;
  private failed = false;
  private streamError: Error | null = null;

  constructor(private readonly maxRecordBytes = 1 << 20) {
    this.reset();
  }

  /** A quoted field may be open: the next line must come through line(), whatever it looks like. */
  get open(): boolean {
    return this.lastQuote > this.lastEnd;
  }

  /** A line handed over whose record is not out yet (csv-parse holds a record until more comes). */
  get held(): boolean {
    for (let k = this.head; k < this.pSkip.length; k++) if (!this.pSkip[k]) return true;
    return false;
  }

  /**
   * Gets csv-parse to hand over the record it holds (it waits for the next byte after a record's
   * '\n'): a blank line is fed after it (skipped, as the file's own blank lines are). Not while a
   * quoted field may be open, where a blank line could be part of the field. For the kinds whose
   * rows must be written in file order while some lines bypass the decoder (consent: the last
   * write of a number's scope wins, and the journal follows the file).
   */
  release(): void {
    if (this.open || !this.held) return;
    this.endRun();
    this.fed += 1;
    this.pLine.push(this.pLine[this.pLine.length - 1] ?? 0);
    this.pBuf.push(EMPTY);
    this.pFrom.push(0);
    this.pTo.push(0);
    this.pSkip.push(true);
    this.pEnd.push(this.fed);
    this.batch.push(NL);
    this.flush();
  }

  /**
   * One line: bytes start..end of buf, without its '\n'. Returns false when it was skipped (blank
   * or a comment outside a record).
   */
  line(buf: Buffer, start: number, end: number, lineNo: number): boolean {
    const skip = skippable(buf, start, end);
    if (skip && !this.open) return false;
    let crs = 0;
    let quote = false;
    for (let i = start; i < end; i++) {
      const b = buf[i];
      if (b === CR) crs++;
      else if (b === QUOTE) quote = true;
    }
    this.fed += 1 + crs;
    this.pLine.push(lineNo);
    this.pBuf.push(buf);
    this.pFrom.push(start);
    this.pTo.push(end);
    this.pSkip.push(skip);
    this.pEnd.push(this.fed);
    if (quote) this.lastQuote = this.fed;
    if (buf === this.runBuf && start === this.runTo && buf[end] === 10) {
      this.runTo = end + 1;
    } else {
      this.endRun();
      if (buf[end] === 10) {
        this.runBuf = buf;
        this.runFrom = start;
        this.runTo = end + 1;
      } else {
        this.batch.push(buf.subarray(start, end), NL);
      }
    }
    return true;
  }

  private endRun(): void {
    if (this.runBuf) this.batch.push(this.runBuf.subarray(this.runFrom, this.runTo));
    this.runBuf = null;
  }

  /** Hands the lines given so far to csv-parse; their records (but the last, held until more comes) can then be taken. */
  flush(): void {
    this.endRun();
    while (this.batch.length) {
      const data = this.batch.length === 1 ? this.batch[0]! : Buffer.concat(this.batch);
      this.batch = [];
      this.failed = false;
      this.parser.write(data);
      if (this.streamError || this.parser.destroyed) throw this.streamError ?? new Error('CSV parser stopped');
      if (this.failed) this.recover();
      this.endRun();
    }
  }

  /** The end of the input: the last record, or a quote still open (a bad row, and the lines after it again). */
  async end(): Promise<void> {
    for (;;) {
      this.flush();
      this.failed = false;
      this.parser.end();
      await finished(this.parser, { readable: false });
      if (!this.failed) return;
      this.recover();
    }
  }

  /** The next record or bad line, in file order. */
  take(): CsvItem | undefined {
    if (this.outHead === this.out.length) return undefined;
    const item = this.out[this.outHead++];
    if (this.outHead === this.out.length) {
      this.out.length = 0;
      this.outHead = 0;
    }
    return item;
  }

  private reset(): void {
    this.pLine = [];
    this.pBuf = [];
    this.pFrom = [];
    this.pTo = [];
    this.pSkip = [];
    this.pEnd = [];
    this.head = 0;
    this.fed = 0;
    this.lastQuote = 0;
    this.lastEnd = 0;
    this.batch = [];
    this.runBuf = null;
    const p: RecordParser = new RecordParser(
      {
        record_delimiter: '\n',
        trim: true,
        relax_quotes: true,
        relax_column_count: true,
        skip_empty_lines: true,
        comment: '#',
        comment_no_infix: true,
        max_record_size: this.maxRecordBytes,
        skip_records_with_error: true,
        // csv-parse stops reading the write at a bad record; recover() starts a new parser.
        on_skip: (_err: CsvError | undefined) => {
          if (p === this.parser) this.failed = true;
          return undefined;
        },
      },
      (fields, endLine) => {
        if (p === this.parser && !this.failed) this.record(fields, endLine);
      },
    );
    p.on('error', (err: Error) => {
      if (p === this.parser) this.streamError = err;
    });
    this.parser = p;
  }

  /** A record ending at csv-parse line `endLine`: it starts on the first of the lines up to there that is not skippable. */
  private record(fields: string[], endLine: number): void {
    let line = -1;
    let i = this.head;
    for (; i < this.pEnd.length && this.pEnd[i]! <= endLine; i++) {
      if (line < 0 && !this.pSkip[i]) line = this.pLine[i]!;
    }
    if (line < 0) line = this.pLine[Math.max(this.head, i - 1)] ?? 0;
    this.consume(i);
    this.lastEnd = endLine;
    this.out.push({ line, fields });
  }

  /** Drops the lines before index i (their record is out), and with them the chunks they hold. */
  private consume(i: number): void {
    for (let k = this.head; k < i; k++) this.pBuf[k] = EMPTY;
    this.head = i;
    if (this.head > 4096 && this.head * 2 > this.pEnd.length) {
      this.pLine.splice(0, this.head);
      this.pBuf.splice(0, this.head);
      this.pFrom.splice(0, this.head);
      this.pTo.splice(0, this.head);
      this.pSkip.splice(0, this.head);
      this.pEnd.splice(0, this.head);
      this.head = 0;
    }
  }

  /**
   * csv-parse could not finish the record that starts at the first pending line that is not
   * skippable: that line is a bad row; the lines after it go to a new parser.
   */
  private recover(): void {
    let s = this.head;
    while (s < this.pSkip.length && this.pSkip[s]) s++;
    if (s === this.pSkip.length) s = this.head;
    const redo = { line: this.pLine.slice(s + 1), buf: this.pBuf.slice(s + 1), from: this.pFrom.slice(s + 1), to: this.pTo.slice(s + 1) };
    if (s < this.pLine.length) this.out.push({ line: this.pLine[s]!, bad: 'unbalanced quotes' });
    this.parser.destroy();
    this.reset();
    for (let k = 0; k < redo.line.length; k++) this.line(redo.buf[k]!, redo.from[k]!, redo.to[k]!, redo.line[k]!);
  }
}
