/**
 * ESME → SMSC through the relay: what each verdict does (forward, reject, queue; now or later),
 * sequence-number restoration and message-id recording on the way back, malformed submits,
 * query_sm/cancel_sm passthrough, and store-and-forward.
 */
import { describe, expect, it } from 'vitest';
import { Command } from '../../src/protocol/commands.js';
import { encodeEmpty, encodePdu, genericNack } from '../../src/protocol/encode.js';
import { Status } from '../../src/protocol/status.js';
import { head, settle, valueOf } from '../helpers/fake-link.js';
import { rawPdu, submitPdu, submitResp } from '../helpers/pdus.js';
import { accountCfg } from '../upstream/helpers.js';
import { relayRig } from './helpers.js';

/** The SMSC's copy of each forwarded request, answered with `status` (and an id when 0). */
async function smscAnswers(r: Awaited<ReturnType<typeof relayRig>>, status = 0, idPrefix = 'SMSC-'): Promise<Buffer[]> {
  await settle();
  const got = r.smsc.take();
  for (const p of got) r.smsc.send(submitResp(head(p).sequence, status, status === 0 ? `${idPrefix}${head(p).sequence}` : ''));
  await settle();
  return got;
}

describe('forward', () => {
  it("forwards the ESME's bytes with only the sequence changed, and answers with the SMSC's response under the ESME's sequence", async () => {
    const r = await relayRig();
    const { session, peer } = await r.esme('transmitter');
    const pdu = submitPdu(77, { short_message: 'hello there' });
    peer.send(pdu);
    const [fwd] = await smscAnswers(r, 0, 'SMSC-ID-');
    expect(fwd!.subarray(0, 12)).toEqual(pdu.subarray(0, 12));
    expect(fwd!.subarray(16)).toEqual(pdu.subarray(16));
    const smscSeq = head(fwd!).sequence;
    expect(peer.take()).toEqual([submitResp(77, 0, `SMSC-ID-${smscSeq}`)]);
    expect(session.outstanding).toBe(0);
    expect(r.policy.seen.map((c) => [c.account, c.view.sourceAddr, c.view.destinationAddr])).toEqual([['esme', '10690001', '8613800138000']]);
    expect(await valueOf(r.metrics.decisions, { account: 'esme', action: 'forward', reason: 'test' })).toBe(1);
  });

  it('keeps every ESME sequence apart when several sessions use the same numbers', async () => {
    const r = await relayRig();
    const a = await r.esme('transmitter');
    const b = await r.esme('transmitter', 'other');
    a.peer.send(submitPdu(5, { short_message: 'from a' }));
    b.peer.send(submitPdu(5, { short_message: 'from b' }));
    a.peer.send(submitPdu(6, { short_message: 'from a again' }));
    const fwd = await smscAnswers(r);
    expect(new Set(fwd.map((p) => head(p).sequence)).size).toBe(3);
    const idOf = (text: string) => `SMSC-${head(fwd.find((p) => p.includes(Buffer.from(text)))!).sequence}`;
    expect(a.peer.take()).toEqual([submitResp(5, 0, idOf('from a')), submitResp(6, 0, idOf('from a again'))]);
    expect(b.peer.take()).toEqual([submitResp(5, 0, idOf('from b'))]);
  });

  it('records the message id for receipt routing when the ESME asked for a receipt', async () => {
    const r = await relayRig();
    const { peer } = await r.esme('transmitter');
    peer.send(submitPdu(1, { registered_delivery: 1, source_addr_ton: 5, source_addr: 'ACME' }));
    peer.send(submitPdu(2, { registered_delivery: 0 }));
    const fwd = await smscAnswers(r);
    expect(r.dlrMap.recorded).toEqual([[`SMSC-${head(fwd[0]!).sequence}`, 'esme', 5, 'ACME', '8613800138000']]);
  });

  it('records every message id with receipts.map_all, but never a refused one', async () => {
    const r = await relayRig({ deps: { mapAllMessageIds: true } });
    const { peer } = await r.esme('transmitter');
    peer.send(submitPdu(1));
    await smscAnswers(r);
    peer.send(submitPdu(2));
    await smscAnswers(r, Status.ESME_RINVDSTADR);
    expect(r.dlrMap.recorded).toHaveLength(1);
    expect(peer.take().map(head).map((h) => [h.sequence, h.status])).toEqual([
      [1, 0],
      [2, Status.ESME_RINVDSTADR],
    ]);
  });

  it("passes the SMSC's error response back with the ESME's sequence", async () => {
    const r = await relayRig();
    const { peer } = await r.esme('transmitter');
    peer.send(submitPdu(9));
    await smscAnswers(r, Status.ESME_RTHROTTLED);
    expect(peer.take()).toEqual([encodeEmpty(Command.submit_sm_resp, Status.ESME_RTHROTTLED, 9)]);
  });

  it('answers ESME_RSYSERR when no SMSC bind is up, and when the SMSC does not answer in time', async () => {
    const r = await relayRig({ responseTimeoutMs: 1000 });
    const { session, peer } = await r.esme('transmitter');
    peer.send(submitPdu(1));
    await settle();
    r.clock.advance(1001);
    await settle();
    expect(peer.take()).toEqual([encodeEmpty(Command.submit_sm_resp, Status.ESME_RSYSERR, 1)]);
    r.smsc.stream.destroy();
    await settle();
    peer.send(submitPdu(2));
    await settle();
    expect(peer.take()).toEqual([encodeEmpty(Command.submit_sm_resp, Status.ESME_RSYSERR, 2)]);
    expect(session.outstanding).toBe(0);
  });

  it('forwards data_sm like submit_sm', async () => {
    const r = await relayRig();
    const { peer } = await r.esme('transmitter');
    const pdu = encodePdu(Command.data_sm, 0, 40, { source_addr_ton: 1, source_addr: '10690001', destination_addr: '8613800138000', registered_delivery: 1 });
    peer.send(pdu);
    await settle();
    const [fwd] = r.smsc.take();
    expect(fwd!.subarray(16)).toEqual(pdu.subarray(16));
    r.smsc.send(encodePdu(Command.data_sm_resp, 0, head(fwd!).sequence, { message_id: 'D1' }));
    await settle();
    expect(peer.take()).toEqual([encodePdu(Command.data_sm_resp, 0, 40, { message_id: 'D1' })]);
    expect(r.dlrMap.recorded).toEqual([['D1', 'esme', 1, '10690001', '8613800138000']]);
    expect(r.policy.seen).toHaveLength(1);
  });
});

