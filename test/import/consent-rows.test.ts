/**
 * Consent row validation (src/import/consent-rows.ts): canonical numbers and scopes as the admin
 * API makes them, states and their short forms, evidence and expiry rules, configured accounts,
 * CSV columns and headers, the bad-row messages. Pure (a fixed clock).
 */
import { describe, expect, it } from 'vitest';
import { ConsentRows, scopeOf } from '../../src/import/consent-rows.js';
import { ImportError } from '../../src/import/kinds.js';

const NUMBERING = { country_code: '86', national_prefix: '0', international_prefix: '00' };
const NOW = Date.parse('2026-06-01T00:00:00Z');
const rows = (accounts: string[] | null = null) => new ConsentRows(NUMBERING, accounts ? new Set(accounts) : null, () => NOW);

describe('scopeOf', () => {
  it('makes scopes canonical as the admin API stores them', () => {
    expect(scopeOf('sender:number:+8610690001', NUMBERING, null)).toEqual({ ok: 'sender:number:8610690001' });
    expect(scopeOf('sender:number:010690001', NUMBERING, null)).toEqual({ ok: 'sender:number:8610690001' });
    expect(scopeOf('sender:alpha:AcmeBank', NUMBERING, null)).toEqual({ ok: 'sender:alpha:ACMEBANK' });
    expect(scopeOf('sender:prefix:861069', NUMBERING, null)).toEqual({ ok: 'sender:prefix:861069' });
    expect(scopeOf('sender:range:100-200', NUMBERING, null)).toEqual({ ok: 'sender:range:100-200' });
    expect(scopeOf('brand:ACME', NUMBERING, null)).toEqual({ ok: 'brand:ACME' });
    expect(scopeOf('account:anyone', NUMBERING, null)).toEqual({ ok: 'account:anyone' });
  });

  it('refuses malformed scopes, unknown sender kinds, long brands and unconfigured accounts', () => {
    expect(scopeOf(undefined, NUMBERING, null)).toEqual({ bad: 'missing scope (scope must be sender:<kind>:<value>, brand:<name> or account:<system_id>)' });
    expect(scopeOf('nonsense', NUMBERING, null)).toEqual({ bad: 'scope must be sender:<kind>:<value>, brand:<name> or account:<system_id>: "nonsense"' });
    expect(scopeOf('brand:', NUMBERING, null)).toMatchObject({ bad: expect.stringMatching(/^scope must be/) });
    expect(scopeOf('sender:bogus:1', NUMBERING, null)).toEqual({ bad: 'sender scope must be sender:<kind>:<value> (kind number, prefix, range, alpha): "sender:bogus:1"' });
    expect(scopeOf('sender:prefix:+86', NUMBERING, null)).toMatchObject({ bad: expect.stringMatching(/^prefix must be 1–15 digits/) });
    expect(scopeOf('sender:number:abc', NUMBERING, null)).toMatchObject({ bad: expect.stringMatching(/^sender not a phone number/) });
    expect(scopeOf('brand:ABCDEFGHIJKLMNOPQRS', NUMBERING, null)).toEqual({ bad: 'brand longer than 18 characters: "ABCDEFGHIJKLMNOPQRS"' });
    expect(scopeOf('account:nobody', NUMBERING, new Set(['acme']))).toEqual({ bad: 'no account "nobody" is configured' });
    expect(scopeOf('account:acme', NUMBERING, new Set(['acme']))).toEqual({ ok: 'account:acme' });
  });
});

