/**
 * Message text by data_coding (3.4 §5.2.19): 0 SMSC default (GSM 03.38 7-bit, unpacked, as SMPP
 * carries it), 1 IA5/ASCII, 3 Latin-1, 8 UCS-2 (UTF-16BE; surrogate pairs decode to one code
 * point). Other codings (binary, message-class groups) decode as Latin-1 for keyword matching only.
 */
const GSM_DEFAULT =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM_EXTENSION: Record<number, string> = {
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

export function decodeGsm7(buf: Buffer): string {
  let out = '';
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]! & 0x7f;
    if (c === 0x1b && i + 1 < buf.length) {
      const ext = GSM_EXTENSION[buf[i + 1]! & 0x7f];
      if (ext !== undefined) {
        out += ext;
        i++;
        continue;
      }
    }
    out += GSM_DEFAULT[c]!;
  }
  return out;
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
