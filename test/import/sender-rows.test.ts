/**
 * Sender row validation (src/import/sender-rows.ts): the admin API's schema and checks, canonical
 * values per kind, configured accounts, CSV columns (signatures split at |) and headers. Pure.
 */
import { describe, expect, it } from 'vitest';
import { ImportError } from '../../src/import/kinds.js';
import { SenderRows } from '../../src/import/sender-rows.js';

const NUMBERING = { country_code: '86', national_prefix: '0', international_prefix: '00' };
const rows = (accounts: string[] | null = null) => new SenderRows(NUMBERING, accounts ? new Set(accounts) : null, 'ops');

describe('SenderRows', () => {
  it('turns a JSON sender into a record with its id, canonical value, defaults and who', () => {
    const r = rows().json({ kind: 'alpha', value: 'AcmeBank', account: 'acme', class: 'otp' });
    expect(r).toMatchObject({ ok: { id: 'alpha:ACMEBANK', kind: 'alpha', value: 'AcmeBank', account: 'acme', class: 'otp', status: 'active', signatures: [], updated_by: 'ops' } });
    expect(Date.parse((r as { ok: { updated_at: string } }).ok.updated_at)).not.toBeNaN();
    expect(rows().json({ kind: 'number', value: '+8610690077', account: 'acme' })).toMatchObject({ ok: { id: 'number:8610690077', value: '8610690077' } });
    expect(rows().json({ kind: 'number', value: '010690078', account: 'acme' })).toMatchObject({ ok: { id: 'number:8610690078' } });
  });

  it('reports schema problems, bad values per kind and senderProblems as the admin API does', () => {
    expect(rows().json({ kind: 'number', value: '1', account: 'acme', colour: 'red' })).toMatchObject({ bad: expect.stringMatching(/colour/) });
    expect(rows().json({ kind: 'modem', value: '1', account: 'acme' })).toMatchObject({ bad: expect.stringMatching(/^kind: /) });
    expect(rows().json({ kind: 'range', value: '200-100', account: 'acme' })).toEqual({ bad: 'range ends must have the same length and from <= to' });
    expect(rows().json({ kind: 'range', value: '100', account: 'acme' })).toEqual({ bad: 'range must be "from-to", each end 1–15 digits: "100"' });
    expect(rows().json({ kind: 'prefix', value: '+86', account: 'acme' })).toEqual({ bad: 'prefix must be 1–15 digits in international form (no "+"): "+86"' });
    expect(rows().json({ kind: 'number', value: '12a', account: 'acme' })).toMatchObject({ bad: expect.stringMatching(/^sender not a phone number/) });
    expect(rows().json({ kind: 'alpha', value: 'ABCDEFGHIJKLMNOPQRSTU', account: 'acme' })).toEqual({
      bad: 'sender name must be 1–20 characters without leading or trailing spaces: "ABCDEFGHIJKLMNOPQRSTU"',
    });
    expect(rows().json({ kind: 'number', value: '8610690001', account: 'acme', valid_from: '2030-01-01T00:00:00Z', valid_until: '2029-01-01T00:00:00Z' })).toEqual({
      bad: 'valid_from must be before valid_until',
    });
  });

  it('checks the account against the configured accounts, when there are any', () => {
    expect(rows(['acme']).json({ kind: 'number', value: '8610690079', account: 'ghost' })).toEqual({ bad: 'no account "ghost" is configured (accounts[].system_id)' });
    expect(rows(['acme']).json({ kind: 'number', value: '8610690079', account: 'acme' })).toMatchObject({ ok: { account: 'acme' } });
    expect(rows().json({ kind: 'number', value: '8610690079', account: 'ghost' })).toMatchObject({ ok: { account: 'ghost' } });
  });

  it('reads CSV in the default column order: empty cells absent, signatures split at |', () => {
    expect(rows().csv(['prefix', '86106902', 'beta', 'service', 'suspended', '', '2030-01-01T00:00:00Z', 'Beta| BetaPay |'])).toMatchObject({
      ok: { id: 'prefix:86106902', account: 'beta', class: 'service', status: 'suspended', valid_until: '2030-01-01T00:00:00Z', signatures: ['Beta', 'BetaPay'] },
    });
    expect(rows().csv(['number', '8610690001'])).toEqual({ bad: 'expected kind,value,account,class,status,valid_from,valid_until,signatures, got 2 fields' });
    expect(rows().csv(['number', '8610690001', 'a', '', '', '', '', '', 'extra'])).toEqual({
      bad: 'expected kind,value,account,class,status,valid_from,valid_until,signatures, got 9 fields',
    });
  });

  it('takes a header whose first column is kind, in any order; without kind, value or account it is fatal', () => {
    const v = rows();
    expect(v.header(['Kind', 'Account', 'Value', 'comment'])).toBe(true);
    expect(v.csv(['number', 'acme', '8610690001', 'x'])).toMatchObject({ ok: { id: 'number:8610690001', account: 'acme' } });
    expect(rows().header(['value', 'kind', 'account'])).toBe(false); // a header starts with kind
    expect(() => rows().header(['kind', 'value'])).toThrow(ImportError);
    expect(() => rows().header(['kind', 'value'])).toThrow('header names no column account (columns: kind, value, account, class, status, valid_from, valid_until, signatures)');
  });
});