describe('reject', () => {
  it("answers the verdict's status without contacting the SMSC", async () => {
    const r = await relayRig();
    r.policy.verdict = { action: 'reject', status: 0x401, reason: 'no_consent' };
    const { session, peer } = await r.esme('transmitter');
    peer.send(submitPdu(12));
    await settle();
    expect(peer.take()).toEqual([encodeEmpty(Command.submit_sm_resp, 0x401, 12)]);
    expect(r.smsc.take()).toEqual([]);
    expect(session.outstanding).toBe(0);
    expect(await valueOf(r.metrics.decisions, { account: 'esme', action: 'reject', reason: 'no_consent' })).toBe(1);
  });

  it('applies a verdict that arrives later (the policy asked Redis)', async () => {
    const r = await relayRig();
    r.policy.verdict = null;
    const { session, peer } = await r.esme('transmitter');
    peer.send(submitPdu(1));
    peer.send(submitPdu(2));
    await settle();
    expect(r.policy.pending).toHaveLength(2);
    expect(session.outstanding).toBe(2);
    r.policy.pending[1]!({ action: 'reject', status: Status.ESME_RINVSRCADR, reason: 'unknown_sender' });
    r.policy.pending[0]!({ action: 'forward', reason: 'ok' });
    await smscAnswers(r);
    expect(peer.take().map(head).map((h) => [h.sequence, h.status])).toEqual([
      [2, Status.ESME_RINVSRCADR],
      [1, 0],
    ]);
  });

  it('times each submit from its arrival to its verdict, by action (smppguard_decision_seconds)', async () => {
    const r = await relayRig();
    r.policy.verdict = (ctx) => (ctx.view.sequence === 1 ? { action: 'reject', status: 0x401, reason: 'no_consent' } : null);
    const { peer } = await r.esme('transmitter');
    peer.send(submitPdu(1));
    peer.send(submitPdu(2));
    await settle();
    // The second one's verdict comes ~60 ms later (a Redis round trip that took that long).
    await new Promise((resolve) => setTimeout(resolve, 60));
    r.policy.pending[0]!({ action: 'forward', reason: 'ok' });
    await smscAnswers(r);
    const { values } = await r.metrics.decisionSeconds.get();
    /** Observations of `action` within `le` seconds. */
    const within = (action: string, le: number | string) => values.find((v) => v.metricName === 'smppguard_decision_seconds_bucket' && v.labels.action === action && v.labels.le === le)?.value;
    expect(within('reject', '+Inf')).toBe(1);
    expect(within('reject', 0.025)).toBe(1);
    expect(within('forward', '+Inf')).toBe(1);
    expect(within('forward', 0.025)).toBe(0);
    expect(within('forward', 2.5)).toBe(1);
  });

  it('answers ESME_RSYSERR when the policy throws, and the session carries on', async () => {
    const r = await relayRig();
    r.policy.verdict = () => {
      throw new Error('bug');
    };
    const { session, peer } = await r.esme('transmitter');
    peer.send(submitPdu(3));
    await settle();
    expect(peer.take()).toEqual([encodeEmpty(Command.submit_sm_resp, Status.ESME_RSYSERR, 3)]);
    expect(session.outstanding).toBe(0);
    expect(session.state).toBe('BOUND');
    expect(await valueOf(r.metrics.decisions, { account: 'esme', action: 'reject', reason: 'policy_error' })).toBe(1);
  });
});

