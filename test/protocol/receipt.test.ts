import { describe, expect, it } from 'vitest';
import {
  MESSAGE_STATE,
  STAT_TEXT,
  formatReceiptText,
  messageIdCandidates,
  normaliseMessageId,
  parseReceiptText,
  receiptDate,
  receiptMessageId,
} from '../../src/protocol/receipt.js';
import { MessageView, isScanError } from '../../src/protocol/message-view.js';
import { Tag, type Tlv } from '../../src/protocol/tlv.js';
import { DELIVER_SM_RECEIPT } from './fixtures.js';

const STANDARD =
  'id:0123456789 sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 stat:DELIVRD err:000 text:Hello world';

describe('parseReceiptText', () => {
  it('reads the standard 3.4 Appendix B text', () => {
    expect(parseReceiptText(STANDARD)).toEqual({
      id: '0123456789',
      sub: '001',
      dlvrd: '001',
      submitDate: '2401011200',
      doneDate: '2401011201',
      stat: 'DELIVRD',
      err: '000',
      text: 'Hello world',
    });
  });

  it('is tolerant of upper case keys and extra spaces, keeping value case', () => {
    const t = 'ID:AbC123  SUB:001 DLVRD:000   Submit Date:2401011200 DONE DATE: 2401011201  STAT: UNDELIV ERR:  034 TEXT: hi ';
    expect(parseReceiptText(t)).toEqual({
      id: 'AbC123',
      sub: '001',
      dlvrd: '000',
      submitDate: '2401011200',
      doneDate: '2401011201',
      stat: 'UNDELIV',
      err: '034',
      text: 'hi',
    });
  });

  it('leaves missing fields undefined', () => {
    expect(parseReceiptText('id:77 stat:EXPIRED')).toEqual({
      id: '77',
      sub: undefined,
      dlvrd: undefined,
      submitDate: undefined,
      doneDate: undefined,
      stat: 'EXPIRED',
      err: undefined,
      text: undefined,
    });
    expect(parseReceiptText('id:77')).toMatchObject({ id: '77', stat: undefined, text: undefined });
  });

  it('reads fields in any order', () => {
    expect(parseReceiptText('stat:DELIVRD err:000 id:abc sub:001')).toMatchObject({
      id: 'abc',
      stat: 'DELIVRD',
      err: '000',
      sub: '001',
    });
  });

  it('keeps colons and key-like words inside text (text runs to the end)', () => {
    expect(parseReceiptText('id:1 stat:DELIVRD err:000 text:Code: 1234 id:999 stat:X')).toMatchObject({
      id: '1',
      stat: 'DELIVRD',
      err: '000',
      text: 'Code: 1234 id:999 stat:X',
    });
    expect(parseReceiptText('id:1 stat:DELIVRD text:12:30 at the gate')?.text).toBe('12:30 at the gate');
  });

  it('keeps the first occurrence of a repeated key', () => {
    expect(parseReceiptText('id:first id:second stat:DELIVRD')?.id).toBe('first');
  });

  it('returns null when there is no id or it is empty', () => {
    expect(parseReceiptText('')).toBeNull();
    expect(parseReceiptText('hello there')).toBeNull();
    expect(parseReceiptText('sub:001 dlvrd:001 stat:DELIVRD')).toBeNull();
    expect(parseReceiptText('id: sub:001 stat:DELIVRD')).toBeNull();
  });

  it('reads what formatReceiptText writes', () => {
    const text = formatReceiptText({
      id: '5f3a',
      submitted: new Date(Date.UTC(2024, 0, 2, 3, 4, 59)),
      done: new Date(Date.UTC(2024, 11, 31, 23, 59)),
      state: MESSAGE_STATE.DELIVERED,
      text: 'A message longer than twenty characters',
    });
    expect(text).toBe(
      'id:5f3a sub:001 dlvrd:001 submit date:2401020304 done date:2412312359 stat:DELIVRD err:000 text:A message longer tha',
    );
    expect(parseReceiptText(text)).toEqual({
      id: '5f3a',
      sub: '001',
      dlvrd: '001',
      submitDate: '2401020304',
      doneDate: '2412312359',
      stat: 'DELIVRD',
      err: '000',
      text: 'A message longer tha',
    });
  });
});

describe('formatReceiptText / receiptDate', () => {
  it('writes undelivered states with dlvrd 000 and a padded error', () => {
    const d = new Date(Date.UTC(2009, 8, 9, 9, 9));
    expect(formatReceiptText({ id: 'x', submitted: d, done: d, state: MESSAGE_STATE.UNDELIVERABLE, err: 34 })).toBe(
      'id:x sub:001 dlvrd:000 submit date:0909090909 done date:0909090909 stat:UNDELIV err:034 text:',
    );
    expect(formatReceiptText({ id: 'x', submitted: d, done: d, state: 42 })).toContain('stat:UNKNOWN err:000');
  });

  it('formats dates as YYMMDDhhmm in UTC', () => {
    expect(receiptDate(new Date(Date.UTC(2000, 0, 1, 0, 0)))).toBe('0001010000');
    expect(receiptDate(new Date(Date.UTC(2031, 9, 15, 18, 7, 30)))).toBe('3110151807');
  });

  it('has the spec stat words for each message_state', () => {
    expect(Object.values(MESSAGE_STATE).map((s) => STAT_TEXT[s])).toEqual([
      'ENROUTE', 'DELIVRD', 'EXPIRED', 'DELETED', 'UNDELIV', 'ACCEPTD', 'UNKNOWN', 'REJECTD', 'SKIPPED',
    ]);
  });
});

