/**
 * Consent and the do-not-disturb register through the admin API: normalised numbers, scopes,
 * grant/revoke/delete/lookup, DND with categories, 400/404, and the journal's who/when/evidence.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminStack, type AdminStack } from '../helpers/admin.js';

describe('admin API: consent', () => {
  let s: AdminStack;
  beforeAll(async () => {
    s = await startAdminStack();
  });
  afterAll(async () => {
    await s?.stop();
  });

  const consent = (body: Record<string, unknown>, token: 'ops' | 'crm' = 'ops') => s.api('POST', '/api/v1/consent', { body, token });

  it('grants consent given a national number and shows it under any form of the number', async () => {
    const r = await consent(
      { msisdn: '013800138000', scope: 'sender:number:+8610690001', state: 'granted', channel: 'web-form', evidence: 'form-991' },
      'crm',
    );
    expect(r.status).toBe(200);
    expect(r.body.msisdn).toBe('8613800138000');
    expect(r.body.consents).toEqual([
      { scope: 'sender:number:8610690001', state: 'granted', at: expect.any(String), expires_at: null, effective: 'granted' },
    ]);
    for (const form of ['+8613800138000', '008613800138000', '13800138000']) {
      const g = await s.api('GET', `/api/v1/consent/${encodeURIComponent(form)}`);
      expect(g.status).toBe(200);
      expect(g.body.consents).toHaveLength(1);
    }
  });

  it('grants with expiry, revokes explicitly, and lists every scope', async () => {
    const expires = new Date(Date.now() + 86_400_000).toISOString();
    expect((await consent({ msisdn: '+8613800138000', scope: 'brand:ACME', state: 'granted', channel: 'sms', evidence: 'kw-JOIN', expires_at: expires })).status).toBe(200);
    const rv = await consent({ msisdn: '+8613800138000', scope: 'account:esme', state: 'revoked', channel: 'ivr' });
    expect(rv.status).toBe(200);
    expect(rv.body.consents).toEqual([
      { scope: 'account:esme', state: 'revoked', at: expect.any(String), expires_at: null, effective: 'revoked' },
      { scope: 'brand:ACME', state: 'granted', at: expect.any(String), expires_at: expires, effective: 'granted' },
      { scope: 'sender:number:8610690001', state: 'granted', at: expect.any(String), expires_at: null, effective: 'granted' },
    ]);
  });

  it('400 names the field: msisdn, scope, state, evidence, expires_at', async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ msisdn: 'abc', scope: 'account:esme', state: 'granted', channel: 'x', evidence: 'y' }, 'msisdn', /"abc" is not a phone number/],
      [{ msisdn: '8613800138000', scope: 'customer:9', state: 'granted', channel: 'x', evidence: 'y' }, 'scope', /unknown scope type "customer"/],
      [{ msisdn: '8613800138000', scope: 'esme', state: 'granted', channel: 'x', evidence: 'y' }, 'scope', /not a consent scope/],
      [{ msisdn: '8613800138000', scope: 'account:nobody', state: 'granted', channel: 'x', evidence: 'y' }, 'scope', /no account "nobody"/],
      [{ msisdn: '8613800138000', scope: 'sender:phone:1', state: 'granted', channel: 'x', evidence: 'y' }, 'scope', /not a sender id/],
      [{ msisdn: '8613800138000', scope: 'account:esme', state: 'maybe', channel: 'x', evidence: 'y' }, 'state', /must be one of granted, revoked/],
      [{ msisdn: '8613800138000', scope: 'account:esme', state: 'granted', channel: 'x' }, 'evidence', /required when granting/],
      [{ msisdn: '8613800138000', scope: 'account:esme', state: 'granted', evidence: 'y' }, 'channel', /is required/],
      [
        { msisdn: '8613800138000', scope: 'account:esme', state: 'granted', channel: 'x', evidence: 'y', expires_at: '2001-01-01T00:00:00Z' },
        'expires_at',
        /in the past/,
      ],
      [
        { msisdn: '8613800138000', scope: 'account:esme', state: 'revoked', channel: 'x', expires_at: '2091-01-01T00:00:00Z' },
        'expires_at',
        /only a granted consent can expire/,
      ],
    ];
    for (const [body, field, msg] of cases) {
      const r = await consent(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.field).toBe(field);
      expect(r.body.message).toMatch(msg);
    }
    expect((await s.api('GET', '/api/v1/consent/not-a-number')).body.message).toMatch(/^msisdn: "not-a-number" is not a phone number/);
  });

  it('DELETE removes one scope (404 when absent; scope is required)', async () => {
    const r = await s.api('DELETE', `/api/v1/consent/8613800138000?scope=${encodeURIComponent('brand:ACME')}&channel=crm`);
    expect(r.status).toBe(200);
    expect(r.body.consents.map((c: { scope: string }) => c.scope)).toEqual(['account:esme', 'sender:number:8610690001']);
    const again = await s.api('DELETE', `/api/v1/consent/8613800138000?scope=${encodeURIComponent('brand:ACME')}`);
    expect(again.status).toBe(404);
    expect(again.body.message).toBe('no consent record for 8613800138000 in scope brand:ACME');
    const noScope = await s.api('DELETE', '/api/v1/consent/8613800138000');
    expect(noScope.status).toBe(400);
    expect(noScope.body).toEqual({ error: 'bad_request', message: 'query parameter scope: is required', field: 'scope' });
  });

  it('an unknown number has no consents', async () => {
    expect((await s.api('GET', '/api/v1/consent/8613900000000')).body).toEqual({ msisdn: '8613900000000', consents: [] });
  });

  it('journals consent writes with who, when, channel and evidence', async () => {
    const r = await s.api('GET', '/api/v1/journal?msisdn=013800138000');
    expect(r.status).toBe(200);
    const ops = r.body.entries.map((e: Record<string, string>) => `${e.op} ${e.who} ${e.scope}`);
    expect(ops).toEqual([
      'consent.delete ops brand:ACME',
      'consent.revoke ops account:esme',
      'consent.grant ops brand:ACME',
      'consent.grant crm sender:number:8610690001',
    ]);
    const first = r.body.entries[3];
    expect(first).toMatchObject({ msisdn: '8613800138000', channel: 'web-form', evidence: 'form-991' });
    expect(Math.abs(Date.now() - Date.parse(first.time))).toBeLessThan(10_000);
    expect(r.body.entries[2].expires).toMatch(/^\d{13}$/);
    expect((await s.api('GET', '/api/v1/journal?msisdn=8613800138000&count=2')).body.count).toBe(2);
    expect((await s.api('GET', '/api/v1/journal?count=0')).body.field).toBe('count');
  });
});

describe('admin API: do-not-disturb', () => {
  let s: AdminStack;
  beforeAll(async () => {
    s = await startAdminStack();
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('adds a number for all commercial messages and for categories, and looks it up', async () => {
    expect((await s.api('GET', '/api/v1/dnd/8613800138001')).body).toMatchObject({ msisdn: '8613800138001', registered: false, all: false, categories: [] });
    const add = await s.api('POST', '/api/v1/dnd', { body: { msisdn: '+86 138 0013 8001', channel: 'national-list' } });
    expect(add.status).toBe(200);
    expect(add.body).toMatchObject({ msisdn: '8613800138001', registered: true, all: true, categories: [] });
    await s.api('POST', '/api/v1/dnd', { body: { msisdn: '013800138001', category: 3 } });
    await s.api('POST', '/api/v1/dnd', { body: { msisdn: '013800138001', category: 7 }, token: 'crm' });
    expect((await s.api('GET', '/api/v1/dnd/013800138001')).body).toEqual({
      msisdn: '8613800138001',
      registered: true,
      all: true,
      categories: [3, 7],
      lists: ['operator'],
      national: { all: false, categories: [] },
      operator: { all: true, categories: [3, 7] },
    });
  });

  it('400 for a bad number or category', async () => {
    const cat = await s.api('POST', '/api/v1/dnd', { body: { msisdn: '8613800138001', category: 9 } });
    expect(cat.status).toBe(400);
    expect(cat.body).toMatchObject({ field: 'category', message: 'category: must be <= 7' });
    const num = await s.api('POST', '/api/v1/dnd', { body: { msisdn: '+86-CALL-ME' } });
    expect(num.status).toBe(400);
    expect(num.body.field).toBe('msisdn');
    const q = await s.api('DELETE', '/api/v1/dnd/8613800138001?category=8');
    expect(q.status).toBe(400);
    expect(q.body.field).toBe('category');
  });

  it('removes one category, then the full registration; 404 when not registered', async () => {
    const c = await s.api('DELETE', '/api/v1/dnd/8613800138001?category=3');
    expect(c.status).toBe(200);
    expect(c.body.categories).toEqual([7]);
    expect((await s.api('DELETE', '/api/v1/dnd/8613800138001?category=3')).status).toBe(404);
    const full = await s.api('DELETE', '/api/v1/dnd/8613800138001');
    expect(full.body).toMatchObject({ msisdn: '8613800138001', registered: true, all: false, categories: [7] });
    const again = await s.api('DELETE', '/api/v1/dnd/8613800138001');
    expect(again.status).toBe(404);
    expect(again.body.message).toMatch(/not on the do-not-disturb register for all commercial messages/);
    const all = await s.api('DELETE', '/api/v1/dnd/8613800138001?category=all');
    expect(all.body).toMatchObject({ msisdn: '8613800138001', registered: false, all: false, categories: [] });
    expect((await s.api('DELETE', '/api/v1/dnd/8613800138001?category=all')).status).toBe(404);
  });

  it('journals DND writes with who and category', async () => {
    const r = await s.api('GET', '/api/v1/journal?msisdn=8613800138001');
    const ops = r.body.entries.map((e: Record<string, string>) => `${e.op} ${e.who} ${e.category ?? '-'}`).reverse();
    expect(ops).toEqual(['dnd.add ops -', 'dnd.add ops 3', 'dnd.add crm 7', 'dnd.remove ops 3', 'dnd.remove ops -', 'dnd.remove ops 7']);
    expect(r.body.entries.at(-1).channel).toBe('national-list');
  });
});
