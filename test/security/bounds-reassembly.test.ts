/**
 * Bounded buffers: the concatenation buffer (decision/reassembly.ts) gives each account a share.
 * One account flooding first parts (that never complete) evicts only its own held messages; another
 * account's held part stays until its message completes. Manual clock, no I/O.
 */
import { describe, expect, it } from 'vitest';
import { partInfo } from '../../src/decision/concat.js';
import { partKey, Reassembler, type SettleReason, type Whole } from '../../src/decision/reassembly.js';
import { Command } from '../../src/protocol/commands.js';
import { encodePdu } from '../../src/protocol/encode.js';
import { MessageView, isScanError } from '../../src/protocol/message-view.js';
import { ManualClock } from '../../src/session/clock.js';

function part(ref: number, total: number, seq: number, text: string, dst = '8613800138000'): MessageView {
  const sm = Buffer.concat([Buffer.from([5, 0x00, 3, ref & 0xff, total, seq]), Buffer.from(text, 'latin1')]);
  const pdu = encodePdu(Command.submit_sm, 0, 1, { source_addr: '1069001', destination_addr: dst, esm_class: 0x40, short_message: sm });
  const v = MessageView.parse(pdu);
  if (isScanError(v)) throw new Error(v.reason);
  return v;
}

function submit(r: Reassembler<SettleReason>, account: string, v: MessageView): Promise<SettleReason> {
  const info = partInfo(v)!;
  return r.submit(partKey(account, v, info), { seq: info.seq, total: info.total, view: v }, (w: Whole) => w.reason, { owner: account });
}

/** The victim holds part 1 of 2; the flooder sends 500 first parts (different recipients, never completed). */
async function flood(r: Reassembler<SettleReason>) {
  const victim = submit(r, 'victim', part(7, 2, 1, 'hello '));
  const flooded: Promise<SettleReason>[] = [];
  for (let i = 0; i < 500; i++) flooded.push(submit(r, 'flood', part(i, 3, 1, 'x'.repeat(100), `86139${String(i).padStart(8, '0')}`)));
  const second = submit(r, 'victim', part(7, 2, 2, 'world'));
  return { victim: await victim, second: await second, flooded: await Promise.all(flooded.slice(0, 10)) };
}

describe('the concatenation buffer per account', () => {
  it('with a per-account share (max_messages / accounts): the flooder evicts only its own parts', async () => {
    const r = new Reassembler<SettleReason>({ clock: new ManualClock(), timeoutMs: 60_000, maxMessages: 100, maxMessagesPerOwner: 50 });
    const { victim, second, flooded } = await flood(r);
    expect(victim).toBe('complete');
    expect(second).toBe('complete');
    expect(flooded.every((x) => x === 'evicted')).toBe(true);
    expect(r.heldMessages).toBe(50);
  });

  it('by bytes too: a flooder past its byte share evicts its own', async () => {
    const r = new Reassembler<SettleReason>({ clock: new ManualClock(), timeoutMs: 60_000, maxBytes: 20_000, maxBytesPerOwner: 10_000 });
    const { victim, second } = await flood(r);
    expect([victim, second]).toEqual(['complete', 'complete']);
    expect(r.heldBytes).toBeLessThanOrEqual(10_000);
  });

  it('at the overall bound the account holding the most gives way, not the oldest message', async () => {
    const r = new Reassembler<SettleReason>({ clock: new ManualClock(), timeoutMs: 60_000, maxMessages: 100 });
    const { victim, second } = await flood(r);
    expect([victim, second]).toEqual(['complete', 'complete']);
  });
});
