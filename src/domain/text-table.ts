/**
 * Aligned plain-text tables for people (the evidence report, the complaints list): columns padded to
 * their widest cell, CJK and full-width characters counted as two columns.
 */

/** Rows under headers, columns padded to their widest cell; "-" for empty cells. */
export function renderTable(headers: readonly string[], rows: readonly (readonly (string | number | null | undefined)[])[], indent = '  '): string {
  const cells = rows.map((r) => headers.map((_, i) => cellText(r[i])));
  const widths = headers.map((h, i) => Math.max(width(h), ...cells.map((r) => width(r[i]!))));
  const line = (r: readonly string[]) => indent + r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - width(c)))).join('  ');
  return [line(headers), ...cells.map(line)].join('\n');
}

function cellText(v: string | number | null | undefined): string {
  if (v === null || v === undefined || v === '') return '-';
  return String(v).replace(/\s+/g, ' ');
}

/** Display width: CJK and full-width characters take two columns. */
function width(s: string): number {
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    w += (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) || (c >= 0xffe0 && c <= 0xffe6) ? 2 : 1;
  }
  return w;
}
