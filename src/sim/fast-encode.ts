/**
 * The two PDUs the simulator writes at benchmark rates, built straight into one buffer:
 * the successful submit_sm_resp/data_sm_resp and the delivery-receipt deliver_sm. Each produces
 * exactly the bytes protocol/encode.ts would (messageResp, encodePdu; the tests compare them);
 * encodePdu allocates a buffer per field and costs ~5 µs, this costs a fraction of that.
 */
import { Command } from '../protocol/commands.js';
import { HEADER_LENGTH } from '../protocol/header.js';
import { Tag } from '../protocol/tlv.js';
import { ESM_CLASS } from '../protocol/message-view.js';

function writeHeader(b: Buffer, commandId: number, status: number, sequence: number): void {
  b.writeUInt32BE(b.length, 0);
  b.writeUInt32BE(commandId >>> 0, 4);
  b.writeUInt32BE(status >>> 0, 8);
  b.writeUInt32BE(sequence >>> 0, 12);
}

/** A C-string at `p` (ASCII/latin1 text, one byte per char); returns the position after the NUL. */
function writeCString(b: Buffer, p: number, s: string): number {
  p += b.write(s, p, 'latin1');
  b[p] = 0;
  return p + 1;
}

/** Same bytes as messageResp(respId, 0, sequence, id). */
export function encodeIdResp(respId: number, sequence: number, id: string): Buffer {
  const b = Buffer.allocUnsafe(HEADER_LENGTH + id.length + 1);
  writeHeader(b, respId, 0, sequence);
  writeCString(b, HEADER_LENGTH, id);
  return b;
}

/** What a receipt deliver_sm carries; addresses are already swapped (source = the handset). */
export interface ReceiptPduFields {
  sourceTon: number;
  sourceNpi: number;
  source: string;
  destTon: number;
  destNpi: number;
  dest: string;
  /** short_message: the receipt text, at most 254 latin1 characters. */
  text: string;
  /** receipted_message_id as the receipt quotes it. */
  receiptId: string;
  /** message_state TLV value. */
  state: number;
}

/** deliver_sm field limits: addresses are C-strings of at most 20 octets (3.4 §4.6.1). */
export const MAX_DELIVER_ADDR = 20;

/**
 * Same bytes as encodePdu(deliver_sm, 0, sequence, {source_addr_ton, source_addr_npi, source_addr,
 * dest_addr_ton, dest_addr_npi, destination_addr, esm_class: 0x04, short_message}, [receipted_message_id
 * (C-string), message_state (1 octet)]); the other fields are 0 or empty.
 */
export function encodeReceiptPdu(sequence: number, f: ReceiptPduFields): Buffer {
  const size =
    HEADER_LENGTH + 1 + 2 + f.source.length + 1 + 2 + f.dest.length + 1 + 3 + 2 + 5 + f.text.length +
    4 + f.receiptId.length + 1 + 4 + 1;
  const b = Buffer.allocUnsafe(size);
  writeHeader(b, Command.deliver_sm, 0, sequence);
  let p = HEADER_LENGTH;
  b[p++] = 0; // service_type ""
  b[p++] = f.sourceTon;
  b[p++] = f.sourceNpi;
  p = writeCString(b, p, f.source);
  b[p++] = f.destTon;
  b[p++] = f.destNpi;
  p = writeCString(b, p, f.dest);
  b[p++] = ESM_CLASS.DELIVERY_RECEIPT;
  b[p++] = 0; // protocol_id
  b[p++] = 0; // priority_flag
  b[p++] = 0; // schedule_delivery_time ""
  b[p++] = 0; // validity_period ""
  b[p++] = 0; // registered_delivery
  b[p++] = 0; // replace_if_present_flag
  b[p++] = 0; // data_coding
  b[p++] = 0; // sm_default_msg_id
  b[p++] = f.text.length; // sm_length
  p += b.write(f.text, p, 'latin1');
  b.writeUInt16BE(Tag.receipted_message_id, p);
  b.writeUInt16BE(f.receiptId.length + 1, p + 2);
  p = writeCString(b, p + 4, f.receiptId);
  b.writeUInt16BE(Tag.message_state, p);
  b.writeUInt16BE(1, p + 2);
  b[p + 4] = f.state;
  return b;
}
