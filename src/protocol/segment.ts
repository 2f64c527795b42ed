/**
 * Outgoing text as submit_sm short_messages: the coding chosen automatically (GSM 03.38 7-bit when
 * every character has a septet, else UCS-2), and text too long for one message split into parts
 * with a concatenation UDH (IEI 0x00, 8-bit reference) and esm_class 0x40. GSM text is carried
 * unpacked, one septet per octet (data_coding 0, as SMPP carries it; the SMSC packs it).
 *
 * Limits per message (3GPP TS 23.040): 160 septets / 70 UCS-2 characters alone, 153 / 67 per part
 * (the 6-octet UDH takes 7 septets). An escape pair (€, [, …) and a surrogate pair are never split.
 * Hand-written: the npm SMS-splitting packages count but do not produce SMPP octets with the UDH.
 */
import { GSM_DEFAULT, GSM_EXTENSION as EXTENSION_BY_SEPTET } from './text.js';

/** Character → its septet after the escape (text.ts's extension table turned round). */
const GSM_EXTENSION: Record<string, number> = Object.fromEntries(Object.entries(EXTENSION_BY_SEPTET).map(([septet, c]) => [c, Number(septet)]));
const GSM_INDEX = new Map<string, number>([...GSM_DEFAULT].map((c, i) => [c, i]));
GSM_INDEX.delete('\u001b');

export type TextCoding = 'gsm7' | 'ucs2';

export const DATA_CODING: Record<TextCoding, number> = { gsm7: 0, ucs2: 8 };
/** esm_class UDHI: the short_message starts with a user data header. */
export const ESM_UDHI = 0x40;

/** Each character's septets (1 or 2 for an escape pair), or null when one has no GSM 03.38 septet. */
function gsmUnits(text: string): number[][] | null {
  const out: number[][] = [];
  for (const ch of text) {
    const i = GSM_INDEX.get(ch);
    if (i !== undefined) out.push([i]);
    else if (GSM_EXTENSION[ch] !== undefined) out.push([0x1b, GSM_EXTENSION[ch]!]);
    else return null;
  }
  return out;
}

/** UTF-16BE code units per character (2 octets, or 4 for a surrogate pair). */
function ucs2Units(text: string): number[][] {
  const out: number[][] = [];
  for (const ch of text) {
    const b = Buffer.from(ch, 'utf16le').swap16();
    out.push([...b]);
  }
  return out;
}

/** GSM 7-bit when every character fits, UCS-2 otherwise. */
export function chooseCoding(text: string): TextCoding {
  return gsmUnits(text) === null ? 'ucs2' : 'gsm7';
}

export interface Segmented {
  coding: TextCoding;
  dataCoding: number;
  /** esm_class bits to OR in: ESM_UDHI when there is more than one part. */
  esmClass: number;
  /** Each part's short_message (UDH included when split). */
  parts: Buffer[];
}

/**
 * `text` as one or more short_messages. `ref`: the concatenation reference (0..255) shared by the
 * parts; `coding`: force one (a character GSM cannot carry then throws).
 */
export function segmentText(text: string, opts: { coding?: TextCoding; ref?: number } = {}): Segmented {
  const coding = opts.coding ?? chooseCoding(text);
  const units = coding === 'gsm7' ? gsmUnits(text) : ucs2Units(text);
  if (units === null) throw new Error('the text has characters GSM 03.38 cannot carry: use UCS-2');
  // Octets for GSM (one per septet), octets for UCS-2.
  const [single, perPart] = coding === 'gsm7' ? [160, 153] : [140, 134];
  const total = units.reduce((n, u) => n + u.length, 0);
  const dataCoding = DATA_CODING[coding];
  if (total <= single) return { coding, dataCoding, esmClass: 0, parts: [Buffer.from(units.flat())] };
  const chunks: number[][] = [];
  let cur: number[] = [];
  for (const u of units) {
    if (cur.length + u.length > perPart) {
      chunks.push(cur);
      cur = [];
    }
    cur.push(...u);
  }
  if (cur.length) chunks.push(cur);
  if (chunks.length > 255) throw new Error(`the text needs ${chunks.length} parts; at most 255`);
  const ref = (opts.ref ?? Math.floor(Math.random() * 256)) & 0xff;
  const parts = chunks.map((c, i) => Buffer.from([0x05, 0x00, 0x03, ref, chunks.length, i + 1, ...c]));
  return { coding, dataCoding, esmClass: ESM_UDHI, parts };
}
