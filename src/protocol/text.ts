/**
 * Message text by data_coding (3.4 §5.2.19): 0 SMSC default (GSM 03.38 7-bit, unpacked, as SMPP
 * carries it), 1 IA5/ASCII, 3 Latin-1, 8 UCS-2 (UTF-16BE; surrogate pairs decode to one code
 * point). Other codings (binary, message-class groups) decode as Latin-1 for keyword matching only.
 */
/** The GSM 03.38 default alphabet, by septet (0x1b is the escape to the extension table). */
export const GSM_DEFAULT =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
/** The extension table: septet after the escape → character. */
export const GSM_EXTENSION: Readonly<Record<number, string>> = {
  0x0a: '\f',
  0x14: '^',
  0x28: '{',
  0x29: '}',
  0x2f: '\\',
  0x3c: '[',
  0x3d: '~',
  0x3e: ']',
  0x40: '|',
  0x65: '€',
};

/** The default alphabet and its extension table as UTF-16 code units (every GSM character is one). */
const GSM_CODES = Uint16Array.from(GSM_DEFAULT, (c) => c.charCodeAt(0));
const GSM_EXTENSION_CODES = new Uint16Array(128);
for (const [septet, c] of Object.entries(GSM_EXTENSION)) GSM_EXTENSION_CODES[Number(septet)] = c.charCodeAt(0);
/** Code units handed to String.fromCharCode at a time (well under any engine's argument limit). */
const DECODE_CHUNK = 4096;
let gsmScratch = new Uint16Array(256);

/**
 * GSM 03.38 septets (one a byte) to text. By table into a reused code-unit buffer, then one string:
 * appending a character at a time built a chain of ~50 string pieces for a typical message (1.6 KB
 * of garbage a message, the policy path's largest allocation at 20,000 msg/s; bench/RESULTS.md
 * session 14).
 */
export function decodeGsm7(buf: Buffer): string {
  if (gsmScratch.length < buf.length) gsmScratch = new Uint16Array(buf.length);
  const out = gsmScratch;
  let n = 0;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]! & 0x7f;
    if (c === 0x1b && i + 1 < buf.length) {
      const ext = GSM_EXTENSION_CODES[buf[i + 1]! & 0x7f]!;
      if (ext !== 0) {
        out[n++] = ext;
        i++;
        continue;
      }
    }
    out[n++] = GSM_CODES[c]!;
  }
  if (n <= DECODE_CHUNK) return String.fromCharCode.apply(null, out.subarray(0, n) as unknown as number[]);
  let text = '';
  for (let i = 0; i < n; i += DECODE_CHUNK) text += String.fromCharCode.apply(null, out.subarray(i, Math.min(n, i + DECODE_CHUNK)) as unknown as number[]);
  return text;
}

export function decodeUcs2(buf: Buffer): string {
  const even = buf.length & ~1;
  const swapped = Buffer.allocUnsafe(even);
  for (let i = 0; i < even; i += 2) {
    swapped[i] = buf[i + 1]!;
    swapped[i + 1] = buf[i]!;
  }
  return swapped.toString('utf16le');
}

export function decodeText(buf: Buffer, dataCoding: number): string {
  switch (dataCoding) {
    case 0:
      return decodeGsm7(buf);
    case 1:
      return buf.toString('ascii');
    case 8:
      return decodeUcs2(buf);
    default:
      return buf.toString('latin1');
  }
}

/** Text as data_coding + octets: GSM-safe ASCII as IA5 (1), anything else as UCS-2 (8). */
export function encodeText(text: string): { dataCoding: number; bytes: Buffer } {
  if (/^[\x20-\x7e\r\n]*$/.test(text)) return { dataCoding: 1, bytes: Buffer.from(text, 'ascii') };
  const le = Buffer.from(text, 'utf16le');
  for (let i = 0; i < le.length; i += 2) {
    const a = le[i]!;
    le[i] = le[i + 1]!;
    le[i + 1] = a;
  }
  return { dataCoding: 8, bytes: le };
}

/** A TLV value as text (C-string TLVs carry a trailing NUL). */
export function tlvText(v: Buffer): string {
  const end = v[v.length - 1] === 0 ? v.length - 1 : v.length;
  return v.toString('latin1', 0, end);
}