describe('receiptMessageId', () => {
  const tlv = (v: string): Tlv[] => [{ tag: Tag.receipted_message_id, value: Buffer.from(v, 'latin1') }];
  const body = Buffer.from('id:TEXTID sub:001 dlvrd:001 stat:DELIVRD');

  it('prefers the receipted_message_id TLV, without its NUL', () => {
    expect(receiptMessageId(tlv('abc\u0000'), body)).toBe('abc');
    expect(receiptMessageId(tlv('abc'), body)).toBe('abc');
    expect(receiptMessageId(tlv('ab\u0000junk'), body)).toBe('ab');
  });

  it('falls back to the text id when the TLV is absent or empty', () => {
    expect(receiptMessageId([], body)).toBe('TEXTID');
    expect(receiptMessageId(tlv(''), body)).toBe('TEXTID');
    expect(receiptMessageId(tlv('\u0000'), body)).toBe('TEXTID');
    expect(receiptMessageId([{ tag: Tag.message_state, value: Buffer.from([2]) }], body)).toBe('TEXTID');
  });

  it('returns null when neither has an id', () => {
    expect(receiptMessageId([], Buffer.from('stat:DELIVRD'))).toBeNull();
    expect(receiptMessageId(tlv('\u0000'), Buffer.alloc(0))).toBeNull();
  });

  it('reads the receipt fixture through MessageView', () => {
    const v = MessageView.parse(DELIVER_SM_RECEIPT);
    if (isScanError(v)) throw new Error('fixture must parse');
    expect(receiptMessageId(v.tlvs, v.payload)).toBe('abc');
    expect(receiptMessageId([], v.payload)).toBe('ABC');
    expect(v.tlv(Tag.message_state)![0]).toBe(MESSAGE_STATE.DELIVERED);
  });
});

describe('normaliseMessageId', () => {
  it('lower-cases, trims and strips leading zeros', () => {
    expect(normaliseMessageId('ABCdef')).toBe('abcdef');
    expect(normaliseMessageId('  00ABC ')).toBe('abc');
    expect(normaliseMessageId('000123')).toBe('123');
    expect(normaliseMessageId('1000')).toBe('1000');
    expect(normaliseMessageId('0a0')).toBe('a0');
  });

  it('keeps a single zero for all-zero ids and an empty id empty', () => {
    expect(normaliseMessageId('000')).toBe('0');
    expect(normaliseMessageId('0')).toBe('0');
    expect(normaliseMessageId('')).toBe('');
    expect(normaliseMessageId('   ')).toBe('');
  });

  it('leaves other characters alone', () => {
    expect(normaliseMessageId('0F3A-77B2')).toBe('f3a-77b2');
    expect(normaliseMessageId('550e8400-e29b-41d4-a716-446655440000')).toBe('550e8400-e29b-41d4-a716-446655440000');
  });
});

describe('messageIdCandidates', () => {
  it('lists the exact form first, then hex→decimal and decimal→hex readings', () => {
    // Decimal digits are also valid hex: both readings.
    expect(messageIdCandidates('255')).toEqual(['255', 'ff', '597']);
    expect(messageIdCandidates('10')).toEqual(['10', 'a', '16']);
    // Hex only.
    expect(messageIdCandidates('FF')).toEqual(['ff', '255']);
    expect(messageIdCandidates('00Ab')).toEqual(['ab', '171']);
  });

  it('maps an id given as hex by one SMSC to the decimal form stored from another, and back', () => {
    // submit_sm_resp said "1234567890" (decimal); the receipt says "499602D2" (hex).
    expect(messageIdCandidates('499602D2')).toContain('1234567890');
    expect(messageIdCandidates('1234567890')).toContain('499602d2');
    // 16 hex digits beyond 2^53 are converted exactly.
    expect(messageIdCandidates('FFFFFFFFFFFFFFFF')).toEqual(['ffffffffffffffff', '18446744073709551615']);
    expect(messageIdCandidates('18446744073709551615')).toContain('ffffffffffffffff');
  });

  it('deduplicates', () => {
    expect(messageIdCandidates('0')).toEqual(['0']);
    expect(messageIdCandidates('000')).toEqual(['0']);
    expect(messageIdCandidates('1')).toEqual(['1']);
    expect(messageIdCandidates('9')).toEqual(['9']);
  });

  it('gives only the normalised form for ids that are neither decimal nor hex, or too long', () => {
    expect(messageIdCandidates('')).toEqual(['']);
    expect(messageIdCandidates('abc-123')).toEqual(['abc-123']);
    expect(messageIdCandidates('xyz')).toEqual(['xyz']);
    expect(messageIdCandidates('f'.repeat(33))).toEqual(['f'.repeat(33)]);
    expect(messageIdCandidates('1'.repeat(32))).toHaveLength(3);
  });
});
