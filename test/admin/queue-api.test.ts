/** The queue's admin routes over real HTTP: list review, inspect, approve, reject, bulk, depth, errors; a verdict's campaign mark. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { senderId } from '../../src/domain/sender.js';
import { fingerprintOf } from '../../src/rules/fingerprint.js';
import { foldChars } from '../../src/rules/normalise.js';
import { startAdminStack, type AdminStack } from '../helpers/admin.js';
import { sm, waitFor } from '../helpers/stack.js';

const SENDER = '8610690002';
let stack: AdminStack | null = null;
afterEach(async () => {
  await stack?.stop();
  stack = null;
});

async function start(queueEnabled = true): Promise<AdminStack> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-qapi-'));
  writeFileSync(
    join(dir, 'review.yaml'),
    `version: 1
rules:
  - id: hold-links
    description: messages with links wait for an operator
    match: { text: { contains_any: ["http"] } }
    action: ${queueEnabled ? '{ queue: review }' : '{ forward: true }'}
`,
  );
  stack = await startAdminStack({
    cfg: (c) => {
      c.rules = { dir, watch: false };
      c.queue.enabled = queueEnabled;
    },
  });
  const rec = { id: senderId('number', SENDER), kind: 'number' as const, value: SENDER, account: 'esme', class: 'otp' as const, status: 'active' as const, signatures: [] };
  await stack.gw.store.putSender(rec, { who: 'test' });
  await waitFor(() => stack!.gw.sync.registry.get(rec.id) !== undefined, 1000, 'sender cached');
  return stack;
}

describe('queue admin API', () => {
  it('lists, inspects, approves, rejects and bulk-decides held messages; 404s say what is missing', async () => {
    const s = await start();
    const esme = await s.esme('transmitter');
    const ids: string[] = [];
    for (const t of ['see http://a.example', 'see http://b.example', 'see http://c.example']) {
      const r = await esme.submit(sm({ source_addr: SENDER, short_message: t }));
      expect(r.status).toBe(0);
      ids.push(r.messageId);
    }
    const list = await s.api('GET', '/api/v1/queue/review?rule=hold-links');
    expect(list.status).toBe(200);
    expect(list.body.count).toBe(3);
    expect(list.body.messages.map((m: { id: string }) => m.id)).toEqual(ids);

    const one = await s.api('GET', `/api/v1/queue/messages/${ids[0]}`);
    expect(one.body).toMatchObject({ id: ids[0], queue: 'review', account: 'esme', rule: 'hold-links', text: 'see http://a.example', source_addr: SENDER });

    expect((await s.api('POST', `/api/v1/queue/review/${ids[0]}/approve`)).body).toEqual({ id: ids[0], decision: 'approve' });
    expect((await s.api('POST', `/api/v1/queue/review/${ids[1]}/reject`)).body).toEqual({ id: ids[1], decision: 'reject' });
    const again = await s.api('POST', `/api/v1/queue/review/${ids[1]}/reject`);
    expect(again.status).toBe(404);
    expect(again.body.message).toBe(`no message ${ids[1]} waits for review`);
    expect((await s.api('GET', '/api/v1/queue/depth/esme')).body).toEqual({ account: 'esme', queued: 1 });

    const bulk = await s.api('POST', '/api/v1/queue/review/bulk', { body: { rule: 'hold-links', decision: 'approve' } });
    expect(bulk.body).toEqual({ rule: 'hold-links', decision: 'approve', count: 1 });
    await waitFor(() => s.sim.stats.submits >= 2, 3000, 'approved messages at the SMSC');
    // The SMSC has it before its submit_sm_resp takes the message off the queue's depth.
    let depth = -1;
    for (const until = Date.now() + 3000; depth !== 0 && Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
      depth = (await s.api('GET', '/api/v1/queue/depth/esme')).body.queued;
    }
    expect(depth).toBe(0);

    expect((await s.api('GET', '/api/v1/queue/messages/Qnope')).status).toBe(404);
    const badAccount = await s.api('GET', '/api/v1/queue/depth/nobody');
    expect([badAccount.status, badAccount.body.message]).toEqual([400, 'account: no account "nobody" is configured (accounts[].system_id)']);
    const badBody = await s.api('POST', '/api/v1/queue/review/bulk', { body: { rule: 'x', decision: 'maybe' } });
    expect(badBody.status).toBe(400);
    expect((await s.api('GET', '/api/v1/queue/review', { token: null })).status).toBe(401);
    const doc = await s.api('GET', '/openapi.json', { token: null });
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/api/v1/queue/review', '/api/v1/queue/review/bulk', '/api/v1/queue/messages/{id}']));
  });

  it("a reviewer's verdict marks the campaign fingerprint, one by one and in bulk", async () => {
    const s = await start();
    const esme = await s.esme('transmitter');
    // GSM 7-bit texts (sm() sends data_coding 0); the last two one campaign.
    const texts = ['ACME: Win a phone, details at http://x.example/1 now', 'ACME: Free gift card, claim at http://y.example/2 today', 'ACME: Free gift card, claim at http://y.example/3 today'];
    for (const t of texts) expect((await esme.submit(sm({ source_addr: SENDER, short_message: t }))).status).toBe(0);
    const [first] = (await s.api('GET', '/api/v1/queue/review?rule=hold-links')).body.messages as { id: string }[];
    const markOf = (t: string) => {
      const fp = fingerprintOf(foldChars(t));
      return s.gw.intel!.index.markOf(fp.id, fp.bands, Date.now())?.verdict ?? null;
    };
    expect(markOf(texts[0]!)).toBeNull();
    expect((await s.api('POST', `/api/v1/queue/review/${first!.id}/approve`)).status).toBe(200);
    await waitFor(() => markOf(texts[0]!) === 'allowed', 1000, 'approve marks allowed');
    const bulk = await s.api('POST', '/api/v1/queue/review/bulk', { body: { rule: 'hold-links', decision: 'reject' } });
    expect(bulk.body.count).toBe(2);
    await waitFor(() => markOf(texts[1]!) === 'rejected' && markOf(texts[2]!) === 'rejected', 1000, 'bulk reject marks rejected');
  });

  it('without the queue the routes answer 503 with the reason', async () => {
    const s = await start(false);
    const r = await s.api('GET', '/api/v1/queue/review');
    expect([r.status, r.body.message]).toEqual([503, 'this gateway runs without its queue (queue.enabled: false)']);
  });
});
