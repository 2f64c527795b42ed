/**
 * Lines of an import file: splits the (gunzipped) byte chunks at '\n' without decoding them, so the
 * DND fast path can read numbers straight from the bytes and the CSV decoder gets bytes. A line
 * longer than `maxLine` is not kept whole: it is reported as overlong. A UTF-8 BOM at the start of
 * the input is dropped. (Written by hand: node:readline decodes every line to a string and has no
 * length bound; this is a few indexOf calls over the chunk.)
 *
 *   const lines = new LineSplitter(1 << 20);
 *   for await (const chunk of chunks) {
 *     lines.feed(chunk);
 *     while (lines.next()) use(lines.buf, lines.start, lines.end, lines.line);
 *   }
 *   if (lines.last()) use(…);
 */

/** The longest line an import reads (a longer one is a bad line). */
export const MAX_LINE = 1 << 20;

const EMPTY = Buffer.alloc(0);

export class LineSplitter {
  /** The current line is bytes start..end of buf (no '\n'; a '\r' before it is kept). */
  buf: Buffer = EMPTY;
  start = 0;
  end = 0;
  /** Its number (1 = the first line of the input). */
  line = 0;
  /** The current line was longer than maxLine: buf/start/end are not set. */
  overlong = false;

  private chunk: Buffer = EMPTY;
  private pos = 0;
  /** The start of a line whose '\n' is in a later chunk. */
  private carry: Buffer | null = null;
  /** Inside a line already known to be overlong. */
  private skipping = false;

  constructor(private readonly maxLine: number) {}

  /** The next chunk; the lines it completes come from next(). */
  feed(chunk: Buffer): void {
    this.chunk = chunk;
    this.pos = 0;
  }

  /** Moves to the next line ended in the chunk fed; false when the chunk is used up (its tail is kept for the next). */
  next(): boolean {
    const chunk = this.chunk;
    const pos = this.pos;
    if (this.carry !== null || this.skipping) {
      const nl = chunk.indexOf(10, pos);
      if (nl < 0) {
        if (!this.skipping) this.keep(Buffer.concat([this.carry!, chunk.subarray(pos)]));
        this.pos = chunk.length;
        return false;
      }
      this.line++;
      this.pos = nl + 1;
      if (this.skipping) {
        this.skipping = false;
        this.overlong = true;
      } else {
        this.set(Buffer.concat([this.carry!, chunk.subarray(pos, nl)]), 0, -1);
      }
      this.carry = null;
      return true;
    }
    const nl = chunk.indexOf(10, pos);
    if (nl < 0) {
      if (pos < chunk.length) this.keep(chunk.subarray(pos));
      this.pos = chunk.length;
      return false;
    }
    this.line++;
    this.pos = nl + 1;
    if (nl - pos > this.maxLine) this.overlong = true;
    else this.set(chunk, pos, nl);
    return true;
  }

  /** At the end of the input: true when it ended with a line without '\n' (now the current line). */
  last(): boolean {
    if (this.carry === null && !this.skipping) return false;
    this.line++;
    if (this.skipping) this.overlong = true;
    else this.set(this.carry!, 0, -1);
    this.carry = null;
    this.skipping = false;
    return true;
  }

  /** Keeps the start of a line that goes on in the next chunk; past the line limit, the rest of it is skipped. */
  private keep(partial: Buffer): void {
    if (partial.length > this.maxLine) {
      this.skipping = true;
      this.carry = null;
    } else this.carry = partial;
  }

  private set(buf: Buffer, start: number, end: number): void {
    this.buf = buf;
    this.end = end < 0 ? buf.length : end;
    // A UTF-8 BOM at the start of the input.
    if (this.line === 1 && this.end - start >= 3 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf) start += 3;
    this.start = start;
    this.overlong = false;
  }
}
