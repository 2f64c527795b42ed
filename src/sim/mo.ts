/**
 * Mobile-originated deliver_sm (esm_class 0) the simulator injects on request: a user's reply such
 * as "STOP" or "退订". Text goes out as ASCII (data_coding 0) when it can, else UCS-2 (8); bodies
 * over 254 octets go in message_payload. Built with encodePdu: this path is not hot.
 */
import { Command } from '../protocol/commands.js';
import { encodePdu } from '../protocol/encode.js';
import { Tag, type Tlv } from '../protocol/tlv.js';

export interface MoMessage {
  source: string;
  destination: string;
  text: string;
  dataCoding?: number;
  tlvs?: Tlv[];
}

const ASCII = /^\p{ASCII}*$/u;
const DIGITS = /^\+?[0-9]+$/;
const MAX_SHORT_MESSAGE = 254;

export const UCS2 = 8;

/** The data_coding to use: the caller's, else 0 for ASCII text and UCS-2 for anything else. */
export function moDataCoding(m: MoMessage): number {
  return m.dataCoding ?? (ASCII.test(m.text) ? 0 : UCS2);
}

/** Text as octets for `dataCoding`: UTF-16BE for UCS-2, one octet per char (latin1) otherwise. */
export function encodeMoText(text: string, dataCoding: number): Buffer {
  if ((dataCoding & 0x0f) === UCS2 && dataCoding < 0xf0) return Buffer.from(text, 'utf16le').swap16();
  return Buffer.from(text, 'latin1');
}

/** TON/NPI for an address: ISDN numbering for digits, unknown for anything else. */
function tonNpi(addr: string, ton: number): [number, number] {
  return DIGITS.test(addr) ? [ton, 1] : [0, 0];
}

export function encodeMo(sequence: number, m: MoMessage): Buffer {
  const dataCoding = moDataCoding(m);
  const body = encodeMoText(m.text, dataCoding);
  const long = body.length > MAX_SHORT_MESSAGE;
  const [sTon, sNpi] = tonNpi(m.source, 1);
  const [dTon, dNpi] = tonNpi(m.destination, 0);
  const fields = {
    source_addr_ton: sTon,
    source_addr_npi: sNpi,
    source_addr: m.source.replace(/^\+/, ''),
    dest_addr_ton: dTon,
    dest_addr_npi: dNpi,
    destination_addr: m.destination.replace(/^\+/, ''),
    esm_class: 0,
    data_coding: dataCoding,
    short_message: long ? Buffer.alloc(0) : body,
  };
  const tlvs: Tlv[] = long ? [{ tag: Tag.message_payload, value: body }, ...(m.tlvs ?? [])] : (m.tlvs ?? []);
  return encodePdu(Command.deliver_sm, 0, sequence, fields, tlvs);
}
