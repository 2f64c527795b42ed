import { describe, expect, it } from 'vitest';
import { partInfo } from '../../src/decision/concat.js';
import { partKey, Reassembler, type Whole } from '../../src/decision/reassembly.js';
import { messageText } from '../../src/protocol/message-text.js';
import { Command } from '../../src/protocol/commands.js';
import { encodePdu } from '../../src/protocol/encode.js';
import { MessageView, isScanError } from '../../src/protocol/message-view.js';
import { encodeText } from '../../src/protocol/text.js';
import { Tag, type Tlv } from '../../src/protocol/tlv.js';
import { ManualClock, type Clock, type TimerHandle } from '../../src/session/clock.js';

const SRC = '1069001';
const DST = '8613800138000';

function view(o: { sm?: Buffer; udhi?: boolean; dc?: number; tlvs?: Tlv[]; seq?: number; dst?: string }): MessageView {
  const pdu = encodePdu(
    Command.submit_sm,
    0,
    o.seq ?? 1,
    {
      source_addr_ton: 1,
      source_addr_npi: 1,
      source_addr: SRC,
      dest_addr_ton: 1,
      dest_addr_npi: 1,
      destination_addr: o.dst ?? DST,
      esm_class: o.udhi ? 0x40 : 0,
      data_coding: o.dc ?? 1,
      short_message: o.sm ?? Buffer.alloc(0),
    },
    o.tlvs ?? [],
  );
  const v = MessageView.parse(pdu);
  if (isScanError(v)) throw new Error(`${v.field}: ${v.reason}`);
  return v;
}

const udh8 = (ref: number, total: number, seq: number) => Buffer.from([5, 0x00, 3, ref, total, seq]);
const udh16 = (ref: number, total: number, seq: number) => Buffer.from([6, 0x08, 4, ref >> 8, ref & 0xff, total, seq]);

/** A UDH (8-bit ref) part with ASCII/IA5 text, or raw bytes with a given data_coding. */
function udhPart(ref: number, total: number, seq: number, body: string | Buffer, dc = 1, opts: { dst?: string } = {}) {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  return view({ sm: Buffer.concat([udh8(ref, total, seq), bytes]), udhi: true, dc, ...opts });
}

function ucs2(text: string): Buffer {
  const e = encodeText(text);
  expect(e.dataCoding).toBe(8);
  return e.bytes;
}

/** Submits a view through the reassembler the way the policy will: partInfo → partKey → submit. */
function feed<V>(r: Reassembler<V>, v: MessageView, decide: (w: Whole) => V | Promise<V>, account = 'acme') {
  const info = partInfo(v);
  if (!info) throw new Error('not a part');
  return r.submit(partKey(account, v, info), { seq: info.seq, total: info.total, view: v }, decide);
}

/** Records every decide call; answers reject when the whole text contains FREE. */
function recorder() {
  const calls: Whole[] = [];
  const decide = (w: Whole) => {
    calls.push(w);
    return /FREE/.test(w.text) ? 'reject' : 'forward';
  };
  return { calls, decide };
}

async function settled<T>(p: Promise<T>): Promise<{ done: boolean; value?: T }> {
  let out: { done: boolean; value?: T } = { done: false };
  void p.then((value) => (out = { done: true, value }), () => (out = { done: true }));
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return out;
}

