/**
 * Codec fuzz: 100,000 random, truncated, bit-flipped, padded and oversized frames through
 * Framer → decode → MessageView.parse (+ every getter). Nothing may throw: bad input only ever
 * comes back as a FrameFatal or a ScanError. Fixed seed: a failure prints the case to replay.
 */
import { describe, expect, it } from 'vitest';
import { Framer } from '../../src/protocol/frame.js';
import { decode } from '../../src/protocol/decode.js';
import { encodePdu, type FieldValue } from '../../src/protocol/encode.js';
import { Command } from '../../src/protocol/commands.js';
import { LAYOUTS } from '../../src/protocol/layouts.js';
import { MessageView, isScanError } from '../../src/protocol/message-view.js';
import { receiptMessageId } from '../../src/protocol/receipt.js';
import { Status } from '../../src/protocol/status.js';
import { Tag } from '../../src/protocol/tlv.js';
import { DATA_SM, DELIVER_SM_RECEIPT, ENQUIRE_LINK, SUBMIT_SM, SUBMIT_SM_DLT, prng } from './fixtures.js';

const SEED = 0x5eed_2024;
const CASES = 100_000;
const MAX = 4096;

const SCAN_STATUSES = new Set<number>([
  Status.ESME_RINVMSGLEN,
  Status.ESME_RINVCMDLEN,
  Status.ESME_RINVCMDID,
  Status.ESME_RINVSRCADR,
  Status.ESME_RINVDSTADR,
  Status.ESME_RINVMSGID,
  Status.ESME_RINVPASWD,
  Status.ESME_RINVSYSID,
  Status.ESME_RINVSERTYP,
  Status.ESME_RINVSYSTYP,
  Status.ESME_RINVSCHED,
  Status.ESME_RINVEXPIRY,
  Status.ESME_RINVOPTPARSTREAM,
]);

const MESSAGE_COMMANDS = new Set<number>([Command.submit_sm, Command.deliver_sm, Command.data_sm]);
const KNOWN_IDS = [...LAYOUTS.keys(), Command.submit_multi, Command.broadcast_sm, 0x99, 0x80000099];

/** Valid PDUs to mutate: the fixtures plus one short and one long PDU of every layout. */
function bases(): Buffer[] {
  const out = [ENQUIRE_LINK, SUBMIT_SM, SUBMIT_SM_DLT, DELIVER_SM_RECEIPT, DATA_SM];
  for (const [id, layout] of LAYOUTS) {
    const values: Record<string, FieldValue> = {};
    for (const f of layout.fields) {
      if (f.type === 'cstring') values[f.name] = 'z'.repeat(Math.min(f.max - 1, 12));
      else if (f.type === 'octets') values[f.name] = Buffer.from('some message text');
      else if (f.type === 'u8' && !f.name.startsWith('sm_length')) values[f.name] = 1;
    }
    out.push(encodePdu(id, 0, 1, {}));
    out.push(
      encodePdu(id, 0, 2, values, layout.tlvs ? [
        { tag: Tag.message_payload, value: Buffer.alloc(40, 0x61) },
        { tag: 0x1400, value: Buffer.from('PE') },
        { tag: Tag.receipted_message_id, value: Buffer.from('ab12\u0000') },
      ] : []),
    );
  }
  return out;
}

