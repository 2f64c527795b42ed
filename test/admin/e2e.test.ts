/**
 * End to end: policy data written through the admin API decides real submits from a bound ESME.
 * A sender created through the API is used by the next submit (within 1 s, here at once on this
 * instance; another instance's write arrives through pub/sub), consent granted through the API
 * lets a commercial message through, and revoking it rejects the next one with ESME_RSUBMITFAIL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, connectRedis } from '../../src/store/redis.js';
import { PolicyAdmin } from '../../src/store/policy-admin.js';
import { Status } from '../../src/protocol/status.js';
import { startAdminStack, type AdminStack } from '../helpers/admin.js';
import { sm, waitFor } from '../helpers/stack.js';
import type { EsmeClient } from '../helpers/esme-client.js';

describe('admin API end to end', () => {
  let s: AdminStack;
  let esme: EsmeClient;
  beforeAll(async () => {
    s = await startAdminStack();
    esme = await s.esme('transceiver');
  });
  afterAll(async () => {
    await s?.stop();
  });

  const submit = (source: string, dest = '8613800138000', over: Record<string, string | number> = {}) =>
    esme.submit(sm({ source_addr: source, destination_addr: dest, ...over }));

  it('sender + consent through the API forward a real submit; revoking through the API rejects the next', async () => {
    expect((await submit('8610690001')).status).toBe(Status.ESME_RINVSRCADR);

    const t0 = Date.now();
    const created = await s.api('POST', '/api/v1/senders', { body: { kind: 'number', value: '+8610690001', account: 'esme', signatures: ['ACME'] } });
    expect(created.status).toBe(201);
    // Commercial without consent: the sender is known (no longer 0x0A), consent is missing.
    const noConsent = await submit('8610690001');
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(noConsent.status).toBe(Status.ESME_RSUBMITFAIL);

    const granted = await s.api('POST', '/api/v1/consent', {
      body: { msisdn: '013800138000', scope: 'brand:ACME', state: 'granted', channel: 'web-form', evidence: 'form-42' },
    });
    expect(granted.status).toBe(200);
    const before = s.sim.stats.submits;
    const ok = await submit('8610690001');
    expect(ok.status).toBe(Status.ESME_ROK);
    expect(ok.messageId).not.toBe('');
    expect(s.sim.stats.submits).toBe(before + 1);

    const revoked = await s.api('POST', '/api/v1/consent', {
      token: 'crm',
      body: { msisdn: '+8613800138000', scope: 'brand:ACME', state: 'revoked', channel: 'sms-reply', evidence: 'MO TD' },
    });
    expect(revoked.status).toBe(200);
    const rejected = await submit('8610690001');
    expect(rejected.status).toBe(Status.ESME_RSUBMITFAIL);
    expect(s.sim.stats.submits).toBe(before + 1);

    const explained = await s.api('POST', '/api/v1/explain', { body: { account: 'esme', source_addr: '8610690001', destination_addr: '8613800138000' } });
    expect(explained.body).toMatchObject({ reason: 'consent_revoked', status: Status.ESME_RSUBMITFAIL });
  });

  it('suspending the sender through the API rejects its next submit with 0x0A', async () => {
    await s.api('POST', '/api/v1/senders', { body: { kind: 'number', value: '8610690005', account: 'esme', class: 'otp' } });
    expect((await submit('8610690005')).status).toBe(Status.ESME_ROK);
    await s.api('PATCH', '/api/v1/senders/number:8610690005', { body: { status: 'suspended', channel: 'complaint' } });
    expect((await submit('8610690005')).status).toBe(Status.ESME_RINVSRCADR);
    await s.api('DELETE', '/api/v1/senders/number:8610690005');
    expect((await submit('8610690005')).status).toBe(Status.ESME_RINVSRCADR);
  });

  it("another instance's sender write reaches this gateway through pub/sub within 1 s", async () => {
    const redis = createRedis(s.cfg.redis);
    try {
      expect(await connectRedis(redis, 2000)).toBe(true);
      const other = new PolicyAdmin(redis, s.prefix, 86_400_000);
      const t0 = Date.now();
      await other.putSender(
        { id: 'number:8610690007', kind: 'number', value: '8610690007', account: 'esme', class: 'service', status: 'active', signatures: [] },
        { who: 'instance-b' },
      );
      await waitFor(() => s.gw.sync.registry.get('number:8610690007') !== undefined, 1000, 'the sender via pub/sub');
      expect(Date.now() - t0).toBeLessThan(1000);
      expect((await submit('8610690007')).status).toBe(Status.ESME_ROK);
      const got = await s.api('GET', '/api/v1/senders/number:8610690007');
      expect(got.body.account).toBe('esme');
    } finally {
      redis.disconnect();
    }
  });

  it('the journal holds the evidence trail of these writes', async () => {
    const r = await s.api('GET', '/api/v1/journal?msisdn=8613800138000');
    expect(r.body.entries.map((e: Record<string, string>) => `${e.op}/${e.who}/${e.channel}/${e.evidence}`)).toEqual([
      'consent.revoke/crm/sms-reply/MO TD',
      'consent.grant/ops/web-form/form-42',
    ]);
  });
});