describe('ConsentRows', () => {
  it('turns a CSV record into a consent write: number normalised, empty cells absent', () => {
    expect(rows().csv(['13800138001', 'account:acme', 'revoked', 'sms', 'reply "TD", 2026-01-01', ''])).toEqual({
      ok: { msisdn: '8613800138001', scope: 'account:acme', state: 'revoked', expires: null, channel: 'sms', evidence: 'reply "TD", 2026-01-01' },
    });
    expect(rows().csv(['8613800138000', 'brand:ACME', 'granted', '', 'form-17', '2099-01-01T00:00:00Z'])).toEqual({
      ok: { msisdn: '8613800138000', scope: 'brand:ACME', state: 'granted', expires: 4070908800000, channel: undefined, evidence: 'form-17' },
    });
  });

  it('accepts the short forms of the states, in any case', () => {
    for (const s of ['granted', 'GRANT', 'g', 'yes']) expect(rows().json({ msisdn: '8613800138000', scope: 'brand:A', state: s, evidence: 'e' }), s).toMatchObject({ ok: { state: 'granted' } });
    for (const s of ['revoked', 'Revoke', 'r', 'no']) expect(rows().json({ msisdn: '8613800138000', scope: 'brand:A', state: s }), s).toMatchObject({ ok: { state: 'revoked' } });
    expect(rows().json({ msisdn: '8613800138000', scope: 'brand:A', state: 'maybe' })).toEqual({ bad: 'state must be granted or revoked: "maybe"' });
    for (const s of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(rows().json({ msisdn: '8613800138000', scope: 'brand:A', state: s }), s).toEqual({ bad: `state must be granted or revoked: "${s}"` });
    }
  });

  it('needs evidence for a grant; expiry only on a grant, parseable and in the future', () => {
    const base = { msisdn: '8613800138000', scope: 'brand:ACME' };
    expect(rows().json({ ...base, state: 'granted' })).toEqual({ bad: 'evidence is required when granting consent (where the consent can be proven)' });
    expect(rows().json({ ...base, state: 'revoked', expires_at: '2099-01-01T00:00:00Z' })).toEqual({ bad: 'only a granted consent can expire (expires_at on a revocation)' });
    expect(rows().json({ ...base, state: 'granted', evidence: 'e', expires_at: 'tomorrow' })).toEqual({
      bad: 'expires_at must be an ISO date-time or epoch milliseconds: "tomorrow"',
    });
    expect(rows().json({ ...base, state: 'granted', evidence: 'e', expires_at: '2026-05-31T23:59:59Z' })).toEqual({ bad: 'expires_at is in the past: "2026-05-31T23:59:59Z"' });
    expect(rows().json({ ...base, state: 'granted', evidence: 'e', expires_at: 4102444800000 })).toMatchObject({ ok: { expires: 4102444800000 } });
    expect(rows().json({ ...base, state: 'granted', evidence: 'e', expires_at: '4102444800000' })).toMatchObject({ ok: { expires: 4102444800000 } });
  });

  it('checks the number and the scope first, and account scopes against the configured accounts', () => {
    expect(rows().json({ msisdn: 'x', scope: 'nonsense', state: 'maybe' })).toEqual({ bad: 'not a phone number: "x"' });
    expect(rows().json({ msisdn: '8613800138000', scope: 'nonsense', state: 'maybe' })).toMatchObject({ bad: expect.stringMatching(/^scope must be/) });
    expect(rows(['acme']).json({ msisdn: '8613800138000', scope: 'account:nobody', state: 'revoked' })).toEqual({ bad: 'no account "nobody" is configured' });
  });

  it('wants 3 to 6 CSV fields without a header; with one, columns in any order and more of them', () => {
    expect(rows().csv(['8613800138000', 'brand:A'])).toEqual({ bad: 'expected msisdn,scope,state,channel,evidence[,expires_at], got 2 fields' });
    expect(rows().csv(['8613800138000', 'brand:A', 'revoked', '', '', '', 'x'])).toEqual({ bad: 'expected msisdn,scope,state,channel,evidence[,expires_at], got 7 fields' });
    const v = rows();
    expect(v.header(['State', 'Number', 'Scope', 'note', 'Evidence'])).toBe(true);
    expect(v.csv(['granted', '8613800138000', 'brand:A', 'ignored', 'e', 'x', 'y'])).toMatchObject({ ok: { msisdn: '8613800138000', scope: 'brand:A', state: 'granted', evidence: 'e' } });
  });

  it('a first field with digits is data; a header without msisdn, scope or state is fatal', () => {
    expect(rows().header(['8613800138000', 'brand:A', 'granted'])).toBe(false);
    expect(rows().header(['unknown', 'columns'])).toBe(false);
    expect(() => rows().header(['msisdn', 'state'])).toThrow(ImportError);
    expect(() => rows().header(['msisdn', 'state'])).toThrow('header names no column scope (columns: msisdn, scope, state, channel, evidence, expires_at)');
  });
});

