/**
 * Sender CRUD through the admin API: normalisation, the id, 400 messages naming the field, 409,
 * 404, status changes, and the gateway's in-process registry following every write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminStack, type AdminStack } from '../helpers/admin.js';

describe('admin API: senders', () => {
  let s: AdminStack;
  beforeAll(async () => {
    s = await startAdminStack();
  });
  afterAll(async () => {
    await s?.stop();
  });

  const create = (body: Record<string, unknown>) => s.api('POST', '/api/v1/senders', { body });
  const expect400 = async (body: Record<string, unknown>, field: string, message: RegExp) => {
    const r = await create(body);
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.error).toBe('bad_request');
    expect(r.body.field).toBe(field);
    expect(r.body.message.startsWith(`${field}: `), r.body.message).toBe(true);
    expect(r.body.message).toMatch(message);
  };

  it('creates a number sender, normalising the number into the id', async () => {
    const r = await create({ kind: 'number', value: '+86 106-9000-1', account: 'esme', signatures: ['ACME'], channel: 'portal', evidence: 'LOA-17' });
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toBe('/api/v1/senders/number%3A8610690001');
    expect(r.body).toMatchObject({ id: 'number:8610690001', kind: 'number', value: '8610690001', account: 'esme', status: 'active', signatures: ['ACME'], updated_by: 'ops' });
    expect(Date.now() - Date.parse(r.body.updated_at)).toBeLessThan(5000);
    expect(s.gw.sync.registry.get('number:8610690001')?.account).toBe('esme');
  });

  it('national and 00 forms of the same number are the same sender: 409', async () => {
    for (const value of ['010690001', '008610690001', '8610690001']) {
      const r = await create({ kind: 'number', value, account: 'other' });
      expect(r.status).toBe(409);
      expect(r.body.error).toBe('conflict');
      expect(r.body.message).toMatch(/number:8610690001 already exists \(account esme\)/);
    }
  });

  it('creates prefix, range and alpha senders', async () => {
    expect((await create({ kind: 'prefix', value: '86106901', account: 'esme', class: 'service' })).body.id).toBe('prefix:86106901');
    expect((await create({ kind: 'range', value: '8610692000-8610692099', account: 'other' })).body.id).toBe('range:8610692000-8610692099');
    const alpha = await create({ kind: 'alpha', value: 'Acme', account: 'esme', class: 'otp', valid_from: '2020-01-01T00:00:00Z', valid_until: '2099-01-01T00:00:00+08:00' });
    expect(alpha.status).toBe(201);
    expect(alpha.body).toMatchObject({ id: 'alpha:ACME', value: 'Acme', class: 'otp' });
    // Lookups by id accept any case / number form.
    expect((await s.api('GET', '/api/v1/senders/alpha:acme')).body.id).toBe('alpha:ACME');
    expect((await s.api('GET', `/api/v1/senders/${encodeURIComponent('number:+8610690001')}`)).body.account).toBe('esme');
  });

  it('400 names the field: kind, value, range, dates, account, unknown and missing fields', async () => {
    await expect400({ kind: 'numbr', value: '8610690009', account: 'esme' }, 'kind', /must be one of number, prefix, range, alpha/);
    await expect400({ kind: 'number', value: 'call-me', account: 'esme' }, 'value', /"call-me" is not a phone number/);
    await expect400({ kind: 'number', value: '+12345678901234567', account: 'esme' }, 'value', /at most 15/);
    await expect400({ kind: 'prefix', value: '+86106', account: 'esme' }, 'value', /prefix "\+86106" must be 1–15 digits/);
    await expect400({ kind: 'range', value: '8610690000', account: 'esme' }, 'value', /must be "from-to"/);
    await expect400({ kind: 'range', value: '861069000-8610690099', account: 'esme' }, 'value', /same number of digits/);
    await expect400({ kind: 'range', value: '8610690099-8610690000', account: 'esme' }, 'value', /from must not be greater than to/);
    await expect400({ kind: 'alpha', value: ' ACME', account: 'esme' }, 'value', /leading or trailing spaces/);
    await expect400({ kind: 'number', value: '8610690009', account: 'esme', valid_from: 'tomorrow' }, 'valid_from', /RFC 3339 date-time/);
    await expect400(
      { kind: 'number', value: '8610690009', account: 'esme', valid_from: '2030-01-01T00:00:00Z', valid_until: '2029-01-01T00:00:00Z' },
      'valid_from',
      /valid_from must be before valid_until/,
    );
    await expect400({ kind: 'number', value: '8610690009', account: 'nobody' }, 'account', /no account "nobody" is configured/);
    await expect400({ kind: 'number', value: '8610690009', account: 'esme', colour: 'red' }, 'colour', /is not a known field/);
    await expect400({ kind: 'number', value: '8610690009' }, 'account', /is required/);
    await expect400({ kind: 'number', value: '8610690009', account: 'esme', class: 'promo' }, 'class', /must be one of commercial, service, otp/);
    await expect400({ kind: 'number', value: '8610690009', account: 'esme', signatures: ['x'.repeat(19)] }, 'signatures.0', /at most 18/);
    expect((await s.api('GET', '/api/v1/senders/number:8610690009')).status).toBe(404);
  });

  it('reads one sender (404 when absent, 400 for a malformed id) and lists with filters', async () => {
    const missing = await s.api('GET', '/api/v1/senders/number:8619999999');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: 'not_found', message: 'no sender number:8619999999' });
    const malformed = await s.api('GET', '/api/v1/senders/8610690001');
    expect(malformed.status).toBe(400);
    expect(malformed.body.message).toMatch(/^id: "8610690001" is not a sender id/);
    const all = await s.api('GET', '/api/v1/senders');
    expect(all.body.senders.map((x: { id: string }) => x.id)).toEqual(['alpha:ACME', 'number:8610690001', 'prefix:86106901', 'range:8610692000-8610692099']);
    const other = await s.api('GET', '/api/v1/senders?account=other');
    expect(other.body).toMatchObject({ count: 1, senders: [{ id: 'range:8610692000-8610692099' }] });
    expect((await s.api('GET', '/api/v1/senders?kind=alpha')).body.count).toBe(1);
    expect((await s.api('GET', '/api/v1/senders?status=bogus')).status).toBe(400);
  });

  it('PUT replaces a registration (suspend), refuses changing kind/value, 404 for unknown', async () => {
    const r = await s.api('PUT', '/api/v1/senders/number:8610690001', {
      token: 'crm',
      body: { account: 'esme', status: 'suspended', signatures: ['ACME'], channel: 'complaint', evidence: '12321-2024-000123' },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: 'number:8610690001', status: 'suspended', updated_by: 'crm' });
    expect(s.gw.sync.registry.get('number:8610690001')?.status).toBe('suspended');
    const kind = await s.api('PUT', '/api/v1/senders/number:8610690001', { body: { kind: 'prefix', account: 'esme' } });
    expect(kind.status).toBe(400);
    expect(kind.body.message).toMatch(/^kind: cannot change kind/);
    const value = await s.api('PUT', '/api/v1/senders/number:8610690001', { body: { value: '8610690002', account: 'esme' } });
    expect(value.status).toBe(400);
    expect(value.body.field).toBe('value');
    // The same number in another form is not a change.
    expect((await s.api('PUT', '/api/v1/senders/number:8610690001', { body: { value: '+8610690001', account: 'esme', status: 'active' } })).status).toBe(200);
    const unknown = await s.api('PUT', '/api/v1/senders/number:8610690077', { body: { account: 'esme' } });
    expect(unknown.status).toBe(404);
    const badDates = await s.api('PUT', '/api/v1/senders/number:8610690001', {
      body: { account: 'esme', valid_from: '2030-01-01T00:00:00Z', valid_until: '2020-01-01T00:00:00Z' },
    });
    expect(badDates.status).toBe(400);
    expect(badDates.body.field).toBe('valid_from');
  });

  it('PATCH changes some fields (revoke, clear class), keeping the rest', async () => {
    const r = await s.api('PATCH', '/api/v1/senders/alpha:ACME', { body: { status: 'revoked', class: null, channel: 'regulator' } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: 'alpha:ACME', status: 'revoked', valid_from: '2020-01-01T00:00:00Z' });
    expect(r.body.class).toBeUndefined();
    expect(s.gw.sync.registry.get('alpha:ACME')?.status).toBe('revoked');
    const empty = await s.api('PATCH', '/api/v1/senders/alpha:ACME', { body: { channel: 'x' } });
    expect(empty.status).toBe(400);
    expect(empty.body.message).toMatch(/nothing to change/);
    const acct = await s.api('PATCH', '/api/v1/senders/alpha:ACME', { body: { account: 'ghost' } });
    expect(acct.status).toBe(400);
    expect(acct.body.field).toBe('account');
  });

  it('DELETE removes the sender (and from the registry); a second DELETE is 404', async () => {
    const r = await s.api('DELETE', '/api/v1/senders/prefix:86106901?channel=portal');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ deleted: 'prefix:86106901' });
    expect(s.gw.sync.registry.get('prefix:86106901')).toBeUndefined();
    expect((await s.api('GET', '/api/v1/senders/prefix:86106901')).status).toBe(404);
    expect((await s.api('DELETE', '/api/v1/senders/prefix:86106901')).status).toBe(404);
  });

  it('journals every sender write with who and when', async () => {
    const r = await s.api('GET', '/api/v1/journal?sender=number:8610690001');
    expect(r.status).toBe(200);
    const ops = r.body.entries.map((e: Record<string, string>) => `${e.op} ${e.who} ${e.status}`);
    // Newest first: create by ops, suspend by crm, reactivate by ops (failed writes are not journaled).
    expect(ops).toEqual(['sender.put ops active', 'sender.put crm suspended', 'sender.create ops active']);
    const suspend = r.body.entries[1];
    expect(suspend).toMatchObject({ channel: 'complaint', evidence: '12321-2024-000123', sender: 'number:8610690001', account: 'esme' });
    expect(Date.now() - Date.parse(suspend.time)).toBeLessThan(10_000);
    const del = await s.api('GET', '/api/v1/journal?op=sender.delete');
    expect(del.body.entries).toHaveLength(1);
    expect(del.body.entries[0]).toMatchObject({ op: 'sender.delete', who: 'ops', sender: 'prefix:86106901', channel: 'portal' });
  });
});
