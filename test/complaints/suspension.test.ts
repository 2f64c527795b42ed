/**
 * Must-show: complaint intake → automatic suspension → rejection of that sender's next message →
 * reinstatement, against a real gateway (SMSC simulator, real Redis), with a second gateway
 * instance on the same Redis showing that the suspension and the reinstatement reach it too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Status } from '../../src/protocol/status.js';
import { DlrMap } from '../../src/store/dlr-map.js';
import { startAdminStack, type AdminStack } from '../helpers/admin.js';
import type { EsmeClient } from '../helpers/esme-client.js';
import { sm, startGateway, waitFor, type GatewayStack } from '../helpers/stack.js';

const SENDER = '8610690001';
const SENDER_ID = `number:${SENDER}`;
const ALICE = '8613800138000';
const BOB = '8613800138001';
const CAROL = '8613800138002';

describe('complaints: intake, automatic suspension, rejection, reinstatement', () => {
  let s: AdminStack;
  let other: GatewayStack;
  let esme: EsmeClient;
  let esme2: EsmeClient;

  beforeAll(async () => {
    s = await startAdminStack({
      cfg: (c) => {
        c.complaints.auto_suspend = { threshold: 2, window: '1d', mode: 'enforce', sources: ['12321', '7726', 'customer_care'] };
      },
    });
    // A second instance sharing the first one's Redis data (same key prefix).
    other = await startGateway(s.sim.port, {
      cfg: (c) => {
        c.redis.key_prefix = s.prefix;
        c.policy.enabled = true;
      },
    });
    esme = await s.esme('transceiver');
    esme2 = await other.esme('transceiver');
    const created = await s.api('POST', '/api/v1/senders', {
      body: { kind: 'number', value: SENDER, account: 'esme', class: 'commercial', signatures: ['ACME'], channel: 'portal', evidence: 'LOA-1' },
    });
    expect(created.status).toBe(201);
    for (const msisdn of [ALICE, BOB, CAROL]) {
      const r = await s.api('POST', '/api/v1/consent', { body: { msisdn, scope: 'brand:ACME', state: 'granted', channel: 'web-form', evidence: `form-${msisdn}` } });
      expect(r.status).toBe(200);
    }
    await waitFor(() => other.gw.sync.registry.get(SENDER_ID) !== undefined, 2000, 'the second instance to learn the sender');
  });
  afterAll(async () => {
    await other?.stop();
    await s?.stop();
  });

  const submit = (client: EsmeClient, dest: string) =>
    client.submit(sm({ source_addr: SENDER, destination_addr: dest, registered_delivery: 1, short_message: '【ACME】 sale today, reply T to stop' }));

  it('resolves a complaint by message id, opens a case with deadlines, and counts it', async () => {
    const sent = await submit(esme, ALICE);
    expect(sent.status).toBe(Status.ESME_ROK);
    expect(sent.messageId).not.toBe('');
    // The id map is written once per event-loop turn after the SMSC answered: wait until it is there.
    const map = new DlrMap(s.gw.redis, s.prefix, s.cfg.receipts.map_ttl_s);
    for (let i = 0; i < 200 && !(await map.lookupMessage(sent.messageId)); i++) await new Promise((r) => setImmediate(r));
    expect(await map.lookupMessage(sent.messageId)).toEqual({ account: 'esme', sourceTon: 1, source: SENDER, destination: ALICE, gatewayId: null });

    const r = await s.api('POST', '/api/v1/complaints', {
      body: { recipient: '+8613800138000', message_id: sent.messageId.toUpperCase(), source: '12321', reference: '12321-2026-0001', time: new Date().toISOString() },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.case).toMatchObject({
      state: 'open',
      source: '12321',
      recipient: ALICE,
      resolved_by: 'message_id',
      account: 'esme',
      sender: SENDER_ID,
      sender_registered: true,
      remarks: [],
      overdue: { forward: false, handle: false },
    });
    expect(Date.parse(r.body.case.forward_due)).toBeGreaterThan(Date.now() + 86_400_000);
    expect(Date.parse(r.body.case.handle_due)).toBeGreaterThan(Date.parse(r.body.case.forward_due));
    expect(r.body.complaints_in_window).toBe(1);
    expect(r.body.suspension).toBe('none');
    expect(r.body.sender.status).toBe('active');
    expect(r.headers.get('location')).toBe(`/api/v1/complaints/${r.body.case.id}`);
  });

  it('the threshold-th complaint suspends the sender: its next message is rejected on both instances', async () => {
    // A 7726 report: the text and the reported sender, no message id.
    const r = await s.api('POST', '/api/v1/complaints', {
      token: 'crm',
      body: { recipient: BOB, sender: '+86 10690001', text: '【ACME】 sale today', source: '7726' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.case).toMatchObject({ resolved_by: 'sender', account: 'esme', sender: SENDER_ID });
    expect(r.body.complaints_in_window).toBe(2);
    expect(r.body.suspension).toBe('suspend');
    expect(r.body.sender).toMatchObject({ id: SENDER_ID, status: 'suspended', status_by: 'auto:complaints', updated_by: 'auto:complaints' });
    expect(r.body.sender.status_reason).toMatch(/^2 complaints within 1d \(threshold 2; latest case C\d{8}-\d{6}\)$/);
    expect(r.body.case.history.map((h: { event: string }) => h.event)).toEqual(['received', 'suspend']);

    // This instance at once; the other through the registry's pub/sub.
    expect((await submit(esme, CAROL)).status).toBe(Status.ESME_RINVSRCADR);
    await waitFor(() => other.gw.sync.registry.get(SENDER_ID)?.status === 'suspended', 2000, 'the suspension to reach the second instance');
    expect((await submit(esme2, CAROL)).status).toBe(Status.ESME_RINVSRCADR);
    const explained = await s.api('POST', '/api/v1/explain', { body: { account: 'esme', source_addr: SENDER, destination_addr: CAROL, text: '【ACME】 hi' } });
    expect(explained.body).toMatchObject({ reason: 'sender_suspended', status: Status.ESME_RINVSRCADR });

    // Visible in the registry listing and journaled.
    const listed = await s.api('GET', '/api/v1/senders?status=suspended');
    expect(listed.body.senders.map((x: { id: string }) => x.id)).toEqual([SENDER_ID]);
    const journal = await s.api('GET', `/api/v1/journal?sender=${SENDER_ID}&op=sender.suspend`);
    expect(journal.body.entries[0]).toMatchObject({ op: 'sender.suspend', who: 'auto:complaints', channel: 'complaints', evidence: r.body.case.id, status: 'suspended' });

    const metrics = await (await fetch(`${s.base}/metrics`)).text();
    expect(metrics).toMatch(/smppguard_sender_suspensions_total\{trigger="complaints",mode="enforce"\} 1/);
    expect(metrics).toMatch(/smppguard_complaints_total\{source="7726",resolved_by="sender"\} 1/);
    expect(metrics).toMatch(/smppguard_complaint_cases\{state="open"\} 2/);
    expect(metrics).toMatch(/smppguard_complaint_cases_overdue\{deadline="forward"\} 0/);
  });

  it('reinstatement through the API lets the next message through everywhere; older complaints stop counting', async () => {
    const r = await s.api('POST', `/api/v1/senders/${SENDER_ID}/reinstate`, { body: { reason: 'complaints reviewed: opt-in proven', channel: 'complaint', evidence: 'review-7' } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ status: 'active', status_by: 'ops', status_reason: 'complaints reviewed: opt-in proven' });
    expect((await submit(esme, CAROL)).status).toBe(Status.ESME_ROK);
    await waitFor(() => other.gw.sync.registry.get(SENDER_ID)?.status === 'active', 2000, 'the reinstatement to reach the second instance');
    expect((await submit(esme2, CAROL)).status).toBe(Status.ESME_ROK);
    const journal = await s.api('GET', `/api/v1/journal?sender=${SENDER_ID}&op=sender.reinstate`);
    expect(journal.body.entries[0]).toMatchObject({ who: 'ops', evidence: 'review-7', status: 'active', reason: 'complaints reviewed: opt-in proven' });

    // Reinstating an active sender is a conflict.
    const again = await s.api('POST', `/api/v1/senders/${SENDER_ID}/reinstate`, { body: {} });
    expect(again.status).toBe(409);

    // The next complaint counts from the reinstatement: 1 of 2, no suspension.
    const c = await s.api('POST', '/api/v1/complaints', { body: { recipient: CAROL, sender: SENDER, text: 'spam', source: 'customer_care' } });
    expect(c.body.complaints_in_window).toBe(1);
    expect(c.body.suspension).toBe('none');
    expect(s.gw.sync.registry.get(SENDER_ID)?.status).toBe('active');
  });

  it('cases move on: forward, handle, reject (stops counting); wrong moves are 409; lists filter', async () => {
    const open = (await s.api('GET', '/api/v1/complaints?state=open')).body.cases as { id: string; source: string }[];
    expect(open.length).toBe(3);
    const [newest, middle, oldest] = open;
    const fwd = await s.api('POST', `/api/v1/complaints/${oldest!.id}/forward`, { body: { note: 'sent to esme ops' } });
    expect(fwd.status).toBe(200);
    expect(fwd.body).toMatchObject({ state: 'forwarded', forwarded_to: 'esme', forwarded_late: false });
    expect((await s.api('POST', `/api/v1/complaints/${oldest!.id}/forward`, { body: {} })).status).toBe(409);
    const noResolution = await s.api('POST', `/api/v1/complaints/${oldest!.id}/handle`, { body: {} });
    expect(noResolution.status).toBe(409);
    expect(noResolution.body.field).toBe('resolution');
    const handled = await s.api('POST', `/api/v1/complaints/${oldest!.id}/handle`, { body: { resolution: 'account warned; recipient opted out' } });
    expect(handled.body).toMatchObject({ state: 'handled', handled_late: false, overdue: { forward: false, handle: false } });
    expect((await s.api('POST', `/api/v1/complaints/${middle!.id}/reject`, { body: { note: 'duplicate' } })).body.state).toBe('rejected');
    expect((await s.api('GET', '/api/v1/complaints/nope')).status).toBe(404);
    expect((await s.api('GET', `/api/v1/complaints?msisdn=${CAROL}`)).body.cases.map((c: { id: string }) => c.id)).toEqual([newest!.id]);
    const metrics = await (await fetch(`${s.base}/metrics`)).text();
    expect(metrics).toMatch(/smppguard_complaint_cases\{state="open"\} 1/);
    expect(metrics).toMatch(/smppguard_complaint_cases\{state="forwarded"\} 0/);
  });

  it('400 names the field of a bad complaint', async () => {
    const bad = async (body: Record<string, unknown>, field: string) => {
      const r = await s.api('POST', '/api/v1/complaints', { body });
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.field).toBe(field);
    };
    await bad({ recipient: 'call me', sender: SENDER, text: 'x', source: '12321' }, 'recipient');
    await bad({ recipient: ALICE, sender: SENDER, source: '12321' }, 'text');
    await bad({ recipient: ALICE, text: 'x', source: 'twitter' }, 'source');
    await bad({ recipient: ALICE, text: 'x', source: '12321', time: '2999-01-01T00:00:00Z' }, 'time');
  });
});
