/**
 * The 16-byte PDU header (command_length, command_id, command_status, sequence_number) and the
 * in-place rewrite of the sequence number that forwarding relies on.
 */
export const HEADER_LENGTH = 16;

/** Sequence numbers run 0x00000001–0x7FFFFFFF (3.4 §5.1.4). */
export const MAX_SEQUENCE = 0x7fffffff;

export interface Header {
  length: number;
  commandId: number;
  status: number;
  sequence: number;
}

export function readHeader(pdu: Buffer): Header {
  return {
    length: pdu.readUInt32BE(0),
    commandId: pdu.readUInt32BE(4),
    status: pdu.readUInt32BE(8),
    sequence: pdu.readUInt32BE(12),
  };
}

export const commandIdOf = (pdu: Buffer): number => pdu.readUInt32BE(4);
export const statusOf = (pdu: Buffer): number => pdu.readUInt32BE(8);
export const sequenceOf = (pdu: Buffer): number => pdu.readUInt32BE(12);

/** Rewrites the sequence number in place; the only header change forwarding makes. */
export function setSequence(pdu: Buffer, sequence: number): void {
  pdu.writeUInt32BE(sequence >>> 0, 12);
}

/** A sequence generator that wraps within the spec's range. */
export class SequenceCounter {
  private next = 1;
  take(): number {
    const s = this.next;
    this.next = s >= MAX_SEQUENCE ? 1 : s + 1;
    return s;
  }
}