describe('ConsentRows.fastLine', () => {
  const line = (v: ConsentRows, s: string) => {
    const b = Buffer.from(`${s}\n`);
    return v.fastLine(b, 0, b.length - 1) ? v.row : null;
  };
  /** What the general path makes of the line (csv-parse's split of a plain line is a split on commas). */
  const general = (v: ConsentRows, s: string) => v.csv(s.replace(/\r$/, '').split(','));

  it('reads plain lines to the same row as the general path', () => {
    const v = rows(['acme']);
    for (const s of [
      '8613800138000,brand:ACME,granted,web,form-17',
      '13800138001,account:acme,revoked,sms,reply TD 2026-01-01',
      '+8613800138002,sender:number:+8610690001,g,,call 5',
      '008613800138003,sender:alpha:AcmeBank,no',
      '013800138004,sender:prefix:861069,r,ivr',
      '8613800138005,brand:ACME,yes,web,form#3\r',
    ]) {
      const fast = line(v, s);
      expect(fast, s).not.toBeNull();
      expect({ ok: fast }, s).toEqual(general(v, s));
    }
  });

  it('leaves to the general path what it does not read exactly, bad rows included', () => {
    const v = rows(['acme']);
    for (const s of [
      '8613800138000,brand:ACME,granted,web,"form, 17"', // quotes
      '8613800138000, brand:ACME,granted,web,e', // a space at a cell's edge (trimmed by csv-parse)
      '8613800138000,brand:ACME,granted,web,e,2099-01-01T00:00:00Z', // expires_at
      '8613800138000,brand:ACME,granted,web,纸质表单', // not ASCII
      '8613800138000,brand:ACME,GRANTED,web,e', // a state's other spelling
      '8613800138000,brand:ACME,constructor,web,e', // no state (not the object's prototype either)
      '8613800138000,brand:ACME,granted,web', // a grant without evidence: bad
      '8613800138000,account:nobody,granted,web,e', // an account not configured: bad
      'x8613800138000,brand:ACME,granted,web,e', // not a number: bad
      '8613800138000,brand:ACME', // too few cells: bad
      '8613800138000,brand:ACME,r,a,b,c,d', // too many: bad
      '8613800138000,brand:ACME,granted,web\te', // a control character
      'msisdn,scope,state', // a header
    ]) expect(line(v, s), s).toBeNull();
  });

  it('remembers a scope check without changing its outcome, bounded', () => {
    const v = rows();
    for (let i = 0; i < 5000; i++) expect(line(v, `8613800138000,sender:number:0${10690000 + i},g,web,e`)?.scope).toBe(`sender:number:86${10690000 + i}`);
    expect(line(v, '8613800138000,sender:bogus:1,g,web,e')).toBeNull();
    expect(line(v, '8613800138000,sender:bogus:1,g,web,e')).toBeNull();
  });

  it('stays on with a header of the default columns, off with any other', () => {
    const same = rows();
    expect(same.header(['msisdn', 'scope', 'state', 'channel', 'evidence', 'expires_at'])).toBe(true);
    expect(line(same, '8613800138000,brand:A,granted,web,e')).toMatchObject({ scope: 'brand:A', channel: 'web', evidence: 'e' });
    const short = rows();
    expect(short.header(['Number', 'Scope', 'State'])).toBe(true);
    expect(line(short, '8613800138000,brand:A,r')).toMatchObject({ msisdn: '8613800138000', state: 'revoked' });
    for (const h of [['msisdn', 'scope', 'state', 'note', 'evidence'], ['scope', 'msisdn', 'state'], ['msisdn', 'scope', 'state', 'evidence', 'channel']]) {
      const v = rows();
      expect(v.header(h)).toBe(true);
      expect(line(v, '8613800138000,brand:A,granted,web,e'), h.join(',')).toBeNull();
    }
  });
});
