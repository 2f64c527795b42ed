import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_PDU_LENGTH, Framer, type FrameFatal } from '../../src/protocol/frame.js';
import { encodePdu } from '../../src/protocol/encode.js';
import { Command } from '../../src/protocol/commands.js';
import { Tag } from '../../src/protocol/tlv.js';
import { DATA_SM, DELIVER_SM_RECEIPT, ENQUIRE_LINK, ENQUIRE_LINK_RESP, SUBMIT_SM, SUBMIT_SM_DLT, hex } from './fixtures.js';

/** Feeds chunks in order; returns every frame (copied, so later pushes cannot alter them) and the fatal. */
function feed(framer: Framer, chunks: Buffer[]): { frames: Buffer[]; fatal: FrameFatal | null } {
  const frames: Buffer[] = [];
  let fatal: FrameFatal | null = null;
  for (const c of chunks) {
    const f = framer.push(c, (pdu) => frames.push(Buffer.from(pdu)));
    if (f) {
      fatal = f;
      break;
    }
  }
  return { frames, fatal };
}

function bytesOf(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i++) out.push(b.subarray(i, i + 1));
  return out;
}

const STREAM = [ENQUIRE_LINK, SUBMIT_SM, DELIVER_SM_RECEIPT, ENQUIRE_LINK_RESP, DATA_SM, SUBMIT_SM_DLT];
const STREAM_BYTES = Buffer.concat(STREAM);

