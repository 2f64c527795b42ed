/**
 * The simulator's hand-built PDUs and cached receipt text must equal what protocol/ builds.
 */
import { describe, expect, it } from 'vitest';
import { Command } from '../../src/protocol/commands.js';
import { encodePdu, messageResp } from '../../src/protocol/encode.js';
import { formatReceiptText, parseReceiptText } from '../../src/protocol/receipt.js';
import { Tag } from '../../src/protocol/tlv.js';
import { encodeIdResp, encodeReceiptPdu } from '../../src/sim/fast-encode.js';
import { MessageIdSource } from '../../src/sim/message-ids.js';
import { ReceiptTextCache } from '../../src/sim/receipt-text.js';
import { TimedQueue } from '../../src/sim/timed-queue.js';

describe('fast encoders', () => {
  it('encodeIdResp equals messageResp for submit_sm_resp and data_sm_resp', () => {
    for (const respId of [Command.submit_sm_resp, Command.data_sm_resp]) {
      expect(encodeIdResp(respId, 0x7fffffff, 'a1b2c3d4e5')).toEqual(messageResp(respId, 0, 0x7fffffff, 'a1b2c3d4e5'));
    }
  });

  it('encodeReceiptPdu equals encodePdu of the same deliver_sm', () => {
    const text = 'id:ABC sub:001 dlvrd:001 submit date:2501011200 done date:2501011201 stat:DELIVRD err:000 text:héllo';
    const fast = encodeReceiptPdu(42, {
      sourceTon: 1,
      sourceNpi: 1,
      source: '8613800138000',
      destTon: 5,
      destNpi: 0,
      dest: 'BRAND',
      text,
      receiptId: 'ABC',
      state: 2,
    });
    const slow = encodePdu(
      Command.deliver_sm,
      0,
      42,
      {
        source_addr_ton: 1,
        source_addr_npi: 1,
        source_addr: '8613800138000',
        dest_addr_ton: 5,
        dest_addr_npi: 0,
        destination_addr: 'BRAND',
        esm_class: 0x04,
        short_message: Buffer.from(text, 'latin1'),
      },
      [
        { tag: Tag.receipted_message_id, value: Buffer.from('ABC\0', 'latin1') },
        { tag: Tag.message_state, value: Buffer.from([2]) },
      ],
    );
    expect(fast).toEqual(slow);
  });
});

describe('receipt text cache', () => {
  it('matches formatReceiptText across minutes and states', () => {
    const cache = new ReceiptTextCache();
    const t0 = Date.UTC(2025, 0, 1, 11, 59, 30);
    for (const [sub, done, state, err] of [
      [t0, t0 + 1000, 2, 0],
      [t0, t0 + 45_000, 2, 0],
      [t0 + 10, t0 + 45_000, 5, 1],
    ] as const) {
      const text = 'a fairly long message text over twenty chars';
      expect(cache.text('abc123', sub, done, state, err, text)).toBe(
        formatReceiptText({ id: 'abc123', submitted: new Date(sub), done: new Date(done), state, err, text }),
      );
    }
    expect(parseReceiptText(cache.text('ff', t0, t0, 5, 1, 'x'))).toMatchObject({ id: 'ff', stat: 'UNDELIV', err: '001' });
  });
});

describe('message ids', () => {
  it('formats hex, decimal and the receipt variants', () => {
    const hex = new MessageIdSource('hex', 0xabc);
    const n = hex.next();
    expect(hex.text(n)).toBe('abc');
    expect(hex.receiptText(n, 'same')).toBe('abc');
    expect(hex.receiptText(n, 'dec')).toBe('2748');
    expect(hex.receiptText(n, 'upper-padded')).toBe('0000000000000ABC');
    expect(hex.text(hex.next())).toBe('abd');
    const dec = new MessageIdSource('dec', 123);
    expect(dec.receiptText(dec.next(), 'upper-padded')).toBe('0000000000000123');
  });

  it('a random seed gives distinct lowercase hex ids shorter than 16 digits', () => {
    const ids = new MessageIdSource();
    const a = ids.text(ids.next());
    const b = ids.text(ids.next());
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[0-9a-f]{9,11}$/);
  });
});

describe('TimedQueue', () => {
  it('releases due items in order and keeps refused ones at the head', () => {
    const q = new TimedQueue<string>();
    q.push(10, 'a');
    q.push(20, 'b');
    q.push(30, 'c');
    const out: string[] = [];
    expect(q.drain(15, (x) => (out.push(x), true))).toBe(1);
    expect(q.drain(25, () => false)).toBe(0);
    expect(q.drain(100, (x) => (out.push(x), true), 1)).toBe(1);
    expect(q.drain(100, (x) => (out.push(x), true))).toBe(1);
    expect(out).toEqual(['a', 'b', 'c']);
    expect(q.size).toBe(0);
  });
});

describe('message id text', () => {
  it('equals Number#toString across table boundaries', () => {
    for (const seed of [0, 0xfffe, 99_998, 0x1_0000_fffe, 2 ** 40 - 3, 2 ** 52]) {
      const h = new MessageIdSource('hex', seed);
      const d = new MessageIdSource('dec', seed);
      for (let i = 0; i < 5; i++) {
        const n = h.next();
        d.next();
        expect(h.text(n)).toBe(n.toString(16));
        expect(d.text(n)).toBe(n.toString(10));
        expect(h.receiptText(n, 'dec')).toBe(n.toString(10));
      }
    }
  });
});
