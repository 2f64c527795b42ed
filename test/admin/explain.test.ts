/**
 * POST /api/v1/explain: the decision, reason, status and rule for hypothetical messages, set up
 * through the API itself (senders, consent, DND), with nothing sent to the SMSC.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOKENS, startAdminStack, type AdminStack } from '../helpers/admin.js';

describe('admin API: explain', () => {
  let s: AdminStack;
  beforeAll(async () => {
    s = await startAdminStack({
      cfg: (c) => {
        c.policy.classify.service_types = { MKT: 'commercial', OTP: 'otp' };
      },
    });
    const setup: [string, string, Record<string, unknown>][] = [
      ['POST', '/api/v1/senders', { kind: 'number', value: '8610690001', account: 'esme', class: 'commercial', signatures: ['ACME'] }],
      ['POST', '/api/v1/senders', { kind: 'number', value: '8610690002', account: 'other' }],
      ['POST', '/api/v1/senders', { kind: 'number', value: '8610690003', account: 'esme', class: 'service' }],
      ['POST', '/api/v1/consent', { msisdn: '8613800138010', scope: 'sender:number:8610690001', state: 'granted', channel: 'web', evidence: 'f-1' }],
      ['POST', '/api/v1/dnd', { msisdn: '8613800138020' }],
    ];
    for (const [method, path, body] of setup) {
      const r = await s.api(method, path, { body });
      expect(r.status, `${path} ${JSON.stringify(r.body)}`).toBeLessThan(300);
    }
  });
  afterAll(async () => {
    await s?.stop();
  });

  const explain = (body: Record<string, unknown>) => s.api('POST', '/api/v1/explain', { body });
  const msg = (over: Record<string, unknown>) => ({ account: 'esme', source_addr: '8610690001', destination_addr: '8613800138000', ...over });

  it('unregistered sender: reject sender_unregistered, ESME_RINVSRCADR', async () => {
    const r = await explain(msg({ source_addr: '8610699999' }));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      action: 'reject',
      reason: 'sender_unregistered',
      status: 0x0a,
      status_name: 'ESME_RINVSRCADR',
      rule: 'policy/sender-authorization',
      explanation: 'sender number is not registered to any account',
    });
    expect(r.body.trace.at(-1)).toMatch(/^reject: /);
  });

  it("another account's number: reject sender_not_owned", async () => {
    const r = await explain(msg({ source_addr: '8610690002' }));
    expect(r.body).toMatchObject({ action: 'reject', reason: 'sender_not_owned', status: 0x0a, rule: 'policy/sender-authorization' });
    expect(r.body.trace.join('\n')).toMatch(/account other/);
  });

  it('commercial without consent: reject no_consent (0x45), naming the scopes asked', async () => {
    const r = await explain(msg({}));
    expect(r.body).toMatchObject({ action: 'reject', reason: 'no_consent', status: 0x45, rule: 'policy/consent', class: 'commercial' });
    expect(r.body.trace.join('\n')).toMatch(/sender:number:8610690001, brand:ACME, account:esme/);
  });

  it('commercial with consent: forward consent_granted', async () => {
    const r = await explain(msg({ destination_addr: '8613800138010' }));
    expect(r.body).toMatchObject({ action: 'forward', reason: 'consent_granted', status: 0, status_name: 'ESME_ROK', rule: 'policy/consent' });
  });

  it('DND without consent: reject dnd', async () => {
    const r = await explain(msg({ destination_addr: '8613800138020' }));
    expect(r.body).toMatchObject({ action: 'reject', reason: 'dnd', status: 0x45, rule: 'policy/dnd' });
    expect(r.body.trace.join('\n')).toMatch(/do-not-disturb/);
  });

  it('service number sending a service_type mapped to commercial: service_port_marketing (0x103)', async () => {
    const r = await explain(msg({ source_addr: '8610690003', service_type: 'MKT', text: '【ACME】 sale! 回T退订' }));
    expect(r.body).toMatchObject({
      action: 'reject',
      reason: 'service_port_marketing',
      status: 0x103,
      status_name: 'ESME_RSERTYPDENIED',
      rule: 'policy/classification',
      class: 'commercial',
    });
    const plain = await explain(msg({ source_addr: '8610690003' }));
    expect(plain.body).toMatchObject({ action: 'forward', reason: 'not_commercial', class: 'service' });
  });

  it('hidden sender and bad destination, and TON handling', async () => {
    expect((await explain(msg({ source_addr: '' }))).body.reason).toBe('sender_hidden');
    expect((await explain(msg({ destination_addr: '' }))).body.reason).toBe('invalid_destination');
    // National form with TON 2 normalises to the registered number.
    const national = await explain(msg({ source_addr: '10690001', source_addr_ton: 2, destination_addr: '13800138010', dest_addr_ton: 2 }));
    expect(national.body.reason).toBe('consent_granted');
  });

  it('nothing was sent to the SMSC', async () => {
    expect(s.sim.stats.submits).toBe(0);
  });

  it('400 for an unknown account, a bad TLV tag or field', async () => {
    const acct = await explain(msg({ account: 'ghost' }));
    expect(acct.status).toBe(400);
    expect(acct.body).toMatchObject({ field: 'account', message: 'account: no account "ghost" is configured (accounts[].system_id)' });
    const tlv = await explain(msg({ tlvs: { foo: 'x' } }));
    expect(tlv.status).toBe(400);
    expect(tlv.body).toMatchObject({ field: 'tlvs.foo' });
    const zero = await explain(msg({ tlvs: { '0': 'x' } }));
    expect(zero.body.field).toBe('tlvs.0');
    expect((await explain(msg({ tlvs: { '0x1400': '1201160000000001' } }))).status).toBe(200);
    const st = await explain(msg({ service_type: 'TOOLONG' }));
    expect(st.body).toMatchObject({ field: 'service_type', message: 'service_type: must be at most 5 characters' });
    const ton = await explain(msg({ source_addr_ton: 9 }));
    expect(ton.body.field).toBe('source_addr_ton');
    expect((await explain({ source_addr: '1' })).body.message).toMatch(/^(account|destination_addr): is required$/);
  });
});

describe('explain as at another time (at, RFC 3339)', () => {
  let s: AdminStack;
  const dir = mkdtempSync(join(tmpdir(), 'sg-explain-at-'));
  beforeAll(async () => {
    writeFileSync(
      join(dir, 'quiet.yaml'),
      'version: 1\nrules:\n  - id: quiet-hours\n    description: marketing only 08:00-21:00 Beijing time\n    match:\n      destination_country: CN\n      class: commercial\n      time: { outside: "08:00-21:00", tz: Asia/Shanghai }\n    action: { reject: { status: 0x404, reason: quiet_hours } }\n',
    );
    s = await startAdminStack({ cfg: (c) => void (c.rules = { ...c.rules, dir, watch: false }) });
    for (const [path, body] of [
      ['/api/v1/senders', { kind: 'number', value: '8610690001', account: 'esme', class: 'commercial', signatures: ['ACME'] }],
      ['/api/v1/consent', { msisdn: '8613800138010', scope: 'sender:number:8610690001', state: 'granted', channel: 'web', evidence: 'f-1' }],
    ] as const) {
      expect((await s.api('POST', path, { body })).status).toBeLessThan(300);
    }
  });
  afterAll(async () => {
    await s?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const msg = { account: 'esme', source_addr: '8610690001', destination_addr: '8613800138010', text: '【ACME】 sale' };

  it('the same message explains as forwarded at 10:00 and as quiet hours at 22:00 Shanghai time', async () => {
    const day = await s.api('POST', '/api/v1/explain', { body: { ...msg, at: '2026-12-05T10:00:00+08:00' } });
    expect(day.status).toBe(200);
    expect(day.body).toMatchObject({ action: 'forward', reason: 'consent_granted' });
    expect(day.body.trace[0]).toBe('decided as at 2026-12-05T02:00:00.000Z (at: 2026-12-05T10:00:00+08:00)');
    const night = await s.api('POST', '/api/v1/explain', { body: { ...msg, at: '2026-12-05T14:00:00Z' } });
    expect(night.body).toMatchObject({ action: 'reject', reason: 'quiet_hours', rule: 'quiet-hours', status: 0x404 });
  });

  it('refuses a time that is not RFC 3339 with an offset', async () => {
    for (const at of ['2026-12-05 10:00', '2026-12-05T10:00:00', 'tomorrow']) {
      const r = await s.api('POST', '/api/v1/explain', { body: { ...msg, at } });
      expect(r.status, at).toBe(400);
    }
  });

  it('smppguard explain --at asks the API and prints the decision and its trace', async () => {
    const run = (at: string) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const p = spawn(process.execPath, [join(process.cwd(), 'dist/src/cli/main.js'), 'explain', '--url', s.base, '-a', 'esme', '-f', '8610690001', '-t', '8613800138010', '--text', '【ACME】 sale', '--at', at], {
          env: { PATH: process.env.PATH ?? '', ADMIN_TOKEN: TOKENS.ops },
        });
        let out = '';
        p.stdout.on('data', (c: Buffer) => (out += c.toString()));
        p.once('exit', (code) => resolve({ code, out }));
      });
    const night = await run('2026-12-05T22:00:00+08:00');
    expect(night.code).toBe(0);
    expect(night.out).toMatch(/^decision {3}reject\nreason {5}quiet_hours: /);
    expect(night.out).toMatch(/\nrule {7}quiet-hours\ntrace\n {2}decided as at 2026-12-05T14:00:00\.000Z/);
  });
});