describe('Framer: whole frames', () => {
  it('returns one frame per chunk when each chunk is one PDU', () => {
    const framer = new Framer();
    for (const pdu of STREAM) {
      const got: Buffer[] = [];
      expect(framer.push(pdu, (p) => got.push(p))).toBeNull();
      expect(got).toHaveLength(1);
      expect(got[0]!.equals(pdu)).toBe(true);
      expect(framer.buffered).toBe(0);
    }
  });

  it('returns zero-copy views when a PDU sits whole inside one chunk', () => {
    const framer = new Framer();
    const chunk = Buffer.concat([ENQUIRE_LINK, SUBMIT_SM]);
    const got: Buffer[] = [];
    framer.push(chunk, (p) => got.push(p));
    expect(got).toHaveLength(2);
    expect(got[0]!.buffer).toBe(chunk.buffer);
    expect(got[0]!.byteOffset).toBe(chunk.byteOffset);
    expect(got[1]!.buffer).toBe(chunk.buffer);
    expect(got[1]!.byteOffset).toBe(chunk.byteOffset + 16);
    expect(got[1]!.length).toBe(63);
  });

  it('cuts many PDUs out of one chunk, exact and in order', () => {
    const { frames, fatal } = feed(new Framer(), [STREAM_BYTES]);
    expect(fatal).toBeNull();
    expect(frames.map((f) => f.toString('hex'))).toEqual(STREAM.map((p) => p.toString('hex')));
  });

  it('accepts an empty chunk without effect', () => {
    const framer = new Framer();
    const got: Buffer[] = [];
    expect(framer.push(Buffer.alloc(0), (p) => got.push(p))).toBeNull();
    expect(framer.push(hex('0000'), (p) => got.push(p))).toBeNull();
    expect(framer.push(Buffer.alloc(0), (p) => got.push(p))).toBeNull();
    expect(framer.buffered).toBe(2);
    expect(framer.push(hex('0010 00000015 00000000 00000001'), (p) => got.push(p))).toBeNull();
    expect(got.map((g) => g.toString('hex'))).toEqual([ENQUIRE_LINK.toString('hex')]);
  });

  it('reassembles a stream split at every byte boundary (two chunks)', () => {
    for (let k = 1; k < STREAM_BYTES.length; k++) {
      const framer = new Framer();
      const { frames, fatal } = feed(framer, [STREAM_BYTES.subarray(0, k), STREAM_BYTES.subarray(k)]);
      expect(fatal, `split at ${k}`).toBeNull();
      expect(Buffer.concat(frames).equals(STREAM_BYTES), `split at ${k}`).toBe(true);
      expect(frames.map((f) => f.length), `split at ${k}`).toEqual(STREAM.map((p) => p.length));
      expect(framer.buffered).toBe(0);
    }
  });

  it('reassembles a submit_sm split at every pair of boundaries (three chunks)', () => {
    const pdu = Buffer.concat([SUBMIT_SM, ENQUIRE_LINK]);
    for (let i = 1; i < pdu.length - 1; i++) {
      for (let j = i + 1; j < pdu.length; j++) {
        const { frames, fatal } = feed(new Framer(), [pdu.subarray(0, i), pdu.subarray(i, j), pdu.subarray(j)]);
        expect(fatal).toBeNull();
        expect(frames).toHaveLength(2);
        expect(frames[0]!.equals(SUBMIT_SM), `split at ${i}/${j}`).toBe(true);
        expect(frames[1]!.equals(ENQUIRE_LINK), `split at ${i}/${j}`).toBe(true);
      }
    }
  });

  it('reassembles the stream fed byte by byte', () => {
    const framer = new Framer();
    const frames: Buffer[] = [];
    const emittedAt: number[] = [];
    bytesOf(STREAM_BYTES).forEach((b, i) => {
      expect(framer.push(b, (p) => { frames.push(Buffer.from(p)); emittedAt.push(i); })).toBeNull();
    });
    expect(frames.map((f) => f.toString('hex'))).toEqual(STREAM.map((p) => p.toString('hex')));
    // Each frame is emitted on exactly its last byte, not earlier and not later.
    let end = 0;
    expect(emittedAt).toEqual(STREAM.map((p) => (end += p.length) - 1));
    expect(framer.buffered).toBe(0);
  });

  it('reports buffered bytes of the pending frame', () => {
    const framer = new Framer();
    const noop = () => {};
    framer.push(SUBMIT_SM.subarray(0, 3), noop);
    expect(framer.buffered).toBe(3);
    framer.push(SUBMIT_SM.subarray(3, 40), noop);
    expect(framer.buffered).toBe(40);
    framer.push(Buffer.concat([SUBMIT_SM.subarray(40), ENQUIRE_LINK.subarray(0, 5)]), noop);
    expect(framer.buffered).toBe(5);
  });

  it('frames a PDU of exactly 16 bytes and one of exactly the maximum', () => {
    const max = 64;
    // header 16 + empty submit_sm body 17 + TLV header 4 + 27 value octets = 64
    const big = encodePdu(Command.submit_sm, 0, 3, {}, [{ tag: 0x1400, value: Buffer.alloc(27, 0x41) }]);
    expect(big.length).toBe(max);
    const { frames, fatal } = feed(new Framer(max), [Buffer.concat([ENQUIRE_LINK, big])]);
    expect(fatal).toBeNull();
    expect(frames.map((f) => f.length)).toEqual([16, 64]);
  });

  it('reassembles a 60 kB PDU arriving in many chunks', () => {
    const payload = Buffer.alloc(60_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    const big = encodePdu(Command.submit_sm, 0, 77, { source_addr: '106900', destination_addr: '8613800138000' }, [
      { tag: Tag.message_payload, value: payload },
    ]);
    expect(big.length).toBeGreaterThan(60_000);
    expect(big.length).toBeLessThanOrEqual(DEFAULT_MAX_PDU_LENGTH);
    const stream = Buffer.concat([ENQUIRE_LINK, big, ENQUIRE_LINK_RESP]);
    for (const size of [1000, 7, 1460, 65536]) {
      const chunks: Buffer[] = [];
      for (let p = 0; p < stream.length; p += size) chunks.push(stream.subarray(p, p + size));
      const framer = new Framer();
      const { frames, fatal } = feed(framer, chunks);
      expect(fatal, `chunk size ${size}`).toBeNull();
      expect(frames).toHaveLength(3);
      expect(frames[0]!.equals(ENQUIRE_LINK)).toBe(true);
      expect(frames[1]!.equals(big), `chunk size ${size}`).toBe(true);
      expect(frames[2]!.equals(ENQUIRE_LINK_RESP)).toBe(true);
      expect(framer.buffered).toBe(0);
    }
  });

  it('does not emit a big PDU before its last byte', () => {
    const big = encodePdu(Command.data_sm, 0, 5, {}, [{ tag: Tag.message_payload, value: Buffer.alloc(5000, 0x30) }]);
    const framer = new Framer();
    let count = 0;
    for (let p = 0; p < big.length - 1; p += 100) {
      framer.push(big.subarray(p, Math.min(p + 100, big.length - 1)), () => count++);
    }
    expect(count).toBe(0);
    expect(framer.buffered).toBe(big.length - 1);
    framer.push(big.subarray(big.length - 1), () => count++);
    expect(count).toBe(1);
  });
});

describe('Framer: fatal framing errors', () => {
  /** command_length 15: below the header. Sequence 0x2a. */
  const SHORT_LENGTH = hex('0000000f 00000015 00000000 0000002a');
  /** command_length 0. Sequence 0x01020304. */
  const ZERO_LENGTH = hex('00000000 00000004 00000000 01020304');
  /** command_length 0x401 (1025) for a framer whose maximum is 1024. Sequence 0x63. */
  const OVER_1024 = hex('00000401 00000004 00000000 00000063');
  /** command_length 0x10001 (65537), one over the default maximum. Sequence 0x7fffffff. */
  const OVER_DEFAULT = hex('00010001 00000004 00000000 7fffffff');
  /** command_length 0xffffffff. Sequence 5. */
  const ALL_ONES = hex('ffffffff 00000004 00000000 00000005');

  it('is fatal for command_length below 16, with the sequence recovered', () => {
    const { frames, fatal } = feed(new Framer(), [SHORT_LENGTH]);
    expect(frames).toEqual([]);
    expect(fatal).toEqual({ reason: 'command_length 15 is below the 16-byte header', length: 15, sequence: 0x2a });
  });

  it('is fatal for command_length 0', () => {
    expect(feed(new Framer(), [ZERO_LENGTH]).fatal).toEqual({
      reason: 'command_length 0 is below the 16-byte header',
      length: 0,
      sequence: 0x01020304,
    });
  });

  it('is fatal for command_length above the configured maximum', () => {
    expect(feed(new Framer(1024), [OVER_1024]).fatal).toEqual({
      reason: 'command_length 1025 exceeds the maximum 1024',
      length: 1025,
      sequence: 0x63,
    });
    expect(feed(new Framer(), [OVER_DEFAULT]).fatal).toEqual({
      reason: 'command_length 65537 exceeds the maximum 65536',
      length: 65537,
      sequence: 0x7fffffff,
    });
    expect(feed(new Framer(), [ALL_ONES]).fatal).toEqual({
      reason: 'command_length 4294967295 exceeds the maximum 65536',
      length: 0xffffffff,
      sequence: 5,
    });
  });

  it('delivers the good PDUs before the bad header, then is fatal', () => {
    const { frames, fatal } = feed(new Framer(), [Buffer.concat([ENQUIRE_LINK, SUBMIT_SM, SHORT_LENGTH, ENQUIRE_LINK])]);
    expect(frames.map((f) => f.toString('hex'))).toEqual([ENQUIRE_LINK.toString('hex'), SUBMIT_SM.toString('hex')]);
    expect(fatal).toMatchObject({ length: 15, sequence: 0x2a });
  });

  it('gives the same fatal (with the sequence) however the bad header is split', () => {
    for (const [bad, max] of [
      [SHORT_LENGTH, DEFAULT_MAX_PDU_LENGTH],
      [OVER_1024, 1024],
    ] as const) {
      const stream = Buffer.concat([SUBMIT_SM, bad, ENQUIRE_LINK]);
      const expected = feed(new Framer(max), [stream]);
      expect(expected.fatal!.sequence).not.toBeNull();
      for (let k = 1; k < stream.length; k++) {
        const got = feed(new Framer(max), [stream.subarray(0, k), stream.subarray(k)]);
        expect(got.fatal, `split at ${k}`).toEqual(expected.fatal);
        expect(got.frames).toHaveLength(1);
      }
      const byByte = feed(new Framer(max), bytesOf(stream));
      expect(byByte.fatal).toEqual(expected.fatal);
      expect(byByte.frames).toHaveLength(1);
    }
  });

  it('waits for the 16 header bytes of a bad length before giving up, to recover the sequence', () => {
    const framer = new Framer();
    const got: Buffer[] = [];
    expect(framer.push(SHORT_LENGTH.subarray(0, 8), (p) => got.push(p))).toBeNull();
    expect(framer.buffered).toBe(8);
    expect(framer.push(SHORT_LENGTH.subarray(8, 15), (p) => got.push(p))).toBeNull();
    expect(framer.push(SHORT_LENGTH.subarray(15), (p) => got.push(p))).toMatchObject({ length: 15, sequence: 0x2a });
    expect(got).toEqual([]);
    expect(framer.buffered).toBe(0);
  });

  it('accepts nothing after a fatal error', () => {
    const framer = new Framer();
    expect(framer.push(SHORT_LENGTH, () => {})).not.toBeNull();
    let called = 0;
    for (const chunk of [ENQUIRE_LINK, SUBMIT_SM, Buffer.alloc(0), SHORT_LENGTH]) {
      expect(framer.push(chunk, () => called++)).toEqual({ reason: 'stream already lost', length: 0, sequence: null });
    }
    expect(called).toBe(0);
    expect(framer.buffered).toBe(0);
  });

  it('drops the backlog when fatal in the middle of a reassembly', () => {
    const framer = new Framer(1024);
    const frames: Buffer[] = [];
    expect(framer.push(SUBMIT_SM.subarray(0, 20), (p) => frames.push(p))).toBeNull();
    const fatal = framer.push(Buffer.concat([SUBMIT_SM.subarray(20), OVER_1024]), (p) => frames.push(Buffer.from(p)));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.equals(SUBMIT_SM)).toBe(true);
    expect(fatal).toMatchObject({ length: 1025, sequence: 0x63 });
    expect(framer.buffered).toBe(0);
  });
});
