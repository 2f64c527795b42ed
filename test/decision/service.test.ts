/**
 * The policy on live traffic: a gateway with policy on, the simulator behind it, the real Redis.
 * Every branch of the decision is driven by a real submit_sm over TCP.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Status } from '../../src/protocol/status.js';
import { Tag } from '../../src/protocol/tlv.js';
import { senderId, type SenderRecord } from '../../src/domain/sender.js';
import { fingerprintOf } from '../../src/rules/fingerprint.js';
import { foldChars } from '../../src/rules/normalise.js';
import type { EsmeClient } from '../helpers/esme-client.js';
import { sm, startStack, waitFor, type Stack } from '../helpers/stack.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const USER = '8613800138000';
const SENDER = '8610690001';
const actor = { who: 'test' };

let stack: Stack;
let esme: EsmeClient;

function rec(over: Partial<SenderRecord> = {}): SenderRecord {
  const kind = over.kind ?? 'number';
  const value = over.value ?? SENDER;
  return { id: senderId(kind, value), kind, value, account: 'esme', class: 'commercial', status: 'active', signatures: ['ACME'], ...over };
}

async function putSender(r: SenderRecord): Promise<void> {
  await stack.gw.store.putSender(r, actor);
  // Pub/sub brings it to the in-process registry.
  await waitFor(() => JSON.stringify(stack.gw.sync.registry.get(r.id)) === JSON.stringify(r), 1000, `sender ${r.id} in cache`);
}

const submit = (over: Record<string, string | number | Buffer> = {}) =>
  esme.submit(sm({ source_addr: SENDER, destination_addr: USER, ...over })).then((r) => r.status);

const AUDIT = join(mkdtempSync(join(tmpdir(), 'sg-audit-')), 'audit.log');

beforeAll(async () => {
  stack = await startStack({
    cfg: (c) => {
      c.policy.enabled = true;
      c.audit.destination = AUDIT;
      c.policy.classify.service_types = { MKT: 'commercial' };
      c.routes.mo = [];
    },
  });
  esme = await stack.esme('transceiver');
});
afterAll(() => stack.stop());

beforeEach(async () => {
  await putSender(rec());
  await stack.gw.store.deleteConsent(USER, 'brand:ACME', actor);
  await stack.gw.store.deleteConsent(USER, `sender:${senderId('number', SENDER)}`, actor);
  await stack.gw.store.deleteConsent(USER, 'account:esme', actor);
  await stack.gw.store.removeDnd(USER, null, actor);
});

describe('sender authorization', () => {
  it('rejects an unregistered (spoofed) sender with 0x0A and counts it', async () => {
    expect(await submit({ source_addr: '8610699999' })).toBe(Status.ESME_RINVSRCADR);
    const m = await stack.gw.metrics.text();
    expect(m).toMatch(/smppguard_spoofing_attempts_total\{account="esme",reason="sender_unregistered"\} 1$/m);
  });
  it('rejects a hidden sender', async () => {
    expect(await submit({ source_addr: '' })).toBe(Status.ESME_RINVSRCADR);
  });
  it("rejects a number registered to another account (borrowed) as spoofing", async () => {
    await putSender(rec({ value: '8610690077', account: 'other' }));
    expect(await submit({ source_addr: '8610690077' })).toBe(Status.ESME_RINVSRCADR);
    expect(await stack.gw.metrics.text()).toMatch(/smppguard_spoofing_attempts_total\{account="esme",reason="sender_not_owned"\} 1$/m);
  });
  it('rejects expired and suspended registrations', async () => {
    await putSender(rec({ valid_until: '2020-01-01T00:00:00Z' }));
    expect(await submit()).toBe(Status.ESME_RINVSRCADR);
    await putSender(rec({ status: 'suspended' }));
    expect(await submit()).toBe(Status.ESME_RINVSRCADR);
  });
  it('forwards a non-commercial message from an authorised sender without consent', async () => {
    await putSender(rec({ class: 'otp' }));
    expect(await submit()).toBe(0);
  });
  it('rejects commercial content from a service port with 0x103', async () => {
    await putSender(rec({ class: 'service' }));
    expect(await submit({ service_type: 'MKT' })).toBe(Status.ESME_RSERTYPDENIED);
  });
});

describe('consent and DND', () => {
  it('absent consent is refusal', async () => {
    expect(await submit()).toBe(Status.ESME_RSUBMITFAIL);
  });
  it('granted consent forwards; revoked rejects', async () => {
    await stack.gw.store.setConsent(USER, 'brand:ACME', 'granted', actor);
    expect(await submit()).toBe(0);
    await stack.gw.store.setConsent(USER, 'brand:ACME', 'revoked', actor);
    expect(await submit()).toBe(Status.ESME_RSUBMITFAIL);
  });
  it('a revocation in a narrower scope wins over a grant in a wider one', async () => {
    await stack.gw.store.setConsent(USER, 'account:esme', 'granted', actor);
    await stack.gw.store.setConsent(USER, `sender:${senderId('number', SENDER)}`, 'revoked', actor);
    expect(await submit()).toBe(Status.ESME_RSUBMITFAIL);
  });
  it('DND rejects without consent and is overridden by an explicit grant', async () => {
    await stack.gw.store.addDnd(USER, null, actor);
    expect(await submit()).toBe(Status.ESME_RSUBMITFAIL);
    const m = await stack.gw.metrics.text();
    expect(m).toMatch(/smppguard_decisions_total\{account="esme",action="reject",reason="dnd"\} \d+/);
    await stack.gw.store.setConsent(USER, 'brand:ACME', 'granted', actor);
    expect(await submit()).toBe(0);
  });
  it("records a forwarded commercial message's campaign fingerprint: of its text, a repeat's the same, the same bytes in another coding their own", async () => {
    await stack.gw.store.setConsent(USER, 'brand:ACME', 'granted', actor);
    // GSM 7-bit 0x5B 0x5C 0x5D are Ä Ö Ñ; as Latin-1 (data_coding 3) the same bytes are [ \ ].
    const bytes = Buffer.from('ACME sale \x5b\x5c\x5d today only, reply to join', 'latin1');
    const texts = { 0: 'ACME sale ÄÖÑ today only, reply to join', 3: 'ACME sale [\\] today only, reply to join' };
    const sent: [number, number][] = [
      [0, await submit({ short_message: bytes, data_coding: 0 })],
      [0, await submit({ short_message: bytes, data_coding: 0 })],
      [3, await submit({ short_message: bytes, data_coding: 3 })],
    ];
    expect(sent.map(([, status]) => status)).toEqual([0, 0, 0]);
    await stack.gw.auditStream!.flush();
    const { decisions } = await stack.gw.auditStream!.decisionsFor(USER, { match: (d) => d.decision === 'forward' });
    const fps = decisions.slice(-3).map((d) => d.fingerprint);
    const expected = sent.map(([dc]) => fingerprintOf(foldChars(texts[dc as 0 | 3])).id);
    expect(expected[0]).not.toBe(expected[2]);
    expect(fps).toEqual(expected);
  });
  it('explains a decision without sending anything', async () => {
    const submitsBefore = stack.sim.stats.submits;
    const explained = await stack.gw.decisions.explain({
      account: 'esme',
      source_addr: SENDER,
      destination_addr: USER,
    });
    expect(explained).toMatchObject({ action: 'reject', reason: 'no_consent', status: Status.ESME_RSUBMITFAIL, rule: 'policy/consent' });
    expect(explained.trace.join('\n')).toMatch(/consent needed in one of sender:number:8610690001, brand:ACME, account:esme/);
    expect(stack.sim.stats.submits).toBe(submitsBefore);
  });
});

describe('audit trail', () => {
  it('writes one JSON line per decision with reason, rule, status and the masked recipient', async () => {
    expect(await submit({ source_addr: '8610699998' })).toBe(Status.ESME_RINVSRCADR);
    await waitFor(() => readFileSync(AUDIT, 'utf8').includes('8610699998'), 2000, 'audit line on disk');
    const line = readFileSync(AUDIT, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.src === '8610699998');
    expect(line).toMatchObject({
      log: 'audit',
      account: 'esme',
      decision: 'reject',
      reason: 'sender_unregistered',
      rule: 'policy/sender-authorization',
      status: Status.ESME_RINVSRCADR,
      dst: '86138*****000',
    });
    // ISO-8601 UTC and a level name, like every other log line.
    expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Math.abs(Date.parse(line.time) - Date.now())).toBeLessThan(60_000);
    expect(line.level).toBe('info');
    expect(line.id).toMatch(/^[GQ][0-9a-z]+$/);
  });

  it('carries the gateway id on the decision line and, once the SMSC answered, a line joining it to the SMSC id', async () => {
    await putSender(rec({ class: 'otp' }));
    const r = await esme.submit(sm({ source_addr: SENDER, destination_addr: '8613800138111' }));
    expect(r.status).toBe(0);
    expect(r.messageId).not.toBe('');
    const lines = () => readFileSync(AUDIT, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    await waitFor(() => lines().some((l) => l.log === 'audit_smsc' && l.smsc_id === r.messageId), 2000, 'audit_smsc line');
    const joined = lines().find((l) => l.log === 'audit_smsc' && l.smsc_id === r.messageId);
    expect(joined).toMatchObject({ level: 'info', account: 'esme' });
    const decision = lines().filter((l) => l.log === 'audit' && l.id === joined.id);
    expect(decision).toHaveLength(1);
    expect(decision[0]).toMatchObject({ decision: 'forward', dst: '86138*****111' });
    // Every decision has its own id.
    const ids = lines().filter((l) => l.log === 'audit').map((l) => l.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("records a live forward as one decision with the SMSC's id; one the SMSC refused, without one", async () => {
    await putSender(rec({ class: 'otp' }));
    const to = '8613800138222';
    const taken = await esme.submit(sm({ source_addr: SENDER, destination_addr: to }));
    expect(taken.status).toBe(0);
    stack.sim.setBehaviour({ errorStatus: Status.ESME_RSYSERR, errorRatio: 1 });
    try {
      expect((await esme.submit(sm({ source_addr: SENDER, destination_addr: to }))).status).toBe(Status.ESME_RSYSERR);
    } finally {
      stack.sim.setBehaviour({ errorStatus: 0, errorRatio: 0 });
    }
    // Both answers are in: nothing is held any more.
    expect(stack.gw.auditStream!.held).toBe(0);
    await stack.gw.auditStream!.flush();
    const { decisions } = await stack.gw.auditStream!.decisionsFor(to);
    expect(decisions.map((d) => [d.decision, d.reason, d.smscId])).toEqual([
      ['forward', 'not_commercial', taken.messageId],
      ['forward', 'not_commercial', null],
    ]);
    expect(decisions[0]!.msgId).not.toBe(decisions[1]!.msgId);
  });
});

describe('opt-out by reply', () => {
  it('a "TD" reply revokes the brand scope; the MO still reaches the account; the next message is rejected', async () => {
    await stack.gw.store.setConsent(USER, 'brand:ACME', 'granted', actor);
    expect(await submit()).toBe(0);
    const before = esme.deliveries.length;
    expect(await stack.sim.injectMo({ source: USER, destination: SENDER, text: 'TD' })).toBe(true);
    await esme.waitDeliveries(before + 1, 2000);
    expect(esme.deliveries.at(-1)!.view.shortMessage.toString()).toBe('TD');
    expect(await submit()).toBe(Status.ESME_RSUBMITFAIL);
    const journal = await stack.gw.store.journalEntries({ msisdn: USER, count: 20 });
    expect(journal[0]).toMatchObject({ op: 'consent.revoke', who: 'mo-reply', channel: 'sms-reply', scope: 'brand:ACME' });
  });
  it('"退订" in UCS-2 revokes too, and START re-grants', async () => {
    await stack.gw.store.setConsent(USER, 'brand:ACME', 'granted', actor);
    expect(await stack.sim.injectMo({ source: USER, destination: SENDER, text: '退订' })).toBe(true);
    expect(await submit()).toBe(Status.ESME_RSUBMITFAIL);
    expect(await stack.sim.injectMo({ source: USER, destination: SENDER, text: 'START' })).toBe(true);
    expect(await submit()).toBe(0);
  });
});

describe('concatenated messages', () => {
  it('decides a concatenated message once, on all its parts, and gives every part that decision', async () => {
    await stack.gw.store.setConsent(USER, 'brand:ACME', 'granted', actor);
    const part = (seq: number, ref = 0x42) =>
      submit({ esm_class: 0x40, short_message: Buffer.concat([Buffer.from([5, 0, 3, ref, 2, seq]), Buffer.from(`part ${seq}`)]) });
    const submitsBefore = stack.sim.stats.submits;
    // Part 1 is held until part 2 arrives; both then get one decision.
    expect(await Promise.all([part(1), part(2)])).toEqual([0, 0]);
    expect(stack.sim.stats.submits).toBe(submitsBefore + 2);
    await stack.gw.store.setConsent(USER, 'brand:ACME', 'revoked', actor);
    // A retransmitted part of the decided message gets the same decision as before.
    expect(await part(2)).toBe(0);
    // A new message (another reference) is decided afresh.
    expect(await submit()).toBe(Status.ESME_RSUBMITFAIL);
    // SAR TLVs tie parts together too.
    const sar = (seq: number) =>
      esme
        .submit(sm({ source_addr: SENDER, destination_addr: USER, short_message: `sar ${seq}` }), [
          { tag: Tag.sar_msg_ref_num, value: Buffer.from([0x01, 0x07]) },
          { tag: Tag.sar_total_segments, value: Buffer.from([2]) },
          { tag: Tag.sar_segment_seqnum, value: Buffer.from([seq]) },
        ])
        .then((r) => r.status);
    const first = sar(1);
    await new Promise((r) => setTimeout(r, 50));
    await stack.gw.store.setConsent(USER, 'brand:ACME', 'granted', actor);
    // Decided when part 2 arrives, on the state at that moment, for both parts.
    expect(await Promise.all([first, sar(2)])).toEqual([0, 0]);
  });

  it('decides a part on its own when the rest never comes (hold time)', async () => {
    const t0 = Date.now();
    const lone = await submit({ esm_class: 0x40, short_message: Buffer.concat([Buffer.from([5, 0, 3, 0x77, 3, 1]), Buffer.from('alone')]) });
    expect(lone).toBe(Status.ESME_RSUBMITFAIL);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
  });
});