describe('malformed requests', () => {
  it('answers a submit_sm whose body ends early with generic_nack ESME_RINVCMDLEN', async () => {
    const r = await relayRig();
    const { session, peer } = await r.esme('transmitter');
    peer.send(rawPdu(Command.submit_sm, 21, Buffer.from([0, 1, 1])));
    await settle();
    expect(peer.take()).toEqual([genericNack(Status.ESME_RINVCMDLEN, 21)]);
    expect(r.policy.seen).toEqual([]);
    expect(r.smsc.take()).toEqual([]);
    expect(session.outstanding).toBe(0);
  });

  it('answers a submit_sm with a bad field with that field\'s status', async () => {
    const r = await relayRig();
    const { peer } = await r.esme('transmitter');
    // source_addr longer than its 21 octets.
    const body = Buffer.concat([Buffer.from([0, 1, 1]), Buffer.from('1'.repeat(30)), Buffer.from([0])]);
    peer.send(rawPdu(Command.submit_sm, 22, body));
    // short_message runs past the end of the PDU.
    const good = submitPdu(23, { short_message: 'abc' });
    const trunc = Buffer.from(good.subarray(0, good.length - 1));
    trunc.writeUInt32BE(trunc.length, 0);
    peer.send(trunc);
    await settle();
    expect(peer.take().map(head)).toEqual([
      { length: 16, command: Command.submit_sm_resp, status: Status.ESME_RINVSRCADR, sequence: 22 },
      { length: 16, command: Command.submit_sm_resp, status: Status.ESME_RINVMSGLEN, sequence: 23 },
    ]);
    expect(await valueOf(r.metrics.malformed, { side: 'upstream', reason: 'source_addr' })).toBe(1);
    expect(r.smsc.take()).toEqual([]);
  });
});

