/**
 * Delivery receipts (3.4 Appendix B): the `id:… sub:… dlvrd:… submit date:… done date:… stat:… err:…
 * text:…` text, the receipted_message_id / message_state TLVs, and message-id normalisation.
 *
 * SMSCs disagree on id format between submit_sm_resp and the receipt: case, leading-zero padding,
 * and hex in one place versus decimal in the other (seen with Logica/CMG and several Kannel setups).
 * normaliseMessageId gives the stored form; messageIdCandidates lists the forms a receipt id may
 * stand for, exact form first.
 */
import { Tag, findTlv, type Tlv } from './tlv.js';

export const MESSAGE_STATE = {
  ENROUTE: 1,
  DELIVERED: 2,
  EXPIRED: 3,
  DELETED: 4,
  UNDELIVERABLE: 5,
  ACCEPTED: 6,
  UNKNOWN: 7,
  REJECTED: 8,
  SKIPPED: 9,
} as const;

export const STAT_TEXT: Record<number, string> = {
  1: 'ENROUTE',
  2: 'DELIVRD',
  3: 'EXPIRED',
  4: 'DELETED',
  5: 'UNDELIV',
  6: 'ACCEPTD',
  7: 'UNKNOWN',
  8: 'REJECTD',
  9: 'SKIPPED',
};

export function normaliseMessageId(id: string): string {
  const t = id.trim().toLowerCase();
  const stripped = t.replace(/^0+/, '');
  return stripped === '' && t !== '' ? '0' : stripped;
}

const DEC = /^[0-9]+$/;
const HEX = /^[0-9a-f]+$/;

export function messageIdCandidates(id: string): string[] {
  const n = normaliseMessageId(id);
  const out = [n];
  if (n.length > 0 && n.length <= 32) {
    if (DEC.test(n)) out.push(BigInt(n).toString(16));
    if (HEX.test(n)) out.push(BigInt('0x' + n).toString(10));
  }
  return [...new Set(out)];
}

export interface ReceiptFields {
  id: string;
  sub?: string;
  dlvrd?: string;
  submitDate?: string;
  doneDate?: string;
  stat?: string;
  err?: string;
  text?: string;
}

const FIELD_RE = /(id|sub|dlvrd|submit date|done date|stat|err|text):/gi;

/** Parses receipt text; tolerant of field order, case and extra spaces. Null when there is no id. */
export function parseReceiptText(text: string): ReceiptFields | null {
  const marks: { key: string; at: number; valueAt: number }[] = [];
  for (const m of text.matchAll(FIELD_RE)) {
    marks.push({ key: m[1]!.toLowerCase(), at: m.index!, valueAt: m.index! + m[0].length });
  }
  const r: Record<string, string> = {};
  marks.forEach((m, i) => {
    if (m.key in r) return;
    const end = m.key === 'text' ? text.length : i + 1 < marks.length ? marks[i + 1]!.at : text.length;
    r[m.key] = text.slice(m.valueAt, end).trim();
  });
  if (!r.id) return null;
  return {
    id: r.id,
    sub: r.sub,
    dlvrd: r.dlvrd,
    submitDate: r['submit date'],
    doneDate: r['done date'],
    stat: r.stat,
    err: r.err,
    text: r.text,
  };
}

/** The message id a receipt refers to: receipted_message_id TLV first, then the text's id field. */
export function receiptMessageId(tlvs: readonly Tlv[], body: Buffer): string | null {
  const t = findTlv(tlvs, Tag.receipted_message_id);
  if (t && t.length > 0) {
    const nul = t.indexOf(0);
    const id = t.toString('latin1', 0, nul < 0 ? t.length : nul);
    // An empty C-string ("\0" alone) says nothing: the text may still carry the id.
    if (id !== '') return id;
  }
  return parseReceiptText(body.toString('latin1'))?.id ?? null;
}

/** YYMMDDhhmm, the receipt's date format. */
export function receiptDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}`;
}

export function formatReceiptText(f: {
  id: string;
  submitted: Date;
  done: Date;
  state: number;
  err?: number;
  text?: string;
}): string {
  const delivered = f.state === MESSAGE_STATE.DELIVERED ? '001' : '000';
  return (
    `id:${f.id} sub:001 dlvrd:${delivered} submit date:${receiptDate(f.submitted)} done date:${receiptDate(f.done)}` +
    ` stat:${STAT_TEXT[f.state] ?? 'UNKNOWN'} err:${String(f.err ?? 0).padStart(3, '0')} text:${(f.text ?? '').slice(0, 20)}`
  );
}