describe('codec fuzz', () => {
  it(`survives ${CASES} malformed inputs (seed 0x${SEED.toString(16)})`, () => {
    const rnd = prng(SEED);
    const int = (n: number) => Math.floor(rnd() * n);
    const pool = bases();
    const stats = { frames: 0, decodedOk: 0, decodeErr: 0, viewOk: 0, viewErr: 0, fatal: 0, incomplete: 0 };
    const statusSeen = new Set<number>();
    const failures: string[] = [];

    const withLength = (b: Buffer, len = b.length) => {
      if (b.length >= 4) b.writeUInt32BE(len >>> 0, 0);
      return b;
    };

    const mutate = (kind: number): Buffer => {
      const base = pool[int(pool.length)]!;
      switch (kind) {
        case 0: {
          // Random bytes; half the time with a believable header.
          const b = Buffer.alloc(16 + int(120));
          for (let i = 0; i < b.length; i++) b[i] = int(256);
          if (rnd() < 0.5) {
            withLength(b);
            b.writeUInt32BE(KNOWN_IDS[int(KNOWN_IDS.length)]! >>> 0, 4);
          }
          return b;
        }
        case 1: {
          // Truncated body, command_length made consistent so the frame reaches the parser.
          const k = 16 + int(Math.max(1, base.length - 16));
          return withLength(Buffer.from(base.subarray(0, k)));
        }
        case 2: {
          // Bit flips anywhere, header included.
          const b = Buffer.from(base);
          for (let n = 1 + int(6); n > 0; n--) b[int(b.length)] ^= 1 << int(8);
          return b;
        }
        case 3: {
          // Bit flips and byte overwrites in the body only (frame stays well formed).
          const b = Buffer.from(base);
          if (b.length === 16) return b;
          for (let n = 1 + int(4); n > 0; n--) {
            const at = 16 + int(b.length - 16);
            if (rnd() < 0.5) b[at] ^= 1 << int(8);
            else b[at] = [0, 0xff, 0x7f, 0x01][int(4)]!;
          }
          return b;
        }
        case 4: {
          // Garbage appended (bad or odd TLVs), length made consistent.
          const extra = Buffer.alloc(1 + int(12));
          for (let i = 0; i < extra.length; i++) extra[i] = int(256);
          return withLength(Buffer.concat([base, extra]));
        }
        case 5: {
          // Unframeable length: below the header or above the maximum.
          const b = Buffer.from(base);
          const bad = [0, 1, 15, MAX + 1, 0xffffffff, 0x80000000, MAX + 1 + int(100000)][int(7)]!;
          return withLength(b, bad);
        }
        case 6: {
          // command_length larger than what follows: the framer must wait, not emit.
          const b = Buffer.from(base);
          return withLength(b, Math.min(MAX, b.length + 1 + int(50)));
        }
        default: {
          // The header of one command on the body of another.
          const b = Buffer.from(base);
          b.writeUInt32BE(KNOWN_IDS[int(KNOWN_IDS.length)]! >>> 0, 4);
          if (rnd() < 0.3) b.writeUInt32BE(int(0x500), 8);
          return b;
        }
      }
    };

    const exercise = (frame: Buffer) => {
      stats.frames++;
      if (frame.length < 16 || frame.length > MAX || frame.readUInt32BE(0) !== frame.length) {
        throw new Error(`framer emitted a bad frame of ${frame.length} bytes`);
      }
      const d = decode(frame);
      if (d.ok) {
        stats.decodedOk++;
        for (const v of Object.values(d.pdu.fields)) if (typeof v !== 'number' && !Buffer.isBuffer(v)) throw new Error('bad field');
        for (const t of d.pdu.tlvs) if (t.value.byteOffset + t.value.length > frame.byteOffset + frame.length) throw new Error('TLV past frame');
      } else {
        stats.decodeErr++;
        statusSeen.add(d.status);
        if (!SCAN_STATUSES.has(d.status)) throw new Error(`unexpected status 0x${d.status.toString(16)}`);
      }
      const v = MessageView.parse(frame);
      if (isScanError(v)) {
        stats.viewErr++;
        if (!SCAN_STATUSES.has(v.status)) throw new Error(`unexpected view status 0x${v.status.toString(16)}`);
      } else {
        stats.viewOk++;
        void [
          v.sequence, v.serviceType, v.sourceTon, v.sourceNpi, v.sourceAddr, v.destTon, v.destNpi,
          v.destinationAddr, v.esmClass, v.registeredDelivery, v.dataCoding, v.validityPeriod,
          v.scheduleDeliveryTime, v.shortMessage, v.payload, v.isReceipt, v.wantsReceipt, v.tlv(0x1400),
        ];
        receiptMessageId(v.tlvs, v.payload);
      }
      // decode and the view share one scanner: for message commands they must agree.
      if (MESSAGE_COMMANDS.has(frame.readUInt32BE(4)) && d.ok === isScanError(v)) {
        throw new Error('decode and MessageView disagree');
      }
    };

    for (let c = 0; c < CASES; c++) {
      const parts: Buffer[] = [];
      const count = rnd() < 0.2 ? 2 + int(3) : 1;
      for (let i = 0; i < count; i++) parts.push(mutate(int(8)));
      const stream = Buffer.concat(parts);
      const framer = new Framer(MAX);
      let fed = 0;
      let emitted = 0;
      try {
        let fatal = null;
        for (let p = 0; p < stream.length && !fatal; ) {
          const size = rnd() < 0.3 ? stream.length - p : 1 + int(40);
          const chunk = stream.subarray(p, p + size);
          p += chunk.length;
          fed += chunk.length;
          fatal = framer.push(chunk, (frame) => {
            emitted += frame.length;
            exercise(frame);
          });
        }
        if (fatal) {
          stats.fatal++;
          if (fatal.sequence === null) throw new Error('fatal without its sequence');
        } else {
          if (framer.buffered > 0) stats.incomplete++;
          if (emitted + framer.buffered !== fed) throw new Error(`lost bytes: ${emitted} + ${framer.buffered} != ${fed}`);
        }
      } catch (err) {
        if (failures.length < 5) failures.push(`case ${c}: ${(err as Error).stack}\n  input ${stream.toString('hex')}`);
      }
    }

    expect(failures).toEqual([]);
    // The run must really reach every outcome, or it proves nothing.
    expect(stats.frames).toBeGreaterThan(80_000);
    expect(stats.decodedOk).toBeGreaterThan(10_000);
    expect(stats.decodeErr).toBeGreaterThan(10_000);
    expect(stats.viewOk).toBeGreaterThan(5_000);
    expect(stats.viewErr).toBeGreaterThan(5_000);
    expect(stats.fatal).toBeGreaterThan(5_000);
    expect(stats.incomplete).toBeGreaterThan(5_000);
    for (const s of [Status.ESME_RINVCMDLEN, Status.ESME_RINVCMDID, Status.ESME_RINVMSGLEN, Status.ESME_RINVOPTPARSTREAM, Status.ESME_RINVSRCADR]) {
      expect(statusSeen.has(s), `status 0x${s.toString(16)} reached`).toBe(true);
    }
  });
});