describe('query_sm and cancel_sm', () => {
  it('pass through without a policy decision, ids unchanged, answered under the ESME sequence', async () => {
    const r = await relayRig();
    const { peer } = await r.esme('transmitter');
    const q = encodePdu(Command.query_sm, 0, 50, { message_id: 'SMSC-7', source_addr: '10690001' });
    peer.send(q);
    await settle();
    const [fwd] = r.smsc.take();
    expect(fwd!.subarray(16)).toEqual(q.subarray(16));
    r.smsc.send(encodePdu(Command.query_sm_resp, 0, head(fwd!).sequence, { message_id: 'SMSC-7', final_date: '', message_state: 2, error_code: 0 }));
    await settle();
    expect(peer.take()).toEqual([encodePdu(Command.query_sm_resp, 0, 50, { message_id: 'SMSC-7', final_date: '', message_state: 2, error_code: 0 })]);
    expect(r.policy.seen).toEqual([]);
    expect(r.dlrMap.recorded).toEqual([]);
  });

  it('refuse a malformed query_sm without forwarding it', async () => {
    const r = await relayRig();
    const { peer } = await r.esme('transmitter');
    peer.send(rawPdu(Command.query_sm, 51, Buffer.from('no-terminator', 'latin1')));
    peer.send(rawPdu(Command.cancel_sm, 52));
    await settle();
    expect(peer.take()).toEqual([encodeEmpty(Command.query_sm_resp, Status.ESME_RINVMSGID, 51), genericNack(Status.ESME_RINVCMDLEN, 52)]);
    expect(r.smsc.take()).toEqual([]);
  });
});

describe('queue verdicts', () => {
  it('stores the message, then answers ESME_ROK with the gateway message id', async () => {
    const r = await relayRig();
    const releaseAt = r.clock.now() + 3_600_000;
    r.policy.verdict = { action: 'queue', queue: 'until-window', reason: 'quiet_hours', rule: 'cn-miit/quiet', releaseAt };
    const { session, peer } = await r.esme('transmitter');
    const pdu = submitPdu(60, { validity_period: '000001000000000R' }); // one day
    peer.send(pdu);
    await settle();
    expect(peer.take()).toEqual([submitResp(60, 0, 'gw-1')]);
    expect(r.smsc.take()).toEqual([]);
    expect(session.outstanding).toBe(0);
    const now = r.clock.now();
    expect(r.queue!.queued).toEqual([
      { id: 'gw-1', account: 'esme', queue: 'window', pdu, rule: 'cn-miit/quiet', reason: 'quiet_hours', acceptedAt: now, releaseAt, expiresAt: now + 86_400_000 },
    ]);
  });

  it("queues for review, releases at once when no time is given, and caps expiry at the account's max age", async () => {
    const r = await relayRig({ accounts: [accountCfg({ system_id: 'esme', queue: { max_age_s: 60 } })] });
    r.policy.verdict = { action: 'queue', queue: 'review', reason: 'needs_review', rule: 'r1', releaseAt: null };
    const { peer } = await r.esme('transmitter');
    peer.send(submitPdu(61, { validity_period: '000001000000000R' }));
    await settle();
    const now = r.clock.now();
    expect(r.queue!.queued.map((m) => [m.queue, m.releaseAt, m.expiresAt])).toEqual([['review', now, now + 60_000]]);
  });

  it('answers the status the store gives when it cannot store (ESME_RMSGQFUL past the quota), without an id', async () => {
    const r = await relayRig();
    r.queue!.status = Status.ESME_RMSGQFUL;
    r.policy.verdict = { action: 'queue', queue: 'until-window', reason: 'quiet_hours', rule: 'q', releaseAt: null };
    const { peer } = await r.esme('transmitter');
    peer.send(submitPdu(62));
    await settle();
    expect(peer.take()).toEqual([encodeEmpty(Command.submit_sm_resp, Status.ESME_RMSGQFUL, 62)]);
  });

  it('answers ESME_RSYSERR to a queue verdict when the queue is off', async () => {
    const r = await relayRig({ queue: false });
    r.policy.verdict = { action: 'queue', queue: 'review', reason: 'x', rule: 'x', releaseAt: null };
    const { session, peer } = await r.esme('transmitter');
    peer.send(submitPdu(63));
    await settle();
    expect(peer.take()).toEqual([encodeEmpty(Command.submit_sm_resp, Status.ESME_RSYSERR, 63)]);
    expect(session.outstanding).toBe(0);
  });
});

