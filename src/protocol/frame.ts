/**
 * Cuts a TCP byte stream into whole PDUs by command_length before any body is looked at, so a bad
 * body can never break framing (cloudhopper DefaultPduTranscoder, SMPPEX protocol.ex). Frames are
 * zero-copy views into the read chunk whenever a PDU sits whole inside one chunk.
 *
 * A command_length below 16 or above the configured maximum cannot be framed: the stream is lost
 * and the session that owns it must close (only that one). That is reported once the 16 header
 * bytes are in, so the error always carries the sequence number, whatever the chunking.
 */
import { HEADER_LENGTH } from './header.js';

export const DEFAULT_MAX_PDU_LENGTH = 64 * 1024;

export type FrameFatal = { reason: string; length: number; sequence: number | null };

export class Framer {
  private parts: Buffer[] = [];
  private partsLength = 0;
  private dead = false;

  constructor(private readonly maxLength = DEFAULT_MAX_PDU_LENGTH) {}

  /**
   * Feeds one chunk; calls `onPdu` for every whole frame in order. Returns null, or the fatal
   * framing error (after which the framer accepts nothing more).
   */
  push(chunk: Buffer, onPdu: (pdu: Buffer) => void): FrameFatal | null {
    if (this.dead) return { reason: 'stream already lost', length: 0, sequence: null };
    let buf = chunk;
    if (this.partsLength > 0) {
      // Only gather what the pending frame needs; most of the time that is the whole backlog.
      this.parts.push(chunk);
      this.partsLength += chunk.length;
      if (this.partsLength < HEADER_LENGTH) return null;
      const need = this.pendingLength();
      if (need < 0) return this.fatal(Buffer.concat(this.parts, HEADER_LENGTH));
      if (this.partsLength < need) return null;
      buf = Buffer.concat(this.parts, this.partsLength);
      this.parts = [];
      this.partsLength = 0;
    }
    let p = 0;
    const end = buf.length;
    while (end - p >= 4) {
      const len = buf.readUInt32BE(p);
      if (len < HEADER_LENGTH || len > this.maxLength) {
        // Wait for the whole header so the generic_nack carries the peer's sequence number
        // however TCP happened to split these bytes.
        if (end - p >= HEADER_LENGTH) return this.fatal(buf.subarray(p, p + HEADER_LENGTH));
        break;
      }
      if (end - p < len) break;
      onPdu(buf.subarray(p, p + len));
      p += len;
    }
    if (p < end) {
      this.parts.push(buf.subarray(p));
      this.partsLength = end - p;
    }
    return null;
  }

  /** Bytes received but not yet part of a whole frame. */
  get buffered(): number {
    return this.partsLength;
  }

  private pendingLength(): number {
    const head = this.parts[0]!.length >= 4 ? this.parts[0]! : Buffer.concat(this.parts, 4);
    const len = head.readUInt32BE(0);
    return len < HEADER_LENGTH || len > this.maxLength ? -1 : len;
  }

  private fatal(head: Buffer): FrameFatal {
    this.dead = true;
    this.parts = [];
    this.partsLength = 0;
    const length = head.length >= 4 ? head.readUInt32BE(0) : 0;
    const sequence = head.length >= 16 ? head.readUInt32BE(12) : null;
    const reason =
      length < HEADER_LENGTH ? `command_length ${length} is below the 16-byte header` : `command_length ${length} exceeds the maximum ${this.maxLength}`;
    return { reason, length, sequence };
  }
}
