/** The queue's pure parts: SMPP time fields, window openings, receipt id rewriting, own receipts. */
import { describe, expect, it } from 'vitest';
import { Command } from '../../src/protocol/commands.js';
import { encodePdu } from '../../src/protocol/encode.js';
import { MessageView, isScanError } from '../../src/protocol/message-view.js';
import { MESSAGE_STATE, gatewayReceipt, parseReceiptText, receiptMessageId, rewriteReceiptId } from '../../src/protocol/receipt.js';
import { Tag } from '../../src/protocol/tlv.js';
import { expiryOf, smppTime } from '../../src/queue/validity.js';
import { nextOpening, parseHours } from '../../src/rules/hours.js';

const NOW = Date.UTC(2026, 10, 28, 14, 0, 0);

function view(pdu: Buffer): MessageView {
  const v = MessageView.parse(pdu);
  if (isScanError(v)) throw new Error(v.reason);
  return v;
}

describe('SMPP time fields', () => {
  it('absolute with a UTC offset in quarter hours, ahead (+) or behind (-)', () => {
    expect(smppTime('261128220000032+', NOW)).toBe(Date.UTC(2026, 10, 28, 14, 0, 0)); // 22:00 at UTC+8
    expect(smppTime('261128090000020-', NOW)).toBe(Date.UTC(2026, 10, 28, 14, 0, 0)); // 09:00 at UTC-5
    expect(smppTime('261128140000500+', NOW)).toBe(Date.UTC(2026, 10, 28, 14, 0, 0, 500)); // tenths
  });
  it('relative to now', () => {
    expect(smppTime('000000010000000R', NOW)).toBe(NOW + 3_600_000);
    expect(smppTime('000002000030000R', NOW)).toBe(NOW + 2 * 86_400_000 + 30_000);
  });
  it('empty is no deadline; malformed is undefined', () => {
    expect(smppTime('', NOW)).toBeNull();
    expect(smppTime('2611282200000', NOW)).toBeUndefined();
    expect(smppTime('261328220000032+', NOW)).toBeUndefined(); // month 13
    expect(smppTime('261128220000032X', NOW)).toBeUndefined();
  });
  it('expiry is the validity period capped by the account maximum age', () => {
    expect(expiryOf('000000010000000R', NOW, 86_400_000)).toBe(NOW + 3_600_000);
    expect(expiryOf('000010000000000R', NOW, 86_400_000)).toBe(NOW + 86_400_000);
    expect(expiryOf('', NOW, 1000)).toBe(NOW + 1000);
    expect(expiryOf('garbage', NOW, 1000)).toBe(NOW + 1000);
  });
});

describe('window openings', () => {
  const day = parseHours('08:00-21:00')!;
  it('outside 08:00-21:00 waits for 08:00 local; inside a quiet window waits for its end', () => {
    expect(nextOpening('Asia/Shanghai', NOW, day, true)).toBe(Date.UTC(2026, 10, 29, 0, 0)); // 22:00 → 08:00
    expect(nextOpening('Asia/Shanghai', NOW, parseHours('21:00-08:00')!, false)).toBe(Date.UTC(2026, 10, 29, 0, 0));
    expect(nextOpening('Asia/Kolkata', Date.UTC(2026, 10, 28, 20, 0), day, true)).toBe(Date.UTC(2026, 10, 29, 2, 30)); // 01:30 IST → 08:00 IST
  });
  it('already open: now', () => {
    expect(nextOpening('Asia/Shanghai', Date.UTC(2026, 10, 28, 4, 0), day, true)).toBe(Date.UTC(2026, 10, 28, 4, 0));
  });
  it('across a DST change the opening is still 08:00 local', () => {
    // New York, the night clocks go forward (2027-03-14): 08:00 EDT is 12:00 UTC.
    expect(nextOpening('America/New_York', Date.UTC(2027, 2, 14, 3, 0), day, true)).toBe(Date.UTC(2027, 2, 14, 12, 0));
  });
});

describe('receipts for queued messages', () => {
  const receipt = (id: string, extra: { tag: number; value: Buffer }[] = []) =>
    encodePdu(
      Command.deliver_sm,
      0,
      77,
      {
        source_addr: '8613800138000',
        destination_addr: '10690001',
        esm_class: 0x04,
        short_message: `id:${id} sub:001 dlvrd:001 submit date:2611281400 done date:2611281401 stat:DELIVRD err:000 text:hello`,
      },
      [{ tag: 0x1401, value: Buffer.from('vendor') }, { tag: Tag.receipted_message_id, value: Buffer.from(`${id}\0`) }, ...extra],
    );

  it('rewrites the id in the text and in receipted_message_id; every other byte is kept', () => {
    const pdu = receipt('0a1b2c');
    const v = view(pdu);
    const out = rewriteReceiptId(pdu, v.shortMessageSpan, v.tlvStart, 'Qabc123longergatewayid');
    const o = view(out);
    expect(out.readUInt32BE(0)).toBe(out.length);
    expect(o.sequence).toBe(77);
    expect(receiptMessageId(o.tlvs, o.shortMessage)).toBe('Qabc123longergatewayid');
    expect(parseReceiptText(o.shortMessage.toString('latin1'))).toMatchObject({ id: 'Qabc123longergatewayid', stat: 'DELIVRD', text: 'hello' });
    expect(o.tlv(0x1401)?.toString()).toBe('vendor');
    // Same as encoding the receipt with the new id in the first place.
    expect(out.equals(receipt('Qabc123longergatewayid'))).toBe(true);
  });

  it('the gateway’s own receipt goes from the recipient to the sender with the state and the id', () => {
    const pdu = gatewayReceipt({
      id: 'Qx1',
      src: { addr: '10690001', ton: 0, npi: 1 },
      dst: { addr: '8613800138000', ton: 1, npi: 1 },
      submitted: NOW,
      done: NOW + 60_000,
      state: MESSAGE_STATE.EXPIRED,
    });
    const v = view(pdu);
    expect([v.sourceAddr, v.sourceTon, v.destinationAddr, v.destTon, v.esmClass, v.isReceipt]).toEqual(['8613800138000', 1, '10690001', 0, 0x04, true]);
    expect(v.tlv(Tag.message_state)).toEqual(Buffer.from([MESSAGE_STATE.EXPIRED]));
    expect(parseReceiptText(v.shortMessage.toString('latin1'))).toMatchObject({ id: 'Qx1', stat: 'EXPIRED', submitDate: '2611281400', doneDate: '2611281401' });
  });
});
