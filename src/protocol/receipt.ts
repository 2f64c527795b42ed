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
import { Command } from './commands.js';
import { encodePdu } from './encode.js';

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

/**
 * A receipt the gateway originates for a message it answered itself (queued, then expired or
 * refused): deliver_sm from the recipient to the sender, esm_class "SMSC delivery receipt", the
 * standard text and the receipted_message_id / message_state TLVs.
 */
export function gatewayReceipt(r: {
  id: string;
  /** The original message's source and destination, with their TON/NPI. */
  src: { addr: string; ton: number; npi: number };
  dst: { addr: string; ton: number; npi: number };
  submitted: number;
  done: number;
  state: number;
  err?: number;
  sequence?: number;
}): Buffer {
  const text = formatReceiptText({ id: r.id, submitted: new Date(r.submitted), done: new Date(r.done), state: r.state, err: r.err });
  return encodePdu(
    Command.deliver_sm,
    0,
    r.sequence ?? 1,
    {
      source_addr_ton: r.dst.ton,
      source_addr_npi: r.dst.npi,
      source_addr: r.dst.addr,
      dest_addr_ton: r.src.ton,
      dest_addr_npi: r.src.npi,
      destination_addr: r.src.addr,
      esm_class: 0x04,
      short_message: Buffer.from(text, 'latin1'),
    },
    [
      { tag: Tag.receipted_message_id, value: Buffer.from(`${r.id}\0`, 'latin1') },
      { tag: Tag.message_state, value: Buffer.from([r.state]) },
    ],
  );
}

/**
 * The receipt with the message id it quotes replaced by `id` (the id the ESME was given for a
 * queued message), in the text's `id:` field and in receipted_message_id. Every other byte is
 * kept; sm_length and command_length follow the new sizes. A text that would outgrow
 * short_message keeps its old id there (the TLV still carries the new one).
 */
export function rewriteReceiptId(pdu: Buffer, span: readonly [number, number], tlvStart: number, id: string): Buffer {
  const [smStart, smEnd] = span;
  let sm = pdu.subarray(smStart, smEnd);
  const text = sm.toString('latin1');
  const m = /id:\s*([^\s]+)/i.exec(text);
  if (m) {
    const at = m.index + m[0].length - m[1]!.length;
    const next = Buffer.concat([sm.subarray(0, at), Buffer.from(id, 'latin1'), sm.subarray(at + m[1]!.length)]);
    if (next.length <= 254) sm = next;
  }
  const tlvs: Buffer[] = [];
  for (let p = tlvStart; p + 4 <= pdu.length; ) {
    const tag = pdu.readUInt16BE(p);
    const len = pdu.readUInt16BE(p + 2);
    if (tag === Tag.receipted_message_id) {
      const v = Buffer.from(`${id}\0`, 'latin1');
      const h = Buffer.alloc(4);
      h.writeUInt16BE(tag, 0);
      h.writeUInt16BE(v.length, 2);
      tlvs.push(h, v);
    } else {
      tlvs.push(pdu.subarray(p, p + 4 + len));
    }
    p += 4 + len;
  }
  const out = Buffer.concat([pdu.subarray(0, smStart - 1), Buffer.from([sm.length]), sm, pdu.subarray(smEnd, tlvStart), ...tlvs]);
  out.writeUInt32BE(out.length, 0);
  return out;
}

/** message_id of a submit_sm_resp / data_sm_resp (the C-string right after the header); null if none. */
export function responseMessageId(resp: Buffer): string | null {
  if (resp.length <= 16) return null;
  const nul = resp.indexOf(0, 16);
  return resp.toString('latin1', 16, nul < 0 ? resp.length : nul);
}
