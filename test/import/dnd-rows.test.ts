/**
 * DND row validation (src/import/dnd-rows.ts): the byte fast path agrees with the general path (and
 * with normaliseMsisdn), headers and their column order, categories, the bad-row messages. Pure.
 */
import { describe, expect, it } from 'vitest';
import { DndRows } from '../../src/import/dnd-rows.js';
import { ImportError } from '../../src/import/kinds.js';
import { normaliseMsisdn } from '../../src/policy/address.js';

const NUMBERING = { country_code: '86', national_prefix: '0', international_prefix: '00' };

const fast = (v: DndRows, line: string) => (v.fastLine(Buffer.from(line), 0, Buffer.byteLength(line)) ? { number: v.number, category: v.category } : null);

describe('DndRows', () => {
  it('reads the common shapes straight from the bytes, as the general path and normaliseMsisdn do', () => {
    const v = new DndRows(NUMBERING, 0);
    for (const raw of ['8613912345670', '13912345671', '+8613912345672', '+4915112345673', '4915112345674', ' 8613912345675 ', '8613912345676\r', '1', '99999999999', '013912345677', '0086139123456', '00491511234567', '0']) {
      const want = Number(normaliseMsisdn(raw.trim(), NUMBERING));
      expect(fast(v, raw), raw).toEqual({ number: want, category: 0 });
      expect(v.csv([raw.trim()]), raw).toEqual({ ok: { number: want, category: 0 } });
    }
    expect(fast(v, '8613912345677,3')).toEqual({ number: 8613912345677, category: 3 });
    expect(fast(v, '8613912345677 , 5 \r')).toEqual({ number: 8613912345677, category: 5 });
    expect(fast(v, '8613912345677,')).toEqual({ number: 8613912345677, category: 0 });
  });

  it('leaves everything else to the general path', () => {
    const v = new DndRows(NUMBERING, 0);
    // Quotes, separators, bad categories, too many digits, a bare international prefix, headers.
    for (const raw of ['"8613912345670"', '139-1234-5670', '0086 139 1234 5670', '8613912345670,9', '8613912345670,1,x', '8613912345670123', '00', 'msisdn', '']) {
      expect(fast(v, raw), raw).toBeNull();
    }
    expect(v.csv(['0086 139 1234 5670', '2'])).toEqual({ ok: { number: 8613912345670, category: 2 } });
    expect(v.csv(['00'])).toEqual({ bad: 'not a phone number: "00"' });
  });

  it('agrees with normaliseMsisdn on every run of digits it takes, and takes every one of at most 15 digits once normalised', () => {
    const numberings = [
      NUMBERING,
      { country_code: '1', national_prefix: '1', international_prefix: '011' },
      { country_code: '44', national_prefix: '', international_prefix: '' },
      { country_code: '7', national_prefix: '8', international_prefix: '810' },
    ];
    let seed = 7;
    const rnd = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
    for (const nb of numberings) {
      const v = new DndRows(nb, 0);
      const starts = ['', '+', nb.country_code, nb.national_prefix, nb.international_prefix, `${nb.international_prefix}${nb.country_code}`, '0', '00'];
      for (let k = 0; k < 3000; k++) {
        const raw = starts[rnd(starts.length)] + Array.from({ length: rnd(18) }, () => rnd(10)).join('');
        const want = /^\+?\d+$/.test(raw) ? normaliseMsisdn(raw, nb) : null;
        const got = fast(v, raw);
        if (want && want.length <= 15) expect(got, `${raw} with ${JSON.stringify(nb)}`).toEqual({ number: Number(want), category: 0 });
        else expect(got, `${raw} with ${JSON.stringify(nb)}`).toBeNull();
      }
    }
  });

  it('gives rows without a category the default, and checks categories 0–7', () => {
    const v = new DndRows(NUMBERING, 5);
    expect(fast(v, '8613800138000')).toEqual({ number: 8613800138000, category: 5 });
    expect(v.json({ msisdn: 8613800138000 })).toEqual({ ok: { number: 8613800138000, category: 5 } });
    expect(v.json({ msisdn: '8613800138000', category: 0 })).toEqual({ ok: { number: 8613800138000, category: 0 } });
    expect(v.csv(['8613800138000', ' 7 '])).toEqual({ ok: { number: 8613800138000, category: 7 } });
    expect(v.csv(['8613800138000', '9'])).toEqual({ bad: 'category must be 0–7 (0 = all commercial): "9"' });
    expect(v.json({ msisdn: '8613800138000', category: 1.5 })).toEqual({ bad: 'category must be 0–7 (0 = all commercial): "1.5"' });
  });

  it('words the bad rows', () => {
    const v = new DndRows(NUMBERING, 0);
    expect(v.csv(['not-a-number'])).toEqual({ bad: 'not a phone number: "not-a-number"' });
    expect(v.csv(['86138001380061234567'])).toEqual({ bad: 'number longer than 15 digits: "86138001380061234567"' });
    expect(v.csv([''])).toEqual({ bad: 'missing msisdn' });
    expect(v.json({})).toEqual({ bad: 'missing msisdn' });
    expect(v.csv(['8613800138000', '1', 'x'])).toEqual({ bad: 'expected msisdn[,category], got 3 fields' });
  });

  it('takes a header naming its columns in any order (aliases too); other layouts turn the fast path off', () => {
    const plain = new DndRows(NUMBERING, 0);
    expect(plain.header(['msisdn', 'category'])).toBe(true);
    expect(fast(plain, '8613800138000,3')).toEqual({ number: 8613800138000, category: 3 });

    const swapped = new DndRows(NUMBERING, 0);
    expect(swapped.header(['Category', 'Phone'])).toBe(true);
    expect(fast(swapped, '8613800138000')).toBeNull();
    expect(swapped.csv(['2', '8613800138000'])).toEqual({ ok: { number: 8613800138000, category: 2 } });
    // With a header, extra columns are ignored.
    expect(swapped.csv(['2', '8613800138000', 'extra'])).toEqual({ ok: { number: 8613800138000, category: 2 } });

    const onlyNumber = new DndRows(NUMBERING, 0);
    expect(onlyNumber.header(['mobile', 'added_on'])).toBe(true);
    expect(fast(onlyNumber, '8613800138000')).toEqual({ number: 8613800138000, category: 0 });
    expect(fast(onlyNumber, '8613800138000,2')).toBeNull(); // the second column is not a category here
    expect(onlyNumber.csv(['8613800138000', '2'])).toEqual({ ok: { number: 8613800138000, category: 0 } });
  });

  it('a first field with digits is data; a header naming no known column is data; one without msisdn is fatal', () => {
    const v = new DndRows(NUMBERING, 0);
    expect(v.header(['8613800138000'])).toBe(false);
    expect(v.header(['nothing here'])).toBe(false);
    expect(() => new DndRows(NUMBERING, 0).header(['category'])).toThrow(ImportError);
    expect(() => new DndRows(NUMBERING, 0).header(['category'])).toThrow('header names no column msisdn (columns: msisdn, category)');
  });
});
