/**
 * JSON lines for imports: one JSON object per line; blank lines and `#` comments are skipped. The
 * callers word the problems (a line that is not JSON, or JSON that is not an object) themselves.
 */

export type JsonLine = { object: Record<string, unknown> } | { invalid: string } | { notObject: true };

/** Bytes start..end of buf: null when blank or a comment; else the object, or what is wrong with the line. */
export function jsonLine(buf: Buffer, start: number, end: number): JsonLine | null {
  const s = buf.toString('utf8', start, end).trim();
  if (s === '' || s[0] === '#') return null;
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch (err) {
    return { invalid: (err as Error).message };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { notObject: true };
  return { object: v as Record<string, unknown> };
}
