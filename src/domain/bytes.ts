/**
 * Text written byte by byte into a Buffer, for the hot path's encoders (store/resp-pipe.ts's Redis
 * commands, telemetry/log.ts's audit lines). The pieces they write are short, and a loop costs less
 * than Buffer#write's call into C++ (a commercial message's nine RESP pieces: ~700 against ~400 ns,
 * a throwaway script; bench/RESULTS.md, session 16). Text that is not ASCII goes through Buffer's
 * utf8Write (putUtf8).
 */

/** A Buffer with Node's utf8Write (what Buffer#write(s, o, 'utf8') calls, without its argument checks). */
export type Utf8Writable = Buffer & { utf8Write(s: string, offset: number): number };

/** `s` at `o` when it is all ASCII: the position after it; -1 at the first other character (what it wrote is to be overwritten). */
export function putAscii(b: Buffer, o: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return -1;
    b[o + i] = c;
  }
  return o + s.length;
}

/** `s` at `o` as UTF-8: byte by byte when it is ASCII, else with utf8Write; the position after it. */
export function putUtf8(b: Buffer, o: number, s: string): number {
  const end = putAscii(b, o, s);
  return end >= 0 ? end : o + (b as Utf8Writable).utf8Write(s, o);
}

/** `n` (a whole number ≥ 0) in decimal at `o`; the position after it. */
export function putDecimal(b: Buffer, o: number, n: number): number {
  if (n >= 10) o = putDecimal(b, o, Math.floor(n / 10));
  b[o] = 48 + (n % 10);
  return o + 1;
}

/**
 * `s` as a JSON string (quotes included) at `o` when it needs no escape: printable ASCII without
 * `"` or `\`; the position after it, or -1 (what it wrote is to be overwritten).
 */
export function putJsonPlain(b: Buffer, o: number, s: string): number {
  b[o] = 0x22;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return -1;
    b[o + 1 + i] = c;
  }
  b[o + 1 + s.length] = 0x22;
  return o + s.length + 2;
}
