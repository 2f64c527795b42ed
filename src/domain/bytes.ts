/**
 * Text written into a Buffer for the hot path's encoders (store/resp-pipe.ts's Redis commands,
 * telemetry/log.ts's audit lines). Short pieces go byte by byte: a loop costs less than Buffer's
 * utf8Write, a call into C++ (a commercial message's nine RESP pieces: ~700 against ~400 ns, a
 * throwaway script; bench/RESULTS.md, session 16). The loop costs ~3 ns a character and the call
 * ~90 ns however long the text (a copy once the text is flat): past LOOP_MAX characters the call
 * is cheaper (bench/RESULTS.md, session 27), and the rules' counter commands are mostly longer.
 * Text that is not ASCII goes through utf8Write (putUtf8).
 */

/** A Buffer with Node's utf8Write (what Buffer#write(s, o, 'utf8') calls, without its argument checks). */
export type Utf8Writable = Buffer & { utf8Write(s: string, offset: number): number };

/** Where the byte loop and utf8Write cost the same (~32 characters, throwaway script; session 27). */
const LOOP_MAX = 32;

/**
 * `s` at `o` when it is all ASCII: the position after it; -1 when it holds any other character
 * (what it wrote is to be overwritten). `b` must have room for 3 bytes a character from `o`.
 */
export function putAscii(b: Buffer, o: number, s: string): number {
  if (s.length > LOOP_MAX) {
    // With room for 3 bytes a character nothing is cut short, and only all-ASCII text takes one
    // byte a character (any other UTF-16 unit takes 2 or 3).
    const n = (b as Utf8Writable).utf8Write(s, o);
    return n === s.length ? o + n : -1;
  }
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return -1;
    b[o + i] = c;
  }
  return o + s.length;
}

/** `s` at `o` as UTF-8 (`b` with room for 3 bytes a character): the position after it. */
export function putUtf8(b: Buffer, o: number, s: string): number {
  if (s.length > LOOP_MAX) return o + (b as Utf8Writable).utf8Write(s, o);
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
