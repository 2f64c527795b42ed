/**
 * Sender status bookkeeping through the API (status_reason kept until the status changes;
 * status_by/status_at follow status changes), complaint auto-suspension in monitor mode (counted
 * and recorded, nothing suspended), and the new endpoints in the OpenAPI document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Status } from '../../src/protocol/status.js';
import { startAdminStack, type AdminStack } from '../helpers/admin.js';
import { sm } from '../helpers/stack.js';

const ID = 'number:8610690007';

describe('sender status and monitor-mode suspension', () => {
  let s: AdminStack;
  beforeAll(async () => {
    s = await startAdminStack({
      cfg: (c) => {
        c.complaints.auto_suspend.threshold = 2;
        c.complaints.auto_suspend.mode = 'monitor';
      },
    });
    expect((await s.api('POST', '/api/v1/senders', { body: { kind: 'number', value: '8610690007', account: 'esme' } })).status).toBe(201);
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('status_by/status_at follow status changes; status_reason stays until the next one', async () => {
    const created = (await s.api('GET', `/api/v1/senders/${ID}`)).body;
    expect(created).toMatchObject({ status: 'active', status_by: 'ops' });
    const suspended = await s.api('PATCH', `/api/v1/senders/${ID}`, { token: 'crm', body: { status: 'suspended', status_reason: 'regulator notice 88' } });
    expect(suspended.body).toMatchObject({ status: 'suspended', status_reason: 'regulator notice 88', status_by: 'crm' });
    // Another field changes: the status bookkeeping stays.
    const signed = await s.api('PATCH', `/api/v1/senders/${ID}`, { body: { signatures: ['ACME'] } });
    expect(signed.body).toMatchObject({ status: 'suspended', status_reason: 'regulator notice 88', status_by: 'crm', status_at: suspended.body.status_at, updated_by: 'ops' });
    // A PUT without a reason keeps it while the status is unchanged.
    const put = await s.api('PUT', `/api/v1/senders/${ID}`, { body: { account: 'esme', status: 'suspended', signatures: ['ACME'] } });
    expect(put.body).toMatchObject({ status_reason: 'regulator notice 88', status_by: 'crm' });
    // The status changes without a reason: the old reason goes.
    const active = await s.api('PATCH', `/api/v1/senders/${ID}`, { body: { status: 'active' } });
    expect(active.body.status).toBe('active');
    expect(active.body.status_reason).toBeUndefined();
    expect(active.body.status_by).toBe('ops');
    const j = await s.api('GET', `/api/v1/journal?sender=${ID}&op=sender.put`);
    expect(j.body.entries.some((e: Record<string, string>) => e.reason === 'regulator notice 88' && e.status === 'suspended')).toBe(true);
  });

  it('monitor mode: the threshold is counted and recorded, the sender keeps sending', async () => {
    const complain = (recipient: string) => s.api('POST', '/api/v1/complaints', { body: { recipient, sender: '8610690007', text: 'spam', source: '12321' } });
    expect((await complain('8613800138000')).body.suspension).toBe('none');
    const second = await complain('8613800138001');
    expect(second.body).toMatchObject({ complaints_in_window: 2, suspension: 'would_suspend', sender: { status: 'active' } });
    expect(second.body.case.history.map((h: { event: string }) => h.event)).toEqual(['received', 'would_suspend']);
    expect(s.gw.sync.registry.get(ID)?.status).toBe('active');
    const esme = await s.esme();
    const r = await esme.submit(sm({ source_addr: '8610690007', destination_addr: '8613800138002' }));
    // Not suspended: the message gets past sender authorization (and fails on consent instead).
    expect(r.status).toBe(Status.ESME_RSUBMITFAIL);
    const metrics = await (await fetch(`${s.base}/metrics`)).text();
    expect(metrics).toMatch(/smppguard_sender_suspensions_total\{trigger="complaints",mode="monitor"\} 1/);
  });

  it('the OpenAPI document describes complaints, reinstatement and evidence', async () => {
    const doc = (await s.api('GET', '/openapi.json', { token: null })).body;
    for (const p of ['/api/v1/complaints', '/api/v1/complaints/{id}', '/api/v1/complaints/{id}/{action}', '/api/v1/senders/{id}/reinstate', '/api/v1/evidence/{msisdn}']) {
      expect(doc.paths[p], p).toBeDefined();
    }
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['ComplaintCase', 'ComplaintIntake']));
    expect(doc.paths['/api/v1/complaints'].post.requestBody.content['application/json'].schema.properties.source.enum).toEqual(['12321', '7726', 'customer_care']);
  });
});