describe('Reassembler', () => {
  it('holds the first part until the second arrives, then decides once on the whole text', async () => {
    const clock = new ManualClock();
    const r = new Reassembler<string>({ clock });
    const { calls, decide } = recorder();
    const p1 = feed(r, udhPart(7, 2, 1, 'Hello, '), decide);
    expect((await settled(p1)).done).toBe(false);
    expect(r.heldMessages).toBe(1);
    expect(r.heldBytes).toBeGreaterThan(0);
    const p2 = feed(r, udhPart(7, 2, 2, 'world'), decide);
    expect(await Promise.all([p1, p2])).toEqual(['forward', 'forward']);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.text).toBe('Hello, world');
    expect(calls[0]!.incomplete).toBe(false);
    expect(calls[0]!.reason).toBe('complete');
    expect(calls[0]!.seqs).toEqual([1, 2]);
    expect(calls[0]!.views).toHaveLength(2);
    expect(r.heldMessages).toBe(0);
    expect(r.heldBytes).toBe(0);
    expect(r.stats.completed).toBe(1);
  });

  it('orders parts by seq whatever the arrival order', async () => {
    const r = new Reassembler<string>({ clock: new ManualClock() });
    const { calls, decide } = recorder();
    const p3 = feed(r, udhPart(9, 3, 3, 'C'), decide);
    const p1 = feed(r, udhPart(9, 3, 1, 'A'), decide);
    const p2 = feed(r, udhPart(9, 3, 2, 'B'), decide);
    await Promise.all([p1, p2, p3]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.text).toBe('ABC');
  });

  it('catches a keyword split across parts ("FR" + "EE") and gives both parts the same answer', async () => {
    const r = new Reassembler<string>({ clock: new ManualClock() });
    const { calls, decide } = recorder();
    // Each part alone is innocent.
    expect(/FREE/.test('Get it FR')).toBe(false);
    const p2 = feed(r, udhPart(1, 2, 2, 'EE now, reply T to stop'), decide);
    const p1 = feed(r, udhPart(1, 2, 1, 'Get it FR'), decide);
    expect(await Promise.all([p1, p2])).toEqual(['reject', 'reject']);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.text).toBe('Get it FREE now, reply T to stop');
  });

  it('decodes UCS-2 across the part boundary, including a surrogate pair split between parts', async () => {
    const r = new Reassembler<string>({ clock: new ManualClock() });
    const { calls, decide } = recorder();
    const text = '免费领取😀礼品';
    const bytes = ucs2(text);
    // '免费领取' = 4 code units (8 bytes); the emoji's high surrogate ends part 1, the low one starts part 2.
    const cut = 10;
    expect(bytes.readUInt16BE(cut - 2)).toBeGreaterThanOrEqual(0xd800);
    expect(bytes.readUInt16BE(cut - 2)).toBeLessThan(0xdc00);
    const p1 = feed(r, udhPart(3, 2, 1, bytes.subarray(0, cut), 8), decide);
    const p2 = feed(r, udhPart(3, 2, 2, bytes.subarray(cut), 8), decide);
    await Promise.all([p1, p2]);
    expect(calls[0]!.text).toBe(text);
    expect(calls[0]!.text).not.toContain('\uFFFD');
  });

  it('decodes a GSM 7-bit escape split across parts as one character', async () => {
    const r = new Reassembler<string>({ clock: new ManualClock() });
    const { calls, decide } = recorder();
    // "Pay 5" ESC | "e" (0x65) → "Pay 5€ now": the escape ends part 1, the euro's code starts part 2.
    const p1 = feed(r, udhPart(4, 2, 1, Buffer.from([0x50, 0x61, 0x79, 0x20, 0x35, 0x1b]), 0), decide);
    const p2 = feed(r, udhPart(4, 2, 2, Buffer.from([0x65, 0x20, 0x6e, 0x6f, 0x77]), 0), decide);
    await Promise.all([p1, p2]);
    expect(calls[0]!.text).toBe('Pay 5€ now');
  });

  it('ties parts by a 16-bit UDH reference', async () => {
    const r = new Reassembler<string>({ clock: new ManualClock() });
    const { calls, decide } = recorder();
    const a = view({ sm: Buffer.concat([udh16(0xbeef, 2, 1), Buffer.from('FR')]), udhi: true });
    const b = view({ sm: Buffer.concat([udh16(0xbeef, 2, 2), Buffer.from('EE')]), udhi: true });
    // Same numbers, other reference: a different message.
    const other = view({ sm: Buffer.concat([udh16(0xbeee, 2, 2), Buffer.from('xx')]), udhi: true });
    expect(partInfo(a)).toEqual({ ref: 0xbeef, total: 2, seq: 1 });
    const pa = feed(r, a, decide);
    const po = feed(r, other, decide);
    const pb = feed(r, b, decide);
    expect(await Promise.all([pa, pb])).toEqual(['reject', 'reject']);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.text).toBe('FREE');
    expect(r.heldMessages).toBe(1);
    expect((await settled(po)).done).toBe(false);
  });

  it('ties parts by SAR TLVs (no UDH: the whole short_message is text)', async () => {
    const r = new Reassembler<string>({ clock: new ManualClock() });
    const { calls, decide } = recorder();
    const sar = (seq: number) => [
      { tag: Tag.sar_msg_ref_num, value: Buffer.from([0x12, 0x34]) },
      { tag: Tag.sar_total_segments, value: Buffer.from([2]) },
      { tag: Tag.sar_segment_seqnum, value: Buffer.from([seq]) },
    ];
    const a = view({ sm: Buffer.from('win a FR'), tlvs: sar(1) });
    const b = view({ sm: Buffer.from('EE phone'), tlvs: sar(2) });
    expect(partInfo(b)).toEqual({ ref: 0x1234, total: 2, seq: 2 });
    const [x, y] = await Promise.all([feed(r, a, decide), feed(r, b, decide)]);
    expect([x, y]).toEqual(['reject', 'reject']);
    expect(calls[0]!.text).toBe('win a FREE phone');
  });

  it('reads each part from message_payload when present (UDH inside the payload)', async () => {
    const r = new Reassembler<string>({ clock: new ManualClock() });
    const { calls, decide } = recorder();
    const mk = (seq: number, s: string) =>
      view({ udhi: true, tlvs: [{ tag: Tag.message_payload, value: Buffer.concat([udh8(5, 2, seq), Buffer.from(s)]) }] });
    await Promise.all([feed(r, mk(1, 'one '), decide), feed(r, mk(2, 'two'), decide)]);
    expect(calls[0]!.text).toBe('one two');
    // A single message_payload message (no parts) reads the same way.
    expect(messageText([view({ tlvs: [{ tag: Tag.message_payload, value: Buffer.from('x'.repeat(300)) }] })])).toBe('x'.repeat(300));
  });

  it('keys by account, source and destination as well as the reference', async () => {
    const r = new Reassembler<string>({ clock: new ManualClock() });
    const { calls, decide } = recorder();
    const p1 = feed(r, udhPart(1, 2, 1, 'a'), decide, 'acme');
    const p2 = feed(r, udhPart(1, 2, 2, 'b'), decide, 'other-account');
    const p3 = feed(r, udhPart(1, 2, 2, 'c', 1, { dst: '8613800138001' }), decide, 'acme');
    expect(r.heldMessages).toBe(3);
    expect(calls).toHaveLength(0);
    for (const p of [p1, p2, p3]) expect((await settled(p)).done).toBe(false);
  });

  it('decides on the parts present at the timeout (incomplete), and a late part gets the same decision', async () => {
    const clock = new ManualClock();
    const r = new Reassembler<string>({ clock, timeoutMs: 10_000 });
    const { calls, decide } = recorder();
    const p1 = feed(r, udhPart(2, 3, 1, 'FREE '), decide);
    clock.advance(4_000);
    const p2 = feed(r, udhPart(2, 3, 2, 'stuff'), decide);
    clock.advance(5_999);
    expect((await settled(p1)).done).toBe(false);
    clock.advance(1); // 10 s after the first part, not after the last one
    expect(await p1).toBe('reject');
    expect(await p2).toBe('reject');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.incomplete).toBe(true);
    expect(calls[0]!.reason).toBe('timeout');
    expect(calls[0]!.text).toBe('FREE stuff');
    expect(r.stats.timedOut).toBe(1);
    expect(r.heldMessages).toBe(0);

    clock.advance(30_000);
    expect(await feed(r, udhPart(2, 3, 3, ' and more'), decide)).toBe('reject');
    expect(calls).toHaveLength(1);
    expect(r.stats.late).toBe(1);
    expect(r.heldMessages).toBe(0);
  });

  it('marks missing parts so text on either side of a gap does not join', async () => {
    const clock = new ManualClock();
    const r = new Reassembler<string>({ clock, timeoutMs: 1000 });
    const { calls, decide } = recorder();
    const p1 = feed(r, udhPart(6, 3, 1, 'FR'), decide);
    const p3 = feed(r, udhPart(6, 3, 3, 'EE'), decide);
    clock.advance(1000);
    expect(await Promise.all([p1, p3])).toEqual(['forward', 'forward']);
    expect(calls[0]!.text).toBe('FR\uFFFDEE');
    expect(calls[0]!.seqs).toEqual([1, 3]);
  });

  it('forgets decisions after decidedTtlMs: a much later part starts over', async () => {
    const clock = new ManualClock();
    const r = new Reassembler<string>({ clock, timeoutMs: 1000, decidedTtlMs: 5000 });
    const { calls, decide } = recorder();
    const p1 = feed(r, udhPart(2, 2, 1, 'a'), decide);
    clock.advance(1000);
    await p1;
    clock.advance(5000);
    const p2 = feed(r, udhPart(2, 2, 2, 'b'), decide);
    expect(r.heldMessages).toBe(1);
    clock.advance(1000);
    await p2;
    expect(calls).toHaveLength(2);
  });

  it('answers a duplicate part with the same decision without counting it twice', async () => {
    const clock = new ManualClock();
    const r = new Reassembler<string>({ clock });
    const { calls, decide } = recorder();
    const p1 = feed(r, udhPart(8, 2, 1, 'FR'), decide);
    const bytes = r.heldBytes;
    const dup = feed(r, udhPart(8, 2, 1, 'FR'), decide);
    expect(r.heldBytes).toBe(bytes);
    expect(r.stats.duplicates).toBe(1);
    expect((await settled(dup)).done).toBe(false);
    const p2 = feed(r, udhPart(8, 2, 2, 'EE'), decide);
    expect(await Promise.all([p1, dup, p2])).toEqual(['reject', 'reject', 'reject']);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.text).toBe('FREE');
    expect(calls[0]!.views).toHaveLength(2);
  });

  it('decides the oldest held message early when maxMessages is reached', async () => {
    const clock = new ManualClock();
    const r = new Reassembler<string>({ clock, maxMessages: 2 });
    const { calls, decide } = recorder();
    const a = feed(r, udhPart(1, 2, 1, 'first'), decide);
    clock.advance(10);
    const b = feed(r, udhPart(2, 2, 1, 'second'), decide);
    clock.advance(10);
    expect(calls).toHaveLength(0);
    const c = feed(r, udhPart(3, 2, 1, 'third'), decide);
    expect(await a).toBe('forward');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.text).toBe('first');
    expect(calls[0]!.reason).toBe('evicted');
    expect(calls[0]!.incomplete).toBe(true);
    expect(r.stats.evicted).toBe(1);
    expect(r.heldMessages).toBe(2);
    for (const p of [b, c]) expect((await settled(p)).done).toBe(false);
    // The evicted message's other part reuses the decision.
    expect(await feed(r, udhPart(1, 2, 2, 'FREE'), decide)).toBe('forward');
    expect(calls).toHaveLength(1);
  });

  it('decides the oldest held messages early when maxBytes is reached', async () => {
    const clock = new ManualClock();
    const one = udhPart(1, 2, 1, 'x'.repeat(100));
    const r = new Reassembler<string>({ clock, maxBytes: one.pdu.length * 2 + 10 });
    const { calls, decide } = recorder();
    const a = feed(r, one, decide);
    const b = feed(r, udhPart(2, 2, 1, 'y'.repeat(100)), decide);
    expect(calls).toHaveLength(0);
    const c = feed(r, udhPart(3, 2, 1, 'z'.repeat(100)), decide);
    await a;
    expect(calls.map((w) => w.text[0])).toEqual(['x']);
    expect(r.heldBytes).toBeLessThanOrEqual(one.pdu.length * 2 + 10);
    expect((await settled(b)).done).toBe(false);
    expect((await settled(c)).done).toBe(false);
    // A single part larger than the bound is decided at once (after the older ones), never refused.
    const big = view({ udhi: true, tlvs: [{ tag: Tag.message_payload, value: Buffer.concat([udh8(4, 2, 1), Buffer.alloc(400, 0x77)]) }] });
    expect(await feed(r, big, decide)).toBe('forward');
    expect(calls.map((w) => w.text[0])).toEqual(['x', 'y', 'z', 'w']);
    expect(r.heldBytes).toBe(0);
    expect(r.stats.evicted).toBe(4);
  });

  it('runs one clock timer for the earliest deadline, however many messages are held', async () => {
    const base = new ManualClock();
    let live = 0;
    let created = 0;
    const clock: Clock & { advance(ms: number): void } = {
      now: () => base.now(),
      setTimeout(fn, ms): TimerHandle {
        live++;
        created++;
        let done = false;
        const h = base.setTimeout(() => {
          done = true;
          live--;
          fn();
        }, ms);
        return {
          cancel: () => {
            if (!done) {
              done = true;
              live--;
            }
            h.cancel();
          },
        };
      },
      advance: (ms) => base.advance(ms),
    };
    const r = new Reassembler<string>({ clock, timeoutMs: 1000 });
    const { calls, decide } = recorder();
    const ps: Promise<string>[] = [];
    for (let i = 0; i < 50; i++) {
      ps.push(feed(r, udhPart(i, 2, 1, `m${i}`), decide));
      clock.advance(10);
    }
    expect(live).toBe(1);
    expect(created).toBe(1);
    clock.advance(1000);
    await Promise.all(ps);
    expect(calls).toHaveLength(50);
    expect(calls.map((w) => w.text)).toEqual(ps.map((_, i) => `m${i}`));
    expect(live).toBe(0);
    // One timer per deadline that was actually due, not one per message held.
    expect(created).toBeLessThanOrEqual(51);
  });

  it('shares an asynchronous decision with a part that arrives while it is being made', async () => {
    const clock = new ManualClock();
    const r = new Reassembler<string>({ clock, timeoutMs: 1000 });
    let release!: (v: string) => void;
    let n = 0;
    const decide = () => {
      n++;
      return new Promise<string>((res) => (release = res));
    };
    const p1 = feed(r, udhPart(1, 3, 1, 'a'), decide);
    clock.advance(1000);
    const p3 = feed(r, udhPart(1, 3, 3, 'c'), decide);
    release('queued');
    expect(await Promise.all([p1, p3])).toEqual(['queued', 'queued']);
    expect(n).toBe(1);
  });

  it('rejects every part when decide fails, and does not remember the failure', async () => {
    const r = new Reassembler<string>({ clock: new ManualClock() });
    let fail = true;
    const decide = () => {
      if (fail) throw new Error('store down');
      return 'forward';
    };
    const p1 = feed(r, udhPart(1, 2, 1, 'a'), decide);
    const p2 = feed(r, udhPart(1, 2, 2, 'b'), decide);
    await expect(p1).rejects.toThrow('store down');
    await expect(p2).rejects.toThrow('store down');
    expect(r.stats.failed).toBe(1);
    fail = false;
    const q1 = feed(r, udhPart(1, 2, 1, 'a'), decide);
    const q2 = feed(r, udhPart(1, 2, 2, 'b'), decide);
    expect(await Promise.all([q1, q2])).toEqual(['forward', 'forward']);
  });

  it('does not reuse a decision remember() excludes (a temporary failure)', async () => {
    const clock = new ManualClock();
    const r = new Reassembler<string>({ clock, timeoutMs: 1000, remember: (v) => v !== 'retry' });
    let answer = 'retry';
    const decide = () => answer;
    const p1 = feed(r, udhPart(1, 2, 1, 'a'), decide);
    clock.advance(1000);
    expect(await p1).toBe('retry');
    await Promise.resolve();
    answer = 'forward';
    const p2 = feed(r, udhPart(1, 2, 2, 'b'), decide);
    expect(r.heldMessages).toBe(1);
    clock.advance(1000);
    expect(await p2).toBe('forward');
  });

  it('holdMs 0 decides at once (synchronous ESMEs); flushGroup decides a group early', async () => {
    const clock = new ManualClock();
    const r = new Reassembler<string>({ clock });
    const { calls, decide } = recorder();
    const v1 = udhPart(1, 2, 1, 'FREE');
    const i1 = partInfo(v1)!;
    expect(await r.submit(partKey('sync', v1, i1), { ...i1, view: v1 }, decide, { holdMs: 0 })).toBe('reject');
    expect(calls[0]!.reason).toBe('flushed');
    const v2 = udhPart(1, 2, 2, 'ok');
    const i2 = partInfo(v2)!;
    expect(await r.submit(partKey('sync', v2, i2), { ...i2, view: v2 }, decide, { holdMs: 0 })).toBe('reject');
    expect(calls).toHaveLength(1);

    const w = udhPart(9, 2, 1, 'held');
    const iw = partInfo(w)!;
    const pw = r.submit(partKey('acme', w, iw), { ...iw, view: w }, decide, { group: 'session-1' });
    expect(r.flushGroup('other')).toBe(0);
    expect((await settled(pw)).done).toBe(false);
    expect(r.flushGroup('session-1')).toBe(1);
    expect(await pw).toBe('forward');
    expect(r.stats.flushed).toBe(2);
  });

  it('reports each decided message to onSettled', async () => {
    const clock = new ManualClock();
    const events: unknown[] = [];
    const r = new Reassembler<string>({ clock, timeoutMs: 500, onSettled: (e) => events.push(e) });
    const { decide } = recorder();
    const p = feed(r, udhPart(1, 2, 1, 'a'), decide);
    clock.advance(500);
    await p;
    expect(events).toEqual([expect.objectContaining({ reason: 'timeout', parts: 1, total: 2, heldMs: 500 })]);
  });

  it('close() decides everything held and leaves no timer', async () => {
    const clock = new ManualClock();
    const r = new Reassembler<string>({ clock });
    const { decide } = recorder();
    const p = feed(r, udhPart(1, 2, 1, 'a'), decide);
    r.close();
    expect(await p).toBe('forward');
    expect(r.heldMessages).toBe(0);
  });
});