describe('store-and-forward', () => {
  const saf = () => [accountCfg({ system_id: 'esme', queue: { store_and_forward: [Status.ESME_RTHROTTLED, 'no_bind', 'timeout'] } }), accountCfg({ system_id: 'other' })];

  it("queues a message the SMSC refused with a listed status, answering ESME_ROK with the gateway's id", async () => {
    const r = await relayRig({ accounts: saf() });
    const { peer } = await r.esme('transmitter');
    const pdu = submitPdu(70);
    peer.send(pdu);
    await smscAnswers(r, Status.ESME_RTHROTTLED);
    expect(peer.take()).toEqual([submitResp(70, 0, 'gw-1')]);
    expect(r.queue!.queued.map((m) => [m.queue, m.rule, m.reason])).toEqual([['saf', 'queue/store-and-forward', '0x58']]);
    // The ESME's own bytes are stored, its sequence included, not the copy renumbered for the SMSC.
    expect(r.queue!.queued[0]!.pdu).toEqual(submitPdu(70));
    expect(r.queue!.safNoted).toBe(1);
  });

  it("passes a status that is not listed back to the ESME", async () => {
    const r = await relayRig({ accounts: saf() });
    const { peer } = await r.esme('transmitter');
    peer.send(submitPdu(71));
    await smscAnswers(r, Status.ESME_RINVDSTADR);
    expect(peer.take()).toEqual([encodeEmpty(Command.submit_sm_resp, Status.ESME_RINVDSTADR, 71)]);
    expect(r.queue!.queued).toEqual([]);
  });

  it('queues with reason no_bind when no SMSC bind is up, and timeout when the SMSC does not answer', async () => {
    const r = await relayRig({ accounts: saf(), responseTimeoutMs: 1000 });
    const { peer } = await r.esme('transmitter');
    peer.send(submitPdu(72));
    await settle();
    r.clock.advance(1001);
    await settle();
    r.smsc.stream.destroy();
    await settle();
    peer.send(submitPdu(73));
    await settle();
    expect(peer.take()).toEqual([submitResp(72, 0, 'gw-1'), submitResp(73, 0, 'gw-2')]);
    expect(r.queue!.queued.map((m) => m.reason)).toEqual(['timeout', 'no_bind']);
  });

  it('does nothing of the sort for an account without store_and_forward', async () => {
    const r = await relayRig({ accounts: saf() });
    const { peer } = await r.esme('transmitter', 'other');
    peer.send(submitPdu(74));
    await smscAnswers(r, Status.ESME_RTHROTTLED);
    expect(peer.take()).toEqual([encodeEmpty(Command.submit_sm_resp, Status.ESME_RTHROTTLED, 74)]);
    expect(r.queue!.queued).toEqual([]);
  });

  it('queues new messages behind a store-and-forward backlog, so they do not overtake it', async () => {
    const r = await relayRig({ accounts: saf() });
    r.queue!.safBacklog = true;
    const a = await r.esme('transmitter');
    const b = await r.esme('transmitter', 'other');
    a.peer.send(submitPdu(75));
    b.peer.send(submitPdu(76));
    await settle();
    expect(a.peer.take()).toEqual([submitResp(75, 0, 'gw-1')]);
    expect(r.queue!.queued.map((m) => [m.account, m.queue, m.reason])).toEqual([['esme', 'saf', 'backlog']]);
    // The account without store-and-forward is forwarded as usual.
    expect(r.smsc.take().map((p) => head(p).command)).toEqual([Command.submit_sm]);
    expect(b.peer.take()).toEqual([]);
  });
});
