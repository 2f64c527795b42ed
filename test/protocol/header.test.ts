import { describe, expect, it } from 'vitest';
import {
  HEADER_LENGTH,
  MAX_SEQUENCE,
  SequenceCounter,
  commandIdOf,
  readHeader,
  sequenceOf,
  setSequence,
  statusOf,
} from '../../src/protocol/header.js';
import { DELIVER_SM_RECEIPT, SUBMIT_SM_DLT, hex } from './fixtures.js';

describe('header', () => {
  it('reads the four header fields', () => {
    const pdu = hex('0000001a 80000004 00000045 7ffffffe 0102030405060708090a');
    expect(readHeader(pdu)).toEqual({ length: 26, commandId: 0x80000004, status: 0x45, sequence: 0x7ffffffe });
    expect(commandIdOf(pdu)).toBe(0x80000004);
    expect(statusOf(pdu)).toBe(0x45);
    expect(sequenceOf(pdu)).toBe(0x7ffffffe);
    expect(HEADER_LENGTH).toBe(16);
    expect(MAX_SEQUENCE).toBe(0x7fffffff);
  });

  it('reads command ids and statuses above 0x7fffffff as unsigned', () => {
    const pdu = hex('00000010 80000000 ffffffff 80000001');
    expect(readHeader(pdu)).toEqual({ length: 16, commandId: 0x80000000, status: 0xffffffff, sequence: 0x80000001 });
  });
});

describe('setSequence', () => {
  it('rewrites bytes 12..15 and nothing else', () => {
    for (const original of [SUBMIT_SM_DLT, DELIVER_SM_RECEIPT]) {
      for (const seq of [0, 1, 0x12345678, MAX_SEQUENCE, 0xffffffff]) {
        const pdu = Buffer.from(original);
        setSequence(pdu, seq);
        expect(pdu.length).toBe(original.length);
        for (let i = 0; i < pdu.length; i++) {
          if (i >= 12 && i < 16) continue;
          expect(pdu[i], `byte ${i}`).toBe(original[i]);
        }
        expect(pdu.readUInt32BE(12)).toBe(seq);
      }
    }
  });

  it('rewrites only bytes 12..15 of a buffer whose every byte differs', () => {
    const original = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 7 + 3) & 0xff));
    const pdu = Buffer.from(original);
    setSequence(pdu, 0);
    for (let i = 0; i < 64; i++) expect(pdu[i], `byte ${i}`).toBe(i >= 12 && i < 16 ? 0 : original[i]);
  });

  it('writes big-endian, and negative numbers as their unsigned 32-bit form', () => {
    const pdu = Buffer.from(SUBMIT_SM_DLT);
    setSequence(pdu, 0x0a0b0c0d);
    expect(pdu.subarray(12, 16).toString('hex')).toBe('0a0b0c0d');
    setSequence(pdu, -1);
    expect(pdu.subarray(12, 16).toString('hex')).toBe('ffffffff');
  });

  it('works in place on a frame that is a view into a larger chunk, touching nothing outside it', () => {
    const chunk = Buffer.concat([Buffer.alloc(5, 0xaa), SUBMIT_SM_DLT, Buffer.alloc(5, 0xbb)]);
    const before = Buffer.from(chunk);
    const frame = chunk.subarray(5, 5 + SUBMIT_SM_DLT.length);
    setSequence(frame, 0x01020304);
    for (let i = 0; i < chunk.length; i++) {
      if (i >= 5 + 12 && i < 5 + 16) continue;
      expect(chunk[i], `byte ${i}`).toBe(before[i]);
    }
    expect(chunk.subarray(17, 21).toString('hex')).toBe('01020304');
  });
});

describe('SequenceCounter', () => {
  it('starts at 1 and counts up', () => {
    const c = new SequenceCounter();
    expect([c.take(), c.take(), c.take()]).toEqual([1, 2, 3]);
  });

  it('wraps from 0x7FFFFFFF to 1, never giving 0 or a value over the maximum', () => {
    const c = new SequenceCounter();
    (c as unknown as { next: number }).next = MAX_SEQUENCE - 2;
    expect([c.take(), c.take(), c.take(), c.take(), c.take()]).toEqual([
      0x7ffffffd,
      0x7ffffffe,
      0x7fffffff,
      1,
      2,
    ]);
  });

  it('gives independent sequences per counter', () => {
    const a = new SequenceCounter();
    const b = new SequenceCounter();
    a.take();
    a.take();
    expect(b.take()).toBe(1);
    expect(a.take()).toBe(3);
  });
});
